import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hasCode, PipelineError } from '../../../core/errors.ts';
import { fakeClock, testContext } from '../../../core/testing.ts';
import type { Receipt, Store } from '../../../store/store.ts';
import { isNativeBlock, type NativeBlock } from '../../../store/native.ts';
import { BatchWriter } from '../../../store/writer.ts';

interface Row { n: number }

/** An in-memory store: records each insert as a block; can refuse the next inserts or hold them open. */
class MemoryStore implements Pick<Store, 'insertRows'> {
  readonly blocks: Row[][] = [];
  /** The dedup token of every insert attempt, in order. */
  readonly tokens: (string | undefined)[] = [];
  failNext = 0;
  private gate: Promise<void> | undefined;
  private openGate: (() => void) | undefined;

  hold(): void {
    this.gate = new Promise((r) => { this.openGate = r; });
  }

  release(): void {
    this.openGate?.();
    this.gate = undefined;
  }

  get rows(): number[] {
    return this.blocks.flat().map((r) => r.n);
  }

  async insertRows(table: string, data: readonly object[] | NativeBlock, opts: { dedupToken?: string } = {}): Promise<Receipt> {
    // A test block (`byteBlock`) carries one byte per row: its value.
    const rows = isNativeBlock(data) ? [...data.bytes].map((n) => ({ n })) : data;
    this.tokens.push(opts.dedupToken);
    if (this.gate) await this.gate;
    if (this.failNext > 0) {
      this.failNext -= 1;
      throw new PipelineError('write_rejected', `Insert into ${table} rejected: disk full`, { table });
    }
    this.blocks.push([...(rows as Row[])]);
    return { records: rows.length, bytes: rows.length * 10 };
  }
}

const rows = (from: number, count: number): Row[] => Array.from({ length: count }, (_, i) => ({ n: from + i }));
const settle = () => new Promise((r) => setImmediate(r));

/** A stand-in for store/blocks.ts: one byte per row (its `n`), recording what it was handed and when. */
const byteBlocks = () => {
  const calls: number[][] = [];
  const encode = (rs: Row[]): NativeBlock => {
    calls.push(rs.map((r) => r.n));
    return { format: 'Native', columns: ['n'], rows: rs.length, bytes: Uint8Array.from(rs.map((r) => r.n)) };
  };
  return { calls, encode };
};

test('reaching maxRows writes a block of exactly maxRows without waiting for a tick', async () => {
  const store = new MemoryStore();
  const w = new BatchWriter<Row>(store, 'flows', { maxRows: 3, clock: fakeClock(0) });
  await w.write(rows(0, 2));
  await settle();
  assert.equal(store.blocks.length, 0);
  await w.write(rows(2, 2));
  await settle();
  assert.deepEqual(store.blocks.map((b) => b.map((r) => r.n)), [[0, 1, 2]]);
  assert.equal(w.buffered, 1);
});

test('tick writes nothing before maxDelayMs and everything once the oldest row is that old', async () => {
  const store = new MemoryStore();
  const clock = fakeClock('2025-01-01T00:00:00Z');
  const w = new BatchWriter<Row>(store, 'flows', { maxRows: 100, maxDelayMs: 1000, clock });
  await w.write(rows(0, 2));
  clock.advance('600ms');
  await w.write(rows(2, 1));
  assert.equal(await w.tick(), undefined);
  clock.advance('399ms');
  assert.equal(await w.tick(), undefined);
  assert.equal(store.blocks.length, 0);
  clock.advance('1ms');
  assert.deepEqual(await w.tick(), { records: 3, bytes: 30 });
  assert.deepEqual(store.rows, [0, 1, 2]);
  assert.equal(await w.tick(), undefined, 'an empty buffer has nothing to flush');
});

test('the delay restarts from the first row written after the buffer emptied', async () => {
  const store = new MemoryStore();
  const clock = fakeClock(0);
  const w = new BatchWriter<Row>(store, 'flows', { maxRows: 100, maxDelayMs: 1000, clock });
  await w.write(rows(0, 1));
  clock.advance(5000);
  await w.flush();
  await w.write(rows(1, 1));
  clock.advance(999);
  assert.equal(await w.tick(), undefined);
  clock.advance(1);
  assert.equal((await w.tick())?.records, 1);
});

test('a refused insert keeps its rows buffered, rethrows write_rejected, and the retry writes them once', async () => {
  const store = new MemoryStore();
  const ctx = testContext('w');
  const w = new BatchWriter<Row>(store, 'alerts', { maxRows: 10, clock: fakeClock(0), events: ctx.events });
  await w.write(rows(0, 4));
  store.failNext = 1;
  await assert.rejects(w.flush(), (e) => hasCode(e, 'write_rejected') && /alerts/.test((e as Error).message));
  assert.equal(w.buffered, 4);
  assert.equal(store.blocks.length, 0);
  assert.equal(ctx.metrics.get('conduitwatch_component_errors_total', { error_code: 'write_rejected' }), 1);
  assert.deepEqual(await w.flush(), { records: 4, bytes: 40 });
  assert.deepEqual(store.rows, [0, 1, 2, 3]);
  assert.equal(w.buffered, 0);
  assert.equal(ctx.metrics.get('conduitwatch_component_sent_records_total'), 4);
});

test('a retry resends exactly the failed block even when more rows arrived meanwhile', async () => {
  const store = new MemoryStore();
  const w = new BatchWriter<Row>(store, 'flows', { maxRows: 10, clock: fakeClock(0) });
  await w.write(rows(0, 3));
  store.failNext = 1;
  await assert.rejects(w.flush());
  await w.write(rows(3, 2));
  await w.flush();
  assert.deepEqual(store.blocks.map((b) => b.map((r) => r.n)), [[0, 1, 2], [3, 4]]);
});

test('a background flush that fails loses nothing: the next flush writes every row in order', async () => {
  const store = new MemoryStore();
  const w = new BatchWriter<Row>(store, 'flows', { maxRows: 2, clock: fakeClock(0) });
  store.failNext = 1;
  await w.write(rows(0, 2));
  await settle();
  assert.equal(w.buffered, 2);
  await w.write(rows(2, 1));
  const r = await w.flush();
  assert.deepEqual(store.rows, [0, 1, 2]);
  assert.equal(r.records, 3);
});

test('receipts from flush and close add up to every row written, background blocks included', async () => {
  const store = new MemoryStore();
  const w = new BatchWriter<Row>(store, 'flows', { maxRows: 4, clock: fakeClock(0) });
  let reported = 0;
  for (let i = 0; i < 10; i++) {
    await w.write(rows(i * 3, 3));
    if (i === 5) reported += (await w.flush()).records;
  }
  reported += (await w.close()).records;
  assert.equal(reported, 30);
  assert.deepEqual(store.rows, rows(0, 30).map((r) => r.n));
  assert.ok(store.blocks.every((b) => b.length <= 4), 'no block exceeds maxRows');
  assert.deepEqual(w.written, { records: 30, bytes: 300 });
});

test('close flushes once; a second close writes nothing and a later write is refused', async () => {
  const store = new MemoryStore();
  const w = new BatchWriter<Row>(store, 'windows', { maxRows: 100, clock: fakeClock(0) });
  await w.write(rows(0, 5));
  assert.equal((await w.close()).records, 5);
  assert.deepEqual(await w.close(), { records: 0, bytes: 0 });
  assert.equal(store.blocks.length, 1);
  await assert.rejects(w.write(rows(5, 1)), (e) => hasCode(e, 'unrecoverable'));
});

test('a close whose flush fails can be called again and then writes the rows', async () => {
  const store = new MemoryStore();
  const w = new BatchWriter<Row>(store, 'windows', { maxRows: 100, clock: fakeClock(0) });
  await w.write(rows(0, 2));
  store.failNext = 1;
  await assert.rejects(w.close(), (e) => hasCode(e, 'write_rejected'));
  assert.equal((await w.close()).records, 2);
  assert.deepEqual(store.rows, [0, 1]);
});

test('write waits for a flush once the buffer would pass its cap, and the buffer never exceeds it', async () => {
  const store = new MemoryStore();
  const w = new BatchWriter<Row>(store, 'flows', { maxRows: 2, maxBufferedRows: 4, clock: fakeClock(0) });
  store.hold();
  await w.write(rows(0, 2)); // starts a background insert that hangs
  await w.write(rows(2, 2)); // fits: 4 buffered
  let third = false;
  const p = w.write(rows(4, 2)).then(() => { third = true; });
  await settle();
  assert.equal(third, false, 'the write over the cap waits');
  assert.equal(w.buffered, 4);
  store.release();
  await p;
  assert.equal(third, true);
  assert.ok(w.buffered <= 4);
  await w.close();
  assert.deepEqual(store.rows, [0, 1, 2, 3, 4, 5]);
});

test('a write over the cap rejects without taking its rows when the store keeps refusing', async () => {
  const store = new MemoryStore();
  const w = new BatchWriter<Row>(store, 'flows', { maxRows: 2, maxBufferedRows: 2, clock: fakeClock(0) });
  store.failNext = 100;
  await w.write(rows(0, 2));
  await settle();
  await assert.rejects(w.write(rows(2, 1)), (e) => hasCode(e, 'write_rejected'));
  assert.equal(w.buffered, 2);
  store.failNext = 0;
  await w.close();
  assert.deepEqual(store.rows, [0, 1]);
});

test('takeFailedBlock hands back the refused rows so a poison batch can be set aside', async () => {
  const store = new MemoryStore();
  const w = new BatchWriter<Row>(store, 'flows', { maxRows: 10, clock: fakeClock(0) });
  await w.write(rows(0, 1));
  store.failNext = 1;
  await assert.rejects(w.flush());
  await w.write(rows(1, 1));
  assert.deepEqual(w.takeFailedBlock().map((r) => r.n), [0]);
  await w.flush();
  assert.deepEqual(store.rows, [1]);
});

test('encodeOnWrite encodes each write at once, in pieces that never cross a block, and a full block is exactly maxRows', async () => {
  const store = new MemoryStore();
  const { calls, encode } = byteBlocks();
  const w = new BatchWriter<Row>(store, 'flows', { maxRows: 3, clock: fakeClock(0), encode, encodeOnWrite: true });
  await w.write(rows(0, 2));
  assert.deepEqual(calls, [[0, 1]], 'encoded by the write itself, before any flush');
  await w.write(rows(2, 5));
  await settle();
  assert.deepEqual(calls, [[0, 1], [2], [3, 4, 5], [6]]);
  assert.deepEqual(store.blocks.map((b) => b.map((r) => r.n)), [[0, 1, 2], [3, 4, 5]]);
  assert.equal(w.buffered, 1);
  const r = await w.close();
  assert.deepEqual(store.blocks.map((b) => b.map((x) => x.n)), [[0, 1, 2], [3, 4, 5], [6]]);
  assert.equal(r.records, 7);
});

test('encodeOnWrite: a refused block is retried with the same bytes and token, rows written meanwhile after it', async () => {
  const store = new MemoryStore();
  const { encode } = byteBlocks();
  const w = new BatchWriter<Row>(store, 'flows', { maxRows: 10, clock: fakeClock(0), encode, encodeOnWrite: true });
  await w.write(rows(0, 3));
  store.failNext = 1;
  await assert.rejects(w.flush(), (e) => hasCode(e, 'write_rejected'));
  assert.equal(w.buffered, 3);
  await w.write(rows(3, 2));
  await w.flush();
  assert.deepEqual(store.blocks.map((b) => b.map((r) => r.n)), [[0, 1, 2], [3, 4]]);
  assert.equal(store.tokens[0], store.tokens[1], 'the retry carries the failed block\'s token');
  assert.notEqual(store.tokens[1], store.tokens[2]);
});

test('encodeOnWrite: a write waits once the encoded bytes pass maxBufferedBytes', async () => {
  const store = new MemoryStore();
  const { encode } = byteBlocks();
  const w = new BatchWriter<Row>(store, 'flows', { maxRows: 2, maxBufferedRows: 100, maxBufferedBytes: 2, clock: fakeClock(0), encode, encodeOnWrite: true });
  store.hold();
  await w.write(rows(0, 2)); // a full block: its insert hangs
  await w.write(rows(2, 1));
  await w.write(rows(3, 2)); // 1 byte buffered: fits
  let next = false;
  const p = w.write(rows(5, 1)).then(() => { next = true; });
  await settle();
  assert.equal(next, false, '3 bytes buffered > 2: the write waits');
  store.release();
  await p;
  await w.close();
  assert.deepEqual(store.rows, [0, 1, 2, 3, 4, 5]);
});

test('encodeOnWrite: takeFailedBlock has no rows to hand back and sets the refused block aside', async () => {
  const store = new MemoryStore();
  const { encode } = byteBlocks();
  const w = new BatchWriter<Row>(store, 'flows', { maxRows: 10, clock: fakeClock(0), encode, encodeOnWrite: true });
  await w.write(rows(0, 1));
  store.failNext = 1;
  await assert.rejects(w.flush());
  await w.write(rows(1, 1));
  assert.deepEqual(w.takeFailedBlock(), []);
  await w.flush();
  assert.deepEqual(store.rows, [1]);
});

test('rejects settings that cannot work, naming the table', () => {
  assert.throws(() => new BatchWriter(new MemoryStore(), 'flows', { maxRows: 10, maxBufferedRows: 5 }),
    (e) => hasCode(e, 'config_invalid') && /flows/.test((e as Error).message));
});
