import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSilence } from '../../../../detectors/silence/detector.ts';
import { flow } from '../../../../detectors/testing.ts';
import { conduitWindow, ctxFor } from '../helpers.ts';

const W = 60_000;
const win = (i: number, answered: boolean, l7Rev = true) => conduitWindow(i * W, [flow({
  srcIp: '10.0.1.1', dstIp: '10.0.2.1', tsStart: i * W + 1, l7: 'iec104', packets: 10, bytes: 600, packetsRev: answered ? 10 : 0, bytesRev: answered ? 700 : 0,
  l7Ops: { S_frame: 5 }, ...(answered && l7Rev ? { l7OpsRev: { M_ME_NC_1: 12 } } : {}),
})]);

const run = (probe: boolean[], l7Rev = true) => {
  const d = createSilence();
  let state = d.init();
  for (let i = 0; i < 60; i += 1) state = d.scoreWindow(win(i, true), state, ctxFor(win(i, true), { learning: true })).state;
  return probe.map((ok, j) => {
    const w = win(60 + j, ok, l7Rev);
    const r = d.scoreWindow(w, state, ctxFor(w));
    state = r.state;
    return r.findings[0]!;
  });
};

test('silence gives an answered window no finding at all', () => {
  assert.equal(run([true])[0], undefined);
});

test('silence lets one unanswered window pass and alerts a device that stays mute for four (after 60 answered windows)', () => {
  const out = run([false, false, false, false]);
  assert.ok(out[0]!.score < 0.5, `${out[0]!.score}`);
  assert.ok(out[2]!.score < 0.8, `${out[2]!.score}`);
  assert.ok(out[3]!.score >= 0.8, `${out[3]!.score}`);
  assert.match(out[3]!.explanation, /^device not answering: 10\.0\.1\.1 → 10\.0\.2\.1:502 iec104 sent 5 requests and got no packet back, 4 windows in a row; baseline: 0 of 60 windows unanswered$/);
});

test('silence counts TCP acknowledgements without l7 responses as unanswered where the baseline always had l7 responses', () => {
  const out = run([true, true, true, true], false);
  assert.match(out[3]!.explanation, /no l7 response \(TCP still acknowledges\), 4 windows in a row/);
  assert.ok(out[3]!.score >= 0.8);
});
