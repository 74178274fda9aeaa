import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ensembleScore, tailToScore, tailToZ, zToScore } from '../../../detectors/calibration.ts';
import { createEngine } from '../../../cli/registry.ts';
import { detectCycle } from '../../../detectors/readiness.ts';
import { mergeFlows, polls, seeded, testSite } from '../../../detectors/testing.ts';

const batchCycle = (cycles: number, period: number, noise = 2): number[] => {
  const rnd = seeded(7);
  return Array.from({ length: cycles * period }, (_, i) => 800 + ((i % period) >= period / 2 && (i % period) < (3 * period) / 4 ? 48 : 0) + Math.round((rnd() - 0.5) * noise));
};

test('detectCycle finds the period of a batch-phase pattern, even with a few anomalous windows', async () => {
  const s = batchCycle(4, 30);
  s[70] = 1_000; s[71] = 1_000; s[95] = 700;
  assert.equal(detectCycle(s)?.lag, 30);
});

test('detectCycle finds no cycle in noise or in a flat series', async () => {
  const rnd = seeded(3);
  assert.equal(detectCycle(Array.from({ length: 200 }, () => 800 + Math.round(rnd() * 20))), undefined);
  assert.equal(detectCycle(Array.from({ length: 200 }, () => 5)), undefined);
});

test('calibration: a two-sided tail of 5.7e-7 is z 5, and so score 0.8, like every detector\'s z 5', async () => {
  assert.ok(Math.abs(tailToZ(Math.log(5.733e-7)) - 5) < 0.01);
  assert.equal(tailToScore(Math.log(5.733e-7)), zToScore(5));
  assert.equal(tailToZ(0), 0);
});

test('the ensemble is the largest score, raised a little for each agreeing detector', async () => {
  assert.equal(ensembleScore([0.7]), 0.7);
  assert.equal(ensembleScore([0.7, 0.7]), 0.73);
  assert.equal(ensembleScore([0.7, 0.7, 0.7]), 0.757);
  assert.equal(ensembleScore([0.9, 0.3]), 0.9);
  assert.equal(ensembleScore([]), 0);
});

test('status reports the cycle detected in the data and a note when site.yaml says otherwise, plus readiness', async () => {
  const T0 = Date.parse('2025-01-06T00:00:00Z');
  const M = 60_000;
  const site = testSite({ cycle: '1h', baseline: '1h', corp: false });
  const writes = [0, 1, 2, 3].map((c) => polls({ src: '10.0.1.11', dst: '10.0.2.20', everyMs: 5_000, fromMs: T0 + c * 20 * M + 10 * M, toMs: T0 + c * 20 * M + 15 * M, ops: { write_single_register: 1 }, seed: c + 1 }));
  const e = await createEngine(site);
  const flows = mergeFlows(polls({ src: '10.0.1.10', dst: '10.0.2.20', everyMs: 1_000, fromMs: T0, toMs: T0 + 80 * M, jitterMs: 10 }), ...writes);
  e.ingest(flows);
  e.flush();
  const s = e.status()[0]!;
  assert.equal(s.detectedCycleMs, 20 * M);
  assert.equal(s.cycleNote, 'detected cycle 20m differs from productionCycle 1h by more than 20%; check site.yaml');
  assert.equal(s.state, 'ready');
  assert.equal(s.phaseBucketsSeen, 12);
  assert.ok(s.cyclesCovered >= 1.3 && s.cyclesCovered <= 1.35, String(s.cyclesCovered));
  assert.deepEqual([s.novelFirstCycle, s.novelLastCycle], [2, 0], "two new edges in the first cycle, nothing new in the last");
});
