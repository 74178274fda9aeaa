import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SliceAggregator, type Message } from '../../../../ingest/files/slices.ts';

const msg = (ts: number, over: Partial<Message> = {}): Message => ({
  ts, clientIp: '10.0.0.1', clientPort: 50000, serverIp: '10.0.0.2', serverPort: 2404,
  fromClient: true, ipLen: 60, newPacket: true, op: 'x', cadence: true, line: ts, ...over,
});

test('times a client packet once even when its first APDU is not a request', () => {
  const agg = new SliceAggregator(60_000, { exporter: 'f', l7: 'iec104' });
  agg.push(msg(1_000));
  agg.push(msg(2_000, { op: 'S_frame', cadence: false }));
  agg.push(msg(2_000, { newPacket: false }));
  agg.push(msg(2_000, { newPacket: false }));
  const [r] = agg.flush();
  assert.deepEqual(r!.requestIntervalsMs, { count: 1, mean: 1000, m2: 0, min: 1000, max: 1000 });
  assert.deepEqual([r!.packets, r!.bytes], [2, 120]);
  assert.deepEqual(r!.l7Ops, { S_frame: 1, x: 3 });
});

test('closes a slice on the first message at its end, not before', () => {
  const agg = new SliceAggregator(1_000, { exporter: 'f', l7: 'mms' });
  assert.deepEqual(agg.push(msg(10_500)), []);
  assert.deepEqual(agg.push(msg(10_999.9)), []);
  const closed = agg.push(msg(11_000));
  assert.deepEqual(closed.map((r) => [r.tsStart, r.tsEnd]), [[10_500, 10_999]]);
  assert.equal(agg.isLate(10_999), true);
  assert.equal(agg.isLate(11_500), false);
  assert.deepEqual(agg.flush().map((r) => r.tsStart), [11_000]);
  assert.deepEqual(agg.flush(), []);
});

test('refuses a slice length that is not a positive whole number of ms', () => {
  assert.throws(() => new SliceAggregator(0, { exporter: 'f', l7: 'x' }), RangeError);
  assert.throws(() => new SliceAggregator(1.5, { exporter: 'f', l7: 'x' }), RangeError);
});
