import { test } from 'node:test';
import { engineSiteMap } from './helpers.ts';
import { SiteMap } from '../../../core/config.ts';
import assert from 'node:assert/strict';
import { hasCode } from '../../../core/errors.ts';
import type { FlowRecord } from '../../../core/records.ts';
import { alertId, type DetectionEngine, type ScoredBatch } from '../../../detectors/engine.ts';
import { createEngine, restoreEngine } from '../../../cli/registry.ts';
import { flow, mergeFlows, polls } from '../../../detectors/testing.ts';

const T0 = Date.parse('2025-01-06T00:00:00Z');
const M = 60_000;
const siteMap = engineSiteMap();

/** 30 minutes with a cadence change, a stop, a new write and an undeclared talker. */
const traffic = (): FlowRecord[] => mergeFlows(
  polls({ src: '10.0.1.10', dst: '10.0.2.20', everyMs: 1_000, fromMs: T0, toMs: T0 + 20 * M, jitterMs: 10 }),
  polls({ src: '10.0.1.10', dst: '10.0.2.20', everyMs: 250, fromMs: T0 + 20 * M, toMs: T0 + 22 * M, jitterMs: 10 }),
  polls({ src: '10.0.1.10', dst: '10.0.2.21', everyMs: 2_000, fromMs: T0, toMs: T0 + 30 * M, jitterMs: 10, seed: 3 }),
  polls({ src: '10.0.1.10', dst: '10.0.2.21', everyMs: 3_600_000, fromMs: T0 + 25 * M, toMs: T0 + 26 * M, mode: 'per-poll', ops: { write_single_coil: 1 } }),
  polls({ src: '10.0.9.5', dst: '10.0.2.21', everyMs: 5_000, fromMs: T0 + 3 * M, toMs: T0 + 30 * M, seed: 4 }),
);

const feed = (e: DetectionEngine, flows: FlowRecord[], batch = 100): ScoredBatch => {
  const out: ScoredBatch = { scores: [], alerts: [] };
  for (let i = 0; i < flows.length; i += batch) {
    const r = e.ingest(flows.slice(i, i + batch));
    out.scores.push(...r.scores);
    out.alerts.push(...r.alerts);
  }
  return out;
};
const finish = (e: DetectionEngine, flows: FlowRecord[], batch = 100): ScoredBatch => {
  const a = feed(e, flows, batch);
  const b = e.flush();
  return { scores: [...a.scores, ...b.scores], alerts: [...a.alerts, ...b.alerts] };
};

test('the same input gives byte-identical scores and alerts, however it is batched', async () => {
  const one = JSON.stringify(finish(await createEngine(siteMap), traffic(), 100));
  const two = JSON.stringify(finish(await createEngine(siteMap), traffic(), 7));
  assert.equal(two, one);
  assert.ok(one.length > 10_000);
});

test('snapshot → JSON → restore between two halves gives the same scores and alerts as one run', async () => {
  const flows = traffic();
  const whole = finish(await createEngine(siteMap, { runId: 'r1' }), flows);
  const half = Math.floor(flows.length / 2);
  const first = await createEngine(siteMap, { runId: 'r1' });
  const a = feed(first, flows.slice(0, half));
  const restored = await restoreEngine(siteMap, JSON.parse(JSON.stringify(first.snapshot())));
  const b = finish(restored, flows.slice(half));
  assert.equal(JSON.stringify({ scores: [...a.scores, ...b.scores], alerts: [...a.alerts, ...b.alerts] }), JSON.stringify(whole));
  assert.deepEqual(restored.status(), await (async () => { const e = await createEngine(siteMap); finish(e, flows); return e.status(); })());
  assert.equal(restored.stats().alerts, whole.alerts.length);
});

test('raises the expected alerts with window bounds, edge fields and stable ids', async () => {
  const { alerts } = finish(await createEngine(siteMap), traffic());
  const brief = alerts.map((a) => `${(a.tsStart - T0) / M} ${a.detector} ${a.src}>${a.dst}`);
  assert.ok(brief.includes('3 novelty 10.0.9.5>10.0.2.21'), brief.join('\n'));
  assert.ok(brief.includes('20 cadence 10.0.1.10>10.0.2.20'));
  assert.ok(brief.includes('22 rate 10.0.1.10>10.0.2.20'));
  assert.ok(brief.includes('25 novelty 10.0.1.10>10.0.2.21'));
  assert.ok(alerts.every((a) => a.tsStart >= T0 + 3 * M), 'no alert from a learning window except undeclared');
  const w = alerts.find((a) => a.detector === 'novelty' && a.src === '10.0.1.10')!;
  assert.deepEqual({ proto: w.proto, dstPort: w.dstPort, l7: w.l7, tsEnd: w.tsEnd - w.tsStart, conduit: w.conduit }, { proto: 6, dstPort: 502, l7: 'modbus', tsEnd: M, conduit: 'scada->field' });
  assert.equal(w.id, alertId('scada->field', '10.0.1.10>10.0.2.21/6/502/modbus', 'novelty', T0 + 25 * M));
  assert.match(w.id, /^[0-9a-f]{24}$/);
  assert.equal(new Set(alerts.map((a) => a.id)).size, alerts.length);
});

test('a baseline window of a declared conduit emits its activity row (learning, with the novel items it learned) and alerts nothing', async () => {
  const { scores, alerts } = finish(await createEngine(siteMap), traffic());
  const early = scores.filter((s) => s.conduit === 'scada->field' && s.windowStart < T0 + 10 * M);
  assert.equal(early.length, 10, 'one row per window');
  assert.ok(early.every((s) => s.learning && s.detector === 'activity' && s.edge === ''));
  assert.equal(early[0]!.features.novel, 2, 'two edges first seen in the first window');
  assert.equal(early[0]!.features.flows, 2);
  assert.match(early[0]!.explanation, /^2 flows, \d+ requests on 2 edges; highest score 1 \(novelty\)$/);
  assert.ok(!alerts.some((a) => a.conduit === 'scada->field' && a.tsStart < T0 + 10 * M));
});

test('with learningScores the baseline windows emit their detector scores too, still without alerts', async () => {
  const keep = new SiteMap({ ...siteMap.site, detection: { ...siteMap.site.detection, learningScores: true } });
  const { scores, alerts } = finish(await createEngine(keep), traffic());
  const early = scores.filter((s) => s.conduit === 'scada->field' && s.windowStart < T0 + 10 * M && s.detector !== 'activity');
  assert.ok(early.length > 0 && early.every((s) => s.learning));
  assert.ok(early.some((s) => s.score === 1 && s.detector === 'novelty'), 'a brand-new edge scores 1 while learning');
  assert.ok(!alerts.some((a) => a.conduit === 'scada->field' && a.tsStart < T0 + 10 * M));
});

test('emits only scores at or above detection.scoreFloor, and every score with scoreFloor 0', async () => {
  const all = new SiteMap({ ...siteMap.site, detection: { ...siteMap.site.detection, scoreFloor: 0 } });
  const lo = finish(await createEngine(all), traffic());
  const hi = finish(await createEngine(siteMap), traffic());
  const det = (x: ScoredBatch) => x.scores.filter((s) => s.detector !== 'activity');
  assert.ok(det(lo).some((s) => s.score === 0), 'score-0 rows with floor 0');
  assert.ok(det(hi).length > 0 && det(hi).every((s) => s.score >= 0.1));
  assert.deepEqual(det(hi), det(lo).filter((s) => s.score >= 0.1));
  assert.deepEqual(hi.alerts, lo.alerts);
});

test('status reports per conduit: declared, baseline coverage, learning, edges, flows, alerts', async () => {
  const e = await createEngine(siteMap);
  feed(e, traffic().filter((f) => f.tsStart < T0 + 5 * M));
  e.flush();
  const [corp, scada] = e.status();
  // firstSeen is the first poll, 3 ms after T0 (seeded jitter).
  assert.deepEqual({ ...scada!, firstSeen: scada!.firstSeen! - T0 }, {
    conduit: 'scada->field', declared: true, firstSeen: 3, lastSeen: scada!.lastSeen, learning: true, coverage: 0.5, edges: 2, flows: 10, windowsScored: 5, alerts: 0,
    state: 'learning, 50% coverage', cyclesCovered: 0.01, phaseBucketsSeen: 1, phaseBuckets: 12, novelFirstCycle: 2, novelLastCycle: 2, detectedCycleMs: null, cycleNote: '', readyAt: null,
  });
  assert.equal(corp!.conduit, 'corp->field');
  assert.equal(corp!.declared, false);
  assert.equal(corp!.alerts, 1);
});

test('counts late and invalid records in stats instead of scoring them', async () => {
  const e = await createEngine(siteMap);
  e.ingest([flow({ srcIp: '10.0.1.1', dstIp: '10.0.2.1', tsStart: T0 + 5 * M })]);
  e.ingest([flow({ srcIp: '10.0.1.1', dstIp: '10.0.2.1', tsStart: T0 + M }), flow({ srcIp: '10.0.1.1', dstIp: '10.0.2.1', tsStart: Number.NaN })]);
  const s = e.stats();
  assert.deepEqual([s.records, s.lateRecords, s.invalidRecords, s.lateByConduit['scada->field']], [2, 1, 1, 1]);
});

test('runs only the detectors asked for and refuses an unknown one with the list of known ones', async () => {
  const { scores } = finish(await createEngine(siteMap, { detectors: ['rate'] }), traffic());
  assert.deepEqual([...new Set(scores.map((s) => s.detector))].sort(), ['activity', 'rate']);
  await assert.rejects(createEngine(siteMap, { detectors: ['rate', 'magic'] }),
    (e: Error) => hasCode(e, 'config_invalid') && /unknown detector\(s\) "magic"; known detectors: autoencoder, cadence, forecast, novelty, rate, scan, silence, size/.test(e.message));
});

test('a conduit first seen after the site baseline has no baseline of its own: its new edge alerts at once', async () => {
  const e = await createEngine(siteMap);
  const flows = mergeFlows(
    polls({ src: '10.0.1.10', dst: '10.0.2.20', everyMs: 1_000, fromMs: T0, toMs: T0 + 20 * M }),
    polls({ src: '10.0.2.5', dst: '10.0.2.20', everyMs: 3_600_000, fromMs: T0 + 15 * M + 7, toMs: T0 + 16 * M, mode: 'per-poll', ops: { write_single_coil: 1 } }),
  );
  const { alerts } = finish(e, flows);
  assert.deepEqual(alerts.map((a) => `${(a.tsStart - T0) / M} ${a.conduit} ${a.detector}`), ['15 field->field novelty']);
  assert.equal(e.status().find((c) => c.conduit === 'field->field')!.learning, false);
});

test('engine scores the silence at the end of input only up to the last flow: a capture that ends mid-window raises no gap alert', async () => {
  // A 10 s per-poll edge ends at 30m25s; the other edge keeps the input going until `until`.
  const run = async (until: number): Promise<string[]> => {
    const flows = mergeFlows(
      polls({ src: '10.0.1.10', dst: '10.0.2.20', everyMs: 10_000, fromMs: T0 + 5_000, toMs: T0 + 30 * M + 26_000, mode: 'per-poll', jitterMs: 10 }),
      polls({ src: '10.0.1.10', dst: '10.0.2.21', everyMs: 2_000, fromMs: T0, toMs: T0 + until, jitterMs: 10, seed: 3 }),
    );
    const out = finish(await createEngine(siteMap), flows);
    return out.alerts.filter((a) => a.detector === 'silence').map((a) => `${(a.tsStart - T0) / M} ${a.dst}`);
  };
  assert.deepEqual(await run(30 * M + 27_000), []);
  // Control: when the input goes on, the same end of the 10 s poll is a silence worth an alert.
  assert.deepEqual((await run(33 * M)).slice(0, 2), ['30 10.0.2.20', '31 10.0.2.20']);
});
