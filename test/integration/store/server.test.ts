/**
 * The server store (store/server.ts, @clickhouse/client) against a real clickhouse-server on loopback
 * (infra/services/clickhouse.ts; Debian ships 18.16). That server predates Map, DateTime64 and
 * insert_deduplication_token, so transport and faults are tested on a table it holds; the schema
 * and every query are tested on chDB (chdb.test.ts, native.test.ts).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { hasCode } from '../../../core/errors.ts';
import { freePort } from '../../../infra/services/process.ts';
import { startClickHouse, type ClickHouseService } from '../../../infra/services/clickhouse.ts';
import { NativeBuilder, type NativeBlock } from '../../../store/native.ts';
import { openServer, type ServerStore } from '../../../store/server.ts';
import { BatchWriter } from '../../../store/writer.ts';

let ch: ClickHouseService;
let store: ServerStore;

const TABLE = 'transport_probe';
const T0 = 1_700_000_000;

before(async () => {
  ch = await startClickHouse();
  store = await openServer({ url: ch.url, atLeastOnce: true, retry: { attempts: 200, baseMs: 50, maxMs: 250 } });
  await store.exec(`CREATE TABLE ${TABLE} (run String, seq UInt64, ts DateTime, name String, value Float64) ENGINE = MergeTree ORDER BY (run, seq)`);
});

after(async () => {
  await store?.close();
  await ch?.stop();
});

interface Row { run: string; seq: number; ts: number; name: string; value: number }
const rowsOf = (run: string, from: number, n: number): Row[] =>
  Array.from({ length: n }, (_, i) => ({ run, seq: from + i, ts: T0 + from + i, name: `name ✓ ${from + i}`, value: (from + i) / 8 }));

/** The probe table's rows as a Native block, in the types the old server knows. */
const blockOf = (rows: readonly Row[]): NativeBlock => {
  const b = new NativeBuilder(rows.length, 5, 64);
  b.column('run', 'String');
  for (const r of rows) b.str(r.run);
  b.column('seq', 'UInt64', 8);
  for (const r of rows) b.i64(r.seq);
  b.column('ts', 'DateTime', 4);
  for (const r of rows) b.u32(r.ts);
  b.column('name', 'String');
  for (const r of rows) b.str(r.name);
  b.column('value', 'Float64', 8);
  for (const r of rows) b.f64(r.value);
  return b.seal();
};

const countOf = async (run: string): Promise<{ n: number; uniq: number }> => {
  const [r] = await store.query<{ n: number; uniq: number }>(`SELECT count() AS n, uniqExact(seq) AS uniq FROM ${TABLE} WHERE run = '${run}'`);
  return { n: Number(r!.n), uniq: Number(r!.uniq) };
};

test('rows as JSON and as a Native block reach the server and read back as written', async () => {
  assert.match(store.version, /^\d+\.\d+/);
  const json = rowsOf('t-json', 0, 3);
  const native = rowsOf('t-native', 0, 3);
  assert.equal((await store.insertRows(TABLE, json)).records, 3);
  assert.equal((await store.insertRows(TABLE, blockOf(native))).records, 3);
  const back = async (run: string) => store.query<{ seq: number; ts: number; name: string; value: number }>(
    `SELECT seq, toUInt32(ts) AS ts, name, value FROM ${TABLE} WHERE run = '${run}' ORDER BY seq`);
  const want = json.map(({ seq, ts, name, value }) => ({ seq, ts, name, value }));
  assert.deepEqual(await back('t-json'), want, '64-bit integers come back as numbers, as from chDB');
  assert.deepEqual(await back('t-native'), want);
  assert.match(await store.text(`SELECT seq FROM ${TABLE} WHERE run = 't-native' ORDER BY seq`, 'TSV'), /^0\n1\n2\n$/);
});

test('an engine refusal rejects write_rejected at once, naming the table and saying what to fix', async () => {
  const before = store.retried;
  await assert.rejects(store.insertRows('no_such_table', rowsOf('x', 0, 1)), (e) =>
    hasCode(e, 'write_rejected') && /Insert into no_such_table rejected \(1 rows\).*run the migrations/.test((e as Error).message));
  await assert.rejects(store.insertRows(TABLE, [{ run: 'bad', seq: 'not a number', ts: T0, name: '', value: 0 }]), (e) =>
    hasCode(e, 'write_rejected') && /Insert into transport_probe rejected/.test((e as Error).message));
  await assert.rejects(store.query('SELEC 1'), (e) => hasCode(e, 'unrecoverable') && /SELEC 1/.test((e as Error).message));
  assert.equal(store.retried, before, 'a refusal is not retried');
  assert.equal((await countOf('bad')).n, 0);
});

test('a deduplication token on a server without insert_deduplication_token is refused unless the store accepts at-least-once', async () => {
  const strict = await openServer({ url: ch.url });
  try {
    if (strict.dedupTokens) {
      // A newer server: the token deduplicates (the probe table has no window, so only check it is accepted).
      assert.equal((await strict.insertRows(TABLE, rowsOf('t-tok', 0, 1), { dedupToken: 'tok' })).records, 1);
    } else {
      await assert.rejects(strict.insertRows(TABLE, rowsOf('t-tok', 0, 1), { dedupToken: 'tok' }), (e) =>
        hasCode(e, 'config_invalid') && /has no insert_deduplication_token \(22\.2\+\).*atLeastOnce/.test((e as Error).message));
      assert.equal((await store.insertRows(TABLE, rowsOf('t-tok', 0, 1), { dedupToken: 'tok' })).records, 1, 'at-least-once sends it without');
    }
  } finally {
    await strict.close();
  }
});

test('nothing listening: openServer rejects not_connected naming the URL once its retries are spent', async () => {
  const port = await freePort();
  await assert.rejects(openServer({ url: `http://127.0.0.1:${port}`, retry: { attempts: 3, baseMs: 10 } }), (e) =>
    hasCode(e, 'not_connected') && (e as Error).message.includes(`127.0.0.1:${port} did not answer after 3 attempts`));
});

/**
 * 30 blocks of 400 rows through a BatchWriter (Native, one token per block); after block 10 the
 * server goes down (`fault`) and comes back 1.5 s later. Every row must arrive; a block whose
 * insert was cut mid-way may arrive twice on this server (no tokens), never more.
 */
const streamThrough = async (run: string, fault: () => Promise<void>): Promise<{ n: number; uniq: number; retried: number }> => {
  const before = store.retried;
  const w = new BatchWriter<Row>(store, TABLE, { maxRows: 400, encode: blockOf });
  let back: Promise<void> | undefined;
  for (let i = 0; i < 30; i++) {
    await w.write(rowsOf(run, i * 400, 400));
    await w.flush();
    if (i === 10) {
      await fault();
      back = new Promise((r) => setTimeout(r, 1_500)).then(() => ch.resume());
    }
  }
  await w.close();
  await back;
  return { ...(await countOf(run)), retried: store.retried - before };
};

test('the server stopped and restarted mid-stream: the writer waits it out and loses nothing', async (t) => {
  const got = await streamThrough('t-halt', () => ch.halt());
  t.diagnostic(`rows ${got.uniq} distinct, ${got.n - got.uniq} extra, ${got.retried} attempts retried`);
  assert.equal(got.uniq, 12_000, 'every row arrived');
  assert.ok(got.retried > 0, 'inserts were retried while the server was down');
  assert.ok(got.n - got.uniq <= 400, `at most one block twice (${got.n - got.uniq} extra rows)`);
});

test('the server killed (SIGKILL) mid-stream and started again: the writer waits it out and loses nothing', async (t) => {
  const got = await streamThrough('t-kill', () => ch.kill9());
  t.diagnostic(`rows ${got.uniq} distinct, ${got.n - got.uniq} extra, ${got.retried} attempts retried`);
  assert.equal(got.uniq, 12_000, 'every row arrived');
  assert.ok(got.retried > 0, 'inserts were retried while the server was down');
  assert.ok(got.n - got.uniq <= 400, `at most one block twice (${got.n - got.uniq} extra rows)`);
});

test('a query while the server is down is retried until it is back', async () => {
  await ch.halt();
  const back = new Promise((r) => setTimeout(r, 1_000)).then(() => ch.resume());
  const before = store.retried;
  const { n } = await countOf('t-json');
  await back;
  assert.equal(n, 3);
  assert.ok(store.retried > before);
});
