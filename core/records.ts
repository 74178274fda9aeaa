/**
 * The contracts between stages. A stage talks to the next only through these records,
 * the bus and the store (DESIGN.md "Contracts"). Field names follow IPFIX IE meaning.
 */
import { createHash } from 'node:crypto';

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
   * or delivered twice is stored once. Optional while sources are being converted; every source sets it.
   */
  id?: string;
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
}

/**
 * A FlowRecord id from a source's coordinates, e.g. `flowId('pcap', file, packetIndex, slice)`:
 * 24 hex digits (96 bits) of SHA-256 over the parts joined with NUL, so ids are short, fixed-length
 * and collide with negligible probability.
 */
export const flowId = (...parts: (string | number)[]): string =>
  createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 24);

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
