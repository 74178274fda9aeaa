/**
 * Records as Native blocks (store/native.ts) for the hot tables, column by column from the records,
 * with no row objects and no JSON in between. Each block holds exactly the columns the row mappers
 * of schema.ts produce, with the same values (test/integration/store/native.test.ts compares them
 * on the engine). Columns the table fills itself (`series.stored_at`) are left out.
 */
import type { SiteMap } from '../core/config.ts';
import type { EdgeSeries, FlowRecord, WindowScore } from '../core/records.ts';
import { NativeBuilder, type NativeBlock } from './native.ts';
import { contentFlowId, tables } from './schema.ts';
import { zoneIndexOf } from './zones.ts';

const F = tables.flows.columns;
const W = tables.windows.columns;
const R = tables.series.columns;

const DT64 = "DateTime64(3, 'UTC')";

/**
 * Flows as a `flows` block: conduit and zones from the site map, `observedAt` the processing time
 * (one per block, or one per flow). The same values as `flowRows` (schema.ts `flowRow`).
 */
export const flowBlock = (
  flows: readonly FlowRecord[], siteMap: SiteMap, runId: string, observedAt: number | Float64Array,
): NativeBlock => {
  const n = flows.length;
  const b = new NativeBuilder(n, Object.keys(F).length - 1, 300);
  const zones = zoneIndexOf(siteMap);
  // One pass over the records for every fixed-width column (each record is loaded once) and the
  // zone indexes, into scratch columns that are then copied into the block in table order.
  const c = scratchFor(n);
  for (let i = 0; i < n; i++) {
    const f = flows[i]!;
    const a = zones.of(f.srcIp);
    const z = zones.of(f.dstIp);
    c.srcZone[i] = a;
    c.dstZone[i] = z;
    c.conduit[i] = zones.conduitOf(a, z);
    c.tsStart[i] = f.tsStart;
    c.tsEnd[i] = f.tsEnd;
    c.srcPort[i] = f.srcPort;
    c.dstPort[i] = f.dstPort;
    c.proto[i] = f.proto;
    c.packets[i] = f.packets;
    c.bytes[i] = f.bytes;
    c.packetsRev[i] = f.packetsRev;
    c.bytesRev[i] = f.bytesRev;
    c.tcpFlags[i] = f.tcpFlags;
    c.domain[i] = f.observationDomain;
    c.exporter[i] = f.exporter;
    c.source[i] = f.source;
    c.l7[i] = f.l7 ?? '';
    c.l7Ops[i] = f.l7Ops;
    c.l7OpsRev[i] = f.l7OpsRev;
    c.l7Errors[i] = f.l7Errors;
    c.l7Units[i] = f.l7Units;
    c.l7Violations[i] = f.l7Violations;
    c.fidelity[i] = f.fidelity;
    // An absent or empty interval summary is stored as zeros (flowRow does the same).
    const iv = f.requestIntervalsMs;
    if (iv !== undefined && iv.count > 0) {
      c.reqCount[i] = iv.count;
      c.reqMean[i] = iv.mean;
      c.reqM2[i] = iv.m2;
      c.reqMin[i] = iv.min;
      c.reqMax[i] = iv.max;
    } else {
      c.reqCount[i] = 0;
      c.reqMean[i] = 0;
      c.reqM2[i] = 0;
      c.reqMin[i] = 0;
      c.reqMax[i] = 0;
    }
  }
  b.stringConst(F.runId, runId);
  // The dedup key with run_id (migration 010_flows_ids); a record without one gets its content id, as flowRow gives.
  b.column(F.id, 'String');
  for (let i = 0; i < n; i++) { const f = flows[i]!; b.str(f.id ?? contentFlowId(f)); }
  if (typeof observedAt === 'number') b.dateTime64Const(F.observedAt, observedAt);
  else b.int64s(F.observedAt, DT64, observedAt, n);
  b.lowCardinalityIndexes(F.conduit, zones.conduits, c.conduit, n);
  b.lowCardinalityIndexes(F.srcZone, zones.names, c.srcZone, n).lowCardinalityIndexes(F.dstZone, zones.names, c.dstZone, n);
  b.int64s(F.tsStart, DT64, c.tsStart, n).int64s(F.tsEnd, DT64, c.tsEnd, n);
  b.column(F.srcIp, 'String');
  for (let i = 0; i < n; i++) b.str(flows[i]!.srcIp);
  b.fixed(F.srcPort, 'UInt16', c.srcPort, n);
  b.column(F.dstIp, 'String');
  for (let i = 0; i < n; i++) b.str(flows[i]!.dstIp);
  b.fixed(F.dstPort, 'UInt16', c.dstPort, n).fixed(F.proto, 'UInt8', c.proto, n);
  b.int64s(F.packets, 'UInt64', c.packets, n).int64s(F.bytes, 'UInt64', c.bytes, n);
  b.int64s(F.packetsRev, 'UInt64', c.packetsRev, n).int64s(F.bytesRev, 'UInt64', c.bytesRev, n);
  b.fixed(F.tcpFlags, 'UInt16', c.tcpFlags, n);
  b.lowCardinality(F.exporter, c.exporter);
  b.fixed(F.observationDomain, 'UInt32', c.domain, n);
  b.lowCardinality(F.source, c.source).lowCardinality(F.l7, c.l7);
  b.map(F.l7Ops, 'UInt64', c.l7Ops).map(F.l7OpsRev, 'UInt64', c.l7OpsRev).map(F.l7Errors, 'UInt64', c.l7Errors);
  b.arrayUint32(F.l7Units, c.l7Units).map(F.l7Violations, 'UInt64', c.l7Violations);
  b.int64s(F.reqCount, 'UInt64', c.reqCount, n);
  b.fixed(F.reqMean, 'Float64', c.reqMean, n).fixed(F.reqM2, 'Float64', c.reqM2, n);
  b.fixed(F.reqMin, 'Float64', c.reqMin, n).fixed(F.reqMax, 'Float64', c.reqMax, n);
  // Array(String) into the table's Array(LowCardinality(String)): the insert converts.
  b.arrayString(F.fidelity, c.fidelity);
  return b.seal();
};

/** Fixed-width scratch columns of flowBlock, reused from block to block (the block copies them). */
const newScratch = (n: number) => ({
  n, conduit: new Uint32Array(n), srcZone: new Uint16Array(n), dstZone: new Uint16Array(n), tsStart: new Float64Array(n), tsEnd: new Float64Array(n), srcPort: new Uint16Array(n), dstPort: new Uint16Array(n),
  proto: new Uint8Array(n), packets: new Float64Array(n), bytes: new Float64Array(n), packetsRev: new Float64Array(n),
  bytesRev: new Float64Array(n), tcpFlags: new Uint16Array(n), domain: new Uint32Array(n), reqCount: new Float64Array(n),
  reqMean: new Float64Array(n), reqM2: new Float64Array(n), reqMin: new Float64Array(n), reqMax: new Float64Array(n),
  exporter: new Array<string>(n).fill(''), source: new Array<string>(n).fill(''), l7: new Array<string>(n).fill(''),
  l7Ops: new Array<Ops>(n).fill(undefined), l7OpsRev: new Array<Ops>(n).fill(undefined), l7Errors: new Array<Ops>(n).fill(undefined),
  l7Violations: new Array<Ops>(n).fill(undefined), l7Units: new Array<readonly number[] | undefined>(n).fill(undefined),
  fidelity: new Array<readonly string[] | undefined>(n).fill(undefined),
});
type Ops = Readonly<Record<string, number>> | undefined;
let scratch = newScratch(1024);
const scratchFor = (n: number): ReturnType<typeof newScratch> => (scratch.n >= n ? scratch : (scratch = newScratch(Math.max(n, 2 * scratch.n))));

/** Scores as a `windows` block; the same values as `windowRow`. */
export const windowBlock = (scores: readonly WindowScore[], runId: string): NativeBlock => {
  const n = scores.length;
  const b = new NativeBuilder(n, Object.keys(W).length - 1, 300);
  b.stringConst(W.runId, runId).lowCardinality(W.conduit, scores.map((s) => s.conduit));
  b.column(W.edge, 'String');
  for (let i = 0; i < n; i++) b.str(scores[i]!.edge);
  b.column(W.windowStart, DT64, 8);
  for (let i = 0; i < n; i++) b.i64(scores[i]!.windowStart);
  b.column(W.windowEnd, DT64, 8);
  for (let i = 0; i < n; i++) b.i64(scores[i]!.windowEnd);
  b.lowCardinality(W.detector, scores.map((s) => s.detector));
  b.column(W.score, 'Float64', 8);
  for (let i = 0; i < n; i++) b.f64(scores[i]!.score);
  b.column(W.learning, 'UInt8', 1);
  for (let i = 0; i < n; i++) b.u8(scores[i]!.learning ? 1 : 0);
  b.column(W.explanation, 'String');
  for (let i = 0; i < n; i++) b.str(scores[i]!.explanation);
  b.map(W.features, 'Float64', scores.map((s) => s.features));
  return b.seal();
};

/** Edge series as a `series` block (stored_at left to the engine); the same values as `seriesRow`. */
export const seriesBlock = (series: readonly EdgeSeries[], runId: string): NativeBlock => {
  const n = series.length;
  const b = new NativeBuilder(n, Object.keys(R).length - 1, 160);
  b.lowCardinality(R.runId, new Array<string>(n).fill(runId)).lowCardinality(R.conduit, series.map((s) => s.conduit));
  b.column(R.edge, 'String');
  for (let i = 0; i < n; i++) b.str(series[i]!.edge);
  b.column(R.windowStart, DT64, 8);
  for (let i = 0; i < n; i++) b.i64(series[i]!.windowStart);
  b.column(R.windowEnd, DT64, 8);
  for (let i = 0; i < n; i++) b.i64(series[i]!.windowEnd);
  b.column(R.learning, 'UInt8', 1);
  for (let i = 0; i < n; i++) b.u8(series[i]!.learning ? 1 : 0);
  b.lowCardinality(R.unit, series.map((s) => s.unit));
  b.nullableFloat64(R.observed, series.map((s) => s.observed)).nullableFloat64(R.expected, series.map((s) => s.expected));
  b.nullableFloat64(R.expectedStd, series.map((s) => s.expectedStd)).nullableFloat64(R.periodMs, series.map((s) => s.periodMs));
  b.nullableFloat64(R.jitterMs, series.map((s) => s.jitterMs)).nullableFloat64(R.expectedPeriodMs, series.map((s) => s.expectedPeriodMs));
  b.nullableFloat64(R.expectedJitterMs, series.map((s) => s.expectedJitterMs));
  b.column(R.intervals, 'UInt32', 4);
  for (let i = 0; i < n; i++) b.u32(series[i]!.intervals);
  b.column(R.score, 'Float64', 8);
  for (let i = 0; i < n; i++) b.f64(series[i]!.score);
  return b.seal();
};
