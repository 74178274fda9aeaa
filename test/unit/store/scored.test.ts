import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SCORE_FLOOR, type EdgeSeries, type WindowScore } from '../../../core/records.ts';
import { keepSeries, seriesFromScores, storedOf } from '../../../store/scored.ts';

const edge = '10.0.0.1>10.0.0.2/6/502/modbus';
const base = { conduit: 'a->b', edge, windowStart: 60_000, windowEnd: 120_000, learning: false, explanation: '', features: {} };
const score = (detector: string, s: number, more: Partial<WindowScore> = {}): WindowScore => ({ ...base, detector, score: s, ...more });

const rate = score('rate', 0, {
  explanation: `118 requests on 10.0.0.1 → 10.0.0.2:502 modbus, expected 120 ± 2 per window (below, z 1)`,
  features: { value: 118, expected: 120, std: 2, z: 1, quiet_windows: 0, phase_bucket: 3 },
});
const cadence = score('cadence', 0.05, {
  features: { request_period_ms: 500.5, request_jitter_ms: 3, request_expected_period_ms: 500, request_expected_jitter_ms: 4, request_intervals: 117, request_z: 0.1 },
});

test('windows keeps only scores at or above the floor', () => {
  const scores = [score('novelty', 0), score('size', SCORE_FLOOR - 0.01), score('rate', SCORE_FLOOR), score('cadence', 0.9)];
  assert.deepEqual(storedOf({ scores }, 0.8).scores.map((w) => w.detector), ['rate', 'cadence']);
});

test('a score at or above a lower alert threshold is kept even below the floor, so every alerted score is stored', () => {
  assert.deepEqual(storedOf({ scores: [score('rate', 0.05), score('size', 0.01)] }, 0.04).scores.map((w) => w.detector), ['rate']);
});

test('a NaN score is stored, so a detector bug shows in the table', () => {
  assert.equal(storedOf({ scores: [score('rate', Number.NaN)] }, 0.8).scores.length, 1);
});

test('the bridge builds one series per edge-window from the rate and cadence features, with the highest score', () => {
  const got = seriesFromScores([rate, cadence, score('novelty', 0.3)]).filter((x) => x.edge !== '');
  assert.deepEqual(got, [{
    conduit: 'a->b', edge, windowStart: 60_000, windowEnd: 120_000, learning: false, unit: 'requests',
    observed: 118, expected: 120, expectedStd: 2, periodMs: 500.5, jitterMs: 3, expectedPeriodMs: 500, expectedJitterMs: 4,
    intervals: 117, score: 0.3,
  } satisfies EdgeSeries]);
});

test('the bridge reads connection cadence when there is no request channel, and unknowns stay NaN', () => {
  const conn = score('cadence', 0, { features: { connection_period_ms: 10_000, connection_jitter_ms: 5, connection_expected_period_ms: 10_001, connection_expected_jitter_ms: 6, connection_intervals: 5 } });
  const learningRate = score('rate', 0, { explanation: 'learning the rate of …: 3 of 10 windows', features: { value: 6, windows: 3 } });
  const [s] = seriesFromScores([learningRate, conn]).filter((x) => x.edge !== '');
  assert.equal(s!.periodMs, 10_000);
  assert.equal(s!.intervals, 5);
  assert.equal(s!.unit, '');
  assert.ok(Number.isNaN(s!.expected) && Number.isNaN(s!.expectedStd));
});

test('an edge-window with no traffic, nothing expected and score 0 gets no series row; one expected or scored does', () => {
  const edgeRows = (xs: WindowScore[]) => seriesFromScores(xs).filter((x) => x.edge !== '');
  const quiet = score('rate', 0, { features: { value: 0, expected: 0.2, std: 0.4 } });
  assert.deepEqual(edgeRows([quiet]), []);
  const missing = score('rate', 0, { features: { value: 0, expected: 3, std: 1 } });
  assert.equal(edgeRows([missing]).length, 1);
  assert.equal(edgeRows([quiet, score('silence', 0.4)]).length, 1);
  assert.equal(keepSeries({ ...edgeRows([missing])[0]!, expected: Number.NaN, observed: 0, score: 0 }), false);
});

test('every scored conduit-window gets a conduit row (edge empty) with its top score and no rates of its own', () => {
  const other = score('rate', 0, { edge: '10.0.0.1>10.0.0.3/6/502/modbus', explanation: '2 requests on …', features: { value: 2, expected: 0.2, std: 1.5 } });
  const conduit = seriesFromScores([rate, other, score('novelty', 0.6, { edge: other.edge })]).filter((x) => x.edge === '');
  assert.equal(conduit.length, 1);
  assert.deepEqual(conduit[0], {
    conduit: 'a->b', edge: '', windowStart: 60_000, windowEnd: 120_000, learning: false, unit: '', observed: Number.NaN, expected: Number.NaN,
    expectedStd: Number.NaN, periodMs: Number.NaN, jitterMs: Number.NaN, expectedPeriodMs: Number.NaN, expectedJitterMs: Number.NaN, intervals: 0, score: 0.6,
  });
  assert.equal(seriesFromScores([score('rate', 0, { features: { value: 0, expected: 0.1, std: 0.1 } })]).length, 1, 'a quiet window still counts for the conduit');
});

test('series the engine emits itself are used as given, never derived again', () => {
  const [derived] = seriesFromScores([rate]);
  const own: EdgeSeries = { ...derived!, observed: 7 };
  assert.deepEqual(storedOf({ scores: [rate], series: [own] }, 0.8).series.map((s) => s.observed), [7]);
});
