import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSilence } from '../../../../detectors/silence/detector.ts';
import { flow } from '../../../../detectors/testing.ts';
import type { WindowContext } from '../../../../detectors/detector.ts';
import { conduitWindow, ctxFor, Harness } from '../helpers.ts';

const W = 60_000;
const win = (i: number, answered: boolean, l7Rev = true) => conduitWindow(i * W, [flow({
  srcIp: '10.0.1.1', dstIp: '10.0.2.1', tsStart: i * W + 1, l7: 'iec104', packets: 10, bytes: 600, packetsRev: answered ? 10 : 0, bytesRev: answered ? 700 : 0,
  l7Ops: { S_frame: 5 }, ...(answered && l7Rev ? { l7OpsRev: { M_ME_NC_1: 12 } } : {}),
})]);

const run = (probe: boolean[], l7Rev = true) => {
  const h = new Harness(createSilence());
  for (let i = 0; i < 60; i += 1) h.score(win(i, true), ctxFor(win(i, true), { learning: true }));
  return probe.map((ok, j) => {
    const w = win(60 + j, ok, l7Rev);
    const r = { findings: h.score(w, ctxFor(w)) };
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

describe('silence longest gap (no traffic at all)', () => {
  const A = '10.10.3.19';
  const B = '10.10.20.10';
  /** Polls every 10 s at offsets 5, 15 … 55 s of window i (one flow each, 200 ms long). */
  const polled = (i: number, from = 0, to = 60_000) => conduitWindow(i * W, Array.from({ length: 6 }, (_, k) => i * W + 5_000 + k * 10_000)
    .filter((t) => t >= i * W + from && t < i * W + to)
    .map((t) => flow({ srcIp: A, dstIp: B, dstPort: 102, l7: 'mms', tsStart: t, tsEnd: t + 200, l7Ops: { 'read.request': 1 } })));
  const empty = (i: number) => conduitWindow(i * W, []);

  /** Learns 20 polled windows, then scores `probe` (windows 20, 21, …) with their contexts. */
  const afterBaseline = (probe: { cw: ReturnType<typeof polled>; over?: Partial<WindowContext> }[], config: Record<string, unknown> = {}) => {
    const h = new Harness(createSilence(config));
    for (let i = 0; i < 20; i += 1) h.score(polled(i), ctxFor(polled(i), { learning: true }));
    return probe.map(({ cw, over }) => {
      const r = { findings: h.score(cw, ctxFor(cw, over)) };
      return r.findings[0];
    });
  };

  test('gives ordinary polling no finding', () => {
    assert.deepEqual(afterBaseline([{ cw: polled(20) }, { cw: polled(21) }]), [undefined, undefined]);
  });

  test('scores the open silence of a lost connection and then the closed gap, against the longest learned gap', () => {
    // Last poll of window 19 ends at 19:55.2; nothing in 20 and 21; polls resume at 22:05.
    const [w20, w21, w22] = afterBaseline([{ cw: empty(20) }, { cw: empty(21) }, { cw: polled(22) }]);
    assert.equal(w20!.explanation, 'no traffic on 10.10.3.19 → 10.10.20.10:102 mms for 64.8 s so far; longest gap in baseline 9.8 s');
    assert.ok(w20!.score >= 0.8 && w20!.score < 1, `${w20!.score}`);
    assert.equal(w20!.features.gap_open, 1);
    assert.match(w21!.explanation, /for 125 s so far;/);
    assert.equal(w22!.explanation, 'no traffic on 10.10.3.19 → 10.10.20.10:102 mms for 130 s; longest gap in baseline 9.8 s');
    assert.equal(w22!.features.gap_open, 0);
    assert.equal(w22!.features.gap_ms, 129800);
  });

  test('measures a silence only up to the horizon: a capture that ends inside a window raises nothing', () => {
    // The input ends at 20:25 (the last flow start): polls up to 20:25 are all there is.
    const ended = afterBaseline([{ cw: polled(20, 0, 30_000), over: { horizon: 20 * W + 25_000 } }]);
    assert.deepEqual(ended, [undefined]);
    // The same window with more input after it: 34.8 s of silence so far, over 3.2x the 9.8 s learned.
    const cut = afterBaseline([{ cw: polled(20, 0, 30_000) }]);
    assert.match(cut[0]!.explanation, /for 34.8 s so far/);
  });

  test('does not judge a silence that overlapped a maintenance window, when it ends', () => {
    const [inMaint, after] = afterBaseline([{ cw: empty(20), over: { maintenance: 'mw' } }, { cw: polled(21) }]);
    assert.match(inMaint!.explanation, /so far/); // scored; the engine mutes it in maintenance
    assert.equal(after, undefined);
  });

  test('leaves an edge with traffic in fewer than gapActiveFraction of its windows unjudged', () => {
    const h = new Harness(createSilence());
    for (let i = 0; i < 20; i += 1) {
      const cw = i % 2 === 0 ? polled(i) : empty(i);
      h.score(cw, ctxFor(cw, { learning: true }));
    }
    for (let i = 20; i < 25; i += 1) {
      const r = { findings: h.score(empty(i), ctxFor(empty(i))) };
      assert.equal(r.findings.length, 0);
    }
  });

  test('restores the gap model from save → JSON → load', () => {
    const h = new Harness(createSilence());
    for (let i = 0; i < 20; i += 1) h.score(polled(i), ctxFor(polled(i), { learning: true }));
    const restored = h.roundTrip(createSilence());
    const a = h.score(empty(20));
    const b = restored.score(empty(20));
    assert.ok(a.length === 1 && a[0]!.score >= 0.8, 'the lost connection is found');
    assert.deepEqual(b, a);
  });
});
