/**
 * Native blocks (store/native.ts, store/blocks.ts) on the real engine (chDB): every hot table gets
 * from a block exactly the rows its JSON row mapper gives, and the BatchWriter's retry of a block
 * that landed but was reported failed stores it once.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parseSite, SiteMap } from '../../../core/config.ts';
import { hasCode } from '../../../core/errors.ts';
import type { EdgeSeries, FlowRecord, WindowScore } from '../../../core/records.ts';
import { flowBlock, seriesBlock, windowBlock } from '../../../store/blocks.ts';
import { openChdb } from '../../../store/chdb.ts';
import { flowRows } from '../../../store/flows.ts';
import { migrate } from '../../../store/migrate.ts';
import { NativeBuilder } from '../../../store/native.ts';
import { seriesRow, tables, windowRow } from '../../../store/schema.ts';
import type { Store } from '../../../store/store.ts';
import { BatchWriter } from '../../../store/writer.ts';

let dir: string;
let store: Store;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cw-native-'));
  store = await openChdb(dir);
  await migrate(store);
});

after(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

const siteMap = new SiteMap(parseSite([
  'site: t', 'productionCycle: 1h', 'zones:',
  '  - name: hmi', '    sl: 2', '    cidrs: [10.1.2.0/24]',
  '  - name: plc', '    sl: 3', '    cidrs: [10.1.3.0/24]',
  'conduits:', '  - from: hmi', '    to: plc', ''].join('\n'), 'site.yaml'));

const T0 = Date.parse('2025-03-04T05:06:07.089Z');

const flows: FlowRecord[] = [
  {
    id: '0123456789abcdef01234567', tsStart: T0 + 0.7, tsEnd: T0 + 59_999, srcIp: '10.1.2.10', srcPort: 50123, dstIp: '10.1.3.7', dstPort: 502, proto: 6,
    packets: 120, bytes: 2 ** 40 + 3, packetsRev: 120, bytesRev: 14_400, tcpFlags: 0x1b, exporter: 'líne3 ✓.pcap',
    observationDomain: 4_000_000_000, source: 'pcap', l7: 'modbus',
    l7Ops: { read_holding_registers: 118, write_single_register: 2 }, l7OpsRev: { read_holding_registers: 118 },
    l7Errors: { illegal_data_address: 2 }, l7Units: [1, 247], l7Violations: { modbus_short_pdu: 1 },
    requestIntervalsMs: { count: 119, mean: 500.25, m2: 1234.5, min: 480, max: 530.125 }, fidelity: ['direction_port', 'sampled'],
  },
  {
    id: 'ipfix ✓ 2', tsStart: T0 + 1, tsEnd: T0 + 1, srcIp: 'fe80::1', srcPort: 0, dstIp: 'ff02::1', dstPort: 0, proto: 58,
    packets: 1, bytes: 72, packetsRev: 0, bytesRev: 0, tcpFlags: 0, exporter: '192.0.2.1', observationDomain: 7,
    source: 'ipfix', requestIntervalsMs: { count: 0, mean: 0, m2: 0, min: Infinity, max: -Infinity },
  },
  {
    // A name longer than 127 bytes takes a two-byte length.
    id: 'file-3', tsStart: Date.parse('1969-12-31T23:59:59.000Z'), tsEnd: T0, srcIp: '10.1.2.11', srcPort: 65535, dstIp: '10.1.3.8', dstPort: 102,
    proto: 6, packets: 0, bytes: 0, packetsRev: 0, bytesRev: 0, tcpFlags: 0, exporter: 'x'.repeat(300), observationDomain: 0,
    source: 'file', l7: 's7comm', l7Ops: { [`op_${'y'.repeat(140)}`]: 2 ** 53 - 1 },
  },
];

const both = async (table: string, cols: string, runA: string, runB: string): Promise<[unknown[], unknown[]]> => {
  const q = (run: string) => store.query(`SELECT ${cols} FROM ${table} WHERE run_id = '${run}' ORDER BY ALL`);
  return [await q(runA), await q(runB)];
};

test('a flows block stores exactly the rows flowRow gives, including UTF-8, 2^40 counters and pre-1970 times', async () => {
  await store.insertRows(tables.flows.name, flowBlock(flows, siteMap, 'nat-f', T0 + 5));
  await store.insertRows(tables.flows.name, flowRows(flows, siteMap, 'json-f', T0 + 5));
  const [nat, json] = await both(tables.flows.name, '* EXCEPT (run_id, stored_at)', 'nat-f', 'json-f');
  assert.equal(nat.length, flows.length);
  assert.deepEqual(nat, json);
});

test('observed_at may differ per flow (the sink stamps each message)', async () => {
  await store.insertRows(tables.flows.name, flowBlock(flows.slice(0, 2), siteMap, 'nat-at', Float64Array.of(T0 + 10, T0 + 20)));
  const at = await store.query<{ t: number }>(`SELECT toUnixTimestamp64Milli(observed_at) AS t FROM flows WHERE run_id = 'nat-at' ORDER BY t`);
  assert.deepEqual(at.map((r) => Number(r.t)), [T0 + 10, T0 + 20]);
});

test('a windows block stores exactly the rows windowRow gives, NaN and infinite values included', async () => {
  const scores: WindowScore[] = [
    { conduit: 'hmi->plc', edge: '10.1.2.10>10.1.3.7/6/502/modbus', windowStart: T0, windowEnd: T0 + 60_000, detector: 'rate', score: 0.5,
      learning: false, explanation: '500 ms ± 3 expected → 900 ms seen…', features: { expected: 1, z: 4.25 } },
    { conduit: 'hmi->plc', edge: '', windowStart: T0, windowEnd: T0 + 60_000, detector: 'novelty', score: Number.NaN,
      learning: true, explanation: '', features: { hi: Infinity, lo: -Infinity } },
  ];
  await store.insertRows(tables.windows.name, windowBlock(scores, 'nat-w'));
  await store.insertRows(tables.windows.name, scores.map((s) => windowRow(s, 'json-w')));
  const [nat, json] = await both(tables.windows.name, '* EXCEPT (run_id, stored_at), isNaN(score) AS nan', 'nat-w', 'json-w');
  assert.equal(nat.length, 2);
  assert.deepEqual(nat, json);
});

test('a series block stores exactly the rows seriesRow gives, NaN as null', async () => {
  const series: EdgeSeries[] = [
    { conduit: 'hmi->plc', edge: 'e1', windowStart: T0, windowEnd: T0 + 60_000, learning: false, unit: 'requests', observed: 5,
      expected: Number.NaN, expectedStd: 1, periodMs: Number.NaN, jitterMs: 2, expectedPeriodMs: 3, expectedJitterMs: 4, intervals: 5, score: 0.5 },
    { conduit: 'hmi->plc', edge: 'e2', windowStart: T0, windowEnd: T0 + 60_000, learning: true, unit: '', observed: 0,
      expected: 0.75, expectedStd: 0.5, periodMs: 10, jitterMs: 0, expectedPeriodMs: 11, expectedJitterMs: 0.5, intervals: 0, score: 0 },
  ];
  await store.insertRows(tables.series.name, seriesBlock(series, 'nat-s'));
  await store.insertRows(tables.series.name, series.map((s) => seriesRow(s, 'json-s')));
  const [nat, json] = await both(tables.series.name, '* EXCEPT (run_id, stored_at)', 'nat-s', 'json-s');
  assert.equal(nat.length, 2);
  assert.deepEqual(nat, json);
  assert.equal((nat[0] as { expected: unknown }).expected, null);
});

test('LowCardinality columns with more than 256 distinct values take wider indexes', async () => {
  const many = Array.from({ length: 70_000 }, (_, i) => ({ ...flows[0]!, exporter: `exp-${i}`, tsStart: T0 + i }));
  await store.insertRows(tables.flows.name, flowBlock(many, siteMap, 'nat-lc', T0));
  const [r] = await store.query<{ n: number; u: number; last: string }>(
    `SELECT count() AS n, uniqExact(exporter) AS u, argMax(exporter, ts_start) AS last FROM flows WHERE run_id = 'nat-lc'`);
  assert.deepEqual({ n: Number(r!.n), u: Number(r!.u), last: r!.last }, { n: 70_000, u: 70_000, last: 'exp-69999' });
});

test('a block the engine refuses rejects with write_rejected naming the table, and leaves no staged file', async () => {
  const b = new NativeBuilder(1, 1).column('no_such_column', 'UInt8', 1);
  b.u8(1);
  await assert.rejects(store.insertRows(tables.flows.name, b.seal()), (e) =>
    hasCode(e, 'write_rejected') && /Insert into flows rejected \(1 rows\)/.test((e as Error).message));
  const staged = (await readdir('/dev/shm').catch(() => [] as string[])).filter((f) => f.startsWith(`conduitwatch-${process.pid}-`));
  assert.deepEqual(staged, []);
});

test('a block that landed but was reported failed is retried with the same token and stored once', async () => {
  let fail = 1;
  const ambiguous: Pick<Store, 'insertRows'> = {
    insertRows: async (table, rows, opts) => {
      const r = await store.insertRows(table, rows, opts);
      if (fail-- > 0) throw new Error('connection reset after the insert (injected)');
      return r;
    },
  };
  const w = new BatchWriter<FlowRecord>(ambiguous, tables.flows.name, { maxRows: 10, encode: (rows) => flowBlock(rows, siteMap, 'nat-retry', T0) });
  await w.write(flows);
  await assert.rejects(w.flush(), (e) => hasCode(e, 'write_rejected'));
  await w.close();
  const [r] = await store.query<{ n: number }>(`SELECT count() AS n FROM flows WHERE run_id = 'nat-retry'`);
  assert.equal(Number(r!.n), flows.length);
});

test('the rollups fill from every insert: flows per conduit, l7 and minute; series and activity rows per conduit and hour', async () => {
  await store.insertRows(tables.flows.name, flowBlock([flows[0]!, { ...flows[0]!, tsStart: flows[0]!.tsStart + 1_000 }], siteMap, 'nat-roll', T0));
  const [m] = await store.query<{ flows: number; bytes: number; writes: number }>(
    `SELECT sum(flows) AS flows, sum(bytes) AS bytes, sumMap(l7_ops)['write_single_register'] AS writes FROM flows_minute WHERE run_id = 'nat-roll'`);
  assert.deepEqual({ flows: Number(m!.flows), bytes: Number(m!.bytes), writes: Number(m!.writes) },
    { flows: 2, bytes: 2 * (2 ** 40 + 3 + 14_400), writes: 4 });
  const s: EdgeSeries = { conduit: 'hmi->plc', edge: 'e', windowStart: T0, windowEnd: T0 + 60_000, learning: false, unit: 'requests',
    observed: 4, expected: 5, expectedStd: 1, periodMs: Number.NaN, jitterMs: Number.NaN, expectedPeriodMs: Number.NaN, expectedJitterMs: Number.NaN, intervals: 0, score: 0.75 };
  await store.insertRows(tables.series.name, seriesBlock([s, { ...s, edge: 'f', score: 0, observed: 1 }], 'nat-roll'));
  const [h] = await store.query<{ max: number; scored: number; n: number; observed: number; expected: number }>(
    `SELECT max(max_score) AS max, sum(scored) AS scored, sum(edge_windows) AS n, sum(observed) AS observed, sum(expected) AS expected
     FROM conduit_hour WHERE run_id = 'nat-roll' AND conduit = 'hmi->plc'`);
  assert.deepEqual({ ...h, scored: Number(h!.scored), n: Number(h!.n) }, { max: 0.75, scored: 1, n: 2, observed: 5, expected: 10 });
  // The conduit's activity row carries its top score (conduit-level findings too); other windows rows do not count.
  const row = { conduit: 'hmi->plc', edge: '', windowStart: T0, windowEnd: T0 + 60_000, learning: false, explanation: '', features: {} };
  await store.insertRows(tables.windows.name, windowBlock([{ ...row, detector: 'activity', score: 0.9 }, { ...row, detector: 'scan', score: 0.95 }], 'nat-roll'));
  const [h2] = await store.query<{ max: number; n: number }>(
    `SELECT max(max_score) AS max, sum(edge_windows) AS n FROM conduit_hour WHERE run_id = 'nat-roll' AND conduit = 'hmi->plc'`);
  assert.deepEqual({ max: h2!.max, n: Number(h2!.n) }, { max: 0.9, n: 2 });
});
