/**
 * The read-only ClickHouse HTTP endpoint over a chDB store, with real clients: @clickhouse/client
 * and clickhouse-go v2 (the driver of Grafana's ClickHouse plugin, in a Go program built from the
 * module proxy) run every dashboard panel query and get chDB's own rows; writes are refused.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { DASHBOARDS_DIR } from '../../../cli/dashboards.ts';
import { hasCode } from '../../../core/errors.ts';
import { startQueryEndpoint, QueryEndpointConfig } from '../../../dashboards/http/server.ts';
import { loadDashboards, panelQuery, resolveVariables, type RunQuery } from '../../../dashboards/model.ts';
import { openChdb } from '../../../store/chdb.ts';
import { TABLES } from '../../../store/schema.ts';
import { buildChgo, runChgo } from '../../support/chgo.ts';
import { replayShared } from '../../support/replayed.ts';

const PASSWORD = 'grafana-reads-only';
const TOKEN = 'a-token-of-sixteen-or-more-chars';

/** chDB's JSONCompact with times as epoch ms, the form chgo prints. */
const canonical = (meta: { type: string }[], rows: unknown[][]): unknown[][] =>
  rows.map((r) => r.map((v, i) => {
    const type = meta[i]!.type.replace(/^(LowCardinality|Nullable|SimpleAggregateFunction)\((?:\w+, )?/, '');
    return /^DateTime/.test(type) && typeof v === 'string' ? Date.parse(`${v.replace(' ', 'T')}Z`) : v;
  }));

test('Grafana\'s driver and @clickhouse/client read every panel over the endpoint with chDB\'s rows, and cannot write', async (t) => {
  const r = await replayShared(t);
  if (!r) return;
  const work = await mkdtemp(join(tmpdir(), 'cw-ep-'));
  const store = await openChdb(r.dir);
  const ep = await startQueryEndpoint(QueryEndpointConfig.parse({ listen: 'http://127.0.0.1:0', password: PASSWORD, token: TOKEN }),
    { run: (sql, f, o) => store.raw!(sql, f, o) });
  t.after(async () => { await ep.close(); await store.close(); await rm(r.dir, { recursive: true, force: true }); await rm(work, { recursive: true, force: true }); });
  const direct = async (sql: string) => JSON.parse(await store.text(sql, 'JSONCompact')) as { meta: { name: string; type: string }[]; data: unknown[][] };
  const run: RunQuery = async (sql) => (await direct(sql)).data;

  // Every panel query of every dashboard, under "All", as Grafana sends it.
  const range = { from: r.from, to: r.to };
  const queries: string[] = [];
  for (const d of loadDashboards(DASHBOARDS_DIR)) {
    const vars = await resolveVariables(d, run, range);
    for (const p of d.panels) queries.push(panelQuery(p, range, vars));
  }
  assert.ok(queries.length >= 35, `${queries.length} queries`);

  const ping = await fetch(`${ep.url}/ping`);
  assert.equal(await ping.text(), 'Ok.\n');

  await t.test('@clickhouse/client gets the same JSON as chDB for every panel query', async () => {
    const client = createClient({ url: ep.url, username: 'default', password: PASSWORD, log: { level: ClickHouseLogLevel.OFF } });
    try {
      assert.equal((await client.ping()).success, true);
      for (const q of queries) {
        const got = await (await client.query({ query: q, format: 'JSONCompact' })).json<unknown[]>();
        const want = await direct(q);
        assert.deepEqual((got as unknown as { data: unknown[][] }).data, want.data, q);
      }
      await assert.rejects(client.command({ query: `INSERT INTO ${TABLES.alerts} (id) VALUES ('x')` }), /READONLY|readonly/);
      await assert.rejects(client.query({ query: 'SELECT 1', format: 'JSON' , clickhouse_settings: { readonly: '0' } }), /readonly/);
    } finally {
      await client.close();
    }
  });

  await t.test('clickhouse-go v2 over HTTP (as the Grafana plugin connects) gets the same rows as chDB', async (st) => {
    const bin = await buildChgo(st, work);
    if (!bin) return;
    const addr = ep.url.replace('http://', '');
    const got = await runChgo(bin, addr, queries, 'default', PASSWORD);
    assert.equal(got.length, queries.length);
    let rows = 0;
    for (const [i, q] of queries.entries()) {
      assert.equal(got[i]!.error, undefined, `${q}\n→ ${got[i]!.error}`);
      const want = await direct(q);
      assert.deepEqual(got[i]!.columns, want.meta.map((m) => m.name), q);
      // A DateTime's zone is spelt in JSON's meta and not always on the Native wire; the rest as the server says.
      const zoneless = (ts: string[]) => ts.map((x) => x.replace(/^DateTime\('[^']*'\)$/, 'DateTime'));
      assert.deepEqual(zoneless(got[i]!.types!), zoneless(want.meta.map((m) => m.type)), q);
      assert.deepEqual(got[i]!.rows, canonical(want.meta, want.data), q);
      rows += want.data.length;
    }
    st.diagnostic(`${queries.length} panel queries, ${rows} rows, equal through clickhouse-go`);
    const writes = [
      `INSERT INTO ${TABLES.alerts} (id) VALUES ('x')`, `CREATE TABLE t (a Int8) ENGINE = Memory`, `DROP TABLE ${TABLES.alerts}`,
      `ALTER TABLE ${TABLES.alerts} DELETE WHERE 1`, "SELECT * FROM file('/etc/hostname', 'LineAsString')",
      `SELECT 1 INTO OUTFILE '${join(work, 'out.txt')}'`, 'SELECT 1 SETTINGS readonly = 0', `SELECT 1; DROP TABLE ${TABLES.alerts}`,
    ];
    const refused = await runChgo(bin, addr, writes, 'default', PASSWORD);
    for (const [i, w] of writes.entries()) assert.match(refused[i]!.error ?? '', /READONLY|readonly/, w);
    await assert.rejects(runChgo(bin, addr, ['SELECT 1'], 'default', 'wrong'), /516|Authentication failed/);
  });

  await t.test('nothing was written: the tables hold what the replay wrote', async () => {
    const [[alerts]] = (await direct(`SELECT count() FROM ${TABLES.alerts}`)).data as [[number]];
    assert.equal(alerts, r.report.rawAlerts);
    const tables = (await direct('SHOW TABLES')).data.map((x) => x[0]);
    assert.ok(!tables.includes('t'));
  });

  await t.test('credentials, token, timeout and result cap are enforced with ClickHouse\'s error codes', async () => {
    const q = (url: string, body: string, headers: Record<string, string> = {}) => fetch(url, { method: 'POST', body, headers });
    const basic = (p: string) => ({ authorization: `Basic ${Buffer.from(`default:${p}`).toString('base64')}` });
    const wrong = await q(`${ep.url}/`, 'SELECT 1', basic('nope'));
    assert.equal(wrong.status, 401);
    assert.equal(wrong.headers.get('x-clickhouse-exception-code'), '516');
    assert.equal((await q(`${ep.url}/`, 'SELECT 1')).status, 401, 'no credentials');
    assert.equal(await (await q(`${ep.url}/`, 'SELECT 41 + 1', { authorization: `Bearer ${TOKEN}` })).text(), '42\n');
    assert.equal(await (await q(`${ep.url}/?user=default&password=${PASSWORD}&default_format=CSV`, "SELECT 'a', 1")).text(), '"a",1\n');
    const slow = await q(`${ep.url}/?max_execution_time=1`, 'SELECT count() FROM numbers(1000000000000)', basic(PASSWORD));
    assert.equal(slow.headers.get('x-clickhouse-exception-code'), '159', await slow.text());
    const big = await q(`${ep.url}/?max_result_rows=5`, 'SELECT number FROM numbers(10)', basic(PASSWORD));
    assert.equal(big.headers.get('x-clickhouse-exception-code'), '396');
    const lax = await q(`${ep.url}/?max_execution_time=100000`, "SELECT getSetting('max_execution_time')", basic(PASSWORD));
    assert.equal(await lax.text(), '30\n', 'a client cannot raise the timeout cap');
  });

  await t.test('a non-loopback address without credentials is refused at start', async () => {
    await assert.rejects(startQueryEndpoint(QueryEndpointConfig.parse({ listen: 'http://0.0.0.0:0' }), { run: async () => new Uint8Array() }),
      (e: unknown) => hasCode(e, 'config_invalid'));
  });
});
