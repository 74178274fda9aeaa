/**
 * Inserting 1M flow rows: BatchWriter (map → buffer → JSONEachRow → chDB, blocks of maxRows)
 * vs the peer figure, one raw `session.insert` of the same JSONEachRow bytes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Session } from 'chdb';
import type { FlowRecord } from '../core/records.ts';
import { openChdb } from '../store/chdb.ts';
import { migrate } from '../store/migrate.ts';
import { flowRow, tables } from '../store/schema.ts';
import { BatchWriter } from '../store/writer.ts';

const N = Number(process.env.N ?? 1_000_000);
const T0 = Date.parse('2025-01-01T00:00:00Z');
const recs: FlowRecord[] = [];
for (let i = 0; i < N; i++) {
  recs.push({
    id: String(i), tsStart: T0 + i * 10, tsEnd: T0 + i * 10 + 999, srcIp: `10.1.${(i >> 8) & 255}.${i & 255}`, srcPort: 40000 + (i % 20000),
    dstIp: `10.2.0.${i % 50}`, dstPort: 502, proto: 6, packets: 10 + (i % 7), bytes: 800 + i % 100, packetsRev: 10, bytesRev: 1200,
    tcpFlags: 0x18, exporter: 'bench.pcap', observationDomain: 0, source: 'pcap', l7: 'modbus',
    l7Ops: { read_holding_registers: 9, write_single_register: i % 2 }, l7OpsRev: { read_holding_registers: 9 },
    l7Units: [1], requestIntervalsMs: { count: 9, mean: 100.5, m2: 12.25, min: 95, max: 105 },
  });
}
const dir = await mkdtemp(join(tmpdir(), 'cw-bench-'));
const store = await openChdb(dir);
await migrate(store);
await store.exec(`CREATE TABLE flows_peer AS ${tables.flows.name}`);
const mb = (b: number) => b / 1e6;
const line = (name: string, rows: number, bytes: number, s: number) =>
  console.log(`${name.padEnd(46)} ${(rows / s / 1e3).toFixed(0).padStart(6)} k rows/s ${(mb(bytes) / s).toFixed(1).padStart(7)} MB/s  (${s.toFixed(2)} s)`);

for (const maxRows of (process.env.MAXROWS ?? '50000').split(',').map(Number)) {
  const runId = `bw-${maxRows}`;
  const t = performance.now();
  const w = new BatchWriter(store, tables.flows.name, { maxRows });
  const extra = { conduit: 'hmi->plc', srcZone: 'hmi', dstZone: 'plc', runId, observedAt: T0 };
  for (let i = 0; i < N; i += 10_000) {
    await w.write(recs.slice(i, i + 10_000).map((r) => flowRow(r, extra)));
    // A real source yields to the event loop between batches (file or socket reads).
    if (process.env.YIELD) await new Promise((r) => setImmediate(r));
  }
  await w.close();
  const s = (performance.now() - t) / 1000;
  line(`BatchWriter maxRows=${maxRows} (map+JSON+insert)`, N, w.written.bytes, s);
}

const extra = { conduit: 'hmi->plc', srcZone: 'hmi', dstZone: 'plc', runId: 'peer', observedAt: T0 };
let t = performance.now();
// One string of 1M rows passes V8's string limit, so the payload is built as Buffers of 10k rows.
const chunks: Buffer[] = [];
for (let i = 0; i < N; i += 10_000) {
  let p = '';
  for (const r of recs.slice(i, i + 10_000)) p += `${JSON.stringify(flowRow(r, extra))}\n`;
  chunks.push(Buffer.from(p));
}
const buf = Buffer.concat(chunks);
const serS = (performance.now() - t) / 1000;
line('  (map + JSON.stringify alone)', N, buf.length, serS);
const session = new Session(dir);
t = performance.now();
await session.insert({ table: 'flows_peer', values: buf, format: 'JSONEachRow', settings: { async_insert: 0 } });
const insS = (performance.now() - t) / 1000;
line('peer: one session.insert of the 1M-row buffer', N, buf.length, insS);
line('peer incl. map + JSON.stringify', N, buf.length, insS + serS);
t = performance.now();
for (let i = 0; i < chunks.length; i += 5) {
  await session.insert({ table: 'flows_peer', values: Buffer.concat(chunks.slice(i, i + 5)), format: 'JSONEachRow', settings: { async_insert: 0 } });
}
line('peer: same bytes as 20 inserts of 50k rows', N, buf.length, (performance.now() - t) / 1000);
console.log(await store.text(`SELECT run_id, count() FROM flows GROUP BY run_id ORDER BY run_id UNION ALL SELECT 'flows_peer', count() FROM flows_peer`, 'TSV'));
session.close();
await store.close();
await rm(dir, { recursive: true, force: true });
