import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Alert } from '../../../../core/records.ts';
import { diffResults } from '../../../../cli/eval/diff.ts';
import type { Attack } from '../../../../cli/eval/labels.ts';
import { scoreRun, summarize, type RunFrame } from '../../../../cli/eval/metrics.ts';
import { renderDiff, renderResult } from '../../../../cli/eval/report.ts';
import type { EvalResult } from '../../../../cli/eval/run.ts';

const W = 10_000;
const frame: RunFrame = { windowMs: W, from: 0, to: 100_000, shiftMs: 0, exposureStart: { 'a->b': 0 }, slackMs: W, endpoints: false };
const attacks: Attack[] = [
  { id: 'one', input: 'c.pcap', kind: 'k', start: 15_000, end: 16_000 },
  { id: 'two', input: 'c.pcap', kind: 'k', start: 55_000, end: 56_000 },
];
const alert = (tsStart: number, detector = 'novelty'): Alert => ({
  id: String(tsStart), conduit: 'a->b', src: '10.0.0.1', dst: '10.0.0.2', proto: 6, dstPort: 502, l7: '',
  tsStart, tsEnd: tsStart + W, score: 1, detector, explanation: 'x',
});

const result = (alerts: Alert[]): EvalResult => {
  const r = scoreRun(attacks, alerts, frame);
  const summary = summarize([r]);
  return {
    name: 'd', description: '', site: 's.yaml', windowMs: W, alertThreshold: 0.8, detectors: 'all', baseline: [], runs: [],
    attacks: r.attacks.map((a) => ({ ...a, start: String(a.start), end: String(a.end), first: undefined })),
    summary,
    targets: { everyAttackDetected: summary.detected === summary.attacks, underOneFalseAlertPerConduitPerDay: false },
  };
};

// Old: detects "one" only, one false alert. New: detects "two" only, two false alerts (one from rate).
const oldR = result([alert(10_000), alert(90_000)]);
const newR = result([alert(50_000), alert(90_000), alert(90_000, 'rate')]);

test('lists attacks newly detected and newly missed', () => {
  const d = diffResults(oldR, newR);
  assert.deepEqual(d.attacks, { newlyDetected: ['c.pcap two'], newlyMissed: ['c.pcap one'], added: [], removed: [] });
  assert.equal(d.regressed, true);
});

test('gives precision, recall and F1 before, after and the difference', () => {
  // old: windows 10 (tp), 90 (fp); positives 10, 50 → p 0.5 r 0.5 f1 0.5.
  // new: windows 50 (tp), 90 (fp) → the same p, r and f1.
  const d = diffResults(oldR, newR);
  assert.deepEqual(d.precision, { old: 0.5, new: 0.5, delta: 0 });
  assert.deepEqual(d.recall, { old: 0.5, new: 0.5, delta: 0 });
});

test('gives the change in false alerts per conduit per day and per detector counts', () => {
  const d = diffResults(oldR, newR);
  // Normal windows: 100 s minus windows touching [5 s, 26 s] and [45 s, 66 s] (0,10,20 and 40,50,60) = 40 s.
  assert.deepEqual(d.conduits, [{ conduit: 'a->b', old: 2160, new: 4320, delta: 2160 }]);
  assert.deepEqual(d.detectors, [{ detector: 'rate', old: 0, new: 1, delta: 1 }]);
  assert.deepEqual(d.falseAlertsPerDay, { old: 2160, new: 4320, delta: 2160 });
});

test('a result compared with itself shows no change and no regression', () => {
  const d = diffResults(oldR, oldR);
  assert.deepEqual(d.attacks, { newlyDetected: [], newlyMissed: [], added: [], removed: [] });
  assert.deepEqual([d.conduits, d.detectors, d.regressed], [[], [], false]);
});

test('attacks only in one result are listed as added or removed', () => {
  const fewer = { ...newR, attacks: newR.attacks.slice(1) };
  assert.deepEqual(diffResults(oldR, fewer).attacks.removed, ['c.pcap one']);
  assert.deepEqual(diffResults(fewer, oldR).attacks.added, ['c.pcap one']);
});

test('the tables name the missed attack and the regression', () => {
  assert.match(renderResult(oldR), /attacks: 1 of 2 detected/);
  assert.match(renderDiff(diffResults(oldR, newR)), /REGRESSED[\s\S]*newly missed:\n {2}c\.pcap one/);
});

test('the comparison names the old result by its file and name, not the new one', () => {
  const renamed = { ...oldR, name: 'older-spec' };
  const d = diffResults(renamed, newR, 'evals/results/old.json');
  assert.deepEqual([d.name, d.old], ['d', { name: 'older-spec', file: 'evals/results/old.json' }]);
  assert.match(renderDiff(d), /^\ncompared with the old result evals\/results\/old\.json \(older-spec\): REGRESSED/);
  assert.match(renderDiff(diffResults(renamed, newR)), /compared with the old result older-spec:/);
});
