/**
 * Flow records read back from the store's `flows` table (what `replay` or the sink wrote), for
 * training a model on stored baseline traffic instead of files. Rows come in event-time order,
 * in batches, optionally limited to one run and a time range; read FINAL, so a flow stored twice
 * (the table deduplicates on run and id) counts once.
 */
import type { FlowRecord, FlowSource } from '../core/records.ts';
import { tables } from '../store/schema.ts';
import type { Store } from '../store/store.ts';

const F = tables.flows.columns;

export interface StoredFlowQuery {
  runId?: string;
  /** Epoch ms, inclusive / exclusive. */
  from?: number;
  until?: number;
  batch?: number;
}

interface Row {
  id: string; ts: number; te: number; src: string; sp: number; dst: string; dp: number; proto: number;
  p: number; b: number; pr: number; br: number; flags: number; exporter: string; od: number; source: string;
  l7: string; ops: Record<string, number>; opsRev: Record<string, number>; units: number[];
  rc: number; rm: number; r2: number; rmin: number; rmax: number;
}

const quote = (s: string): string => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

const toFlow = (r: Row): FlowRecord => {
  const f: FlowRecord = {
    id: r.id, tsStart: Number(r.ts), tsEnd: Number(r.te), srcIp: r.src, srcPort: r.sp, dstIp: r.dst, dstPort: r.dp, proto: r.proto,
    packets: Number(r.p), bytes: Number(r.b), packetsRev: Number(r.pr), bytesRev: Number(r.br), tcpFlags: r.flags,
    exporter: r.exporter, observationDomain: r.od, source: r.source as FlowSource,
  };
  if (r.l7) f.l7 = r.l7;
  if (Object.keys(r.ops).length) f.l7Ops = r.ops;
  if (Object.keys(r.opsRev).length) f.l7OpsRev = r.opsRev;
  if (r.units.length) f.l7Units = r.units;
  if (r.rc > 0) f.requestIntervalsMs = { count: r.rc, mean: Number(r.rm), m2: Number(r.r2), min: Number(r.rmin), max: Number(r.rmax) };
  return f;
};

/** Batches of stored flows in (ts_start, src, dst, ports) order. */
export async function* storedFlows(store: Store, q: StoredFlowQuery = {}): AsyncIterable<FlowRecord[]> {
  const where: string[] = [];
  if (q.runId !== undefined) where.push(`${F.runId} = ${quote(q.runId)}`);
  if (q.from !== undefined) where.push(`${F.tsStart} >= fromUnixTimestamp64Milli(toInt64(${Math.floor(q.from)}))`);
  if (q.until !== undefined) where.push(`${F.tsStart} < fromUnixTimestamp64Milli(toInt64(${Math.floor(q.until)}))`);
  const cols = [
    `${F.id} AS id`, `toUnixTimestamp64Milli(${F.tsStart}) AS ts`, `toUnixTimestamp64Milli(${F.tsEnd}) AS te`, `${F.srcIp} AS src`, `${F.srcPort} AS sp`,
    `${F.dstIp} AS dst`, `${F.dstPort} AS dp`, `${F.proto} AS proto`, `${F.packets} AS p`, `${F.bytes} AS b`, `${F.packetsRev} AS pr`,
    `${F.bytesRev} AS br`, `${F.tcpFlags} AS flags`, `${F.exporter} AS exporter`, `${F.observationDomain} AS od`, `${F.source} AS source`,
    `${F.l7} AS l7`, `${F.l7Ops} AS ops`, `${F.l7OpsRev} AS opsRev`, `${F.l7Units} AS units`,
    `${F.reqCount} AS rc`, `${F.reqMean} AS rm`, `${F.reqM2} AS r2`, `${F.reqMin} AS rmin`, `${F.reqMax} AS rmax`,
  ].join(', ');
  const size = q.batch ?? 50_000;
  const order = `ORDER BY ${F.tsStart}, ${F.srcIp}, ${F.dstIp}, ${F.dstPort}, ${F.srcPort}, ${F.tsEnd}`;
  for (let offset = 0; ; offset += size) {
    const rows = await store.query<Row>(`SELECT ${cols} FROM ${tables.flows.name} FINAL${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ${order} LIMIT ${size} OFFSET ${offset}`);
    if (rows.length === 0) return;
    yield rows.map(toFlow);
    if (rows.length < size) return;
  }
}
