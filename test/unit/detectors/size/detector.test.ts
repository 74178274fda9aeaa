import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSize } from '../../../../detectors/size/detector.ts';
import { flow } from '../../../../detectors/testing.ts';
import { conduitWindow, ctxFor, Harness } from '../helpers.ts';

const W = 60_000;
const win = (i: number, reqBytes: number) => conduitWindow(i * W, [flow({
  srcIp: '10.0.1.1', dstIp: '10.0.2.1', tsStart: i * W + 1, l7: 'modbus', packets: 60, bytes: 60 * reqBytes, packetsRev: 60, bytesRev: 60 * (70 + (i % 3)),
  l7Ops: { read_holding_registers: 60 },
})]);

const learnThen = (probe: number) => {
  const h = new Harness(createSize());
  for (let i = 0; i < 10; i += 1) h.score(win(i, 66 + (i % 2)), ctxFor(win(i, 66), { learning: true }));
  return h.score(win(10, probe))[0];
};

test('size gives a window inside the learned envelope no finding', () => {
  assert.equal(learnThen(66.5), undefined);
});

test('size flags request packets twice as big as any baseline window and says envelope and seen', () => {
  const f = learnThen(140)!;
  assert.ok(f.score >= 0.99, `${f.score}`);
  assert.match(f.explanation, /^10\.0\.1\.1 → 10\.0\.2\.1:502 modbus: (request bytes per packet|bytes per l7 request) 66\.5 ± 0\.53 expected \(envelope 66–67\), 140 seen$/);
});

test('size keeps a small step just outside the envelope under the alert line (floor on the spread)', () => {
  const f = learnThen(70)!;
  assert.ok(f.score > 0 && f.score < 0.5, `${f.score}`);
});
