import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Framer, type Framing } from '../../../../ingest/protocols/framer.ts';

type Bad = 'bad_start' | 'bad_length';

/** A toy framing: start octet 0xaa, then one octet holding the whole frame length (≥ 2). */
const toy = (keep: number, handOver: 'kept' | 'whole', resync = false): Framing<Bad> => ({
  headerLen: 2,
  keep,
  length: (buf, off) => (buf[off] !== 0xaa ? 'bad_start' : buf[off + 1]! < 2 ? 'bad_length' : buf[off + 1]!),
  ...(resync ? { resync: (buf: Buffer, from: number, end: number) => { const i = buf.indexOf(0xaa, from); return i >= 0 && i < end ? i : -1; } } : {}),
  handOver,
});

/** A frame of `total` octets whose body counts up from `tag`. */
const frame = (total: number, tag = 0): Buffer => Buffer.from([0xaa, total, ...Array.from({ length: total - 2 }, (_, i) => (tag + i) & 0xff)]);

interface Seen { init: boolean; bytes: number[]; total: number; ts: number }

const harness = (framing: Framing<Bad>) => {
  const frames: Seen[] = [];
  const violations: Bad[] = [];
  const f = new Framer(framing, (init, buf, off, kept, total, ts) => { frames.push({ init, bytes: [...buf.subarray(off, off + kept)], total, ts }); }, (v) => violations.push(v));
  const push = (init: boolean, b: Buffer, ts = 0): void => {
    // Pad around the bytes: the framer must honour off/len, not the buffer's bounds.
    const padded = Buffer.concat([Buffer.from([0x55]), b, Buffer.from([0x55])]);
    f.push(init, padded, 1, b.length, ts);
  };
  return { f, frames, violations, push };
};

test('hands over every frame of a segment, and the same frames when fed one octet at a time', () => {
  const stream = Buffer.concat([frame(4, 1), frame(2), frame(7, 9)]);
  const whole = harness(toy(16, 'whole'));
  whole.push(true, stream);
  const bytewise = harness(toy(16, 'whole'));
  for (const b of stream) bytewise.push(true, Buffer.from([b]));
  const expected = [[...frame(4, 1)], [...frame(2)], [...frame(7, 9)]];
  assert.deepEqual(whole.frames.map((s) => s.bytes), expected);
  assert.deepEqual(bytewise.frames.map((s) => s.bytes), expected);
  assert.equal(bytewise.f.partial(true), false);
});

test('keeps the two directions apart', () => {
  const h = harness(toy(16, 'whole'));
  const a = frame(6, 1);
  const b = frame(5, 50);
  h.push(true, a.subarray(0, 3));
  h.push(false, b.subarray(0, 1));
  h.push(true, a.subarray(3));
  h.push(false, b.subarray(1));
  assert.deepEqual(h.frames.map((s) => [s.init, s.bytes]), [[true, [...a]], [false, [...b]]]);
});

test("'kept' hands a long frame over once its first keep octets are in, then skips its tail", () => {
  const h = harness(toy(4, 'kept'));
  const long = frame(10, 1);
  h.push(true, long.subarray(0, 5), 100);
  assert.deepEqual(h.frames, [{ init: true, bytes: [...long.subarray(0, 4)], total: 10, ts: 100 }]);
  assert.equal(h.f.partial(true), true);
  h.push(true, Buffer.concat([long.subarray(5), frame(3, 7)]), 200);
  assert.deepEqual(h.frames.map((s) => [s.bytes, s.total, s.ts]), [[[...long.subarray(0, 4)], 10, 100], [[...frame(3, 7)], 3, 200]]);
  assert.equal(h.f.partial(true), false);
});

test("'whole' hands a long frame over, cut at keep, only once its last octet arrived; a gap in its tail drops it", () => {
  const h = harness(toy(4, 'whole'));
  const long = frame(10, 1);
  h.push(true, long.subarray(0, 5), 100);
  assert.equal(h.frames.length, 0);
  h.push(true, long.subarray(5), 200);
  assert.deepEqual(h.frames, [{ init: true, bytes: [...long.subarray(0, 4)], total: 10, ts: 200 }]);
  h.push(true, long.subarray(0, 7));
  assert.equal(h.f.gap(true), true);
  h.push(true, frame(3, 5));
  assert.deepEqual(h.frames.map((s) => s.total), [10, 3]);
  assert.equal(h.f.gap(true), false);
});

test('a bad header drops the rest of the segment; with resync parsing resumes at the next start octet', () => {
  const segment = Buffer.concat([Buffer.from([0x01, 0x02]), frame(3, 1), frame(4, 2)]);
  const plain = harness(toy(16, 'whole'));
  plain.push(true, segment);
  assert.deepEqual(plain.violations, ['bad_start']);
  assert.equal(plain.frames.length, 0);
  const resync = harness(toy(16, 'whole', true));
  resync.push(true, segment);
  assert.deepEqual(resync.violations, ['bad_start']);
  assert.deepEqual(resync.frames.map((s) => s.bytes), [[...frame(3, 1)], [...frame(4, 2)]]);
});

test('a bad length in a header split across segments is a violation and leaves no partial frame', () => {
  const h = harness(toy(16, 'kept'));
  h.push(false, Buffer.from([0xaa]));
  assert.equal(h.f.partial(false), true);
  h.push(false, Buffer.from([0x01, 0xaa, 0x03, 0x00]));
  assert.deepEqual(h.violations, ['bad_length']);
  assert.equal(h.f.partial(false), false);
  assert.equal(h.frames.length, 0);
});

test('refuses a framing whose header is longer than what it keeps', () => {
  assert.throws(() => new Framer(toy(1, 'kept'), () => {}, () => {}), RangeError);
});
