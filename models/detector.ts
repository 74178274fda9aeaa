/**
 * The learned models as window detectors, for the registry in cli/registry.ts:
 *
 * - `autoencoder`: rebuilds the conduit-window's features from themselves and the cycle phase; a
 *   window it cannot rebuild scores high. The finding is put on the edge furthest from its usual
 *   value (a moving average over unremarkable windows) in the feature that deviated the most
 *   (alerts name an edge).
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
import type { DetectorDef, WindowDetector } from '../detectors/detector.ts';
import { byString, defineDetector } from '../detectors/detector.ts';
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

/** What a model detector's snapshot holds besides its per-conduit state: the model version, never its weights. */
interface ModelState<C> {
  model: string;
  id: string;
  conduits: [string, C][];
}

const checkState = (json: unknown, m: LoadedModel, detector: string): void => {
  const s = json as Partial<ModelState<unknown>> | null;
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

const edgeAsConduit = (w: WindowView, e: EdgeWindow): number[] => conduitRaw({ ...w, edges: [e] });

/**
 * Per conduit: each edge's usual conduit-feature values (log1p, moving average over the windows
 * that did not score at the alert threshold), to say which edge a conduit-level deviation is on.
 */
type Prev = [string, number[]][];

/** Weight of a new window in an edge's moving average. */
const USUAL_ALPHA = 0.2;

export const autoencoderDetector = (m: LoadedModel, learnBelow = 0.8): WindowDetector => {
  const n = netOf(m, 'autoencoder');
  const shape = n.shape.kind === 'autoencoder' ? n.shape : undefined;
  if (!shape) throw new PipelineError('input_invalid', `model ${m.ref}: the autoencoder card has a ${n.shape.kind} shape`);
  const what = `autoencoder ${m.ref}`;
  let prevs = new Map<string, Prev>();
  return {
    name: 'autoencoder',
    scoreWindow(w, ctx, out) {
      const view = windowView(w, ctx);
      const raw = conduitRaw(view);
      const logs = logOf(raw);
      const y = predictNet(n.net, Float32Array.from(autoencoderInput(n.scaler, logs, view.cyclePhase)), [shape.inputs], shape.outputs);
      const j = judge(logs, unscale(n.scaler, Array.from(y)), raw, n.calibration, CONDUIT_FEATURES);
      const cur = new Map(view.edges.map((e) => [e.edge, logOf(edgeAsConduit(view, e))]));
      const usual = new Map(prevs.get(view.conduit) ?? []);
      const zero = new Array<number>(CONDUIT_FEATURES.length).fill(0);
      const ids = [...new Set([...usual.keys(), ...cur.keys()])].sort(byString);
      const wanted = j.score > 0 && out.wants(j.score);
      // The finding goes on the edge furthest from its usual value in the feature that deviated most.
      let edge = '';
      if (wanted) {
        const top = CONDUIT_FEATURES.findIndex((f) => f.name === j.features[0]!.name);
        let best = -1;
        for (const id of ids) {
          const d = Math.abs((cur.get(id) ?? zero)[top]! - (usual.get(id) ?? zero)[top]!);
          if (d > best) [edge, best] = [id, d];
        }
      }
      if (j.score < learnBelow) {
        for (const id of ids) {
          const c = cur.get(id) ?? zero;
          const u = usual.get(id);
          usual.set(id, u ? u.map((x, k) => x + USUAL_ALPHA * (c[k]! - x)) : [...c]);
        }
        prevs.set(view.conduit, [...usual].sort((a, b) => byString(a[0], b[0])));
      }
      if (!wanted || edge === '') return;
      out.push({ edge, score: j.score, explanation: `conduit ${explain(j, CONDUIT_FEATURES, what)}; furthest from its usual ${j.features[0]!.name}: ${edge}`, features: judgementFeatures(j) });
    },
    save: (): ModelState<Prev> => ({ model: m.ref, id: m.card.id, conduits: [...prevs].sort((a, b) => byString(a[0], b[0])) }),
    load: (json) => {
      checkState(json, m, 'autoencoder');
      prevs = new Map((json as ModelState<Prev>).conduits.map(([c, p]) => [c, p.map(([e, v]) => [e, [...v]] as [string, number[]])]));
    },
  };
};

export const forecastDetector = (m: LoadedModel, learnBelow = 0.8): WindowDetector => {
  const n = netOf(m, 'forecast');
  const shape = n.shape.kind === 'forecast' ? n.shape : undefined;
  if (!shape) throw new PipelineError('input_invalid', `model ${m.ref}: the forecast card has a ${n.shape.kind} shape`);
  const windowMs = m.card.featureSpec.windowMs;
  const what = `forecast ${m.ref} from the last ${shape.history} windows`;
  const width = EDGE_FEATURES.length;
  let histories = new Map<string, EdgeHistory>();
  return {
    name: 'forecast',
    scoreWindow(w, ctx, out) {
      const view = windowView(w, ctx);
      let h = histories.get(view.conduit);
      if (!h) histories.set(view.conduit, (h = new EdgeHistory(shape.history, windowMs)));
      const steps = h.step(view).filter((s) => s.past !== undefined);
      if (steps.length === 0) return;
      // One batch per conduit-window: every judged edge of the conduit in one inference call.
      const x = new Float32Array(steps.length * shape.history * width);
      steps.forEach((s, i) => s.past!.forEach((v, t) => {
        for (let k = 0; k < width; k += 1) x[(i * shape.history + t) * width + k] = (v[k]! - n.scaler.mean[k]!) / n.scaler.std[k]!;
      }));
      const y = predictNet(n.net, x, [shape.history, width], width);
      steps.forEach((s, i) => {
        const expected = unscale(n.scaler, Array.from(y.subarray(i * width, (i + 1) * width)));
        const j = judge(s.now, expected, s.raw, n.calibration, EDGE_FEATURES);
        if (j.score >= learnBelow) h.replaceLast(s.edge, expected.map((v) => Math.max(0, v)));
        if (j.score > 0 && out.wants(j.score)) out.push({ edge: s.edge, score: j.score, explanation: explain(j, EDGE_FEATURES, what), features: judgementFeatures(j) });
      });
    },
    save: (): ModelState<HistoryJSON> => ({ model: m.ref, id: m.card.id, conduits: [...histories].sort((a, b) => byString(a[0], b[0])).map(([c, h]) => [c, h.toJSON()]) }),
    load: (json) => {
      checkState(json, m, 'forecast');
      histories = new Map((json as ModelState<HistoryJSON>).conduits.map(([c, j]) => [c, EdgeHistory.fromJSON(j, shape.history, windowMs)]));
    },
  };
};

/** Registry entries (cli/registry.ts): created asynchronously, once the backend is ready and the model is loaded. */
export const autoencoderDef: DetectorDef<typeof ModelDetectorConfig> = defineDetector({
  name: 'autoencoder',
  summary: 'Learned: a conduit-window unlike the baseline windows its autoencoder was trained on (reconstruction error).',
  config: ModelDetectorConfig,
  create: async (c, ctx) => autoencoderDetector(await openModel(c, ctx.site.detection.window), ctx.site.detection.alertThreshold),
});

export const forecastDef: DetectorDef<typeof ModelDetectorConfig> = defineDetector({
  name: 'forecast',
  summary: 'Learned: an edge-window far from what its GRU forecast from the edge\'s last windows (forecast error).',
  config: ModelDetectorConfig,
  create: async (c, ctx) => forecastDetector(await openModel(c, ctx.site.detection.window), ctx.site.detection.alertThreshold),
});

export const MODEL_DETECTORS: readonly DetectorDef[] = [autoencoderDef, forecastDef];
