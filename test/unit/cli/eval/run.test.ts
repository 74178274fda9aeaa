import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FlowRecord } from '../../../../core/records.ts';
import { hasCode } from '../../../../core/errors.ts';
import { placeSegment } from '../../../../cli/eval/run.ts';

const W = 10_000;
const rec = (tsStart: number): FlowRecord => ({
  id: String(tsStart), tsStart, tsEnd: tsStart + 100, srcIp: '10.0.0.1', srcPort: 40000, dstIp: '10.0.0.2', dstPort: 502, proto: 6,
  packets: 1, bytes: 60, packetsRev: 1, bytesRev: 60, tcpFlags: 0, exporter: 'x', observationDomain: 0, source: 'pcap',
});
const recs = [1_003_000, 1_015_000, 1_027_000, 1_099_000].map(rec);

test('a whole input is placed where it is when it starts after the previous one', () => {
  const s = placeSegment({ file: 'x' }, '/x', recs, W, 500_000);
  assert.deepEqual([s.from, s.to, s.shiftMs, s.records.length], [1_000_000, 1_100_000, 0, 4]);
});

test('from and until cut at window boundaries after the first record', () => {
  const head = placeSegment({ file: 'x', until: 20_000 }, '/x', recs, W, -Infinity);
  assert.deepEqual([head.from, head.to, head.records.map((r) => r.tsStart)], [1_000_000, 1_030_000, [1_003_000, 1_015_000, 1_027_000]]);
  const tail = placeSegment({ file: 'x', from: 20_000 }, '/x', recs, W, head.to);
  assert.deepEqual([tail.from, tail.to, tail.shiftMs, tail.records.map((r) => r.tsStart)], [1_030_000, 1_100_000, 0, [1_099_000]]);
});

test('an input that would go back in time is shifted by whole windows to follow the previous one', () => {
  const s = placeSegment({ file: 'x' }, '/x', recs, W, 2_000_000);
  assert.equal(s.shiftMs, 1_000_000);
  assert.deepEqual([s.from, s.to], [2_000_000, 2_100_000]);
  assert.deepEqual(s.records.map((r) => [r.tsStart, r.tsEnd]), [[2_003_000, 2_003_100], [2_015_000, 2_015_100], [2_027_000, 2_027_100], [2_099_000, 2_099_100]]);
  assert.equal(recs[0]!.tsStart, 1_003_000, 'the cached records are not changed');
});

test('a cut with no records left is a config error naming the file', () => {
  assert.throws(() => placeSegment({ file: 'x.pcap', from: 500_000 }, '/x', recs, W, 0), (e) => hasCode(e, 'config_invalid') && /x\.pcap/.test((e as Error).message));
});
