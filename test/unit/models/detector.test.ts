import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createEngine, restoreEngine } from '../../../cli/registry.ts';
import type { WindowScore } from '../../../core/records.ts';
import type { EngineState } from '../../../detectors/engine.ts';
import { useBackend } from '../../../models/backend.ts';
import { H, MIN, site, T0, trainTiny, withAnomaly } from './support.ts';

let root = '';
const ANOMALY = T0 + 2 * H + 30 * MIN;
const MODELS = new Set(['autoencoder', 'forecast']);

before(async () => {
  await useBackend('cpu');
  root = mkdtempSync(join(tmpdir(), 'cw-models-det-'));
  await trainTiny(root);
});
after(() => rmSync(root, { recursive: true, force: true }));

const engine = () => createEngine(site, { runId: 't', models: { refs: ['plant'], dir: root, backend: 'cpu' } });

const modelScores = (scores: readonly WindowScore[]) => scores.filter((s) => MODELS.has(s.detector));

test('the forecast alerts on an edge polled 4x as often, from its first window, and explains it in expected vs seen terms', async () => {
  const e = await engine();
  const a = e.ingest(withAnomaly());
  const b = e.flush();
  const alerts = [...a.alerts, ...b.alerts].filter((x) => MODELS.has(x.detector));
  assert.ok(alerts.length > 0, 'the models alert');
  assert.ok(alerts.every((x) => x.tsStart >= ANOMALY), `no model alert before the change: ${alerts.filter((x) => x.tsStart < ANOMALY).map((x) => `${x.detector} ${x.explanation}`).join('; ')}`);
  const fc = alerts.filter((x) => x.detector === 'forecast');
  assert.equal(fc[0]?.tsStart, ANOMALY);
  assert.ok(fc.every((x) => x.dst === '10.0.2.2'));
  assert.equal(fc.length, 30, 'every window of the lasting change (an anomaly is not learned as the new normal)');
  assert.match(fc[0]!.explanation, /^(requests|packets|bytes|flows) [\d.]+( B)? expected \([\d.]+( B)?–[\d.]+( B)?\), [\d.]+( B)? seen.*\(forecast plant@1 from the last 6 windows, z [\d.]+ over 8 features\)$/);
});

test('an engine names the pinned model version in its settings and snapshots, never the weights', async () => {
  const e = await engine();
  e.ingest(withAnomaly().filter((f) => f.tsStart < T0 + H));
  const snap = e.snapshot();
  assert.deepEqual(snap.config.forecast, { model: 'plant@1', dir: root, backend: 'cpu' });
  assert.deepEqual(snap.config.autoencoder, { model: 'plant@1', dir: root, backend: 'cpu' });
  const text = JSON.stringify(snap);
  assert.ok(text.includes('"model":"plant@1"'));
  assert.ok(!text.includes('weightSpecs') && !text.includes('kernel'), 'no weights in the snapshot');
});

test('snapshot → JSON → restore continues exactly where the first engine stopped', async () => {
  const flows = withAnomaly();
  const cut = T0 + 2 * H + 20 * MIN;
  const one = await engine();
  const all = [one.ingest(flows), one.flush()].flatMap((o) => o.scores);
  const first = await engine();
  const part1 = first.ingest(flows.filter((f) => f.tsStart < cut)).scores;
  const restored = await restoreEngine(site, JSON.parse(JSON.stringify(first.snapshot())) as EngineState);
  const part2 = [restored.ingest(flows.filter((f) => f.tsStart >= cut)), restored.flush()].flatMap((o) => o.scores);
  assert.ok(modelScores(all).length > 10);
  assert.deepEqual(modelScores([...part1, ...part2]), modelScores(all));
});

test('a snapshot written with one model version is refused by an engine given another', async () => {
  const e = await engine();
  e.ingest(withAnomaly().filter((f) => f.tsStart < T0 + H));
  const snap = JSON.parse(JSON.stringify(e.snapshot())) as EngineState;
  const dir2 = mkdtempSync(join(tmpdir(), 'cw-models-det2-'));
  try {
    await trainTiny(dir2, 'plant', { seed: 5 });
    const other = { ...snap, config: { ...snap.config, forecast: { model: 'plant@1', dir: dir2, backend: 'cpu' }, autoencoder: { model: 'plant@1', dir: dir2, backend: 'cpu' } } };
    await assert.rejects(restoreEngine(site, other), /state was written with model plant@1 \(id [0-9a-f]{16}\), but plant@1 \(id [0-9a-f]{16}\) is loaded/);
  } finally {
    rmSync(dir2, { recursive: true, force: true });
  }
});

test('the same input and model give byte-identical scores', async () => {
  const run = async () => {
    const e = await engine();
    return JSON.stringify([e.ingest(withAnomaly()), e.flush()]);
  };
  assert.equal(await run(), await run());
});

test('naming two models with the same kind of network is refused', async () => {
  await assert.rejects(createEngine(site, { models: { refs: ['plant@1', 'plant@1'], dir: root } }), /both have a autoencoder network|both have a forecast network/);
});
