/**
 * bench/models: the learned models' cost on a day of one plant — 60 s windows, one conduit,
 * `EDGES` polled edges (3 masters × EDGES/3 PLCs, one session slice per edge and window, jittered
 * cadence, the request rate following a 30-minute production cycle):
 *
 * 1. training time (wall and CPU seconds) of the autoencoder and the forecast on the day's windows,
 *    per backend (cpu: the byte-reproducible one; wasm);
 * 2. inference: the engine over the same day with the statistical detectors alone, then with the
 *    models beside them, per backend — conduit-windows and edge-windows per second, CPU seconds —
 *    and the models alone, batched (`predictNet` over every window's rows in batches of 2048);
 * 3. memory per model: parameters and weight bytes, and the heap + typed arrays a loaded model adds.
 *
 *   node --import tsx bench/models.ts [hours=24] [edges=24]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createEngine } from '../cli/registry.ts';
import type { FlowRecord } from '../core/records.ts';
import { mergeFlows, polls, testSite } from '../detectors/testing.ts';
import { loadModel, saveModel } from '../models/artifact.ts';
import { backendText, useBackend, type BackendName } from '../models/backend.ts';
import { CONDUIT_FEATURES, conduitRaw, EDGE_FEATURES, featureSpec, logOf } from '../models/features.ts';
import { EdgeHistory } from '../models/history.ts';
import { predictNet } from '../models/nets.ts';
import { WindowRecorder } from '../models/record.ts';
import { autoencoderInput, DEFAULT_TRAIN, trainModels } from '../models/train.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const HOURS = Number(process.argv[2] ?? 24);
const EDGES = Number(process.argv[3] ?? 24);
const W = 60_000;
const T0 = Date.parse('2025-01-06T00:00:00Z');
const site = testSite({ cycle: '30m', baseline: '1h', corp: false });

/** The plant: each edge a session poller, period 1–3 s, slower in the second half of each cycle. */
const day = (): FlowRecord[] => {
  const lists: FlowRecord[][] = [];
  const end = T0 + HOURS * 3_600_000;
  for (let j = 0; j < EDGES; j += 1) {
    const src = `10.0.1.${j % 3}`;
    const dst = `10.0.2.${Math.floor(j / 3)}`;
    for (let c = T0; c < end; c += 1_800_000) {
      const every = 1_000 + (j % 3) * 1_000;
      lists.push(polls({ src, dst, everyMs: every, fromMs: c, toMs: c + 900_000, jitterMs: 40, seed: j * 7919 + c / 1_800_000 }));
      lists.push(polls({ src, dst, everyMs: 2 * every, fromMs: c + 900_000, toMs: c + 1_800_000, jitterMs: 40, seed: j * 7919 + c / 1_800_000 + 1 }));
    }
  }
  return mergeFlows(...lists).map((f, i) => ({ ...f, tcpFlags: i < EDGES ? 0x1a : 0x18 }));
};

const cpuSec = (u: NodeJS.CpuUsage): number => (u.user + u.system) / 1e6;
const timed = async <T>(f: () => Promise<T> | T): Promise<{ value: T; wall: number; cpu: number }> => {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const value = await f();
  return { value, wall: Number(process.hrtime.bigint() - t0) / 1e9, cpu: cpuSec(process.cpuUsage(c0)) };
};
const mem = (): number => {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};
const r3 = (x: number): number => Math.round(x * 1000) / 1000;
const out = (o: Record<string, unknown>): void => console.log(JSON.stringify({ ...o, load: loadavg().map((x) => +x.toFixed(2)) }));

const flows = day();
const rec = new WindowRecorder(site);
rec.add(flows);
rec.flush();
const views = rec.windows();
const edgeWindows = views.reduce((s, v) => s + v.edges.length, 0);
out({ bench: 'input', hours: HOURS, edges: EDGES, flows: flows.length, conduitWindows: views.length, edgeWindows });

const root = mkdtempSync(join(tmpdir(), 'cw-bench-models-'));
const backends: BackendName[] = ['cpu', 'wasm'];
try {
  // 1. Training, per backend.
  for (const b of backends) {
    const info = await useBackend(b);
    const t = await timed(() => trainModels(views, W, DEFAULT_TRAIN));
    const card = await saveModel(root, `day-${b}`, t.value, {
      featureSpec: featureSpec(W, DEFAULT_TRAIN.history), site: { file: 'bench', windowMs: W, productionCycleMs: site.site.productionCycle },
      baseline: { from: new Date(T0).toISOString(), to: new Date(T0 + HOURS * 3_600_000).toISOString(), windows: views.length, conduits: ['scada->field'], edges: EDGES, source: 'bench', inputs: [] },
      seed: DEFAULT_TRAIN.seed, settings: DEFAULT_TRAIN, backend: backendText(info), code: { package: 'conduitwatch', version: 'bench', commit: null }, trainedAt: new Date(0).toISOString(), trainSeconds: r3(t.wall),
    });
    out({
      bench: 'train', backend: backendText(info), wallSec: r3(t.wall), cpuSec: r3(t.cpu), epochs: DEFAULT_TRAIN.epochs, batch: DEFAULT_TRAIN.batchSize,
      samples: Object.fromEntries(card.kinds.map((k) => [k, card.models[k]!.training.trainSamples])),
      finalLoss: Object.fromEntries(card.kinds.map((k) => [k, card.models[k]!.training.finalLoss])),
    });
  }

  // 2. The engine over the same day: statistical detectors alone, then with the models, per backend.
  const runEngine = async (models?: { backend: BackendName }) => {
    const e = await createEngine(site, models ? { models: { refs: ['day-cpu'], dir: root, backend: models.backend } } : {});
    let alerts = 0;
    const t = await timed(() => {
      for (let i = 0; i < flows.length; i += 4096) alerts += e.ingest(flows.slice(i, i + 4096)).alerts.length;
      alerts += e.flush().alerts.length;
    });
    return { ...t, alerts };
  };
  const base = await runEngine();
  out({ bench: 'engine', detectors: 'statistical', wallSec: r3(base.wall), cpuSec: r3(base.cpu), conduitWindowsPerSec: Math.round(views.length / base.wall), edgeWindowsPerSec: Math.round(edgeWindows / base.wall), alerts: base.alerts });
  for (const b of backends) {
    const info = await useBackend(b);
    const m = await runEngine({ backend: b });
    out({
      bench: 'engine', detectors: `statistical + models (${backendText(info)})`, wallSec: r3(m.wall), cpuSec: r3(m.cpu),
      conduitWindowsPerSec: Math.round(views.length / m.wall), edgeWindowsPerSec: Math.round(edgeWindows / m.wall),
      modelCpuSec: r3(m.cpu - base.cpu), alerts: m.alerts,
    });
  }

  // The models alone, batched: every conduit-window through the autoencoder, every judged edge-window through the forecast.
  const loaded = await loadModel(root, { name: 'day-cpu' }, W);
  const ae = loaded.nets.autoencoder!;
  const fc = loaded.nets.forecast!;
  const aeX = Float32Array.from(views.flatMap((v) => autoencoderInput(ae.scaler, logOf(conduitRaw(v)), v.cyclePhase)));
  const hist = new EdgeHistory(DEFAULT_TRAIN.history, W);
  const rows: number[] = [];
  for (const v of views) for (const s of hist.step(v)) if (s.past) for (const p of s.past) for (let k = 0; k < p.length; k += 1) rows.push((p[k]! - fc.scaler.mean[k]!) / fc.scaler.std[k]!);
  const fcX = Float32Array.from(rows);
  const fcN = fcX.length / (DEFAULT_TRAIN.history * EDGE_FEATURES.length);
  for (const b of backends) {
    const info = await useBackend(b);
    const a = await timed(() => predictNet(ae.net, aeX, [CONDUIT_FEATURES.length + 2], CONDUIT_FEATURES.length));
    const f = await timed(() => predictNet(fc.net, fcX, [DEFAULT_TRAIN.history, EDGE_FEATURES.length], EDGE_FEATURES.length));
    out({
      bench: 'batched inference', backend: backendText(info),
      autoencoder: { windows: views.length, cpuSec: r3(a.cpu), windowsPerSec: Math.round(views.length / a.wall) },
      forecast: { edgeWindows: fcN, cpuSec: r3(f.cpu), edgeWindowsPerSec: Math.round(fcN / f.wall) },
    });
  }

  // 3. Memory per model (cpu backend): what loading one more version of it adds.
  await useBackend('cpu');
  const m0 = mem();
  const copy = await loadModel(root, { name: 'day-wasm' }, W);
  const m1 = mem();
  out({
    bench: 'memory', perModel: Object.fromEntries(copy.card.kinds.map((k) => [k, { parameters: copy.card.models[k]!.parameters, weightBytes: copy.card.models[k]!.weightBytes }])),
    loadedBytes: m1 - m0,
  });
} finally {
  rmSync(root, { recursive: true, force: true });
}
