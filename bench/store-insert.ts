/**
 * Inserting N flow rows (default 1M, Modbus maps on every row) into chDB, each path in the same
 * process and run, in blocks of 50 000 rows:
 * - BatchWriter, Native: FlowRecords → typed columns → Native block → tmpfs file → INSERT … SELECT FROM file();
 * - BatchWriter, JSON (the row path): flowRow objects → JSONEachRow → chDB's raw insert;
 * - chDB's own ceilings for the same rows: the blocks chDB itself wrote as Native, Arrow and Parquet
 *   (SELECT … FORMAT x of the rows the Native path stored), inserted the same way, so only the
 *   engine's parse and write are counted.
 * CPU seconds are the process's (user + system: JS and the engine's threads), so rows per CPU-second
 * compare paths whatever else the machine runs; wall time and the load average are printed beside.
 *
 *   node --import tsx bench/store-insert.ts            # N=1000000
 *   N=200000 node --import tsx bench/store-insert.ts
 */
import { mkdtemp, rm, stat, unlink } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSite, SiteMap } from '../core/config.ts';
import type { FlowRecord } from '../core/records.ts';
import { flowBlock } from '../store/blocks.ts';
import { openChdb } from '../store/chdb.ts';
import { flowRows } from '../store/flows.ts';
import { migrate } from '../store/migrate.ts';
import { tables } from '../store/schema.ts';
import { BatchWriter } from '../store/writer.ts';

const N = Number(process.env.N ?? 1_000_000);
const BLOCK = 50_000;
const T0 = Date.parse('2025-01-01T00:00:00Z');
const site = parseSite([
  'site: bench', 'productionCycle: 1h', 'zones:',
  '  - name: hmi', '    sl: 2', '    cidrs: [10.1.0.0/16]',
  '  - name: plc', '    sl: 3', '    cidrs: [10.2.0.0/16]',
  'conduits:', '  - from: hmi', '    to: plc', ''].join('\n'), 'bench.yaml');
const siteMap = new SiteMap(site);
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

interface Figure { name: string; rows: number; wall: number; cpu: number; bytes: number }
const figures: Figure[] = [];
const measure = async (name: string, rows: number, run: () => Promise<number>): Promise<Figure> => {
  if (global.gc) global.gc();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const bytes = await run();
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  const f = { name, rows, wall, cpu: (c.user + c.system) / 1e6, bytes };
  figures.push(f);
  console.log(`${name.padEnd(52)} ${(rows / f.cpu / 1e3).toFixed(0).padStart(6)} k rows/CPU-s ${(rows / wall / 1e3).toFixed(0).padStart(6)} k rows/s  ` +
    `${f.cpu.toFixed(2).padStart(6)} CPU-s ${wall.toFixed(2).padStart(6)} s  ${(bytes / 1e6).toFixed(0).padStart(5)} MB  load ${loadavg()[0]!.toFixed(1)}`);
  return f;
};

/** A writer fed 10k rows at a time, yielding between batches as a real source does. */
const feed = async (w: BatchWriter<FlowRecord> | BatchWriter, rowsOf: (slice: FlowRecord[]) => object[]): Promise<number> => {
  for (let i = 0; i < N; i += 10_000) {
    await (w as BatchWriter).write(rowsOf(recs.slice(i, i + 10_000)));
    await new Promise((r) => setImmediate(r));
  }
  await w.close();
  return w.written.bytes;
};

console.log(`${N.toLocaleString('en-US')} flow rows, blocks of ${BLOCK.toLocaleString('en-US')}; chDB in process; load ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);

const native = await measure('BatchWriter, Native (records → typed columns → file())', N, () =>
  feed(new BatchWriter<FlowRecord>(store, tables.flows.name, { maxRows: BLOCK, encode: (rows) => flowBlock(rows, siteMap, 'native', T0) }), (s) => s));

await measure('  (encoding alone: flowBlock per block)', N, async () => {
  let bytes = 0;
  for (let i = 0; i < N; i += BLOCK) bytes += flowBlock(recs.slice(i, i + BLOCK), siteMap, 'enc', T0).bytes.length;
  return bytes;
});

if (process.env.JSON !== '0') {
  await measure('BatchWriter, JSON (flowRow → JSONEachRow)', N, () =>
    feed(new BatchWriter(store, tables.flows.name, { maxRows: BLOCK }), (s) => flowRows(s, siteMap, 'json', T0)));
}

// chDB's ceilings: the stored rows, as chDB itself writes them in each format, in the same block sizes.
for (const format of ['Native', 'Arrow', 'Parquet'] as const) {
  const files: string[] = [];
  let bytes = 0;
  for (let i = 0; i < N; i += BLOCK) {
    const path = join('/dev/shm', `cw-bench-${process.pid}-${format}-${i}`);
    await store.exec(`SELECT * FROM flows WHERE run_id = 'native' ORDER BY ts_start LIMIT ${BLOCK} OFFSET ${i} INTO OUTFILE '${path}' FORMAT ${format}`);
    files.push(path);
    bytes += (await stat(path)).size;
  }
  await measure(`chDB ceiling: ${format} file → INSERT … SELECT FROM file()`, N, async () => {
    for (const f of files) await store.exec(`INSERT INTO flows_peer SELECT * FROM file('${f}', '${format}')`);
    return bytes;
  });
  for (const f of files) await unlink(f);
}

const ceiling = figures.find((f) => f.name.startsWith('chDB ceiling: Native'))!;
console.log(`\nBatchWriter Native = ${(100 * (native.rows / native.cpu) / (ceiling.rows / ceiling.cpu)).toFixed(0)} % of chDB's Native ceiling per CPU-second ` +
  `(${(100 * ceiling.wall / native.wall).toFixed(0)} % in wall time)`);
console.log((await store.text(`SELECT run_id, count() FROM flows GROUP BY run_id ORDER BY run_id UNION ALL SELECT 'flows_peer', count() FROM flows_peer`, 'TSV')).trim().replaceAll('\n', ' · '));
await store.close();
await rm(dir, { recursive: true, force: true });
