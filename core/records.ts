/**
 * The contracts between stages. A stage talks to the next only through these records,
 * the bus and the store (DESIGN.md "Contracts"). Field names follow IPFIX IE meaning.
 */

/** Where a flow record came from. */
export type FlowSource = 'pcap' | 'netflow5' | 'netflow9' | 'ipfix' | 'file' | 'sim';

/** Welford summary of a series of intervals (ms): mergeable, and plain data. */
export interface IntervalSummary {
  count: number;
  mean: number;
  /** Sum of squared deviations from the mean (Welford's M2). variance = m2 / (count - 1). */
  m2: number;
  min: number;
  max: number;
}

/**
 * One direction-normalised flow or flow slice. The initiator (client) is `src`;
 * `packets`/`bytes` count src → dst, `packetsRev`/`bytesRev` count dst → src.
 */
export interface FlowRecord {
  /**
   * Deterministic id from the record's source (`flowId`): reading the same input again gives the
   * same id, another record another id. Sources build it from their own coordinates — capture file
   * and packet index (pcap), exporter, observation domain, export sequence and record index
   * (NetFlow/IPFIX), file and row (flow files). The store deduplicates on it, so a record published
   * or delivered twice is stored once. Every source sets it: pcap/pcapng and the simulator's captures
   * `flowId('pcap', file, first packet's record number, slice)`; NetFlow v5/v9/IPFIX and IPFIX files
   * `flowId(source, exporter session, domain, export sequence, export time, record index)`; Zeek
   * `flowId('zeek', uid)` (file and row without a uid); nfdump CSV `flowId('nfdump', file, line)`;
   * mapped CSV `flowId('csv', file, line)`; BUT message files `flowId('rows', file, first row's line)`.
   */
  id: string;
  /** Event time of the first packet, epoch ms. */
  tsStart: number;
  /** Event time of the last packet, epoch ms. */
  tsEnd: number;
  srcIp: string;
  srcPort: number;
  dstIp: string;
  dstPort: number;
  /** IP protocol number (6 TCP, 17 UDP, 1 ICMP …). */
  proto: number;
  packets: number;
  bytes: number;
  packetsRev: number;
  bytesRev: number;
  /** OR of the TCP flags seen in both directions (0 for non-TCP). */
  tcpFlags: number;
  /** Exporter address, or the capture file name for pcap replay. */
  exporter: string;
  observationDomain: number;
  source: FlowSource;
  /** Application protocol identified from payload (modbus, iec104, mms …). */
  l7?: string;
  /** Operations the initiator sent (request name → count), e.g. `read_holding_registers: 120`. */
  l7Ops?: Record<string, number>;
  /** Operations the responder sent (response name → count). */
  l7OpsRev?: Record<string, number>;
  /** Protocol errors and exceptions seen (name → count), e.g. `illegal_data_address: 2`. */
  l7Errors?: Record<string, number>;
  /** Unit ids / station / ASDU addresses addressed by the initiator. */
  l7Units?: number[];
  /** Malformed payload counted by violation code (never an exception). */
  l7Violations?: Record<string, number>;
  /** Cadence of the initiator's requests inside this flow. */
  requestIntervalsMs?: IntervalSummary;
  /**
   * What in this record is inferred rather than seen, when anything is (absent = nothing). Direction
   * notes ({@link DirectionNote}) say the client/server sides were not fixed by a seen TCP handshake
   * and how they were decided; NetFlow/IPFIX records add their export notes (`sampled`,
   * `start_after_end`, `no_flow_times` … see ingest/netflow/common.ts).
   */
  fidelity?: string[];
  /**
   * Link-layer (Ethernet) address of the initiator / responder as the capture saw it, lowercase
   * `aa:bb:cc:dd:ee:ff`; absent when the source has no link layer (NetFlow, flow files, raw IP).
   * Behind a router it is the router's address, not the host's.
   */
  srcMac?: string;
  dstMac?: string;
  /** Device identity the payload revealed in this slice (read device identification, SZL, ListIdentity …). */
  identity?: IdentityReport[];
}

/**
 * What a protocol message says about a device, as text. Only the fields the message carries are set.
 * Numeric codes (CIP vendor id, BACnet vendor identifier) are kept as decimal text beside names.
 */
export interface DeviceIdentity {
  /** Vendor name (Modbus VendorName, BACnet vendor-name, S7: "Siemens"). */
  vendor?: string;
  /** Vendor code as decimal text (CIP vendor id, BACnet vendor-identifier). */
  vendorId?: string;
  /** Product / model name (Modbus ProductName or ModelName, CIP product name, BACnet model-name, S7 module type). */
  model?: string;
  /** Order number or product code (S7 MLFB, CIP product code, Modbus ProductCode). */
  productCode?: string;
  /** Firmware / revision (Modbus MajorMinorRevision, CIP revision, BACnet firmware-revision, S7 firmware version). */
  firmware?: string;
  /** Software version of the application (BACnet application-software-version, OPC UA software version). */
  software?: string;
  serial?: string;
  /** Configured name (S7 PLC name, BACnet object-name, OPC UA application name, Modbus UserApplicationName). */
  name?: string;
  /** Device kind (CIP device type, OPC UA application type). */
  deviceType?: string;
  /** OPC UA ApplicationUri / ProductUri. */
  uri?: string;
  productUri?: string;
  /** Protocol address of the device (DNP3 link address, BACnet device instance). */
  address?: string;
}

/** One identity report carried on a FlowRecord. */
export interface IdentityReport extends DeviceIdentity {
  /** Which end of the flow the report describes: `src` (the initiator) or `dst` (the responder). */
  side: 'src' | 'dst';
  /** The message it came from, e.g. `modbus_device_id`, `s7_szl_0x0011`, `enip_list_identity`, `bacnet_i_am`. */
  via: string;
  /** Event time of that message, epoch ms. */
  ts: number;
}

/** The identity field names of {@link DeviceIdentity}, in display order. */
export const IDENTITY_FIELDS = [
  'vendor', 'vendorId', 'model', 'productCode', 'firmware', 'software', 'serial', 'name', 'deviceType', 'uri', 'productUri', 'address',
] as const satisfies readonly (keyof DeviceIdentity)[];

/** What an asset does on the network, inferred from its traffic (inventory/roles.ts). */
export type AssetRole = 'plc_rtu' | 'hmi_scada' | 'historian' | 'engineering' | 'unknown';

/** One identity as reported, with when it was first and last reported the same way. */
export interface IdentityObservation extends DeviceIdentity {
  via: string;
  firstSeen: number;
  lastSeen: number;
  /** How many reports said exactly this. */
  reports: number;
}

/**
 * An asset of the passive inventory: one IP address and what its traffic showed. Built by
 * `inventory/` from FlowRecord batches; stored in the `inventory` table; printed by `conduitwatch inventory`.
 */
export interface Asset extends DeviceIdentity {
  ip: string;
  /** The link-layer address last seen for this IP (absent without a link layer, or behind a router). */
  mac?: string;
  /** Vendor of `mac` from the IEEE OUI registry. */
  macVendor?: string;
  /** Every MAC seen for this IP, with times (a change is an alert). */
  macs: { mac: string; vendor?: string; firstSeen: number; lastSeen: number }[];
  role: AssetRole;
  /** 0–1: how strongly the behaviour supports `role`. */
  confidence: number;
  /** Why: the observations behind the role, in words. */
  evidence: string[];
  /** What deserves a look: behaviour that contradicts the role, and the changes reported over time. */
  flags: string[];
  /** Application protocols seen (l7 names), and transport services where no l7 was identified (e.g. `tcp/445`). */
  protocols: string[];
  /** Services it answered on: `l7 tcp/502`. */
  services: string[];
  /** Addresses it talked to, either direction. */
  peers: string[];
  firstSeen: number;
  lastSeen: number;
  flows: number;
  bytes: number;
  /** Every identity report, one entry per distinct content, with times (conflicting ones are all kept). */
  identities: IdentityObservation[];
}

/**
 * Why a record's direction was inferred (ingest/direction.ts): `direction_port` the server is the side
 * on a service port (well-known, or a registered OT/server port); `direction_lower_port` neither or
 * both sides were, so the lower port is the server (nfdump -B's guess); `direction_flipped` the log
 * flipped it by its own rule and says so (Zeek's `^`); `direction_group` sent to a multicast or
 * broadcast address, so the sender is the client.
 */
export type DirectionNote = 'direction_port' | 'direction_lower_port' | 'direction_flipped' | 'direction_group';

/**
 * A FlowRecord id from a source's coordinates, e.g. `flowId('pcap', file, packetIndex, slice)`:
 * 24 hex digits, 96 bits of a MurmurHash3-x86-128-style hash (four 32-bit lanes, fmix32 finalizer)
 * over the parts — a string as its length and UTF-16 units, a safe integer as its sign and two 32-bit
 * words, any other number as its decimal text — so ids are short, fixed-length, and two different
 * coordinate lists collide about as often as two random 96-bit values (1 in 10^9 only past 12 million
 * records in one id space).
 *
 * Not a cryptographic hash, on purpose: the coordinates are what a spoofer forges (an exporter's
 * address, sequence and export time), so a keyless SHA-256 of them defended nothing more, and it cost
 * 0.5 µs per id (crypto.hash; 1.06 µs with createHash) where this costs about 0.25 µs: on
 * connection-per-poll captures (9 packets per flow) SHA-256 took 7 % of pcap ingest.
 */
export const flowId = (...parts: (string | number)[]): string => {
  ID_STATE.fill(0);
  idWords = 0;
  for (let p = 0; p < parts.length; p++) idPart(parts[p]!);
  return idFinish();
};

/** The hash state after an id's leading parts (see {@link flowIdPrefix}). */
export interface FlowIdPrefix {
  readonly state: Int32Array;
  readonly words: number;
}

/**
 * The leading parts of ids that share them, hashed once: `flowIdAfter(flowIdPrefix('pcap', file), n, slice)`
 * is `flowId('pcap', file, n, slice)`, without hashing the file name again for every record.
 */
export const flowIdPrefix = (...parts: (string | number)[]): FlowIdPrefix => {
  ID_STATE.fill(0);
  idWords = 0;
  for (let p = 0; p < parts.length; p++) idPart(parts[p]!);
  return { state: ID_STATE.slice(), words: idWords };
};

/** `flowId(...prefix parts, x, y)` for two more number parts. */
export const flowIdAfter = (prefix: FlowIdPrefix, x: number, y: number): string => {
  ID_STATE.set(prefix.state);
  idWords = prefix.words;
  idPart(x);
  idPart(y);
  return idFinish();
};

const idPart = (v: string | number): void => {
  if (typeof v === 'number' && Number.isSafeInteger(v)) {
    const a = Math.abs(v);
    idPut(0x4e000000 | (v < 0 ? 1 : 0));
    idPut(a >>> 0);
    idPut((a / 4_294_967_296) >>> 0);
  } else {
    const s = typeof v === 'string' ? v : String(v);
    const n = s.length;
    idPut(0x53000000 | (n & 0xffffff));
    for (let i = 0; i < n; i += 2) idPut(s.charCodeAt(i) | ((i + 1 < n ? s.charCodeAt(i + 1) : 0) << 16));
  }
};

const idFinish = (): string => {
  const st = ID_STATE;
  while (st[8] !== 0) idPut(0);
  let h1 = st[0]! ^ idWords, h2 = st[1]! ^ idWords, h3 = st[2]! ^ idWords, h4 = st[3]! ^ idWords;
  h1 = (h1 + h2 + h3 + h4) | 0; h2 = (h2 + h1) | 0; h3 = (h3 + h1) | 0; h4 = (h4 + h1) | 0;
  h1 = fmix32(h1); h2 = fmix32(h2); h3 = fmix32(h3); h4 = fmix32(h4);
  h1 = (h1 + h2 + h3 + h4) | 0; h2 = (h2 + h1) | 0; h3 = (h3 + h1) | 0;
  hex8(h1, 0); hex8(h2, 8); hex8(h3, 16);
  // One flat string (concatenating 12 pieces would leave a tree of cons strings per id).
  return String.fromCharCode.apply(null, ID_CHARS);
};

/** Lanes h1–h4, the block being filled (k1–k4) and how many of its words are set. */
const ID_STATE = new Int32Array(9);
let idWords = 0;
const HEX_CODES = Array.from('0123456789abcdef', (c) => c.charCodeAt(0));
/** The id's 24 character codes, filled by {@link hex8}. */
const ID_CHARS: number[] = new Array<number>(24).fill(48);
const hex8 = (x: number, at: number): void => {
  for (let i = 7; i >= 0; i--) { ID_CHARS[at + i] = HEX_CODES[x & 15]!; x >>>= 4; }
};
const rotl = (x: number, r: number): number => (x << r) | (x >>> (32 - r));
const fmix32 = (h: number): number => {
  h ^= h >>> 16; h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13; h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
};

/** Adds one 32-bit word; every fourth mixes a block into the lanes (MurmurHash3 x86_128's body). */
const idPut = (w: number): void => {
  const st = ID_STATE;
  st[4 + st[8]!] = w;
  idWords++;
  if (++st[8]! < 4) return;
  st[8] = 0;
  let h1 = st[0]!, h2 = st[1]!, h3 = st[2]!, h4 = st[3]!;
  h1 ^= Math.imul(rotl(Math.imul(st[4]!, 0x239b961b), 15), 0xab0e9789);
  h1 = (Math.imul((rotl(h1, 19) + h2) | 0, 5) + 0x561ccd1b) | 0;
  h2 ^= Math.imul(rotl(Math.imul(st[5]!, 0xab0e9789), 16), 0x38b34ae5);
  h2 = (Math.imul((rotl(h2, 17) + h3) | 0, 5) + 0x0bcaa747) | 0;
  h3 ^= Math.imul(rotl(Math.imul(st[6]!, 0x38b34ae5), 17), 0xa1e38b93);
  h3 = (Math.imul((rotl(h3, 15) + h4) | 0, 5) + 0x96cd1c35) | 0;
  h4 ^= Math.imul(rotl(Math.imul(st[7]!, 0xa1e38b93), 18), 0x239b961b);
  h4 = (Math.imul((rotl(h4, 13) + h1) | 0, 5) + 0x32ac3b17) | 0;
  st[0] = h1; st[1] = h2; st[2] = h3; st[3] = h4;
};

/** Who talked to whom on what: (src asset, dst asset, proto, dst port, l7). */
export interface EdgeKey {
  src: string;
  dst: string;
  proto: number;
  dstPort: number;
  l7: string;
}

/** One scored window of one conduit or edge, from one detector. */
export interface WindowScore {
  /** Conduit id, `from->to` (zone names). */
  conduit: string;
  /** Edge id (see `edgeId`) or '' for a conduit-level score. */
  edge: string;
  windowStart: number;
  windowEnd: number;
  detector: string;
  /** Deviation in [0, 1]: 0 = as learned, 1 = never seen. */
  score: number;
  /** True while the conduit is still learning its baseline: scored but never alerted. */
  learning: boolean;
  /** Expected vs observed, in words a person can read. */
  explanation: string;
  /** The numbers behind the score (feature name → value). */
  features: Record<string, number>;
}

/**
 * Scores below this are not stored: a `WindowScore` goes to the `windows` table only at or above
 * it (`detection.scoreFloor`, this by default), or at or above the alert threshold when that is
 * lower (so every alerted score is stored), or when it is a conduit's `activity` row (always).
 * The numbers behind every edge-window go to `series` instead (`EdgeSeries`). store/README.md,
 * "What windows and series hold".
 */
export const SCORE_FLOOR = 0.1;

/** `detector` of the engine's per-conduit, per-window row (edge ''): stored whatever its score. */
export const ACTIVITY_DETECTOR = 'activity';

/** Whether a score is stored in `windows` (see `SCORE_FLOOR`); NaN is stored, so a bug shows. */
export const isStoredScore = (score: number, alertThreshold: number, floor = SCORE_FLOOR): boolean => !(score < Math.min(floor, alertThreshold));

/**
 * The numbers behind one edge's rate and cadence in one window, what a dashboard draws as the live
 * line and the baseline band, and the edge's highest score. The engine emits one (`ScoredBatch.series`)
 * per edge-window in which the edge had traffic, or its baseline expected traffic (`expected` ≥ 0.5),
 * or a detector scored it above 0. NaN = not known (not learned yet, no intervals this window);
 * stored as null. A conduit's `activity` row holds the sums over its edges.
 */
export interface EdgeSeries {
  conduit: string;
  /** Edge id (see `edgeId`). */
  edge: string;
  windowStart: number;
  windowEnd: number;
  learning: boolean;
  /** What `observed` and `expected` count: L7 requests, or flows for edges without request counts. */
  unit: 'requests' | 'flows' | '';
  /** Requests (or flows) in the window. */
  observed: number;
  /** Baseline rate for this point of the production cycle (rate's reference) and its standard deviation. */
  expected: number;
  expectedStd: number;
  /** Mean and std of the intervals between requests (or, without them, connection starts) in the window. */
  periodMs: number;
  jitterMs: number;
  expectedPeriodMs: number;
  expectedJitterMs: number;
  /** Intervals behind `periodMs` (0 when none). */
  intervals: number;
  /** Highest score of the edge in the window, any detector (the ensemble summary aside); 0 = as learned. */
  score: number;
}

/** A finding worth a person's attention. */
export interface Alert {
  /** Stable id: same input, config and model give the same id. */
  id: string;
  conduit: string;
  src: string;
  dst: string;
  proto: number;
  dstPort: number;
  l7: string;
  tsStart: number;
  tsEnd: number;
  score: number;
  detector: string;
  explanation: string;
  /**
   * How much this alert matters, from what is at stake (the zones' target SL, a security-relevant
   * operation, the detector's class) and its score (incidents/severity.ts). Set by the wiring after
   * the engine, in replay and serve alike; absent only on alerts from before severities existed.
   */
  severity?: Severity;
  /** The number behind `severity` (0–10, one decimal): the ranking key within and across levels. */
  risk?: number;
  /** Why it got that severity, in words ("zone field SL 3; security-relevant operation; new talker"). */
  severityReason?: string;
  /** Id of the incident (related alerts) it belongs to (incidents/incidents.ts). */
  incident?: string;
}

/** Severity levels, least to most severe (CEF and ECS use the same five steps). */
export const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

/**
 * Related alerts — the same conduit, source host or cause within a span — as one case for an
 * analyst. Updated as alerts join it; the newest version (the highest `alerts`) is the current one.
 */
export interface Incident {
  /** Stable id from the first alert's id: same input, config and model give the same id. */
  id: string;
  severity: Severity;
  /** The highest risk of its alerts. */
  risk: number;
  /** Event time of the first alert's window start and the last alert's window end, epoch ms. */
  firstSeen: number;
  lastSeen: number;
  /** How many alerts it holds (the version: a later update holds more). */
  alerts: number;
  /** Its alerts' ids, oldest first. */
  alertIds: string[];
  conduits: string[];
  sources: string[];
  targets: string[];
  detectors: string[];
  /** The most severe alert's id. */
  topAlert: string;
  /** One paragraph a person reads: what, where, how many, how bad and why. */
  summary: string;
}

export const edgeId = (e: EdgeKey): string => `${e.src}>${e.dst}/${e.proto}/${e.dstPort}/${e.l7 || '-'}`;

export const parseEdgeId = (id: string): EdgeKey => {
  const m = /^(.+)>(.+)\/(\d+)\/(\d+)\/(.+)$/.exec(id);
  if (!m) throw new RangeError(`not an edge id: ${id}`);
  return { src: m[1]!, dst: m[2]!, proto: Number(m[3]), dstPort: Number(m[4]), l7: m[5] === '-' ? '' : m[5]! };
};

/** 'ip:port', with IPv6 addresses in brackets so the port cannot be read as part of the address. */
export const hostPort = (ip: string, port: number): string => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);

export const PROTO_NAMES: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmpv6', 132: 'sctp' };
export const protoName = (p: number): string => PROTO_NAMES[p] ?? String(p);

/** Welford helpers shared by every producer of `IntervalSummary`. */
export const intervals = {
  empty: (): IntervalSummary => ({ count: 0, mean: 0, m2: 0, min: Infinity, max: -Infinity }),
  add(s: IntervalSummary, x: number): void {
    s.count += 1;
    const d = x - s.mean;
    s.mean += d / s.count;
    s.m2 += d * (x - s.mean);
    if (x < s.min) s.min = x;
    if (x > s.max) s.max = x;
  },
  /** Chan et al. parallel merge; `into` is updated in place. */
  merge(into: IntervalSummary, b: IntervalSummary): void {
    if (b.count === 0) return;
    if (into.count === 0) { Object.assign(into, b); return; }
    const n = into.count + b.count;
    const d = b.mean - into.mean;
    into.m2 += b.m2 + (d * d * into.count * b.count) / n;
    into.mean += (d * b.count) / n;
    into.count = n;
    into.min = Math.min(into.min, b.min);
    into.max = Math.max(into.max, b.max);
  },
  std: (s: IntervalSummary): number => (s.count > 1 ? Math.sqrt(s.m2 / (s.count - 1)) : 0),
};

/** Adds `n` to `map[key]`, creating the map entry. */
export const bump = (map: Record<string, number>, key: string, n = 1): void => {
  map[key] = (map[key] ?? 0) + n;
};

/**
 * A conduit's readiness as the detection engine reports it (`DetectionEngine.status()`): for the
 * replay report, the stored `conduits` rows (store/state.ts), the `conduit-json/1` messages the
 * detector role publishes, and the promote-to-block workflow.
 */
export interface ConduitReadiness {
  conduit: string;
  declared: boolean;
  /** Smallest event time seen (epoch ms), null before the conduit's first closed window. */
  firstSeen: number | null;
  /** Largest flow end time seen in closed windows. */
  lastSeen: number | null;
  /** The last scored window was inside the baseline. */
  learning: boolean;
  /** Fraction of the baseline time covered by closed windows, 0..1. */
  coverage: number;
  edges: number;
  flows: number;
  windowsScored: number;
  alerts: number;
  /** 'learning, 45% coverage', 'ready', or 'new (no baseline: alerts from its first window)'. */
  state: string;
  /** Production cycles covered by the conduit's closed windows (`site.productionCycle`). */
  cyclesCovered: number;
  /** Calendar cells of the cycle (it split in `phaseBuckets`) that held at least one window of the conduit. */
  phaseBucketsSeen: number;
  phaseBuckets: number;
  /** Novel items (novelty findings > 0) in the conduit's first and in its latest cycle: learning is done when the latter is small. */
  novelFirstCycle: number;
  novelLastCycle: number;
  /** Cycle length found in the conduit's requests per window by autocorrelation, ms; null when none. */
  detectedCycleMs: number | null;
  /** Says when the detected cycle disagrees with site.yaml's productionCycle by more than 20 %. */
  cycleNote: string;
  /** Start of the window from which the conduit was ready (all its findings alert), epoch ms; null while it learns. */
  readyAt: number | null;
}
