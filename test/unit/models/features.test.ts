import assert from 'node:assert/strict';
import { test } from 'node:test';
import { zToScore } from '../../../detectors/calibration.ts';
import { CONDUIT_FEATURES, conduitRaw, EDGE_FEATURES, edgeRaw, featureSpec, fitScaler, MIN_STD, specHash, type EdgeWindow, type WindowView } from '../../../models/features.ts';
import { EdgeHistory } from '../../../models/history.ts';
import { combinedZ, explain, judge, tailScale, type Calibration } from '../../../models/scoring.ts';

const edge = (id: string, n: number): EdgeWindow => ({
  edge: id, flows: n, packets: 4 * n, bytes: 260 * n, bytesRev: 130 * n, requests: n, responses: n, starts: n, riCount: n > 1 ? n - 1 : 0, riMean: 1_000, riMax: 1_200,
});
const view = (windowStart: number, edges: EdgeWindow[]): WindowView => ({ conduit: 'a->b', windowStart, windowEnd: windowStart + 60_000, cyclePhase: 0, learning: false, edges });

test('the feature spec hash is stable and changes with the window, the history or the features', () => {
  const a = specHash(featureSpec(60_000, 6));
  assert.equal(a, specHash(featureSpec(60_000, 6)));
  assert.match(a, /^[0-9a-f]{16}$/);
  assert.notEqual(a, specHash(featureSpec(10_000, 6)));
  assert.notEqual(a, specHash(featureSpec(60_000, 5)));
  assert.notEqual(a, specHash({ ...featureSpec(60_000, 6), edge: [...EDGE_FEATURES.map((f) => f.name), 'extra'] }));
});

test('conduit features sum the edges, count them, and weight request intervals by count', () => {
  const raw = conduitRaw(view(0, [edge('x', 3), { ...edge('y', 5), riMean: 2_000, riMax: 9_000 }]));
  const at = (name: string) => raw[CONDUIT_FEATURES.findIndex((f) => f.name === name)];
  assert.equal(raw.length, CONDUIT_FEATURES.length);
  assert.equal(at('flows'), 8);
  assert.equal(at('edges'), 2);
  assert.equal(at('bytes'), 260 * 8);
  assert.equal(at('interval_mean'), (2 * 1_000 + 4 * 2_000) / 6);
  assert.equal(at('interval_max'), 9_000);
  assert.deepEqual(edgeRaw(undefined), new Array(EDGE_FEATURES.length).fill(0));
});

test('the scaler floors the spread of a constant feature', () => {
  const s = fitScaler([[1, 5], [1, 7], [1, 9]], 2);
  assert.deepEqual(s.mean, [1, 7]);
  assert.equal(s.std[0], MIN_STD);
  assert.equal(s.std[1], 2);
});

test('an edge is judged once it has a full history with traffic in at least half of it', () => {
  const h = new EdgeHistory(4, 60_000);
  const judged: string[][] = [];
  for (let i = 0; i < 6; i += 1) {
    const edges = [edge('poller', 10)];
    if (i === 1) edges.push(edge('sporadic', 1));
    judged.push(h.step(view(i * 60_000, edges)).filter((s) => s.past).map((s) => s.edge));
  }
  assert.deepEqual(judged, [[], [], [], [], ['poller'], ['poller']], 'the sporadic edge (1 window in 4) is never judged');
});

test('a gap of skipped windows is history of zeros, and an edge silent for the whole history is forgotten', () => {
  const h = new EdgeHistory(3, 60_000);
  for (let i = 0; i < 3; i += 1) h.step(view(i * 60_000, [edge('e', 10)]));
  const [s] = h.step(view(4 * 60_000, [edge('e', 10)]));
  assert.ok(s?.past, 'judged');
  assert.deepEqual(s.past.map((v) => v[0] === 0), [false, false, true], 'window 3 was skipped: zeros');
  h.step(view(10 * 60_000, []));
  assert.equal(h.size, 0);
});

test('an edge history survives a JSON round trip exactly, and replaceLast overwrites this window', () => {
  const h = new EdgeHistory(3, 60_000);
  for (let i = 0; i < 4; i += 1) h.step(view(i * 60_000, [edge('e', 7 + i)]));
  h.replaceLast('e', [1, 2, 3, 4, 5, 6, 7, 8]);
  const back = EdgeHistory.fromJSON(JSON.parse(JSON.stringify(h.toJSON())), 3, 60_000);
  assert.deepEqual(back.toJSON(), h.toJSON());
  assert.deepEqual(back.toJSON().edges[0]![1].at(-1), [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual(back.step(view(4 * 60_000, [edge('e', 1)])), h.step(view(4 * 60_000, [edge('e', 1)])));
});

test('the combined z corrects the largest of F deviations for F, and 0 stays 0', () => {
  assert.equal(combinedZ(0, 10), 0);
  assert.ok(combinedZ(5, 10) < 5 && combinedZ(5, 10) > 4);
  assert.ok(combinedZ(6, 10) > combinedZ(5, 10));
  assert.ok(Math.abs(combinedZ(5, 1) - 5) < 1e-6);
});

test('the tail scale widens spreads so that the baseline\'s largest sample scores z 4, never narrows them', () => {
  assert.equal(tailScale([0.5, 1, 2], 8), 1);
  const k = tailScale([1, 2, 20], 8);
  assert.ok(k > 1);
  assert.ok(Math.abs(combinedZ(20 / k, 8) - 4) < 1e-3);
});

test('a judgement names the most deviating feature with expected, its band and seen', () => {
  const cal: Calibration = { sigma: EDGE_FEATURES.map(() => 0.2), minResidual: 0.15, tailScale: 1, samples: 10, heldOut: true, scores: { p50: 0, p90: 0, p99: 0, max: 0, atOrAbove08: 0, of: 0 } };
  const expected = EDGE_FEATURES.map(() => Math.log1p(10));
  const raw = EDGE_FEATURES.map((f) => (f.name === 'requests' ? 40 : 10));
  const j = judge(raw.map(Math.log1p), expected, raw, cal, EDGE_FEATURES);
  assert.equal(j.features[0]!.name, 'requests');
  assert.ok(j.score >= 0.8, `score ${j.score}`);
  assert.equal(j.score, zToScore(j.z));
  const text = explain(j, EDGE_FEATURES, 'forecast m@1');
  assert.match(text, /^requests 10 expected \(\d+(\.\d+)?–\d+(\.\d+)?\), 40 seen \(forecast m@1, z [\d.]+ over 8 features\)$/);
  const calm = judge(expected, expected, EDGE_FEATURES.map(() => 10), cal, EDGE_FEATURES);
  assert.equal(calm.score, 0);
});

test('a band whose expected value is below zero on the log scale reads 0–0, never a negative bound', () => {
  const cal: Calibration = { sigma: EDGE_FEATURES.map(() => 0.2), minResidual: 0.15, tailScale: 1, samples: 10, heldOut: true, scores: { p50: 0, p90: 0, p99: 0, max: 0, atOrAbove08: 0, of: 0 } };
  // A network may forecast slightly below log1p(0); the band around it must not print "(0–-0.1)".
  const expected = EDGE_FEATURES.map(() => -0.5);
  const raw = EDGE_FEATURES.map((f) => (f.name === 'requests' ? 40 : 0));
  const j = judge(raw.map(Math.log1p), expected, raw, cal, EDGE_FEATURES);
  assert.ok(j.features.length > 0);
  for (const f of j.features) assert.ok(f.low >= 0 && f.high >= 0 && f.expected >= 0, `${f.name}: ${f.low}–${f.high}`);
  assert.doesNotMatch(explain(j, EDGE_FEATURES, 'forecast m@1'), /–-/);
});
