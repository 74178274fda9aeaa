/**
 * The passive asset inventory: observes FlowRecord batches (from `replay`, from the `serve` sink, from
 * `conduitwatch inventory`) and keeps, per IP address, what its traffic showed: MAC addresses, protocols
 * and services, peers, first/last seen, device identity reports, and who polled whom how. From that it
 * infers roles (`roles.ts`) and reports changes over time as {@link InventoryChange}s:
 *
 *   new_mac           a known IP shows up with another link-layer address
 *   identity_change   a device reports a different vendor / model / firmware / serial / name than before
 *   new_behaviour     an asset that only answered OT requests so far starts sending them (polls or
 *                     commands another device), or opens a connection to an outstation
 *   engineering_ops   an asset sends program / configuration / run-state operations for the first time
 *
 * Changes are judged only once an asset has been seen for `learnMs` of event time (its own warm-up), so
 * the first minutes of a capture teach what is normal. Determinism: event time only; the same batches
 * in the same order give the same assets and changes.
 *
 * Nothing here imports `ingest/`: what the dissectors found travels on the FlowRecord (l7, l7Ops,
 * identity, srcMac/dstMac). Which operations are security-relevant can be handed in (`isSecurityOp`).
 */
import { createHash } from 'node:crypto';
import {
  IDENTITY_FIELDS, bump, intervals, protoName,
  type Alert, type Asset, type DeviceIdentity, type FlowRecord, type IdentityObservation, type IdentityReport, type IntervalSummary,
} from '../core/records.ts';
import { ouiVendor } from './oui.ts';
import { bareOp, inferRole, isEngineeringOp, isWriteOp, ROLE_LABELS, type RoleFacts } from './roles.ts';

export interface InventoryOptions {
  /** Event time an asset is watched before changes are reported, ms (default 120 000). */
  learnMs?: number;
  /** `(l7, op) → security-relevant?`; the wiring hands in the detectors' matcher. Used for the evidence only. */
  isSecurityOp?: (l7: string, op: string) => boolean;
  /** Zone of an address (the site's), for the conduit of a change alert; default 'unknown'. */
  zoneOf?: (ip: string) => string;
  /** MAC → vendor; default the IEEE registry (`oui.ts`). */
  macVendor?: (mac: string) => string | undefined;
}

export type ChangeKind = 'new_mac' | 'identity_change' | 'new_behaviour' | 'engineering_ops';

/** A change of an asset over time, worth an alert. */
export interface InventoryChange {
  kind: ChangeKind;
  ip: string;
  /** Event time of the flow that showed it. */
  ts: number;
  /** The flow that showed it. */
  flow: { srcIp: string; dstIp: string; proto: number; dstPort: number; l7: string; tsStart: number; tsEnd: number };
  /** Before and after, in words. */
  explanation: string;
}

/** A client → server pair on one service: the unit of "who polls whom how" (a Communication being learned). */
interface Pair extends Omit<Communication, 'periodMs'> {
  /** Connection starts per leading op (one connection per poll: the period between them). */
  starts: Map<string, { last: number; iv: IntervalSummary }>;
  /** The source port of the last record: a record on the same port continues a connection (a slice). */
  lastSrcPort: number;
  /** Request cadence inside connections. */
  reqIv: IntervalSummary;
}

interface MacSeen { firstSeen: number; lastSeen: number }

interface Host {
  ip: string;
  firstSeen: number;
  lastSeen: number;
  flows: number;
  bytes: number;
  macs: Map<string, MacSeen>;
  protocols: Set<string>;
  services: Set<string>;
  peers: Set<string>;
  identities: Map<string, IdentityObservation>;
  /** Latest value per identity field, and when it was reported. */
  latest: Partial<Record<keyof DeviceIdentity, { value: string; ts: number; via: string }>>;
  /** OT flows it answered / OT requests it sent so far (for new_behaviour). */
  otAnswered: number;
  otSent: number;
  engineeringSent: number;
  /** Changes already reported for it (one per kind and detail). */
  reported: Set<string>;
  /** The pairs it is the client of, by server (a lookup without building the pair's key per flow). */
  pairsTo: Map<Host, Pair[]>;
}

/** Application protocols that are industrial (OT) ones: an l7 the dissectors name. */
const IT_L7 = new Set(['', 'http', 'dns', 'smb', 'netbios']);
const isOt = (l7: string | undefined): l7 is string => !!l7 && !IT_L7.has(l7);

/** A periodic series: enough intervals, little spread. */
const PERIODIC_MIN = 4;
const PERIODIC_CV = 0.35;
const isPeriodic = (s: IntervalSummary): boolean => s.count >= PERIODIC_MIN && s.mean > 0 && intervals.std(s) / s.mean <= PERIODIC_CV;

/** Multicast, broadcast and unspecified addresses are destinations, not assets. */
export const isAssetAddress = (ip: string): boolean => {
  if (ip.includes(':')) return !/^ff/i.test(ip) && ip !== '::';
  const first = Number(ip.slice(0, ip.indexOf('.')));
  return !(first >= 224 || ip.endsWith('.255') || ip === '0.0.0.0');
};

/** A MAC seen for more addresses than this is a router's (or a proxy's), not a host's. */
export const ROUTER_MAC_ADDRESSES = 4;

const CAP = { protocols: 32, services: 32, peers: 256, identities: 32, pairs: 200_000 } as const;

const addCapped = (s: Set<string>, v: string, cap: number): void => {
  if (s.size < cap || s.has(v)) s.add(v);
};

const byIp = (a: string, b: string): number => a.localeCompare(b, 'en', { numeric: true });

export class Inventory {
  private readonly hosts = new Map<string, Host>();
  /** Addresses seen that are not assets (multicast, broadcast), so `isAssetAddress` runs once per address. */
  private readonly notAssets = new Set<string>();
  /** Service names (`modbus tcp/502`) by l7, protocol and port, built once. */
  private readonly serviceNames = new Map<string, Map<number, string>>();
  private readonly pairs = new Map<string, Pair>();
  private readonly learnMs: number;
  private readonly macVendor: (mac: string) => string | undefined;
  private readonly zoneOf: (ip: string) => string;
  private readonly isSecurityOp: ((l7: string, op: string) => boolean) | undefined;
  private readonly changes: InventoryChange[] = [];
  private firstTs = Infinity;
  private lastTs = -Infinity;
  private flowCount = 0;
  private otFlows = 0;

  constructor(opts: InventoryOptions = {}) {
    this.learnMs = opts.learnMs ?? 120_000;
    this.macVendor = opts.macVendor ?? ouiVendor;
    this.zoneOf = opts.zoneOf ?? (() => 'unknown');
    this.isSecurityOp = opts.isSecurityOp;
  }

  /** Observes a batch; returns the changes it showed (also kept for {@link allChanges}). */
  observe(batch: readonly FlowRecord[]): InventoryChange[] {
    const out: InventoryChange[] = [];
    for (const f of batch) this.one(f, out);
    this.changes.push(...out);
    return out;
  }

  private host(ip: string, ts: number): Host {
    let h = this.hosts.get(ip);
    if (!h) {
      h = {
        ip, firstSeen: ts, lastSeen: ts, flows: 0, bytes: 0, macs: new Map(), protocols: new Set(), services: new Set(), peers: new Set(),
        identities: new Map(), latest: {}, otAnswered: 0, otSent: 0, engineeringSent: 0, reported: new Set(), pairsTo: new Map(),
      };
      this.hosts.set(ip, h);
    }
    return h;
  }

  /** The host of an asset address (created at `ts` when new); undefined for an address that is no asset. */
  private assetHost(ip: string, ts: number): Host | undefined {
    const h = this.hosts.get(ip);
    if (h) return h;
    if (this.notAssets.has(ip)) return undefined;
    if (!isAssetAddress(ip)) {
      if (this.notAssets.size < 65_536) this.notAssets.add(ip);
      return undefined;
    }
    return this.host(ip, ts);
  }

  private serviceName(l7: string, proto: number, port: number): string {
    let byPort = this.serviceNames.get(l7);
    if (!byPort) this.serviceNames.set(l7, (byPort = new Map()));
    const k = proto * 65_536 + port;
    let name = byPort.get(k);
    if (name === undefined) byPort.set(k, (name = l7 ? `${l7} ${protoName(proto)}/${port}` : `${protoName(proto)}/${port}`));
    return name;
  }

  /** What one end of a flow adds to its host. */
  private seeEnd(h: Host, bytes: number, mac: string | undefined, l7: string, service: string, f: FlowRecord, out: InventoryChange[]): void {
    h.flows++;
    h.bytes += bytes;
    if (f.tsStart < h.firstSeen) h.firstSeen = f.tsStart;
    if (f.tsEnd > h.lastSeen) h.lastSeen = f.tsEnd;
    addCapped(h.protocols, l7 || service, CAP.protocols);
    if (mac) this.seeMac(h, mac, f, out);
  }

  private learnt(h: Host, ts: number): boolean {
    return ts - h.firstSeen >= this.learnMs;
  }

  private one(f: FlowRecord, out: InventoryChange[]): void {
    this.flowCount++;
    if (f.tsStart < this.firstTs) this.firstTs = f.tsStart;
    if (f.tsEnd > this.lastTs) this.lastTs = f.tsEnd;
    const l7 = f.l7 ?? '';
    const ot = isOt(l7);
    if (ot) this.otFlows++;
    const service = this.serviceName(l7, f.proto, f.dstPort);
    const answered = f.packetsRev > 0;
    const src = this.assetHost(f.srcIp, f.tsStart);
    const dst = this.assetHost(f.dstIp, f.tsStart);
    if (src) this.seeEnd(src, f.bytes, f.srcMac, l7, service, f, out);
    if (dst) this.seeEnd(dst, f.bytesRev, f.dstMac, l7, service, f, out);
    if (src && dst) { addCapped(src.peers, dst.ip, CAP.peers); addCapped(dst.peers, src.ip, CAP.peers); }
    if (dst && answered) addCapped(dst.services, service, CAP.services);
    for (const r of f.identity ?? []) {
      const h = r.side === 'src' ? src : dst;
      if (h) this.seeIdentity(h, r, f, out);
    }
    if (!src || !dst) return;
    // Who polls whom: client → server pairs.
    let toDst = src.pairsTo.get(dst);
    let p: Pair | undefined;
    if (toDst) for (const q of toDst) if (q.port === f.dstPort && q.proto === f.proto && q.l7 === l7) { p = q; break; }
    if (!p) {
      if (this.pairs.size >= CAP.pairs) return;
      p = { client: f.srcIp, server: f.dstIp, proto: f.proto, port: f.dstPort, l7, flows: 0, firstSeen: f.tsStart, lastSeen: f.tsEnd, answered: false, ops: {}, starts: new Map(), lastSrcPort: -1, reqIv: intervals.empty() };
      this.pairs.set(`${f.srcIp}>${f.dstIp}/${f.proto}/${f.dstPort}/${l7}`, p);
      if (!toDst) src.pairsTo.set(dst, (toDst = []));
      toDst.push(p);
    }
    const newConnection = f.srcPort !== p.lastSrcPort;
    p.flows++;
    p.lastSeen = Math.max(p.lastSeen, f.tsEnd);
    p.answered ||= answered;
    p.lastSrcPort = f.srcPort;
    let requests = 0;
    let engineering: string | undefined;
    let lead: string | undefined;
    const ops = f.l7Ops;
    // for-in visits own keys in Object.entries' order; a record's l7Ops is a plain object.
    if (ops) for (const op in ops) {
      const n = ops[op]!;
      bump(p.ops, op, n);
      requests += n;
      lead ??= op;
      if (ot && !engineering && isEngineeringOp(op)) engineering = op;
    }
    if (f.requestIntervalsMs) intervals.merge(p.reqIv, f.requestIntervalsMs);
    if (newConnection) {
      const k = lead ?? '';
      const s = p.starts.get(k);
      if (!s) p.starts.set(k, { last: f.tsStart, iv: intervals.empty() });
      else if (f.tsStart >= s.last) { intervals.add(s.iv, f.tsStart - s.last); s.last = f.tsStart; }
    }
    if (ot && answered) dst.otAnswered++;
    // new_behaviour: a device that only answered so far starts asking, or reaches into another device.
    // Without a handshake the initiator of a non-OT TCP flow is a guess (port rule): then either end
    // may have started it, and the alert says so.
    const directed = ot || f.proto !== 6 || (f.tcpFlags & 0x02) !== 0;
    const onlyAnswered = (h: Host): boolean => h.otAnswered >= 3 && h.otSent === 0 && this.learnt(h, f.tsStart);
    if (ot && requests > 0 && onlyAnswered(src)) {
      this.change(out, src, 'new_behaviour', `${f.dstIp}/${f.proto}/${f.dstPort}`, f,
        `${f.srcIp} had only answered OT requests (${src.otAnswered} flows since ${iso(src.firstSeen)}); now it started sending ${l7} requests (${Object.keys(f.l7Ops ?? {}).join(', ')}) to ${f.dstIp}:${f.dstPort}`);
    } else if (!ot && src.otAnswered > 0 && dst.otAnswered > 0 && (onlyAnswered(src) || (!directed && onlyAnswered(dst)))) {
      const who = directed ? src : onlyAnswered(src) ? src : dst;
      this.change(out, who, 'new_behaviour', `${f.srcIp}>${f.dstIp}/${f.proto}/${f.dstPort}`, f, directed
        ? `${f.srcIp} had only answered OT requests (${src.otAnswered} flows since ${iso(src.firstSeen)}); now it opened ${protoName(f.proto)}/${f.dstPort} to ${f.dstIp}, another device that answers OT requests`
        : `two devices that only answered OT requests, ${f.srcIp} and ${f.dstIp}, exchanged ${protoName(f.proto)} on ports ${f.srcPort}/${f.dstPort} (no handshake seen: either may have started it)`);
    }
    if (ot && requests > 0) src.otSent += requests;
    if (engineering) {
      if (src.engineeringSent === 0 && this.learnt(src, f.tsStart)) {
        this.change(out, src, 'engineering_ops', engineering, f,
          `${f.srcIp} sent ${l7} ${engineering} to ${f.dstIp} — the first program / configuration / run-state operation from it since ${iso(src.firstSeen)}`);
      }
      src.engineeringSent++;
    }
  }

  private seeMac(h: Host, mac: string, f: FlowRecord, out: InventoryChange[]): void {
    const m = h.macs.get(mac);
    if (m) {
      if (f.tsStart < m.firstSeen) m.firstSeen = f.tsStart;
      if (f.tsEnd > m.lastSeen) m.lastSeen = f.tsEnd;
      return;
    }
    if (h.macs.size > 0 && this.learnt(h, f.tsStart)) {
      const before = [...h.macs.keys()].join(', ');
      this.change(out, h, 'new_mac', mac, f, `${h.ip} was ${before}${vendorNote(this.macVendor(before.split(', ')[0]!))}; now it is ${mac}${vendorNote(this.macVendor(mac))} (a replaced device, or someone answering for it)`);
    }
    if (h.macs.size < 8) h.macs.set(mac, { firstSeen: f.tsStart, lastSeen: f.tsEnd });
  }

  private seeIdentity(h: Host, r: IdentityReport, f: FlowRecord, out: InventoryChange[]): void {
    const { side: _side, ts, via, ...fields } = r;
    const key = JSON.stringify([via, fields]);
    const o = h.identities.get(key);
    if (o) {
      o.firstSeen = Math.min(o.firstSeen, ts);
      o.lastSeen = Math.max(o.lastSeen, ts);
      o.reports++;
    } else if (h.identities.size < CAP.identities) {
      h.identities.set(key, { ...fields, via, firstSeen: ts, lastSeen: ts, reports: 1 });
    }
    for (const field of IDENTITY_FIELDS) {
      const v = fields[field];
      if (v === undefined) continue;
      const prev = h.latest[field];
      if (prev && prev.value !== v && ts >= prev.ts) {
        this.change(out, h, 'identity_change', `${field}=${v}`, f,
          `${h.ip} reported ${field} "${prev.value}" (${prev.via}, ${iso(prev.ts)}); now "${v}" (${via}, ${iso(ts)}): a firmware update, a replaced device, or a spoofed answer`);
      }
      if (!prev || ts >= prev.ts) h.latest[field] = { value: v, ts, via };
    }
  }

  private change(out: InventoryChange[], h: Host, kind: ChangeKind, detail: string, f: FlowRecord, explanation: string): void {
    const key = `${kind}|${detail}`;
    if (h.reported.has(key)) return;
    h.reported.add(key);
    out.push({
      kind, ip: h.ip, ts: f.tsStart, explanation,
      flow: { srcIp: f.srcIp, dstIp: f.dstIp, proto: f.proto, dstPort: f.dstPort, l7: f.l7 ?? '', tsStart: f.tsStart, tsEnd: f.tsEnd },
    });
  }

  /** Every change reported so far, in event order. */
  allChanges(): InventoryChange[] {
    return [...this.changes];
  }

  /** Flows observed, flows with an industrial protocol, event-time span. */
  stats(): { flows: number; otFlows: number; firstTs?: number; lastTs?: number; assets: number } {
    return {
      flows: this.flowCount, otFlows: this.otFlows, assets: this.hosts.size,
      ...(Number.isFinite(this.firstTs) ? { firstTs: this.firstTs, lastTs: this.lastTs } : {}),
    };
  }

  /** Client → server pairs, sorted: the observed communication (for zones and conduits). */
  communications(): Communication[] {
    return [...this.pairs.values()].map((p) => ({
      client: p.client, server: p.server, proto: p.proto, port: p.port, l7: p.l7, flows: p.flows, answered: p.answered,
      firstSeen: p.firstSeen, lastSeen: p.lastSeen, ops: { ...p.ops }, periodMs: pairPeriod(p),
    })).sort((a, b) => byIp(a.client, b.client) || byIp(a.server, b.server) || a.proto - b.proto || a.port - b.port || a.l7.localeCompare(b.l7));
  }

  /** Every asset with its role, identity and evidence, sorted by address. */
  assets(): Asset[] {
    const macIps = new Map<string, number>();
    for (const h of this.hosts.values()) for (const m of h.macs.keys()) macIps.set(m, (macIps.get(m) ?? 0) + 1);
    const byHost = new Map<string, Pair[][]>();
    for (const p of this.pairs.values()) {
      for (const [ip, i] of [[p.client, 0], [p.server, 1]] as const) {
        let l = byHost.get(ip);
        if (!l) byHost.set(ip, (l = [[], []]));
        l[i]!.push(p);
      }
    }
    return [...this.hosts.values()].sort((a, b) => byIp(a.ip, b.ip)).map((h) => {
      const [asClient, asServer] = byHost.get(h.ip) ?? [[], []];
      const facts = this.facts(h, asClient!, asServer!);
      const { role, confidence, evidence } = inferRole(facts);
      const macs = [...h.macs].map(([mac, s]) => ({ mac, ...(this.macVendor(mac) ? { vendor: this.macVendor(mac)! } : {}), firstSeen: s.firstSeen, lastSeen: s.lastSeen }))
        .sort((a, b) => a.firstSeen - b.firstSeen || a.mac.localeCompare(b.mac));
      const own = macs.filter((m) => (macIps.get(m.mac) ?? 0) <= ROUTER_MAC_ADDRESSES);
      const shared = macs.filter((m) => !own.includes(m));
      if (shared.length) evidence.push(`MAC ${shared.map((m) => m.mac).join(', ')} is shared by more than ${ROUTER_MAC_ADDRESSES} addresses: a router's, not this host's`);
      const mac = own.at(-1);
      const identity: DeviceIdentity = {};
      for (const field of IDENTITY_FIELDS) { const v = h.latest[field]; if (v) identity[field] = v.value; }
      const conflicts = this.conflicts(h);
      const sec = this.securityOps(asClient!);
      if (sec.length) evidence.push(`security-relevant operations sent: ${sec.join(', ')}`);
      const flags: string[] = [];
      if (facts.otClientsAnswered > 0 && facts.otServersPolled > 0) {
        flags.push(`answers OT requests like an outstation and also sends OT requests to ${asClient!.filter((p) => isOt(p.l7) && Object.keys(p.ops).length > 0).map((p) => `${p.server}:${p.port}`).sort().join(', ')}: an attack, or a gateway / data concentrator`);
      }
      const lateral = new Set<string>();
      for (const p of [...asClient!, ...asServer!]) {
        if (isOt(p.l7)) continue;
        const other = p.client === h.ip ? p.server : p.client;
        if (facts.otClientsAnswered > 0 && (this.hosts.get(other)?.otAnswered ?? 0) > 0) lateral.add(`${protoName(p.proto)}/${p.port} with ${other}`);
      }
      if (lateral.size) flags.push(`answers OT requests and exchanges non-OT traffic with other such devices: ${[...lateral].sort().slice(0, 8).join(', ')}`);
      if (conflicts.length) flags.push(...conflicts);
      for (const c of this.changes) if (c.ip === h.ip) flags.push(`${c.kind} at ${iso(c.ts)}: ${c.explanation}`);
      const asset: Asset = {
        ip: h.ip,
        ...(mac ? { mac: mac.mac, ...(mac.vendor ? { macVendor: mac.vendor } : {}) } : {}),
        macs,
        role, confidence, evidence, flags,
        ...identity,
        protocols: [...h.protocols].sort(),
        services: [...h.services].sort(),
        peers: [...h.peers].sort(byIp),
        firstSeen: h.firstSeen, lastSeen: h.lastSeen, flows: h.flows, bytes: h.bytes,
        identities: [...h.identities.values()].sort((a, b) => a.firstSeen - b.firstSeen || a.via.localeCompare(b.via)),
      };
      return asset;
    });
  }

  /** Field values reported differently, each with when (conflicting reports are all kept). */
  private conflicts(h: Host): string[] {
    const out: string[] = [];
    for (const field of IDENTITY_FIELDS) {
      const vals = new Map<string, { first: number; last: number; via: string }>();
      for (const o of h.identities.values()) {
        const v = o[field];
        if (v === undefined) continue;
        const s = vals.get(v);
        if (s) { s.first = Math.min(s.first, o.firstSeen); s.last = Math.max(s.last, o.lastSeen); } else vals.set(v, { first: o.firstSeen, last: o.lastSeen, via: o.via });
      }
      if (vals.size > 1) {
        out.push(`conflicting ${field} reports: ${[...vals].sort((a, b) => a[1].first - b[1].first).map(([v, s]) => `"${v}" (${s.via}, ${iso(s.first)}–${iso(s.last)})`).join(' vs ')}`);
      }
    }
    return out;
  }

  private securityOps(asClient: Pair[]): string[] {
    const m = this.isSecurityOp;
    if (!m) return [];
    const ops = new Set<string>();
    for (const p of asClient) for (const op of Object.keys(p.ops)) if (m(p.l7, op)) ops.add(`${p.l7} ${op}`);
    return [...ops].sort().slice(0, 8);
  }

  private facts(h: Host, asClient: Pair[], asServer: Pair[]): RoleFacts {
    const otClient = asClient.filter((p) => isOt(p.l7) && Object.keys(p.ops).length > 0);
    const servers = new Set(otClient.map((p) => p.server));
    const periodic = otClient.map(pairPeriod).filter((x): x is number => x !== undefined).sort((a, b) => a - b);
    let requests = 0;
    let writes = 0;
    let eng = 0;
    const writeOps = new Set<string>();
    const engOps = new Set<string>();
    for (const p of otClient) {
      for (const [op, n] of Object.entries(p.ops)) {
        requests += n;
        if (isEngineeringOp(op)) { eng += n; engOps.add(bareOp(op)); } else if (isWriteOp(op)) { writes += n; writeOps.add(bareOp(op)); }
      }
    }
    const otServed = asServer.filter((p) => isOt(p.l7) && p.answered);
    return {
      otServersPolled: servers.size,
      periodicPairs: periodic.length,
      medianPeriodMs: periodic.length ? periodic[Math.floor(periodic.length / 2)]! : 0,
      requestsSent: requests,
      writesSent: writes,
      engineeringSent: eng,
      engineeringOps: [...engOps].sort().slice(0, 6),
      writeOps: [...writeOps].sort().slice(0, 6),
      otClientsAnswered: new Set(otServed.map((p) => p.client)).size,
      otServed: [...new Set(otServed.map((p) => p.l7))].sort(),
      itServed: [...new Set(asServer.filter((p) => !isOt(p.l7) && p.answered).map((p) => `${protoName(p.proto)}/${p.port}`))].sort(),
      identityReports: [...h.identities.values()].filter((o) => o.via !== 'dnp3_link').length,
    };
  }

  /** A change as an {@link Alert} (detector `inventory`), for the report and the `inventory_changes` table. */
  toAlert(c: InventoryChange): Alert {
    const conduit = `${this.zoneOf(c.flow.srcIp)}->${this.zoneOf(c.flow.dstIp)}`;
    return {
      id: createHash('sha256').update(['inventory', c.kind, c.ip, c.explanation, c.ts].join('\0')).digest('hex').slice(0, 24),
      conduit, src: c.flow.srcIp, dst: c.flow.dstIp, proto: c.flow.proto, dstPort: c.flow.dstPort, l7: c.flow.l7,
      tsStart: c.flow.tsStart, tsEnd: c.flow.tsEnd, score: 1, detector: 'inventory', explanation: `${c.kind}: ${c.explanation}`,
    };
  }
}

/** One observed client → server service, for zones and conduits. */
export interface Communication {
  client: string;
  server: string;
  proto: number;
  port: number;
  l7: string;
  flows: number;
  /** The server sent something back. */
  answered: boolean;
  firstSeen: number;
  lastSeen: number;
  ops: Record<string, number>;
  /** The polling period when the pair runs on a cadence, ms. */
  periodMs?: number;
}

/** The pair's polling period: connection starts per leading op, else requests inside connections. */
const pairPeriod = (p: Pair): number | undefined => {
  let best: IntervalSummary | undefined;
  for (const s of p.starts.values()) if (isPeriodic(s.iv) && (!best || s.iv.count > best.count)) best = s.iv;
  if (!best && isPeriodic(p.reqIv)) best = p.reqIv;
  return best ? Math.round(best.mean) : undefined;
};

const vendorNote = (v: string | undefined): string => (v ? ` (${v})` : '');

const iso = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');

export { ROLE_LABELS };
