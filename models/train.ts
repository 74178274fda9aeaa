/**
 * Training: baseline windows in, trained networks with their scalers and calibration out.
 *
 * - Samples: the autoencoder gets one row per conduit-window (empty windows of a known conduit
 *   included: silence is part of a cadence); the forecast one row per edge-window that has
 *   `history` windows before it (`EdgeHistory`, exactly as scoring builds them), rows whose past
 *   and present are all zero left out.
 * - Hold-out: every `holdoutEvery`-th window (by time, per conduit) is kept out of training and
 *   used to measure each feature's residual spread (the calibration), so the spread is that of
 *   windows the network has not seen. With too few windows the spread is measured in-sample
 *   (the card says so) and the `minResidual` floor carries more of the weight.
 * - Caps: at most `maxSamples` training rows per network, taken evenly (seeded) when there are more.
 */
import { mulberry32 } from '../ingest/simulate/prng.ts';
import { CONDITION_FEATURES, CONDUIT_FEATURES, conduitRaw, EDGE_FEATURES, fitScaler, logOf, phaseInputs, scale, unscale, type Scaler, type WindowView } from './features.ts';
import { EdgeHistory } from './history.ts';
import { buildNet, predictNet, trainNet, type NetShape, type TrainCurve } from './nets.ts';
import { round } from '../detectors/calibration.ts';
import { judge, maxZ, residualSigma, scoreSummary, tailScale, type Calibration } from './scoring.ts';
import type { LayersModel } from './tf.ts';

export type ModelKind = 'autoencoder' | 'forecast';
export const MODEL_KINDS: readonly ModelKind[] = ['autoencoder', 'forecast'];

export interface TrainSettings {
  seed: number;
  kinds: readonly ModelKind[];
  history: number;
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** Autoencoder hidden and code widths; forecast GRU units. */
  hidden: number;
  code: number;
  units: number;
  maxSamples: number;
  holdoutEvery: number;
  /** Smallest residual spread per feature, log1p units (0.15 ≈ a 16 % change). */
  minResidual: number;
}

export const DEFAULT_TRAIN: TrainSettings = {
  seed: 1, kinds: MODEL_KINDS, history: 6, epochs: 25, batchSize: 128, learningRate: 0.01,
  hidden: 16, code: 4, units: 16, maxSamples: 20_000, holdoutEvery: 5, minResidual: 0.15,
};

export interface TrainedNet {
  kind: ModelKind;
  shape: NetShape;
  net: LayersModel;
  scaler: Scaler;
  calibration: Calibration;
  training: TrainCurve & { heldOutLoss: number | null; trainSamples: number; heldOutSamples: number };
}

interface Rows {
  x: number[][];
  /** Standardised target. */
  y: number[][];
  /** Log target, raw target. */
  logs: number[][];
  raws: number[][];
  held: boolean[];
}

const flat = (rows: readonly (readonly number[])[]): Float32Array => {
  const w = rows[0]?.length ?? 0;
  const out = new Float32Array(rows.length * w);
  rows.forEach((r, i) => out.set(r, i * w));
  return out;
};

/** Picks at most `max` of `idx`, evenly, in order. */
const cap = (idx: number[], max: number, seed: number): number[] => {
  if (idx.length <= max) return idx;
  const rnd = mulberry32(seed);
  const keep = idx.map((i) => [rnd(), i] as const).sort((a, b) => a[0] - b[0]).slice(0, max).map(([, i]) => i);
  return keep.sort((a, b) => a - b);
};

/** Windows grouped by conduit, each in time order. */
const byConduit = (windows: readonly WindowView[]): WindowView[][] => {
  const m = new Map<string, WindowView[]>();
  for (const w of windows) {
    const l = m.get(w.conduit);
    if (l) l.push(w);
    else m.set(w.conduit, [w]);
  }
  return [...m.keys()].sort().map((c) => m.get(c)!.sort((a, b) => a.windowStart - b.windowStart));
};

const autoencoderRows = (windows: readonly WindowView[], s: TrainSettings): { rows: Omit<Rows, 'x' | 'y'>; phases: number[] } => {
  const logs: number[][] = [];
  const raws: number[][] = [];
  const held: boolean[] = [];
  const phases: number[] = [];
  for (const list of byConduit(windows)) {
    list.forEach((w, i) => {
      const raw = conduitRaw(w);
      raws.push(raw);
      logs.push(logOf(raw));
      held.push(i % s.holdoutEvery === s.holdoutEvery - 1);
      phases.push(w.cyclePhase);
    });
  }
  return { rows: { logs, raws, held }, phases };
};

const forecastRows = (windows: readonly WindowView[], s: TrainSettings, windowMs: number): { past: number[][][]; rows: Omit<Rows, 'x' | 'y'> } => {
  const past: number[][][] = [];
  const logs: number[][] = [];
  const raws: number[][] = [];
  const held: boolean[] = [];
  for (const list of byConduit(windows)) {
    const h = new EdgeHistory(s.history, windowMs);
    list.forEach((w, i) => {
      for (const st of h.step(w)) {
        if (!st.past) continue;
        if (st.now.every((v) => v === 0) && st.past.every((v) => v.every((x) => x === 0))) continue;
        past.push(st.past);
        logs.push(st.now);
        raws.push(st.raw);
        held.push(i % s.holdoutEvery === s.holdoutEvery - 1);
      }
    });
  }
  return { past, rows: { logs, raws, held } };
};

/** Trains one network on its rows and calibrates it on the held-out ones. */
const fit = async (kind: ModelKind, shape: NetShape, xRows: number[][][] | number[][], logs: number[][], raws: number[][], held: boolean[], scaler: Scaler, s: TrainSettings): Promise<TrainedNet> => {
  const defs = kind === 'autoencoder' ? CONDUIT_FEATURES : EDGE_FEATURES;
  const width = defs.length;
  const y = logs.map((l) => scale(scaler, l));
  const xShape = kind === 'autoencoder' ? [(xRows[0] as number[]).length] : [s.history, width];
  const flatX = (idx: readonly number[]): Float32Array => flat(idx.map((i) => (kind === 'autoencoder' ? (xRows[i] as number[]) : (xRows[i] as number[][]).flat())));
  const all = logs.map((_, i) => i);
  let heldIdx = all.filter((i) => held[i]);
  let trainIdx = all.filter((i) => !held[i]);
  const inSample = heldIdx.length < 5 || trainIdx.length < 5;
  if (inSample) {
    trainIdx = all;
    heldIdx = all;
  }
  trainIdx = cap(trainIdx, s.maxSamples, s.seed + 17);
  const net = buildNet(shape, s.seed);
  const curve = await trainNet(net, flatX(trainIdx), xShape, flat(trainIdx.map((i) => y[i]!)), [width], { epochs: s.epochs, batchSize: s.batchSize, learningRate: s.learningRate, seed: s.seed });
  const predictLogs = (idx: readonly number[]): number[][] => {
    const out = predictNet(net, flatX(idx), xShape, width);
    return idx.map((_, k) => unscale(scaler, Array.from(out.subarray(k * width, (k + 1) * width))));
  };
  const heldPred = predictLogs(heldIdx);
  const resid = heldIdx.map((i, k) => logs[i]!.map((v, j) => v - heldPred[k]![j]!));
  let heldLoss = 0;
  heldIdx.forEach((i, k) => { for (let j = 0; j < width; j += 1) heldLoss += ((logs[i]![j]! - heldPred[k]![j]!) / scaler.std[j]!) ** 2; });
  const measured = residualSigma(resid, width, s.minResidual);
  const everyPred = predictLogs(all);
  const k = tailScale(all.map((i) => maxZ(logs[i]!.map((v, j) => v - everyPred[i]![j]!), measured)), width);
  const sigma = measured.map((x) => round(x * k, 6));
  const calibration: Calibration = { sigma, minResidual: s.minResidual, tailScale: k, samples: heldIdx.length, heldOut: !inSample, scores: scoreSummary([]) };
  calibration.scores = scoreSummary(all.map((i) => judge(logs[i]!, everyPred[i]!, raws[i]!, calibration, defs).score));
  return {
    kind, shape, net, scaler, calibration,
    training: { ...curve, heldOutLoss: inSample ? null : Math.round((heldLoss / Math.max(1, heldIdx.length * width)) * 1e5) / 1e5, trainSamples: trainIdx.length, heldOutSamples: inSample ? 0 : heldIdx.length },
  };
};

/** Trains the networks `s.kinds` names on baseline windows. A kind with no samples is left out (the caller says so). */
export const trainModels = async (windows: readonly WindowView[], windowMs: number, s: TrainSettings): Promise<TrainedNet[]> => {
  const out: TrainedNet[] = [];
  if (s.kinds.includes('autoencoder')) {
    const { rows, phases } = autoencoderRows(windows, s);
    if (rows.logs.length > 0) {
      const train = rows.logs.filter((_, i) => !rows.held[i]);
      const scaler = fitScaler(train.length > 0 ? train : rows.logs, CONDUIT_FEATURES.length);
      const x = rows.logs.map((l, i) => [...scale(scaler, l), ...phaseInputs(phases[i]!)]);
      const shape: NetShape = { kind: 'autoencoder', inputs: CONDUIT_FEATURES.length + CONDITION_FEATURES.length, outputs: CONDUIT_FEATURES.length, hidden: s.hidden, code: s.code };
      out.push(await fit('autoencoder', shape, x, rows.logs, rows.raws, rows.held, scaler, s));
    }
  }
  if (s.kinds.includes('forecast')) {
    const { past, rows } = forecastRows(windows, s, windowMs);
    if (rows.logs.length > 0) {
      const train = rows.logs.filter((_, i) => !rows.held[i]);
      const scaler = fitScaler(train.length > 0 ? train : rows.logs, EDGE_FEATURES.length);
      const x = past.map((p) => p.map((v) => scale(scaler, v)));
      const shape: NetShape = { kind: 'forecast', history: s.history, features: EDGE_FEATURES.length, units: s.units };
      out.push(await fit('forecast', shape, x, rows.logs, rows.raws, rows.held, scaler, s));
    }
  }
  return out;
};

/** Autoencoder input row of a window: its standardised log features and the cycle phase. */
export const autoencoderInput = (scaler: Scaler, logs: readonly number[], phase: number): number[] => [...scale(scaler, logs), ...phaseInputs(phase)];
