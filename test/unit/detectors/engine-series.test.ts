/**
 * `ScoredBatch.series`: the engine's `EdgeSeries` per edge-window (the `series` table), from the
 * numbers rate and cadence record in the engine's `EdgeBands`: one per edge-window with traffic, or
 * rate expected ≥ 0.5, or a score above 0; the conduit's activity row is the sum of its edges.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EdgeSeries, FlowRecord, WindowScore } from '../../../core/records.ts';
import { ACTIVITY, SERIES_MIN_EXPECTED, type DetectionEngine } from '../../../detectors/engine.ts';
import { createEngine, restoreEngine } from '../../../cli/registry.ts';
import { mergeFlows, polls } from '../../../detectors/testing.ts';
import { engineSiteMap } from './helpers.ts';

const T0 = Date.parse('2025-01-06T00:00:00Z');
const M = 60_000;
const siteMap = engineSiteMap();
const A = '10.0.1.10>10.0.2.20/6/502/modbus';
const B = '10.0.1.10>10.0.2.21/6/502/modbus';

/** 40 minutes: A polls every second in one session and stops at 30 min; B opens a connection per poll every 5 s. */
const traffic = (): FlowRecord[] => mergeFlows(
  polls({ src: '10.0.1.10', dst: '10.0.2.20', everyMs: 1_000, fromMs: T0, toMs: T0 + 30 * M, jitterMs: 10 }),
  polls({ src: '10.0.1.10', dst: '10.0.2.21', everyMs: 5_000, fromMs: T0, toMs: T0 + 40 * M, mode: 'per-poll', seed: 2 }),
);

const run = async (e: DetectionEngine, flows: FlowRecord[], batch = 100): Promise<{ scores: WindowScore[]; series: EdgeSeries[] }> => {
  const scores: WindowScore[] = [];
  const series: EdgeSeries[] = [];
  for (let i = 0; i < flows.length; i += batch) {
    const r = e.ingest(flows.slice(i, i + batch));
    scores.push(...r.scores);
    series.push(...(r.series ?? []));
  }
  const r = e.flush();
  return { scores: [...scores, ...r.scores], series: [...series, ...(r.series ?? [])] };
};

test('every edge-window with traffic gets one series row with what rate saw and expected', async () => {
  const { scores, series } = await run(await createEngine(siteMap), traffic());
  const a = series.filter((s) => s.edge === A && s.windowStart < T0 + 30 * M);
  assert.equal(a.length, 30, 'one row per minute of traffic');
  assert.equal(new Set(series.map((s) => `${s.edge}@${s.windowStart}`)).size, series.length, 'no edge-window twice');
  const ready = a.filter((s) => !s.learning);
  assert.ok(ready.length > 10);
  for (const s of ready) {
    assert.equal(s.unit, 'requests');
    assert.ok(Math.abs(s.observed - 60) <= 2, `${s.observed} requests in a minute of 1 s polls`);
    assert.ok(Math.abs(s.expected - 60) <= 2, `expected ${s.expected}`);
    assert.ok(s.expectedStd >= 0 && s.expectedStd < 5);
    assert.ok(Math.abs(s.periodMs - 1_000) < 50, `request period ${s.periodMs}`);
    assert.ok(Math.abs(s.expectedPeriodMs - 1_000) < 50);
    assert.ok(s.intervals > 50);
  }
  // The conduit's activity row holds the sums over its judged edges.
  const acts = scores.filter((s) => s.detector === ACTIVITY && s.features.rate_edges === 2 && s.windowStart < T0 + 30 * M);
  assert.ok(acts.length > 10, 'windows with both edges judged');
  for (const act of acts) {
    const edges = series.filter((s) => s.windowStart === act.windowStart && s.conduit === act.conduit);
    const sum = edges.reduce((n, s) => n + s.expected, 0);
    assert.ok(Math.abs(sum - act.features.rate_expected!) < 1e-3, `window ${act.windowStart}: ${sum} vs ${act.features.rate_expected}`);
    assert.equal(edges.reduce((n, s) => n + s.observed, 0), act.features.rate_value);
  }
});

test('a connection-per-poll edge gets its connection period; a poller that stops keeps rows while expected, with its score', async () => {
  const { series } = await run(await createEngine(siteMap), traffic());
  const b = series.filter((s) => s.edge === B && !s.learning && s.expectedPeriodMs > 0);
  assert.ok(b.length > 10);
  for (const s of b) assert.ok(Math.abs(s.periodMs - 5_000) < 100 && Math.abs(s.expectedPeriodMs - 5_000) < 100, `connection period ${s.periodMs} / ${s.expectedPeriodMs}`);
  const quiet = series.filter((s) => s.edge === A && s.windowStart >= T0 + 30 * M);
  assert.ok(quiet.length > 0, 'the stopped poller still has rows');
  for (const s of quiet) {
    assert.equal(s.observed, 0);
    assert.ok(s.expected >= SERIES_MIN_EXPECTED);
    assert.ok(Number.isNaN(s.periodMs), 'no intervals: period unknown');
  }
  assert.ok(quiet.some((s) => s.score >= 0.8), 'polling_stop scored on the series row');
});

test('series come in window and conduit order, the same however the input is batched, and continue across snapshot and restore', async () => {
  const flows = traffic();
  const one = await run(await createEngine(siteMap), flows, 100);
  const two = await run(await createEngine(siteMap), flows, 7);
  assert.equal(JSON.stringify(two.series), JSON.stringify(one.series));
  const keys = one.series.map((s) => [s.windowStart, s.conduit] as const);
  assert.ok(keys.every((k, i) => i === 0 || keys[i - 1]![0] < k[0] || (keys[i - 1]![0] === k[0] && keys[i - 1]![1] <= k[1])), 'by window, then conduit');
  // Inside a conduit-window, edges in the order the engine first saw them.
  const firstSeen = [A, B].sort((x, y) => flows.findIndex((f) => x.startsWith(`${f.srcIp}>${f.dstIp}/`)) - flows.findIndex((f) => y.startsWith(`${f.srcIp}>${f.dstIp}/`)));
  assert.deepEqual(one.series.filter((s) => s.windowStart === T0 + 20 * M).map((s) => s.edge), firstSeen);
  const half = Math.floor(flows.length / 2);
  const first = await createEngine(siteMap);
  const a = await (async () => { const out: EdgeSeries[] = []; for (let i = 0; i < half; i += 100) out.push(...(first.ingest(flows.slice(i, Math.min(half, i + 100))).series ?? [])); return out; })();
  const restored = await restoreEngine(siteMap, JSON.parse(JSON.stringify(first.snapshot())));
  const b = await run(restored, flows.slice(half));
  assert.equal(JSON.stringify([...a, ...b.series]), JSON.stringify(one.series));
});
