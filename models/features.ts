/**
 * What the models see: one vector per conduit-window (autoencoder) and one per edge-window
 * (forecast), computed from the engine's closed windows (models/window-view.ts turns them into a
 * `WindowView`). Every feature is a count or a duration, taken as log1p so that a doubling is the
 * same step at any volume, then standardised with the baseline's mean and spread (stored in the
 * artifact). The spec — names, transforms, window length, history length — has a hash: a model
 * is loaded only by code that computes the same spec (`specHash`), never silently otherwise.
 */
import { createHash } from 'node:crypto';

/** What one edge did in one window (the part of detectors' window features the models use). */
export interface EdgeWindow {
  edge: string;
  flows: number;
  packets: number;
  bytes: number;
  /** What the responder sent. */
  bytesRev: number;
  /** Requests the initiator sent (sum of l7Ops), responses the responder sent. */
  requests: number;
  responses: number;
  /** Connection starts. */
  starts: number;
  /** Request intervals inside the flows: count, mean and max (ms). */
  riCount: number;
  riMean: number;
  riMax: number;
}

/** One closed window of one conduit, as the models see it. */
export interface WindowView {
  conduit: string;
  windowStart: number;
  windowEnd: number;
  /** Where the window falls in the production cycle, [0, 1). */
  cyclePhase: number;
  /** The conduit is inside its baseline. */
  learning: boolean;
  /** Edges with traffic in the window. */
  edges: EdgeWindow[];
}

export interface FeatureDef {
  name: string;
  /** What it counts, for cards and explanations. */
  description: string;
  /** Unit for explanations: '' for counts. */
  unit: '' | 'ms' | 'B';
}

/** Conduit-window features, autoencoder input and output. */
export const CONDUIT_FEATURES: readonly FeatureDef[] = [
  { name: 'flows', description: 'flow records (slices) starting in the window', unit: '' },
  { name: 'requests', description: 'requests the initiators sent (l7 operations)', unit: '' },
  { name: 'responses', description: 'responses the responders sent', unit: '' },
  { name: 'packets', description: 'packets, both directions', unit: '' },
  { name: 'bytes', description: 'bytes, both directions', unit: 'B' },
  { name: 'bytes_rev', description: 'bytes the responders sent', unit: 'B' },
  { name: 'edges', description: 'edges (src, dst, proto, port, l7) with traffic', unit: '' },
  { name: 'starts', description: 'connection starts', unit: '' },
  { name: 'interval_mean', description: 'mean request interval inside the flows, weighted by count', unit: 'ms' },
  { name: 'interval_max', description: 'longest request interval inside a flow', unit: 'ms' },
];

/** Extra autoencoder inputs that are not reconstructed: the production-cycle phase as a point on a circle. */
export const CONDITION_FEATURES: readonly string[] = ['phase_sin', 'phase_cos'];

/** Edge-window features, forecast input (for each of the last `history` windows) and output. */
export const EDGE_FEATURES: readonly FeatureDef[] = [
  { name: 'flows', description: 'flow records (slices) starting in the window', unit: '' },
  { name: 'requests', description: 'requests the initiator sent', unit: '' },
  { name: 'responses', description: 'responses the responder sent', unit: '' },
  { name: 'packets', description: 'packets, both directions', unit: '' },
  { name: 'bytes', description: 'bytes, both directions', unit: 'B' },
  { name: 'starts', description: 'connection starts', unit: '' },
  { name: 'interval_mean', description: 'mean request interval inside the flows', unit: 'ms' },
  { name: 'interval_max', description: 'longest request interval inside a flow', unit: 'ms' },
];

/** The feature spec a model was trained on; its hash must match the running code's. */
export interface FeatureSpec {
  version: 1;
  windowMs: number;
  /** Windows of history the forecast reads. */
  history: number;
  transform: 'log1p';
  conduit: string[];
  condition: string[];
  edge: string[];
}

export const featureSpec = (windowMs: number, history: number): FeatureSpec => ({
  version: 1, windowMs, history, transform: 'log1p',
  conduit: CONDUIT_FEATURES.map((f) => f.name), condition: [...CONDITION_FEATURES], edge: EDGE_FEATURES.map((f) => f.name),
});

/** sha256 of the spec's canonical JSON, first 16 hex digits. */
export const specHash = (s: FeatureSpec): string =>
  createHash('sha256').update(JSON.stringify([s.version, s.windowMs, s.history, s.transform, s.conduit, s.condition, s.edge])).digest('hex').slice(0, 16);

const lg = (x: number): number => (x > 0 && Number.isFinite(x) ? Math.log1p(x) : 0);

/** Raw (not log) conduit feature values of a window, in CONDUIT_FEATURES order. */
export const conduitRaw = (w: WindowView): number[] => {
  let flows = 0, requests = 0, responses = 0, packets = 0, bytes = 0, bytesRev = 0, starts = 0, riN = 0, riSum = 0, riMax = 0;
  for (const e of w.edges) {
    flows += e.flows;
    requests += e.requests;
    responses += e.responses;
    packets += e.packets;
    bytes += e.bytes;
    bytesRev += e.bytesRev;
    starts += e.starts;
    riN += e.riCount;
    if (e.riCount > 0) {
      riSum += e.riCount * e.riMean;
      if (e.riMax > riMax) riMax = e.riMax;
    }
  }
  return [flows, requests, responses, packets, bytes, bytesRev, w.edges.length, starts, riN > 0 ? riSum / riN : 0, riMax];
};

/** Raw edge feature values, in EDGE_FEATURES order (an edge without traffic in the window: zeros). */
export const edgeRaw = (e: EdgeWindow | undefined): number[] =>
  e ? [e.flows, e.requests, e.responses, e.packets, e.bytes, e.starts, e.riCount > 0 ? e.riMean : 0, e.riCount > 0 ? e.riMax : 0] : new Array<number>(EDGE_FEATURES.length).fill(0);

/** log1p of each value (negatives, NaN → 0). */
export const logOf = (raw: readonly number[]): number[] => raw.map(lg);

/** The cycle phase as two inputs on the unit circle. */
export const phaseInputs = (phase: number): [number, number] => [Math.sin(2 * Math.PI * phase), Math.cos(2 * Math.PI * phase)];

/** Per-feature mean and spread of log values, to standardise model inputs. */
export interface Scaler {
  mean: number[];
  std: number[];
}

/** Smallest spread a feature is divided by (log units: about a 10 % change). */
export const MIN_STD = 0.1;

export const fitScaler = (rows: readonly (readonly number[])[], width: number): Scaler => {
  const mean = new Array<number>(width).fill(0);
  const m2 = new Array<number>(width).fill(0);
  let n = 0;
  for (const r of rows) {
    n += 1;
    for (let j = 0; j < width; j += 1) {
      const d = r[j]! - mean[j]!;
      mean[j]! += d / n;
      m2[j]! += d * (r[j]! - mean[j]!);
    }
  }
  return { mean, std: m2.map((v) => Math.max(MIN_STD, n > 1 ? Math.sqrt(v / (n - 1)) : 0)) };
};

export const scale = (s: Scaler, logs: readonly number[]): number[] => logs.map((v, j) => (v - s.mean[j]!) / s.std[j]!);
export const unscale = (s: Scaler, z: readonly number[]): number[] => z.map((v, j) => v * s.std[j]! + s.mean[j]!);
