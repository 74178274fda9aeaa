/**
 * What each edge did in one event-time window, accumulated flow by flow into columns. A window
 * (`WindowAcc`) gives each edge with traffic a slot, in the order of its first flow; every
 * per-edge counter is a typed-array column indexed by slot, and the few variable-length things
 * (operations with counts, unit ids, connection starts, flow spans) live in pools of linked
 * entries owned by the window. Nothing is allocated per flow except pool growth; a closed window
 * is recycled for a later one.
 *
 * Per slot (= per edge in the window):
 * - flows: flow records (slices) whose tsStart falls in the window;
 * - packets, bytes: both directions; packetsRev, bytesRev: what the responder sent;
 * - requests: sum of `l7Ops` (requests the initiator sent); responses: sum of `l7OpsRev`;
 * - ops: operation → count (`l7Ops`, insertion order); units: unit ids / station addresses;
 * - synStarts: TCP flows that carried a SYN;
 * - starts: connection starts (`isConnectionStart`) with their signature: the sorted op names of
 *   a SYN connection that carried l7 operations, else '' (a poller that opens one connection per
 *   function code gets one cadence per code);
 * - request intervals inside the flows, merged (Welford: count, mean, m2, max);
 * - firstTs / lastTs: first tsStart and last tsEnd; spans: each flow's [tsStart, tsEnd], for the
 *   longest silence inside the window (`insideGapMs`).
 */
import type { FlowRecord } from '../core/records.ts';
import { colFromJson, colToJson, grow, numFromJson, numToJson, type NumJSON } from './columns.ts';
import type { EdgeTable } from './edges.ts';

/** TCP SYN flag bit. */
export const TCP_SYN = 0x02;

/**
 * Whether a flow record marks a new connection: a TCP flow with SYN, or a TCP flow whose source
 * reported no flags at all (NetFlow v5 without flags), or any non-TCP flow. A later slice of a
 * long TCP connection carries no SYN and is not a start.
 */
export const isConnectionStart = (f: FlowRecord): boolean => f.proto !== 6 || f.tcpFlags === 0 || (f.tcpFlags & TCP_SYN) !== 0;

/** One slot's pooled lists in plain data (snapshots). */
export interface SlotJSON {
  edge: number;
  n: NumJSON[];
  ops: [number, NumJSON][];
  units: NumJSON[];
  starts: [NumJSON, number][];
  spans: [NumJSON, NumJSON][];
}

/** Plain-data state of an open window. */
export interface WindowAccJSON {
  windowStart: number;
  slots: SlotJSON[];
}

/** Numeric columns per slot, in `SlotJSON.n` order. */
const NUMS = ['flows', 'synStarts', 'packets', 'bytes', 'packetsRev', 'bytesRev', 'requests', 'responses', 'firstTs', 'lastTs', 'riCount', 'riMean', 'riM2', 'riMax', 'portMin', 'portMax'] as const;

export class WindowAcc {
  windowStart = 0;
  windowEnd = 0;
  /** Slots in use. */
  n = 0;
  // Per slot.
  edge = new Int32Array(16);
  flows = new Int32Array(16);
  synStarts = new Int32Array(16);
  packets = new Float64Array(16);
  bytes = new Float64Array(16);
  packetsRev = new Float64Array(16);
  bytesRev = new Float64Array(16);
  requests = new Float64Array(16);
  responses = new Float64Array(16);
  firstTs = new Float64Array(16);
  lastTs = new Float64Array(16);
  riCount = new Float64Array(16);
  riMean = new Float64Array(16);
  riM2 = new Float64Array(16);
  riMax = new Float64Array(16);
  /** Smallest and largest server port of the slot's flows (an ephemeral edge folds many). */
  portMin = new Int32Array(16);
  portMax = new Int32Array(16);
  opsHead = new Int32Array(16);
  opsTail = new Int32Array(16);
  unitsHead = new Int32Array(16);
  startsHead = new Int32Array(16);
  startsTail = new Int32Array(16);
  spansHead = new Int32Array(16);
  spansTail = new Int32Array(16);
  // Pools (entries are linked per slot, in insertion order).
  opN = 0;
  opId = new Int32Array(16);
  opCount = new Float64Array(16);
  opNext = new Int32Array(16);
  unitN = 0;
  unitVal = new Float64Array(16);
  unitNext = new Int32Array(16);
  startN = 0;
  startTs = new Float64Array(16);
  startSig = new Int32Array(16);
  startNext = new Int32Array(16);
  spanN = 0;
  spanA = new Float64Array(16);
  spanB = new Float64Array(16);
  spanNext = new Int32Array(16);
  /** Slot of each edge in this window, -1 when it has none. */
  slotOf = new Int32Array(16).fill(-1);

  // Filled by `group` when the window closes: slots by conduit.
  /** Slots ordered by conduit (stable: first-flow order inside a conduit). */
  order = new Int32Array(16);
  /** Conduit → [from, to) in `order`, with the conduit's flows, first tsStart and last tsEnd. */
  readonly byConduit = new Map<number, { from: number; to: number; flows: number; firstTs: number; lastTs: number }>();

  reset(windowStart: number, windowMs: number): void {
    for (let s = 0; s < this.n; s += 1) this.slotOf[this.edge[s]!] = -1;
    this.windowStart = windowStart;
    this.windowEnd = windowStart + windowMs;
    this.n = 0;
    this.opN = 0;
    this.unitN = 0;
    this.startN = 0;
    this.spanN = 0;
    this.byConduit.clear();
  }

  /** The slot of edge `e`, created on its first flow in the window; `edges` (how many exist) sizes the columns in one step. */
  slot(e: number, edges = 0): number {
    if (e >= this.slotOf.length) this.slotOf = grow(this.slotOf, Math.max(e + 1, edges), -1);
    let s = this.slotOf[e]!;
    if (s >= 0) return s;
    s = this.n;
    if (s >= this.edge.length) this.growSlots(Math.max(s + 1, Math.min(edges, 4 * this.edge.length)));
    this.slotOf[e] = s;
    this.edge[s] = e;
    this.flows[s] = 0;
    this.synStarts[s] = 0;
    this.packets[s] = 0;
    this.bytes[s] = 0;
    this.packetsRev[s] = 0;
    this.bytesRev[s] = 0;
    this.requests[s] = 0;
    this.responses[s] = 0;
    this.firstTs[s] = Infinity;
    this.lastTs[s] = -Infinity;
    this.riCount[s] = 0;
    this.riMean[s] = 0;
    this.riM2[s] = 0;
    this.riMax[s] = -Infinity;
    this.portMin[s] = 2_147_483_647;
    this.portMax[s] = -1;
    this.opsHead[s] = -1;
    this.opsTail[s] = -1;
    this.unitsHead[s] = -1;
    this.startsHead[s] = -1;
    this.startsTail[s] = -1;
    this.spansHead[s] = -1;
    this.spansTail[s] = -1;
    this.n = s + 1;
    return s;
  }

  private growSlots(need: number): void {
    this.edge = grow(this.edge, need);
    this.flows = grow(this.flows, need);
    this.synStarts = grow(this.synStarts, need);
    this.packets = grow(this.packets, need);
    this.bytes = grow(this.bytes, need);
    this.packetsRev = grow(this.packetsRev, need);
    this.bytesRev = grow(this.bytesRev, need);
    this.requests = grow(this.requests, need);
    this.responses = grow(this.responses, need);
    this.firstTs = grow(this.firstTs, need);
    this.lastTs = grow(this.lastTs, need);
    this.riCount = grow(this.riCount, need);
    this.riMean = grow(this.riMean, need);
    this.riM2 = grow(this.riM2, need);
    this.riMax = grow(this.riMax, need);
    this.portMin = grow(this.portMin, need);
    this.portMax = grow(this.portMax, need);
    this.opsHead = grow(this.opsHead, need);
    this.opsTail = grow(this.opsTail, need);
    this.unitsHead = grow(this.unitsHead, need);
    this.startsHead = grow(this.startsHead, need);
    this.startsTail = grow(this.startsTail, need);
    this.spansHead = grow(this.spansHead, need);
    this.spansTail = grow(this.spansTail, need);
    this.order = grow(this.order, need);
  }

  /** Adds `count` of operation `op` to slot `s`. */
  addOp(s: number, op: number, count: number): void {
    for (let i = this.opsHead[s]!; i >= 0; i = this.opNext[i]!) {
      if (this.opId[i] === op) { this.opCount[i] = this.opCount[i]! + count; return; }
    }
    const i = this.opN++;
    if (i >= this.opId.length) { this.opId = grow(this.opId, i + 1); this.opCount = grow(this.opCount, i + 1); this.opNext = grow(this.opNext, i + 1); }
    this.opId[i] = op;
    this.opCount[i] = count;
    this.opNext[i] = -1;
    if (this.opsHead[s] === -1) this.opsHead[s] = i;
    else this.opNext[this.opsTail[s]!] = i;
    this.opsTail[s] = i;
  }

  addUnit(s: number, u: number): void {
    let last = -1;
    for (let i = this.unitsHead[s]!; i >= 0; i = this.unitNext[i]!) {
      if (Object.is(this.unitVal[i], u) || this.unitVal[i] === u) return;
      last = i;
    }
    const i = this.unitN++;
    if (i >= this.unitVal.length) { this.unitVal = grow(this.unitVal, i + 1); this.unitNext = grow(this.unitNext, i + 1); }
    this.unitVal[i] = u;
    this.unitNext[i] = -1;
    if (last < 0) this.unitsHead[s] = i;
    else this.unitNext[last] = i;
  }

  addStart(s: number, ts: number, sig: number): void {
    const i = this.startN++;
    if (i >= this.startTs.length) { this.startTs = grow(this.startTs, i + 1); this.startSig = grow(this.startSig, i + 1); this.startNext = grow(this.startNext, i + 1); }
    this.startTs[i] = ts;
    this.startSig[i] = sig;
    this.startNext[i] = -1;
    if (this.startsHead[s] === -1) this.startsHead[s] = i;
    else this.startNext[this.startsTail[s]!] = i;
    this.startsTail[s] = i;
  }

  addSpan(s: number, a: number, b: number): void {
    const i = this.spanN++;
    if (i >= this.spanA.length) { this.spanA = grow(this.spanA, i + 1); this.spanB = grow(this.spanB, i + 1); this.spanNext = grow(this.spanNext, i + 1); }
    this.spanA[i] = a;
    this.spanB[i] = b;
    this.spanNext[i] = -1;
    if (this.spansHead[s] === -1) this.spansHead[s] = i;
    else this.spanNext[this.spansTail[s]!] = i;
    this.spansTail[s] = i;
  }

  /** Adds one flow of edge `e` (see the file comment for what is counted). */
  addFlow(e: number, f: FlowRecord, edges: EdgeTable): void {
    const s = this.slot(e, edges.count);
    this.flows[s] = this.flows[s]! + 1;
    this.packets[s] = this.packets[s]! + (f.packets + f.packetsRev);
    this.bytes[s] = this.bytes[s]! + (f.bytes + f.bytesRev);
    this.packetsRev[s] = this.packetsRev[s]! + f.packetsRev;
    this.bytesRev[s] = this.bytesRev[s]! + f.bytesRev;
    const ops = f.l7Ops;
    if (ops) {
      let total = 0;
      for (const k in ops) {
        const v = ops[k]!;
        if (!Number.isFinite(v) || v <= 0) continue;
        this.addOp(s, edges.ops.id(k), v);
        total += v;
      }
      this.requests[s] = this.requests[s]! + total;
    }
    const rev = f.l7OpsRev;
    if (rev) for (const k in rev) { const v = rev[k]!; if (Number.isFinite(v) && v > 0) this.responses[s] = this.responses[s]! + v; }
    const units = f.l7Units;
    if (units) for (const u of units) this.addUnit(s, u);
    if (isConnectionStart(f)) {
      const syn = f.proto === 6 && (f.tcpFlags & TCP_SYN) !== 0;
      if (syn) this.synStarts[s] = this.synStarts[s]! + 1;
      // Only real connections (SYN) are split by what they asked for; slices of a long flow from a
      // flag-less source would scatter one cadence over the changing op mix of each slice.
      let sig = 0;
      if (ops && syn) {
        const keys = Object.keys(ops);
        sig = edges.sigs.id(keys.length === 1 ? keys[0]! : keys.sort().join('+'));
      }
      this.addStart(s, f.tsStart, sig);
    }
    const ri = f.requestIntervalsMs;
    if (ri && ri.count > 0) {
      // intervals.merge (Chan et al.), on the columns.
      const n0 = this.riCount[s]!;
      if (n0 === 0) {
        this.riCount[s] = ri.count;
        this.riMean[s] = ri.mean;
        this.riM2[s] = ri.m2;
        this.riMax[s] = ri.max;
      } else {
        const n = n0 + ri.count;
        const d = ri.mean - this.riMean[s]!;
        this.riM2[s] = this.riM2[s]! + (ri.m2 + (d * d * n0 * ri.count) / n);
        this.riMean[s] = this.riMean[s]! + ((d * ri.count) / n);
        this.riCount[s] = n;
        this.riMax[s] = Math.max(this.riMax[s]!, ri.max);
      }
    }
    if (f.dstPort < this.portMin[s]!) this.portMin[s] = f.dstPort;
    if (f.dstPort > this.portMax[s]!) this.portMax[s] = f.dstPort;
    this.firstTs[s] = Math.min(this.firstTs[s]!, f.tsStart);
    this.lastTs[s] = Math.max(this.lastTs[s]!, f.tsEnd);
    this.addSpan(s, f.tsStart, Number.isFinite(f.tsEnd) && f.tsEnd >= f.tsStart ? f.tsEnd : f.tsStart);
  }

  /** Groups the slots by conduit (`order`, `byConduit`), once the window is closed. */
  group(edges: EdgeTable): void {
    this.byConduit.clear();
    const n = this.n;
    for (let s = 0; s < n; s += 1) {
      const c = edges.conduitOfEdge(this.edge[s]!);
      let g = this.byConduit.get(c);
      if (!g) this.byConduit.set(c, (g = { from: 0, to: 0, flows: 0, firstTs: Infinity, lastTs: -Infinity }));
      g.to += 1;
      g.flows += this.flows[s]!;
      g.firstTs = Math.min(g.firstTs, this.firstTs[s]!);
      g.lastTs = Math.max(g.lastTs, this.lastTs[s]!);
    }
    let at = 0;
    for (const g of this.byConduit.values()) { const k = g.to; g.from = at; g.to = at; at += k; }
    for (let s = 0; s < n; s += 1) {
      const g = this.byConduit.get(edges.conduitOfEdge(this.edge[s]!))!;
      this.order[g.to++] = s;
    }
  }

  toJSON(): WindowAccJSON {
    const slots: SlotJSON[] = [];
    for (let s = 0; s < this.n; s += 1) {
      const ops: [number, NumJSON][] = [];
      for (let i = this.opsHead[s]!; i >= 0; i = this.opNext[i]!) ops.push([this.opId[i]!, numToJson(this.opCount[i]!)]);
      const units: NumJSON[] = [];
      for (let i = this.unitsHead[s]!; i >= 0; i = this.unitNext[i]!) units.push(numToJson(this.unitVal[i]!));
      const starts: [NumJSON, number][] = [];
      for (let i = this.startsHead[s]!; i >= 0; i = this.startNext[i]!) starts.push([numToJson(this.startTs[i]!), this.startSig[i]!]);
      const spans: [NumJSON, NumJSON][] = [];
      for (let i = this.spansHead[s]!; i >= 0; i = this.spanNext[i]!) spans.push([numToJson(this.spanA[i]!), numToJson(this.spanB[i]!)]);
      slots.push({ edge: this.edge[s]!, n: NUMS.map((k) => numToJson(this[k][s]!)), ops, units, starts, spans });
    }
    return { windowStart: this.windowStart, slots };
  }

  load(j: WindowAccJSON, windowMs: number): void {
    this.reset(j.windowStart, windowMs);
    for (const sl of j.slots) {
      const s = this.slot(sl.edge);
      NUMS.forEach((k, i) => { if (sl.n[i] !== undefined) this[k][s] = numFromJson(sl.n[i]); });
      for (const [op, c] of sl.ops) this.addOp(s, op, numFromJson(c));
      for (const u of sl.units) this.addUnit(s, numFromJson(u));
      for (const [ts, sig] of sl.starts) this.addStart(s, numFromJson(ts), sig);
      for (const [a, b] of sl.spans) this.addSpan(s, numFromJson(a), numFromJson(b));
    }
  }
}

/**
 * Longest silence inside one window of an edge: between its flows (overlapping flows merged) and
 * between requests inside a flow (the merged request intervals' max). 0 when the window shows
 * none.
 */
export const insideGapMs = (w: WindowAcc, s: number): number => {
  let gap = w.riCount[s]! > 0 && Number.isFinite(w.riMax[s]!) ? w.riMax[s]! : 0;
  const head = w.spansHead[s]!;
  if (head >= 0 && w.spanNext[head]! >= 0) {
    const spans: [number, number][] = [];
    for (let i = head; i >= 0; i = w.spanNext[i]!) spans.push([w.spanA[i]!, w.spanB[i]!]);
    spans.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    let reach = -Infinity;
    for (const [start, end] of spans) {
      if (reach > -Infinity && start - reach > gap) gap = start - reach;
      if (end > reach) reach = end;
    }
  }
  return Math.max(0, gap);
};

/** Connection starts of slot `s` by signature: [signature id, ascending start times], signatures in string order. */
export const startsBySig = (w: WindowAcc, s: number, edges: EdgeTable): [number, number[]][] => {
  const head = w.startsHead[s]!;
  if (head < 0) return [];
  if (w.startNext[head]! < 0) return [[w.startSig[head]!, [w.startTs[head]!]]];
  const by = new Map<number, number[]>();
  for (let i = head; i >= 0; i = w.startNext[i]!) {
    const sig = w.startSig[i]!;
    const list = by.get(sig);
    if (list) list.push(w.startTs[i]!);
    else by.set(sig, [w.startTs[i]!]);
  }
  const out = [...by];
  if (out.length > 1) out.sort((a, b) => { const x = edges.sigs.list[a[0]]!; const y = edges.sigs.list[b[0]]!; return x < y ? -1 : x > y ? 1 : 0; });
  for (const [, list] of out) list.sort((a, b) => a - b);
  return out;
};

/** Ops of slot `s` as a sorted name → count record (explanations, tests). */
export const opsRecord = (w: WindowAcc, s: number, edges: EdgeTable): Record<string, number> => {
  const pairs: [string, number][] = [];
  for (let i = w.opsHead[s]!; i >= 0; i = w.opNext[i]!) pairs.push([edges.ops.list[w.opId[i]!]!, w.opCount[i]!]);
  pairs.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(pairs);
};

/** Unit ids of slot `s`, ascending. */
export const unitsOf = (w: WindowAcc, s: number): number[] => {
  const out: number[] = [];
  for (let i = w.unitsHead[s]!; i >= 0; i = w.unitNext[i]!) out.push(w.unitVal[i]!);
  return out.sort((a, b) => a - b);
};

export { colFromJson, colToJson };
