/**
 * `DetectionEngine.advance`: event time moved by a watermark instead of a flow, as the detector
 * role does when each bus partition's engine sees only some conduits (cli/serve/detector.ts).
 */
import { test } from 'node:test';
import { engineSiteMap } from './helpers.ts';
import assert from 'node:assert/strict';
import type { FlowRecord } from '../../../core/records.ts';
import { type ScoredBatch } from '../../../detectors/engine.ts';
import { createEngine } from '../../../cli/registry.ts';
import { mergeFlows, polls } from '../../../detectors/testing.ts';

const T0 = Date.parse('2025-01-06T00:00:00Z');
const M = 60_000;
const siteMap = engineSiteMap();

/** Two conduits over 30 minutes; scada->field changes cadence, then stops early. */
const traffic = (): FlowRecord[] => mergeFlows(
  polls({ src: '10.0.1.10', dst: '10.0.2.20', everyMs: 1_000, fromMs: T0, toMs: T0 + 20 * M, jitterMs: 10 }),
  polls({ src: '10.0.1.10', dst: '10.0.2.20', everyMs: 250, fromMs: T0 + 20 * M, toMs: T0 + 22 * M, jitterMs: 10 }),
  polls({ src: '10.0.9.5', dst: '10.0.2.21', everyMs: 5_000, fromMs: T0 + 3 * M, toMs: T0 + 30 * M, seed: 4 }),
);

const empty = (): ScoredBatch => ({ scores: [], alerts: [], series: [] });
const append = (to: ScoredBatch, b: ScoredBatch): ScoredBatch => {
  to.scores.push(...b.scores);
  to.alerts.push(...b.alerts);
  (to.series ??= []).push(...(b.series ?? []));
  return to;
};
const json = (b: ScoredBatch): string => JSON.stringify(b);

test('ingest(all) equals ingest(part), advance to the next flow start, ingest(rest)', async () => {
  const flows = traffic();
  const whole = await createEngine(siteMap);
  const want = append(whole.ingest(flows), whole.flush());
  for (const cut of [1, 10, Math.floor(flows.length / 2), flows.length - 3]) {
    const e = await createEngine(siteMap);
    const got = append(append(e.ingest(flows.slice(0, cut)), e.advance(flows[cut]!.tsStart)), e.ingest(flows.slice(cut)));
    append(got, e.flush());
    assert.equal(json(got), json(want), `cut at flow ${cut}`);
    assert.deepEqual(e.stats(), whole.stats());
  }
});

test('advance alone closes and scores the windows its watermark passes, and never goes back', async () => {
  const flows = traffic().filter((f) => f.tsStart < T0 + 5 * M);
  const e = await createEngine(siteMap);
  const before = e.ingest(flows);
  // One flow per edge and minute (session slices): the last starts at 04:00.x, so the watermark
  // (−10 s) closed windows 0..2 and window 3 is open.
  assert.deepEqual([...new Set(before.scores.map((s) => s.windowStart))], [0, 1, 2].map((i) => T0 + i * M));
  const out = e.advance(T0 + 10 * M);
  // Watermark 09:50: windows 3 and 4 (with flows) and the quiet windows 5..8 close; window 9 ends at 10:00, after it.
  const starts = [...new Set(out.scores.map((s) => s.windowStart))];
  assert.deepEqual(starts, [3, 4, 5, 6, 7, 8].map((i) => T0 + i * M));
  assert.equal(e.stats().watermark, T0 + 10 * M - 10_000);
  assert.ok(out.scores.some((s) => s.windowStart === T0 + 6 * M && s.conduit === 'scada->field'), 'a quiet window of a known conduit is scored');
  assert.deepEqual(e.advance(T0 + 7 * M), empty(), 'an older watermark is a no-op');
  assert.deepEqual(e.advance(Number.NaN), empty());
  assert.equal(e.stats().watermark, T0 + 10 * M - 10_000);
  // A flow behind the advanced watermark is late, exactly as after a real flow at that time.
  const lateBefore = e.stats().lateRecords;
  e.ingest([{ ...flows[0]!, tsStart: T0 + 8 * M + 1_000, tsEnd: T0 + 8 * M + 1_001 }]);
  assert.equal(e.stats().lateRecords, lateBefore + 1);
});

test('an engine holding one conduit, advanced by the watermark of all, scores that conduit as one engine for all does', async () => {
  const flows = traffic();
  const whole = await createEngine(siteMap);
  const want = empty();
  const part = await createEngine(siteMap);
  const got = empty();
  let maxStart = -Infinity;
  for (let i = 0; i < flows.length; i += 50) {
    const batch = flows.slice(i, i + 50);
    append(want, whole.ingest(batch));
    append(got, part.ingest(batch.filter((f) => siteMap.conduitOf(f.srcIp, f.dstIp) === 'scada->field')));
    maxStart = Math.max(maxStart, ...batch.map((f) => f.tsStart));
    append(got, part.advance(maxStart));
  }
  append(want, whole.flush());
  append(got, part.advance(maxStart, true));
  assert.deepEqual(part.flush(), empty(), 'the end-of-input advance left nothing open');
  const mine = (b: ScoredBatch): ScoredBatch => ({
    scores: b.scores.filter((s) => s.conduit === 'scada->field'), alerts: b.alerts.filter((a) => a.conduit === 'scada->field'),
    series: (b.series ?? []).filter((s) => s.conduit === 'scada->field'),
  });
  const w = mine(want);
  assert.ok(w.scores.some((s) => s.windowStart >= T0 + 23 * M), 'the conduit is scored after it went quiet');
  assert.equal(json(got), json(w));
});

test('advance to the last flow start with endOfInput equals flush', async () => {
  const flows = traffic();
  const a = await createEngine(siteMap);
  const b = await createEngine(siteMap);
  a.ingest(flows);
  b.ingest(flows);
  const last = Math.max(...flows.map((f) => f.tsStart));
  assert.equal(json(b.advance(last, true)), json(a.flush()));
  assert.deepEqual(b.stats(), a.stats());
});
