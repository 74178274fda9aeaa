/**
 * Features of one edge in one event-time window, accumulated flow by flow (`addFlow`) and read by
 * the detectors once the window closes. An edge is (src ip, dst ip, proto, dst port, l7); see
 * `edgeId` in core/records.ts. The accumulators use Maps and Sets; `edgeFeaturesToJSON` /
 * `edgeFeaturesFromJSON` turn them into plain data for engine snapshots.
 */
import { edgeId, intervals, type EdgeKey, type FlowRecord, type IntervalSummary } from '../core/records.ts';

/** TCP SYN flag bit. */
export const TCP_SYN = 0x02;

/** What one edge did in one window. */
export interface EdgeFeatures {
  edge: string;
  key: EdgeKey;
  /** Flow records (slices) whose tsStart falls in the window. */
  flows: number;
  /** Packets and bytes in both directions. */
  packets: number;
  bytes: number;
  /** Packets and bytes the responder sent (dst → src); the initiator's are `packets − packetsRev`. */
  packetsRev: number;
  bytesRev: number;
  /** Sum of `l7OpsRev` (responses the responder sent); 0 when the source reports none. */
  responses: number;
  /** Flows that carried `l7Ops` and, so, could carry `l7OpsRev` (payload-aware sources). */
  l7Flows: number;
  /** Sum of `l7Ops` (requests the initiator sent). */
  requests: number;
  /** Request name → count. */
  ops: Map<string, number>;
  /** Error / exception name → count. */
  errors: Map<string, number>;
  /** Unit ids / station addresses the initiator addressed. */
  units: Set<number>;
  /** Flows counted as connection starts (see `isConnectionStart`). */
  starts: number;
  /** Of those, TCP flows that carried a SYN. */
  synStarts: number;
  /** tsStart of each connection start, ascending once the window is finalised. */
  flowStarts: number[];
  /**
   * Connection starts split by what the connection asked for (its sorted `l7Ops` names, '' when
   * none): a poller that opens one connection per function code gets one cadence per code.
   */
  startsByOps: Map<string, number[]>;
  /** Request cadence inside the flows, merged over the window. */
  requestIntervals: IntervalSummary;
  /** First tsStart and last tsEnd of the edge's flows in this window. */
  firstTs: number;
  lastTs: number;
  /** [tsStart, tsEnd] of each flow, sorted by start once the window is finalised (for activity gaps). */
  spans: [number, number][];
}

/** Distinct destinations one source reached in one window and conduit (scan features). */
export interface SourceFanout {
  dstPorts: Set<number>;
  dstHosts: Set<string>;
}

/** Everything one conduit did in one window. */
export interface ConduitFeatures {
  conduit: string;
  windowStart: number;
  windowEnd: number;
  /** Edges with traffic in the window, by edge id. */
  edges: Map<string, EdgeFeatures>;
  /** Per source ip: distinct dst ports and hosts. */
  fanout: Map<string, SourceFanout>;
  flows: number;
  /** Smallest tsStart and largest tsEnd of the conduit's flows in this window. */
  firstTs: number;
  lastTs: number;
}

export const edgeKeyOf = (f: FlowRecord): EdgeKey => ({ src: f.srcIp, dst: f.dstIp, proto: f.proto, dstPort: f.dstPort, l7: f.l7 ?? '' });

/**
 * Whether a flow record marks a new connection: a TCP flow with SYN, or a TCP flow whose source
 * reported no flags at all (NetFlow v5 without flags), or any non-TCP flow. A later slice of a
 * long TCP connection carries no SYN and is not a start.
 */
export const isConnectionStart = (f: FlowRecord): boolean => f.proto !== 6 || f.tcpFlags === 0 || (f.tcpFlags & TCP_SYN) !== 0;

export const newEdgeFeatures = (key: EdgeKey): EdgeFeatures => ({
  edge: edgeId(key), key, flows: 0, packets: 0, bytes: 0, packetsRev: 0, bytesRev: 0, responses: 0, l7Flows: 0, requests: 0, ops: new Map(), errors: new Map(), units: new Set(),
  starts: 0, synStarts: 0, flowStarts: [], startsByOps: new Map(), requestIntervals: intervals.empty(), firstTs: Infinity, lastTs: -Infinity,
  spans: [],
});

export const newConduitFeatures = (conduit: string, windowStart: number, windowEnd: number): ConduitFeatures => ({
  conduit, windowStart, windowEnd, edges: new Map(), fanout: new Map(), flows: 0, firstTs: Infinity, lastTs: -Infinity,
});

const addCounts = (into: Map<string, number>, from: Record<string, number> | undefined): number => {
  let total = 0;
  if (!from) return 0;
  for (const [k, v] of Object.entries(from)) {
    if (!Number.isFinite(v) || v <= 0) continue;
    into.set(k, (into.get(k) ?? 0) + v);
    total += v;
  }
  return total;
};

/** Adds one flow to its conduit window (creating the edge entry). */
export const addFlow = (cw: ConduitFeatures, f: FlowRecord): void => {
  const key = edgeKeyOf(f);
  const id = edgeId(key);
  let e = cw.edges.get(id);
  if (!e) cw.edges.set(id, (e = newEdgeFeatures(key)));
  e.flows += 1;
  e.packets += f.packets + f.packetsRev;
  e.bytes += f.bytes + f.bytesRev;
  e.packetsRev += f.packetsRev;
  e.bytesRev += f.bytesRev;
  e.requests += addCounts(e.ops, f.l7Ops);
  if (f.l7Ops) e.l7Flows += 1;
  if (f.l7OpsRev) for (const v of Object.values(f.l7OpsRev)) if (Number.isFinite(v) && v > 0) e.responses += v;
  addCounts(e.errors, f.l7Errors);
  for (const u of f.l7Units ?? []) e.units.add(u);
  if (isConnectionStart(f)) {
    e.starts += 1;
    if (f.proto === 6 && (f.tcpFlags & TCP_SYN) !== 0) e.synStarts += 1;
    e.flowStarts.push(f.tsStart);
    // Only real connections (SYN) are split by what they asked for; slices of a long flow from a
    // flag-less source would scatter one cadence over the changing op mix of each slice.
    const sig = f.l7Ops && f.proto === 6 && (f.tcpFlags & TCP_SYN) !== 0 ? Object.keys(f.l7Ops).sort().join('+') : '';
    const list = e.startsByOps.get(sig);
    if (list) list.push(f.tsStart);
    else e.startsByOps.set(sig, [f.tsStart]);
  }
  if (f.requestIntervalsMs && f.requestIntervalsMs.count > 0) intervals.merge(e.requestIntervals, { ...f.requestIntervalsMs });
  e.firstTs = Math.min(e.firstTs, f.tsStart);
  e.lastTs = Math.max(e.lastTs, f.tsEnd);
  e.spans.push([f.tsStart, Number.isFinite(f.tsEnd) && f.tsEnd >= f.tsStart ? f.tsEnd : f.tsStart]);
  let fan = cw.fanout.get(f.srcIp);
  if (!fan) cw.fanout.set(f.srcIp, (fan = { dstPorts: new Set(), dstHosts: new Set() }));
  fan.dstPorts.add(f.dstPort);
  fan.dstHosts.add(f.dstIp);
  cw.flows += 1;
  cw.firstTs = Math.min(cw.firstTs, f.tsStart);
  cw.lastTs = Math.max(cw.lastTs, f.tsEnd);
};

/** Sorts what arrival order could have shuffled, so detectors see the same thing for the same input. */
export const finalizeConduit = (cw: ConduitFeatures): ConduitFeatures => {
  for (const e of cw.edges.values()) {
    e.flowStarts.sort((a, b) => a - b);
    e.spans.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    for (const list of e.startsByOps.values()) list.sort((a, b) => a - b);
  }
  return cw;
};

/**
 * Longest silence inside one window of an edge: between its flows (overlapping flows merged) and
 * between requests inside a flow (`requestIntervals.max`). 0 when the window shows none. Expects
 * a finalised window (spans sorted).
 */
export const insideGapMs = (e: EdgeFeatures): number => {
  let gap = e.requestIntervals.count > 0 && Number.isFinite(e.requestIntervals.max) ? e.requestIntervals.max : 0;
  let reach = -Infinity;
  for (const [start, end] of e.spans) {
    if (reach > -Infinity && start - reach > gap) gap = start - reach;
    if (end > reach) reach = end;
  }
  return Math.max(0, gap);
};

/** Sorted `[key, value]` pairs of a count map, as a plain record. */
export const sortedRecord = (m: Map<string, number>): Record<string, number> =>
  Object.fromEntries([...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

/** Sorted keys of a count map. */
export const sortedKeys = <K extends string | number>(m: Map<K, unknown> | Set<K>): K[] =>
  [...m.keys()].sort((a, b) => (typeof a === 'number' && typeof b === 'number' ? a - b : String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0));

/** Plain-data form of `EdgeFeatures` (for snapshots). */
export interface EdgeFeaturesJSON extends Omit<EdgeFeatures, 'ops' | 'errors' | 'units' | 'requestIntervals' | 'firstTs' | 'lastTs' | 'startsByOps' | 'spans'> {
  /** Absent in snapshots written before activity gaps were tracked. */
  spans?: [number, number][];
  ops: [string, number][];
  startsByOps: [string, number[]][];
  errors: [string, number][];
  units: number[];
  requestIntervals: IntervalSummary | null;
  firstTs: number | null;
  lastTs: number | null;
}

const finiteOrNull = (x: number): number | null => (Number.isFinite(x) ? x : null);

export const edgeFeaturesToJSON = (e: EdgeFeatures): EdgeFeaturesJSON => ({
  ...e, ops: [...e.ops], errors: [...e.errors], units: [...e.units], spans: e.spans.map(([a, b]) => [a, b]), startsByOps: [...e.startsByOps].map(([k, v]) => [k, [...v]]),
  requestIntervals: e.requestIntervals.count > 0 ? { ...e.requestIntervals } : null,
  firstTs: finiteOrNull(e.firstTs), lastTs: finiteOrNull(e.lastTs),
});

export const edgeFeaturesFromJSON = (j: EdgeFeaturesJSON): EdgeFeatures => ({
  ...j, flowStarts: [...j.flowStarts], spans: (j.spans ?? []).map(([a, b]) => [a, b]), startsByOps: new Map((j.startsByOps ?? []).map(([k, v]) => [k, [...v]])), ops: new Map(j.ops), errors: new Map(j.errors), units: new Set(j.units),
  requestIntervals: j.requestIntervals ? { ...j.requestIntervals } : intervals.empty(),
  firstTs: j.firstTs ?? Infinity, lastTs: j.lastTs ?? -Infinity,
});

/** Plain-data form of `ConduitFeatures` (for snapshots). */
export interface ConduitFeaturesJSON {
  conduit: string;
  windowStart: number;
  windowEnd: number;
  edges: EdgeFeaturesJSON[];
  fanout: [string, number[], string[]][];
  flows: number;
  firstTs: number | null;
  lastTs: number | null;
}

export const conduitFeaturesToJSON = (c: ConduitFeatures): ConduitFeaturesJSON => ({
  conduit: c.conduit, windowStart: c.windowStart, windowEnd: c.windowEnd,
  edges: [...c.edges.values()].map(edgeFeaturesToJSON),
  fanout: [...c.fanout].map(([src, f]) => [src, [...f.dstPorts], [...f.dstHosts]]),
  flows: c.flows, firstTs: finiteOrNull(c.firstTs), lastTs: finiteOrNull(c.lastTs),
});

export const conduitFeaturesFromJSON = (j: ConduitFeaturesJSON): ConduitFeatures => ({
  conduit: j.conduit, windowStart: j.windowStart, windowEnd: j.windowEnd,
  edges: new Map(j.edges.map((e) => [e.edge, edgeFeaturesFromJSON(e)])),
  fanout: new Map(j.fanout.map(([src, ports, hosts]) => [src, { dstPorts: new Set(ports), dstHosts: new Set(hosts) }])),
  flows: j.flows, firstTs: j.firstTs ?? Infinity, lastTs: j.lastTs ?? -Infinity,
});
