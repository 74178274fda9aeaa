import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ACTIVITY_DETECTOR, SCORE_FLOOR, type EdgeSeries, type WindowScore } from '../../../core/records.ts';
import { storedOf } from '../../../store/scored.ts';

const edge = '10.0.0.1>10.0.0.2/6/502/modbus';
const base = { conduit: 'a->b', edge, windowStart: 60_000, windowEnd: 120_000, learning: false, explanation: '', features: {} };
const score = (detector: string, s: number, more: Partial<WindowScore> = {}): WindowScore => ({ ...base, detector, score: s, ...more });
const series: EdgeSeries = {
  conduit: 'a->b', edge, windowStart: 60_000, windowEnd: 120_000, learning: false, unit: 'requests', observed: 118, expected: 120, expectedStd: 2,
  periodMs: 500.5, jitterMs: 3, expectedPeriodMs: 500, expectedJitterMs: 4, intervals: 117, score: 0.05,
};

test('windows keeps only scores at or above the floor', () => {
  const scores = [score('novelty', 0), score('size', SCORE_FLOOR - 0.01), score('rate', SCORE_FLOOR), score('cadence', 0.9)];
  assert.deepEqual(storedOf({ scores }, 0.8).scores.map((w) => w.detector), ['rate', 'cadence']);
});

test('a conduit activity row is kept whatever its score', () => {
  const quiet = score(ACTIVITY_DETECTOR, 0, { edge: '', features: { flows: 3, requests: 40 } });
  const scores = [quiet, score('rate', 0.02), score(ACTIVITY_DETECTOR, 0.05, { edge: '', windowStart: 120_000 })];
  assert.deepEqual(storedOf({ scores }, 0.8).scores.map((w) => `${w.detector}@${w.windowStart}`), ['activity@60000', 'activity@120000']);
});

test('a score at or above a lower alert threshold is kept even below the floor, so every alerted score is stored', () => {
  assert.deepEqual(storedOf({ scores: [score('rate', 0.05), score('size', 0.01)] }, 0.04).scores.map((w) => w.detector), ['rate']);
});

test('the site floor decides: 0 keeps every score, a higher one fewer', () => {
  const scores = [score('rate', 0), score('size', 0.15), score('novelty', 0.3)];
  assert.equal(storedOf({ scores }, 0.8, 0).scores.length, 3);
  assert.deepEqual(storedOf({ scores }, 0.8, 0.2).scores.map((w) => w.detector), ['novelty']);
});

test('a NaN score is stored, so a detector bug shows in the table', () => {
  assert.equal(storedOf({ scores: [score('rate', Number.NaN)] }, 0.8).scores.length, 1);
});

test('the engine\'s series and alerts are stored as given; a batch without series stores none', () => {
  const alert = { id: 'x', conduit: 'a->b', src: '10.0.0.1', dst: '10.0.0.2', proto: 6, dstPort: 502, l7: 'modbus', tsStart: 60_000, tsEnd: 120_000, score: 0.9, detector: 'rate', explanation: '' };
  const got = storedOf({ scores: [score('rate', 0)], series: [series, { ...series, edge: '', score: 0 }], alerts: [alert] }, 0.8);
  assert.deepEqual(got.series, [series, { ...series, edge: '', score: 0 }]);
  assert.deepEqual(got.alerts, [alert]);
  assert.deepEqual(storedOf({ scores: [score('rate', 0.5)] }, 0.8).series, []);
});
