/**
 * The store on the real ClickHouse engine (chDB), on a temp data directory. chDB allows one
 * data directory per process, so this file uses one directory throughout and tests run in order.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { hasCode } from '../../../core/errors.ts';
import type { Alert, EdgeSeries, FlowRecord, WindowScore } from '../../../core/records.ts';
import { openChdb } from '../../../store/chdb.ts';
import { DDL_DIR, loadMigrations, migrate } from '../../../store/migrate.ts';
import {
  alertRow, assetRow, conduitRow, dataTables, flowRow, formatChTime, incidentRow, inventoryChangeRow, inventoryRow, parseChTime, runRow, seriesRow, tables, windowRow,
  type ConduitState,
} from '../../../store/schema.ts';
import type { Store } from '../../../store/store.ts';
import { projectRoot } from '../../support/data.ts';

let dir: string;
let store: Store;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cw-store-'));
  store = await openChdb(dir);
});

after(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

const T0 = Date.parse('2025-03-04T05:06:07.089Z');

const modbusFlow: FlowRecord = {
  id: 'modbus', tsStart: T0, tsEnd: T0 + 59_999, srcIp: '10.1.2.10', srcPort: 50123, dstIp: '10.1.3.7', dstPort: 502, proto: 6,
  packets: 120, bytes: 9_600, packetsRev: 120, bytesRev: 14_400, tcpFlags: 0x1b, exporter: 'line3.pcap',
  observationDomain: 0, source: 'pcap', l7: 'modbus',
  l7Ops: { read_holding_registers: 118, write_single_register: 2 }, l7OpsRev: { read_holding_registers: 118 },
  l7Errors: { illegal_data_address: 2 }, l7Units: [1, 247], l7Violations: { modbus_short_pdu: 1 },
  requestIntervalsMs: { count: 119, mean: 500.25, m2: 1234.5, min: 480, max: 530.125 },
};

const bareFlow: FlowRecord = {
  id: 'bare', tsStart: T0 + 1, tsEnd: T0 + 1, srcIp: 'fe80::1', srcPort: 0, dstIp: 'ff02::1', dstPort: 0, proto: 58,
  packets: 1, bytes: 72, packetsRev: 0, bytesRev: 0, tcpFlags: 0, exporter: '192.0.2.1', observationDomain: 7,
  source: 'ipfix', requestIntervalsMs: { count: 0, mean: 0, m2: 0, min: Infinity, max: -Infinity },
};

const conduitState: ConduitState = {
  conduit: 'hmi->plc', fromZone: 'hmi', toZone: 'plc', declared: true, firstSeen: T0, lastSeen: T0, flows: 1, bytes: 10,
  status: 'learning', state: 'learning, 10% coverage', baselineUntil: T0 + 8 * 3_600_000, readyAt: null, coverage: 0.1,
  cyclesCovered: 0.1, phaseBucketsSeen: 1, phaseBuckets: 24, novelFirstCycle: 3, novelLastCycle: 3, detectedCycleMs: null,
  cycleNote: '', edges: 2, windowsScored: 6, alerts: 0, updatedAt: T0,
};

const edgeSeries: EdgeSeries = {
  conduit: 'hmi->plc', edge: '10.1.2.10>10.1.3.7/6/502/modbus', windowStart: T0, windowEnd: T0 + 60_000, learning: false,
  unit: 'requests', observed: 118, expected: 120, expectedStd: 2.5, periodMs: 500.25, jitterMs: 3.5, expectedPeriodMs: 500,
  expectedJitterMs: 4, intervals: 117, score: 0.25,
};

const extra = (runId: string) => ({ conduit: 'hmi->plc', srcZone: 'hmi', dstZone: 'plc', runId, observedAt: T0 + 120_000 });

/** A written row as JSONEachRow prints it back: times as text, Float64 specials as null. */
const printed = (row: object, timeCols: string[]): Record<string, unknown> => {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) out[k] = timeCols.includes(k) ? formatChTime(v as number) : v;
  return out;
};

test('migrations create every table, record every version in order, and a second run applies nothing', async () => {
  const files = await loadMigrations();
  const versions = files.map((m) => m.version);
  assert.ok(versions.length >= 8, 'the DDL directory holds the migrations');
  const first = await migrate(store, { now: () => T0 });
  assert.deepEqual(first, { applied: versions, version: versions.length });
  const second = await migrate(store);
  assert.deepEqual(second, { applied: [], version: versions.length });
  const names = new Set((await store.query<{ name: string }>('SHOW TABLES')).map((r) => r.name));
  for (const t of ['schema_migrations', 'sink_batches', ...dataTables.map((d) => d.name)]) assert.ok(names.has(t), `table ${t} exists`);
  const recorded = await store.query<{ version: number; name: string; applied_at: string }>(
    'SELECT version, name, applied_at FROM schema_migrations ORDER BY version');
  assert.deepEqual(recorded.map((r) => `${r.version}:${r.name}`), files.map((m) => `${m.version}:${m.name}`));
  assert.equal(parseChTime(recorded[0]!.applied_at), T0);
});

test('every DDL column is produced by its row mapper and every mapped key is a DDL column', async () => {
  const samples: Record<string, object> = {
    flows: { stored_at: 'filled by the engine', ...flowRow(modbusFlow, extra('cols')) },
    windows: { stored_at: 'filled by the engine', ...windowRow({ conduit: 'a->b', edge: '', windowStart: 0, windowEnd: 1, detector: 'd', score: 0, learning: false, explanation: '', features: {} }, 'cols') },
    alerts: { stored_at: 'filled by the engine', ...alertRow({ id: 'x', conduit: 'a->b', src: 's', dst: 'd', proto: 6, dstPort: 1, l7: '', tsStart: 0, tsEnd: 1, score: 1, detector: 'd', explanation: '' }, 'cols') },
    assets: assetRow({ ip: '10.0.0.1', zone: 'a', firstSeen: 0, lastSeen: 1, flows: 1, bytes: 1, l7: [] }, 'cols', 0),
    conduits: conduitRow(conduitState, 'cols'),
    series: { ...seriesRow(edgeSeries, 'cols'), stored_at: 'filled by the engine' },
    inventory_changes: inventoryChangeRow({ id: 'x', conduit: 'a->b', src: 's', dst: 'd', proto: 6, dstPort: 1, l7: '', tsStart: 0, tsEnd: 1, score: 1, detector: 'inventory', explanation: '' }, 'new_mac', 's', 'cols'),
    inventory: inventoryRow({ ip: '10.0.0.1', macs: [], role: 'unknown', confidence: 1, evidence: [], flags: [], protocols: [], services: [], peers: [], firstSeen: 0, lastSeen: 1, flows: 1, bytes: 1, identities: [] }, 'cols', 'replay', 2),
    incidents: incidentRow({ id: 'i', severity: 'high', risk: 4, firstSeen: 0, lastSeen: 1, alerts: 1, alertIds: ['x'], conduits: ['a->b'], sources: ['s'], targets: ['d'], detectors: ['d'], topAlert: 'x', summary: 's' }, 'cols'),
    runs: runRow({ runId: 'cols', command: 'replay', site: 's', inputs: ['f'], startedAt: 1, finishedAt: 2, status: 'complete', flows: 1, alerts: 0, incidents: 0, firstTs: 0, lastTs: 1, note: '' }, 2),
  };
  for (const def of [...dataTables, tables.schemaMigrations]) {
    const ddl = (await store.query<{ name: string }>(`DESCRIBE TABLE ${def.name}`)).map((r) => r.name).sort();
    assert.deepEqual(ddl, Object.values(def.columns).sort(), `schema.ts columns of ${def.name} match its DDL`);
    const sample = samples[def.name];
    if (sample) assert.deepEqual(Object.keys(sample).sort(), ddl, `${def.name} mapper keys match its DDL`);
  }
});

test('flows round-trip: maps, arrays, ms timestamps and interval summaries come back as written', async () => {
  const rows = [flowRow(modbusFlow, extra('rt-flows')), flowRow(bareFlow, extra('rt-flows'))];
  assert.deepEqual(await store.insertRows(tables.flows.name, rows), {
    records: 2, bytes: Buffer.byteLength(rows.map((r) => `${JSON.stringify(r)}\n`).join('')),
  });
  const back = await store.query(`SELECT * EXCEPT stored_at FROM flows WHERE run_id = 'rt-flows' ORDER BY ts_start`);
  const times = ['ts_start', 'ts_end', 'observed_at'];
  assert.deepEqual(back, rows.map((r) => printed(r, times)));
  assert.equal(back[1]!.req_min, 0, 'an empty interval summary is stored as zeros, not ±Infinity');
  const [ms] = await store.query<{ s: number; e: number }>(
    `SELECT toUnixTimestamp64Milli(ts_start) AS s, toUnixTimestamp64Milli(ts_end) AS e FROM flows WHERE run_id = 'rt-flows' ORDER BY ts_start LIMIT 1`);
  assert.deepEqual(ms, { s: modbusFlow.tsStart, e: modbusFlow.tsEnd });
  const [ops] = await store.query<{ n: number }>(
    `SELECT l7_ops['write_single_register'] AS n FROM flows WHERE run_id = 'rt-flows' AND l7 = 'modbus'`);
  assert.equal(ops!.n, 2);
});

test('windows round-trip, and non-finite feature values are stored as such rather than as 0', async () => {
  const score: WindowScore = {
    conduit: 'hmi->plc', edge: '10.1.2.10>10.1.3.7/6/502/modbus', windowStart: T0, windowEnd: T0 + 60_000,
    detector: 'cadence_gap', score: 0.875, learning: true, explanation: 'period 500 ms ± 12 expected, 4000 ms seen',
    features: { gap_ms: 4000, period_ms: 500.5 },
  };
  const odd: WindowScore = { ...score, edge: '', features: { z: Number.NaN, hi: Infinity } };
  await store.insertRows(tables.windows.name, [windowRow(score, 'rt-win'), windowRow(odd, 'rt-win')]);
  const back = await store.query(`SELECT * EXCEPT stored_at FROM windows WHERE run_id = 'rt-win' AND edge != ''`);
  assert.deepEqual(back, [printed(windowRow(score, 'rt-win'), ['window_start', 'window_end'])]);
  const [flags] = await store.query<{ nan: number; inf: number }>(
    `SELECT isNaN(features['z']) AS nan, isInfinite(features['hi']) AS inf FROM windows WHERE run_id = 'rt-win' AND edge = ''`);
  assert.deepEqual(flags, { nan: 1, inf: 1 });
});

test('alerts round-trip and can be read back with plain SQL by conduit and time', async () => {
  const alert: Alert = {
    id: 'a1b2c3', conduit: 'hmi->plc', src: '10.1.2.10', dst: '10.1.3.7', proto: 6, dstPort: 502, l7: 'modbus',
    tsStart: T0, tsEnd: T0 + 60_000, score: 0.93, detector: 'function_code_mix',
    explanation: "function code 16 never seen in baseline; quote ' and newline\nkept",
  };
  await store.insertRows(tables.alerts.name, [alertRow(alert, 'rt-alerts')]);
  const back = await store.query(`SELECT * EXCEPT stored_at FROM alerts WHERE run_id = 'rt-alerts'`);
  assert.deepEqual(back, [printed(alertRow(alert, 'rt-alerts'), ['ts_start', 'ts_end'])]);
  const recent = await store.query<{ id: string }>(
    `SELECT id FROM alerts WHERE conduit = 'hmi->plc' AND ts_start >= toDateTime64('2025-03-04 05:00:00', 3, 'UTC') AND score >= 0.8`);
  assert.deepEqual(recent, [{ id: 'a1b2c3' }]);
});

test('asset partials merge by zone, ip and run; the newest conduit state wins', async () => {
  await store.insertRows(tables.assets.name, [
    assetRow({ ip: '10.1.3.7', zone: 'plc', firstSeen: T0 + 10, lastSeen: T0 + 20, flows: 2, bytes: 100, l7: ['modbus'] }, 'rt-assets', T0 + 100),
    assetRow({ ip: '10.1.3.7', zone: 'plc', firstSeen: T0, lastSeen: T0 + 5, flows: 1, bytes: 50, l7: ['s7comm', 'modbus'] }, 'rt-assets', T0 + 200),
  ]);
  const [a] = await store.query<{ first: string; last: string; flows: number; bytes: number; l7: string[]; observed: string }>(
    `SELECT min(first_seen) AS first, max(last_seen) AS last, sum(flows) AS flows, sum(bytes) AS bytes,
            arraySort(groupUniqArrayArray(l7)) AS l7, max(observed_at) AS observed
     FROM assets WHERE run_id = 'rt-assets' GROUP BY zone, ip`);
  assert.deepEqual(a, { first: formatChTime(T0), last: formatChTime(T0 + 20), flows: 3, bytes: 150, l7: ['modbus', 's7comm'],
    observed: formatChTime(T0 + 200) });

  await store.insertRows(tables.conduits.name, [conduitRow(conduitState, 'rt-c')]);
  const ready = { ...conduitState, status: 'ready' as const, state: 'ready', readyAt: T0 + 8 * 3_600_000, flows: 9, updatedAt: T0 + 1 };
  await store.insertRows(tables.conduits.name, [conduitRow(ready, 'rt-c')]);
  const c = await store.query<{ status: string; flows: number; declared: number; ready_at: string | null }>(
    `SELECT status, flows, declared, ready_at FROM conduits FINAL WHERE run_id = 'rt-c'`);
  assert.deepEqual(c, [{ status: 'ready', flows: 9, declared: 1, ready_at: formatChTime(T0 + 8 * 3_600_000) }]);
});

test('series rows that arrive in parts fold into one edge-window, unknown values stored as null', async () => {
  const nan = Number.NaN;
  const rate: EdgeSeries = { ...edgeSeries, periodMs: nan, jitterMs: nan, expectedPeriodMs: nan, expectedJitterMs: nan, intervals: 0, score: 0.25 };
  const cadence: EdgeSeries = { ...edgeSeries, unit: '', observed: nan, expected: nan, expectedStd: nan, score: 0.125 };
  await store.insertRows(tables.series.name, [seriesRow(rate, 'rt-series')]);
  await store.insertRows(tables.series.name, [seriesRow(cadence, 'rt-series')]);
  const back = await store.query(`SELECT * EXCEPT stored_at FROM series FINAL WHERE run_id = 'rt-series'`);
  assert.deepEqual(back, [printed(seriesRow(edgeSeries, 'rt-series'), ['window_start', 'window_end'])]);
  const [learning] = await store.query<{ n: number; expected: number | null }>(
    `SELECT count() AS n, any(expected) AS expected FROM series WHERE run_id = 'rt-series' AND unit = ''`);
  assert.deepEqual(learning, { n: 1, expected: null }, 'before the merge the cadence part holds a null rate');
});

test('a schema-violating insert rejects with write_rejected naming the table and writes nothing', async () => {
  const bad = { ...flowRow(modbusFlow, extra('bad')), ts_start: 'not a time' };
  await assert.rejects(store.insertRows(tables.flows.name, [flowRow(bareFlow, extra('bad')), bad]), (e) => {
    assert.ok(hasCode(e, 'write_rejected'));
    assert.match((e as Error).message, /Insert into flows rejected \(2 rows\): .*DateTime/);
    return true;
  });
  const misspelt = { ...flowRow(bareFlow, extra('bad')), src_zoen: 'x' };
  await assert.rejects(store.insertRows(tables.flows.name, [misspelt]),
    (e) => hasCode(e, 'write_rejected') && /src_zoen/.test((e as Error).message), 'an unknown column is refused, not skipped');
  const [n] = await store.query<{ n: number }>(`SELECT count() AS n FROM flows WHERE run_id = 'bad'`);
  assert.equal(n!.n, 0);
});

test('a bad query rejects with unrecoverable and quotes the engine', async () => {
  await assert.rejects(store.query('SELECT nope FROM alerts'), (e) => hasCode(e, 'unrecoverable') && /nope/.test((e as Error).message));
});

test('text() prints a query in the ClickHouse format asked for', async () => {
  assert.equal(await store.text(`SELECT id, dst_port FROM alerts WHERE run_id = 'rt-alerts'`, 'CSVWithNames'), '"id","dst_port"\n"a1b2c3",502\n');
});

test('migrate refuses a database newer than the code, naming both versions', async () => {
  const newest = (await loadMigrations()).length;
  const ddl = await mkdtemp(join(tmpdir(), 'cw-ddl-'));
  try {
    for (const f of ['001_flows.sql', '002_windows.sql']) await cp(join(DDL_DIR, f), join(ddl, f));
    await assert.rejects(migrate(store, { dir: ddl }), (e) => hasCode(e, 'config_invalid') &&
      (e as Error).message.includes(`schema version ${newest}, newer than this conduitwatch knows (2)`));
  } finally {
    await rm(ddl, { recursive: true, force: true });
  }
});

test('migrate refuses an applied migration whose file changed', async () => {
  const ddl = await mkdtemp(join(tmpdir(), 'cw-ddl-'));
  try {
    await cp(DDL_DIR, ddl, { recursive: true });
    const f = join(ddl, '003_alerts.sql');
    await writeFile(f, `${await readFile(f, 'utf8')}\n-- edited\n`);
    await assert.rejects(migrate(store, { dir: ddl }), (e) => hasCode(e, 'config_invalid') && /003_alerts\.sql changed/.test((e as Error).message));
  } finally {
    await rm(ddl, { recursive: true, force: true });
  }
});

test('a second process opening the same data directory fails with config_invalid naming it', () => {
  const script = `
    import { openChdb } from ${JSON.stringify(join(projectRoot, 'store/chdb.ts'))};
    try { await openChdb(${JSON.stringify(dir)}); console.log(JSON.stringify({ opened: true })); }
    catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }`;
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script],
    { cwd: projectRoot, encoding: 'utf8', timeout: 60_000 });
  assert.equal(child.status, 0, child.stderr);
  const out = JSON.parse(child.stdout.trim().split('\n').at(-1)!) as { code?: string; message?: string };
  assert.equal(out.code, 'config_invalid');
  assert.ok(out.message?.includes(dir), out.message);
  assert.match(out.message!, /another conduitwatch process holds it \(pid \d+\)/);
});

test('data is still there after close and reopen; close twice is harmless; a closed store refuses', async () => {
  const old = store;
  await old.close();
  await old.close();
  await assert.rejects(old.query('SELECT 1'), (e) => hasCode(e, 'not_connected'));
  store = await openChdb(dir);
  const [n] = await store.query<{ n: number }>(`SELECT count() AS n FROM flows WHERE run_id = 'rt-flows'`);
  assert.equal(n!.n, 2);
  assert.deepEqual(await migrate(store), { applied: [], version: (await loadMigrations()).length });
});
