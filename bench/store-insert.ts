/**
 * Inserting N flow rows (default 1M, Modbus maps on every row) into chDB, each path in the same
 * process and run, in blocks of 50 000 rows:
 * - BatchWriter, Native: FlowRecords → typed columns → Native block → tmpfs file → INSERT … SELECT FROM file();
 * - BatchWriter, JSON (the row path): flowRow objects → JSONEachRow → chDB's raw insert;
 * - chDB's own ceilings for the same rows: the blocks chDB itself wrote as Native, Arrow and Parquet
 *   (SELECT … FORMAT x of the rows the Native path stored), inserted the same way, so only the
 *   engine's parse and write are counted.
 * Merges are stopped while measuring (each figure is the inserts alone, not the background merges
 * they cause later). CPU seconds are the process's (user + system: JS and the engine's threads), so rows per CPU-second
 * compare paths whatever else the machine runs; wall time and the load average are printed beside.
 *
 *   node --import tsx bench/store-insert.ts            # N=1000000
 *   N=200000 ROUNDS=1 JSON=0 HOSTS=240 node --expose-gc --import tsx bench/store-insert.ts
 */
import { mkdtemp, rm, stat, unlink } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSite, SiteMap } from '../core/config.ts';
import { flowId, type FlowRecord } from '../core/records.ts';
import { flowBlock } from '../store/blocks.ts';
import type { NativeBlock } from '../store/native.ts';
import { openChdb } from '../store/chdb.ts';
import { flowRows } from '../store/flows.ts';
import { migrate } from '../store/migrate.ts';
import { tables } from '../store/schema.ts';
import { BatchWriter } from '../store/writer.ts';

const N = Number(process.env.N ?? 1_000_000);
/** Distinct source addresses (default 65 536, the rows of issue 15); HOSTS=240 is a plant's worth. */
const HOSTS = Number(process.env.HOSTS ?? 65_536);
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
    id: flowId('pcap', 'bench.pcap', i, 0), tsStart: T0 + i * 10, tsEnd: T0 + i * 10 + 999, srcIp: `10.1.${((i % HOSTS) >> 8) & 255}.${(i % HOSTS) & 255}`, srcPort: 40000 + (i % 20000),
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
// Background merges of earlier parts would land in whichever measurement runs next: stop them, so
// each figure is the insert itself (parse, sort, compress, write the part) and nothing else.
await store.exec(`SYSTEM STOP MERGES ${tables.flows.name}`);
await store.exec('SYSTEM STOP MERGES flows_peer');

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

console.log(`${N.toLocaleString('en-US')} flow rows from ${HOSTS.toLocaleString('en-US')} source addresses, blocks of ${BLOCK.toLocaleString('en-US')}; chDB in process; load ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);

// Warm-up, not measured: the encoder and the writer compiled, as in a running pipeline.
{
  const w = new BatchWriter<FlowRecord>(store, 'flows_peer', { maxRows: BLOCK, encode: (rows) => flowBlock(rows, siteMap, 'warm', T0) });
  for (let i = 0; i < 3; i++) await w.write(recs.slice(0, BLOCK));
  await w.close();
  await store.exec('TRUNCATE TABLE flows_peer');
}

const writeNative = (run: string) => () =>
  feed(new BatchWriter<FlowRecord>(store, tables.flows.name, { maxRows: BLOCK, encode: (rows) => flowBlock(rows, siteMap, run, T0) }), (x) => x);
const encodeAlone = async (): Promise<number> => {
  let bytes = 0;
  for (let i = 0; i < N; i += BLOCK) bytes += flowBlock(recs.slice(i, i + BLOCK), siteMap, 'enc', T0).bytes.length;
  return bytes;
};
let blockSeq = 0;
let pending: NativeBlock[] = [];
/** Builds the blocks (not measured) so that only their inserts are. */
const encodeBlocks = async (): Promise<void> => {
  pending = [];
  for (let i = 0; i < N; i += BLOCK) pending.push(flowBlock(recs.slice(i, i + BLOCK), siteMap, 'blocks', T0));
};
const insertBlocks = async (): Promise<number> => {
  let bytes = 0;
  for (const b of pending) bytes += (await store.insertRows('flows_peer', b, { dedupToken: `bench-${++blockSeq}` })).bytes;
  pending = [];
  return bytes;
};

// chDB's ceilings: the stored rows as chDB itself writes them in each format, in the same block sizes.
const FORMATS = ['Native', 'Arrow', 'Parquet'] as const;
const ceilingFiles = new Map<string, { files: string[]; bytes: number }>();
const prepareCeilings = async (run: string): Promise<void> => {
  for (const format of FORMATS) {
    const files: string[] = [];
    let bytes = 0;
    for (let i = 0; i < N; i += BLOCK) {
      const path = join('/dev/shm', `cw-bench-${process.pid}-${format}-${i}`);
      await store.exec(`SELECT * EXCEPT stored_at FROM flows WHERE run_id = '${run}' ORDER BY ts_start LIMIT ${BLOCK} OFFSET ${i} INTO OUTFILE '${path}' FORMAT ${format}`);
      files.push(path);
      bytes += (await stat(path)).size;
    }
    ceilingFiles.set(format, { files, bytes });
  }
};
const ceiling = (format: string) => async (): Promise<number> => {
  const { files, bytes } = ceilingFiles.get(format)!;
  const cols = tables.flows.columns;
  const names = Object.values(cols).filter((c) => c !== cols.storedAt).join(', ');
  for (const f of files) await store.exec(`INSERT INTO flows_peer (${names}) SELECT * FROM file('${f}', '${format}')`);
  return bytes;
};

const ROUNDS = Number(process.env.ROUNDS ?? 3);
const insertPath = (): (() => Promise<number>) => insertBlocks;
const paths: [string, (round: number) => () => Promise<number>][] = [
  ['BatchWriter, Native (records → typed columns → file())', (r) => writeNative(`native-${r}`)],
  ['  (encoding alone: flowBlock per block)', () => encodeAlone],
  ['  (inserting the encoded blocks alone)', insertPath],
  ...FORMATS.map((f): [string, () => () => Promise<number>] => [`chDB ceiling: ${f} file → INSERT … SELECT FROM file()`, () => ceiling(f)]),
];
const best = new Map<string, Figure>();
const keep = (f: Figure): void => {
  const b = best.get(f.name);
  if (!b || f.cpu < b.cpu) best.set(f.name, f);
};
for (let r = 1; r <= ROUNDS; r++) {
  console.log(`round ${r} of ${ROUNDS}`);
  for (const [name, make] of paths) {
    if (name.startsWith('chDB') && ceilingFiles.size === 0) await prepareCeilings('native-1');
    if (make === insertPath) await encodeBlocks();
    keep(await measure(name, N, make(r)));
  }
  await store.exec('TRUNCATE TABLE flows_peer');
}
if (process.env.JSON !== '0') keep(await measure('BatchWriter, JSON (flowRow → JSONEachRow), once', N, () =>
  feed(new BatchWriter(store, tables.flows.name, { maxRows: BLOCK }), (x) => flowRows(x, siteMap, 'json', T0))));
for (const { files } of ceilingFiles.values()) for (const f of files) await unlink(f);

console.log(`\nbest of ${ROUNDS} rounds (least CPU):`);
for (const f of best.values()) {
  console.log(`${f.name.padEnd(52)} ${(f.rows / f.cpu / 1e3).toFixed(0).padStart(6)} k rows/CPU-s ${f.cpu.toFixed(2).padStart(6)} CPU-s ${(f.rows / f.wall / 1e3).toFixed(0).padStart(6)} k rows/s`);
}
const ours = best.get(paths[0]![0])!;
const peak = best.get(`chDB ceiling: Native file → INSERT … SELECT FROM file()`)!;
console.log(`\nBatchWriter Native = ${(100 * peak.cpu / ours.cpu).toFixed(0)} % of chDB's Native ceiling per CPU-second (best of ${ROUNDS}); load now ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
await store.close();
await rm(dir, { recursive: true, force: true });
