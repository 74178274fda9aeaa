import { test } from 'node:test';
import assert from 'node:assert/strict';
import { zToScore } from '../../../../detectors/calibration.ts';
import { createRate } from '../../../../detectors/rate/detector.ts';
import { flow } from '../../../../detectors/testing.ts';
import { conduitWindow, ctxFor, Harness } from '../helpers.ts';

const W = 60_000;
const EDGE = '10.0.1.1>10.0.2.1/6/502/modbus';
const win = (i: number, requests: number | null) =>
  conduitWindow(i * W, requests === null ? [] : [flow({ srcIp: '10.0.1.1', dstIp: '10.0.2.1', tsStart: i * W + 1, l7: 'modbus', l7Ops: { read_holding_registers: requests } })]);

/** Learns `baseline` per-window counts, then scores `probe` (null = no traffic at all). */
const run = (baseline: number[], probe: (number | null)[]) => {
  const h = new Harness(createRate());
  baseline.forEach((n, i) => { const w = win(i, n); h.score(w, ctxFor(w, { learning: true })); });
  return probe.map((n, j) => {
    const w = win(baseline.length + j, n);
    const r = { findings: h.score(w, ctxFor(w)) };
    return r.findings.find((f) => f.edge === EDGE)!;
  });
};

const steady = [60, 61, 59, 60, 60, 61, 59, 60, 60, 60];

const cases: { name: string; baseline: number[]; probe: (number | null)[]; min: number; max: number; explains?: RegExp }[] = [
  { name: 'scores a window like the baseline near 0', baseline: steady, probe: [60], min: 0, max: 0.01 },
  { name: 'scores four times the learned requests near 1', baseline: steady, probe: [240], min: 0.99, max: 1, explains: /^240 requests on 10\.0\.1\.1 → 10\.0\.2\.1:502 modbus, expected 60 ± 0\.67 per window in cycle phase 1\/12 \(above, z 30\)$/ },
  { name: 'keeps a ±10% wobble of a steady poll under the alert line (floor on the deviation)', baseline: steady, probe: [66], min: 0.05, max: 0.1 },
  { name: 'scores a silent polled edge as polling_stop', baseline: steady, probe: [null], min: 0.99, max: 1, explains: /^polling_stop: no requests on .* for 1 window, expected 60/ },
  { name: 'adds up consecutive silent windows of a slow poller', baseline: [3, 3, 3, 3, 3, 3, 3, 3, 3, 3], probe: [null, null, null], min: 0.8, max: 0.85, explains: /for 3 windows/ },
  { name: 'does not score before minWindows windows were learned', baseline: [60, 60], probe: [500], min: 0, max: 0, explains: /learning the rate .*: 2 of 5 windows/ },
];

for (const c of cases) {
  test(`rate ${c.name}`, () => {
    const f = run(c.baseline, c.probe).at(-1)!;
    assert.ok(f.score >= c.min && f.score <= c.max, `score ${f.score} not in [${c.min}, ${c.max}]: ${f.explanation}`);
    if (c.explains) assert.match(f.explanation, c.explains);
  });
}

test('rate keeps alerting a lasting deviation because it learns only from windows below learnBelow', () => {
  const out = run(steady, [240, 240, 240, 240, 240, 240]);
  assert.ok(out.every((f) => f.score > 0.99), out.map((f) => f.score).join(','));
});

test('rate scores every known edge in every window, quiet or not', () => {
  const h = new Harness(createRate());
  h.score(win(0, 5));
  assert.deepEqual(h.score(win(1, null)).map((f) => f.edge), [EDGE]);
});

test('the calibration maps z 5 to 0.8 and is monotone', () => {
  assert.equal(zToScore(5), 0.8);
  assert.equal(zToScore(0), 0);
  const zs = [0.5, 1, 2, 3, 4, 6, 8, 12];
  const s = zs.map(zToScore);
  assert.deepEqual(s, [...s].sort((a, b) => a - b));
  assert.ok(s.every((x) => x >= 0 && x <= 1));
});

test('rate does not call silence polling_stop on an edge that was quiet in most learned windows', () => {
  const f = run([1, 0, 0, 0, 0, 1, 0, 0, 0, 0], [null, null, null, null, null, null]).at(-1)!;
  assert.ok(f.score < 0.05, `${f.score} ${f.explanation}`);
  assert.doesNotMatch(f.explanation, /polling_stop/);
});
