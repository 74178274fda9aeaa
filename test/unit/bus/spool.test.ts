/** The collector's on-disk spool (bus/spool.ts): order, size and age limits with counted drops, restarts, damaged entries. */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { decodeEntry, encodeEntry, Spool } from '../../../bus/spool.ts';
import type { OutMessage } from '../../../bus/bus.ts';
import { fakeClock } from '../../../core/clock.ts';
import { Metrics } from '../../../core/telemetry.ts';

let root: string;
before(async () => { root = await mkdtemp(join(tmpdir(), 'cw-spool-unit-')); });
after(() => rm(root, { recursive: true, force: true }));

let n = 0;
const fresh = () => join(root, `s${n++}`);
const msgs = (tag: string, size = 10): OutMessage[] => [
  { key: `k-${tag}`, partition: 2, value: Buffer.alloc(size, tag), headers: { 'cw-schema': 'flows-arrow/1', 'cw-event-time': '1' } },
  { key: `watermark/${tag}`, value: Buffer.alloc(0) },
];

/** Takes every entry, oldest first, as the publisher does. */
const takeAll = async (s: Spool): Promise<string[]> => {
  const out: string[] = [];
  for (let e = await s.head(); e; e = await s.head()) {
    out.push(e.messages[0]!.key);
    await s.remove(e.seq);
  }
  return out;
};

test('an entry round-trips its keys, partitions, headers and values exactly', () => {
  const m = msgs('a', 100);
  const back = decodeEntry(encodeEntry(123.5, 7, m));
  assert.deepEqual(back, { createdAt: 123.5, records: 7, messages: [m[0], { key: 'watermark/a', value: Buffer.alloc(0), headers: {} }] });
  assert.throws(() => decodeEntry(encodeEntry(1, 1, m).subarray(0, 40)), /truncated/);
});

test('entries come back oldest first, also after the spool is reopened by a new process', async () => {
  const dir = fresh();
  const clock = fakeClock(0);
  const s = await Spool.open({ dir, maxBytes: 1 << 20, maxAgeMs: 60_000, clock });
  for (const tag of ['a', 'b', 'c']) await s.append(msgs(tag), 5);
  assert.equal(s.records, 15);
  const again = await Spool.open({ dir, maxBytes: 1 << 20, maxAgeMs: 60_000, clock });
  assert.deepEqual([again.entries, again.records], [3, 15]);
  await again.append(msgs('d'), 5);
  assert.deepEqual(await takeAll(again), ['k-a', 'k-b', 'k-c', 'k-d']);
  assert.deepEqual(await readdir(dir), []);
});

test('past maxBytes the oldest entries are dropped and counted; one publish larger than the spool is dropped itself', async () => {
  const metrics = new Metrics();
  const size = encodeEntry(0, 5, msgs('x', 1000)).length;
  const s = await Spool.open({ dir: fresh(), maxBytes: size * 3, maxAgeMs: 60_000, clock: fakeClock(0), metrics });
  for (const tag of ['a', 'b', 'c', 'd', 'e']) await s.append(msgs(tag, 1000), 5);
  assert.deepEqual([s.entries, s.dropped.size], [3, 10]);
  await s.append(msgs('huge', size * 4), 9);
  assert.equal(s.dropped.size, 19);
  assert.equal(metrics.get('conduitwatch_spool_dropped_records_total', { reason: 'size' }), 19);
  assert.deepEqual(await takeAll(s), ['k-c', 'k-d', 'k-e']);
});

test('entries older than maxAgeMs are dropped and counted instead of published', async () => {
  const clock = fakeClock(0);
  const s = await Spool.open({ dir: fresh(), maxBytes: 1 << 20, maxAgeMs: 1000, clock });
  await s.append(msgs('old'), 4);
  clock.advance(600);
  await s.append(msgs('young'), 6);
  clock.advance(600);
  assert.deepEqual(await takeAll(s), ['k-young']);
  assert.equal(s.dropped.age, 4);
});

test('a damaged entry is renamed .bad, counted and skipped; a half-written temp file is removed', async () => {
  const dir = fresh();
  const clock = fakeClock(0);
  const s = await Spool.open({ dir, maxBytes: 1 << 20, maxAgeMs: 60_000, clock });
  await s.append(msgs('a'), 1);
  await s.append(msgs('b'), 1);
  const [first] = (await readdir(dir)).sort();
  await writeFile(join(dir, first!), encodeEntry(0, 1, msgs('a')).subarray(0, 30));
  await writeFile(join(dir, '0000000000000009.spool.tmp'), 'cut short');
  const again = await Spool.open({ dir, maxBytes: 1 << 20, maxAgeMs: 60_000, clock });
  assert.deepEqual(await takeAll(again), ['k-b']);
  assert.equal(again.dropped.unreadable, 1);
  assert.deepEqual(await readdir(dir), [`${first}.bad`]);
});

test('bad limits are a config error', async () => {
  await assert.rejects(Spool.open({ dir: fresh(), maxBytes: 0, maxAgeMs: 1, clock: fakeClock(0) }), /must be positive/);
});
