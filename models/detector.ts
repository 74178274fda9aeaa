/**
 * The learned models as window detectors, for the registry in cli/registry.ts:
 *
 * - `autoencoder`: rebuilds the conduit-window's features from themselves and the cycle phase; a
 *   window it cannot rebuild scores high. The finding is put on the edge that moved the most in
 *   the feature that deviated the most since the previous window (alerts name an edge).
 * - `forecast`: forecasts each known edge's window from its last `history` windows; a window far
 *   from its forecast scores high. Edges with a cadence are judged once they have `history`
 *   windows (models/history.ts); a window that scores at the alert threshold or above is
 *   remembered as its forecast, not as seen (it does not become the edge's normal).
 *
 * Both score with the shared calibration (models/scoring.ts) and explain themselves in expected vs
 * seen terms. Their per-conduit state names the model version (`name@version` and its id), never
 * the weights: a snapshot restored with another version is refused.
 */
import { z } from 'zod';
import { PipelineError } from '../core/errors.ts';
import type { DetectorDef, Finding, ScoreResult, WindowContext, WindowDetector } from '../detectors/detector.ts';
import { byString, defineDetector } from '../detectors/detector.ts';
import { ENSEMBLE_MIN } from '../detectors/engine.ts';
import type { ConduitFeatures } from '../detectors/features.ts';
import { DEFAULT_MODEL_ROOT, loadModel, parseRef, type LoadedModel, type LoadedNet } from './artifact.ts';
import { BACKEND_CHOICES, useBackend, type BackendChoice } from './backend.ts';
import { CONDUIT_FEATURES, conduitRaw, EDGE_FEATURES, logOf, unscale, type EdgeWindow, type WindowView } from './features.ts';
import { EdgeHistory, type HistoryJSON } from './history.ts';
import { predictNet } from './nets.ts';
import { explain, judge, judgementFeatures } from './scoring.ts';
import { autoencoderInput, type ModelKind } from './train.ts';
import { windowView } from './window-view.ts';

export const ModelDetectorConfig = z.object({
  model: z.string().min(1).describe('The trained model to load: NAME@VERSION, or NAME for its latest version (`conduitwatch models list`). The wiring pins NAME to its version before creating the detector, so snapshots name the exact version.'),
  dir: z.string().min(1).default(DEFAULT_MODEL_ROOT).describe('The model store: a directory of NAME/VERSION/ artifacts written by `conduitwatch train`.'),
  backend: z.enum(BACKEND_CHOICES as [BackendChoice, ...BackendChoice[]]).default('auto').describe('TensorFlow.js backend: auto (tensorflow if @tensorflow/tfjs-node is installed, else wasm, else cpu), or one of them (an error if it cannot start).'),
}).strict();
export type ModelDetectorConfig = z.output<typeof ModelDetectorConfig>;

/** Findings below this are not emitted (as the engine gives no ensemble row below it). */
export const EMIT_MIN = ENSEMBLE_MIN;

interface ModelState {
  model: string;
  id: string;
}

const checkState = (json: unknown, m: LoadedModel, detector: string): void => {
  const s = json as Partial<ModelState> | null;
  if (!s || s.model !== m.ref || s.id !== m.card.id) {
    throw new PipelineError('input_invalid', `the ${detector} state was written with model ${String(s?.model)} (id ${String(s?.id)}), but ${m.ref} (id ${m.card.id}) is loaded; restore with the model version the snapshot names, or start this partition afresh`, { detector, model: m.ref });
  }
};

const netOf = (m: LoadedModel, kind: ModelKind): LoadedNet => {
  const n = m.nets[kind];
  if (!n) throw new PipelineError('config_invalid', `model ${m.ref} has no ${kind} network (it has: ${m.card.kinds.join(', ')}); train one with --kind ${kind} or both`, { model: m.ref });
  return n;
};

const openModel = async (c: ModelDetectorConfig, windowMs: number): Promise<LoadedModel> => {
  await useBackend(c.backend);
  return loadModel(c.dir, parseRef(c.model), windowMs);
};

interface AutoencoderState extends ModelState {
  /** Per edge, its conduit-feature values in the previous window (for attribution). */
  prev: [string, number[]][];
}

const edgeAsConduit = (w: WindowView, e: EdgeWindow): number[] => conduitRaw({ ...w, edges: [e] });

export const autoencoderDetector = (m: LoadedModel): WindowDetector<AutoencoderState> => {
  const n = netOf(m, 'autoencoder');
  const shape = n.shape.kind === 'autoencoder' ? n.shape : undefined;
  if (!shape) throw new PipelineError('input_invalid', `model ${m.ref}: the autoencoder card has a ${n.shape.kind} shape`);
  const what = `autoencoder ${m.ref}`;
  return {
    name: 'autoencoder',
    init: () => ({ model: m.ref, id: m.card.id, prev: [] }),
    scoreWindow(cw: ConduitFeatures, state: AutoencoderState, ctx: WindowContext): ScoreResult<AutoencoderState> {
      const view = windowView(cw, ctx);
      const raw = conduitRaw(view);
      const logs = logOf(raw);
      const out = predictNet(n.net, Float32Array.from(autoencoderInput(n.scaler, logs, view.cyclePhase)), [shape.inputs], shape.outputs);
      const j = judge(logs, unscale(n.scaler, Array.from(out)), raw, n.calibration, CONDUIT_FEATURES);
      const now = view.edges.map((e) => [e.edge, edgeAsConduit(view, e)] as [string, number[]]).sort((a, b) => byString(a[0], b[0]));
      const findings: Finding[] = [];
      if (j.score >= EMIT_MIN) {
        const top = CONDUIT_FEATURES.findIndex((f) => f.name === j.features[0]!.name);
        const prev = new Map(state.prev);
        const cur = new Map(now);
        let edge = '';
        let best = -1;
        for (const id of [...new Set([...prev.keys(), ...cur.keys()])].sort(byString)) {
          const d = Math.abs((cur.get(id)?.[top] ?? 0) - (prev.get(id)?.[top] ?? 0));
          if (d > best) [edge, best] = [id, d];
        }
        if (edge !== '') findings.push({ edge, score: j.score, explanation: `conduit ${explain(j, CONDUIT_FEATURES, what)}; most changed edge in ${j.features[0]!.name}`, features: judgementFeatures(j) });
      }
      return { findings, state: { model: m.ref, id: m.card.id, prev: now } };
    },
    save: (s) => ({ model: s.model, id: s.id, prev: s.prev }),
    load: (json) => {
      checkState(json, m, 'autoencoder');
      const j = json as AutoencoderState;
      return { model: j.model, id: j.id, prev: j.prev.map(([e, v]) => [e, [...v]]) };
    },
  };
};

interface ForecastState extends ModelState {
  history: EdgeHistory;
}

export const forecastDetector = (m: LoadedModel, learnBelow = 0.8): WindowDetector<ForecastState> => {
  const n = netOf(m, 'forecast');
  const shape = n.shape.kind === 'forecast' ? n.shape : undefined;
  if (!shape) throw new PipelineError('input_invalid', `model ${m.ref}: the forecast card has a ${n.shape.kind} shape`);
  const windowMs = m.card.featureSpec.windowMs;
  const what = `forecast ${m.ref} from the last ${shape.history} windows`;
  const width = EDGE_FEATURES.length;
  return {
    name: 'forecast',
    init: () => ({ model: m.ref, id: m.card.id, history: new EdgeHistory(shape.history, windowMs) }),
    scoreWindow(cw: ConduitFeatures, state: ForecastState, ctx: WindowContext): ScoreResult<ForecastState> {
      const steps = state.history.step(windowView(cw, ctx)).filter((s) => s.past !== undefined);
      const findings: Finding[] = [];
      if (steps.length === 0) return { findings, state };
      // One batch per conduit-window: every judged edge of the conduit in one inference call.
      const x = new Float32Array(steps.length * shape.history * width);
      steps.forEach((s, i) => s.past!.forEach((v, t) => {
        for (let k = 0; k < width; k += 1) x[(i * shape.history + t) * width + k] = (v[k]! - n.scaler.mean[k]!) / n.scaler.std[k]!;
      }));
      const out = predictNet(n.net, x, [shape.history, width], width);
      steps.forEach((s, i) => {
        const expected = unscale(n.scaler, Array.from(out.subarray(i * width, (i + 1) * width)));
        const j = judge(s.now, expected, s.raw, n.calibration, EDGE_FEATURES);
        if (j.score >= learnBelow) state.history.replaceLast(s.edge, expected.map((v) => Math.max(0, v)));
        if (j.score >= EMIT_MIN) findings.push({ edge: s.edge, score: j.score, explanation: explain(j, EDGE_FEATURES, what), features: judgementFeatures(j) });
      });
      return { findings, state };
    },
    save: (s) => ({ model: s.model, id: s.id, history: s.history.toJSON() }),
    load: (json) => {
      checkState(json, m, 'forecast');
      const j = json as ModelState & { history: HistoryJSON };
      return { model: j.model, id: j.id, history: EdgeHistory.fromJSON(j.history, shape.history, windowMs) };
    },
  };
};

/** Registry entries (cli/registry.ts): created asynchronously, once the backend is ready and the model is loaded. */
export const autoencoderDef: DetectorDef<typeof ModelDetectorConfig> = defineDetector({
  name: 'autoencoder',
  summary: 'Learned: a conduit-window unlike the baseline windows its autoencoder was trained on (reconstruction error).',
  config: ModelDetectorConfig,
  create: async (c, ctx) => autoencoderDetector(await openModel(c, ctx.site.detection.window)) as WindowDetector<unknown>,
});

export const forecastDef: DetectorDef<typeof ModelDetectorConfig> = defineDetector({
  name: 'forecast',
  summary: 'Learned: an edge-window far from what its GRU forecast from the edge\'s last windows (forecast error).',
  config: ModelDetectorConfig,
  create: async (c, ctx) => forecastDetector(await openModel(c, ctx.site.detection.window), ctx.site.detection.alertThreshold) as WindowDetector<unknown>,
});

export const MODEL_DETECTORS: readonly DetectorDef[] = [autoencoderDef, forecastDef];
