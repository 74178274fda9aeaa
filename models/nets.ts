/**
 * The two networks, their seeded training loop, batched inference, and their weights as bytes.
 *
 * - Autoencoder: conduit-window features (+ the cycle phase) → dense(hidden, relu) →
 *   dense(code, tanh) → dense(hidden, relu) → the features again. A window it cannot rebuild is
 *   unlike the baseline windows it was trained on.
 * - Forecast: an edge's last `history` windows → GRU(units) → dense → the next window's features.
 *   A window far from the forecast broke the edge's cadence.
 *
 * Determinism: every initialiser has its own seed, there is no dropout, batches are shuffled by a
 * seeded generator (mulberry32) and fed with `trainOnBatch`, so the same data, seed and backend
 * give the same weights. On 'cpu' that is byte for byte (test).
 */
import { mulberry32 } from '../ingest/simulate/prng.ts';
import { tf, type LayersModel } from './tf.ts';

export interface AutoencoderShape {
  kind: 'autoencoder';
  inputs: number;
  outputs: number;
  hidden: number;
  code: number;
}

export interface ForecastShape {
  kind: 'forecast';
  history: number;
  features: number;
  units: number;
}

export type NetShape = AutoencoderShape | ForecastShape;

const init = (seed: number) => tf.initializers.glorotUniform({ seed });

export const buildNet = (shape: NetShape, seed: number): LayersModel => {
  const m = tf.sequential();
  if (shape.kind === 'autoencoder') {
    m.add(tf.layers.dense({ units: shape.hidden, activation: 'relu', inputShape: [shape.inputs], kernelInitializer: init(seed + 1) }));
    m.add(tf.layers.dense({ units: shape.code, activation: 'tanh', kernelInitializer: init(seed + 2) }));
    m.add(tf.layers.dense({ units: shape.hidden, activation: 'relu', kernelInitializer: init(seed + 3) }));
    m.add(tf.layers.dense({ units: shape.outputs, kernelInitializer: init(seed + 4) }));
  } else {
    m.add(tf.layers.gru({
      units: shape.units, inputShape: [shape.history, shape.features],
      kernelInitializer: init(seed + 1), recurrentInitializer: init(seed + 2),
    }));
    m.add(tf.layers.dense({ units: shape.features, kernelInitializer: init(seed + 3) }));
  }
  return m;
};

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  learningRate: number;
  seed: number;
}

export interface TrainCurve {
  /** Mean squared error (standardised units) of the training samples after each epoch's updates, sampled. */
  loss: number[];
  finalLoss: number;
  epochs: number;
  samples: number;
}

/** Rows `idx` of a row-major array whose rows are `width` long. */
const gather = (data: Float32Array, width: number, idx: readonly number[]): Float32Array => {
  const out = new Float32Array(idx.length * width);
  for (let i = 0; i < idx.length; i += 1) out.set(data.subarray(idx[i]! * width, (idx[i]! + 1) * width), i * width);
  return out;
};

/**
 * Trains `model` on x (n × xShape) → y (n × yShape) with Adam on mean squared error, in
 * mini-batches shuffled per epoch by the seeded generator.
 */
export const trainNet = async (model: LayersModel, x: Float32Array, xShape: readonly number[], y: Float32Array, yShape: readonly number[], o: TrainOptions): Promise<TrainCurve> => {
  const xw = xShape.reduce((a, b) => a * b, 1);
  const yw = yShape.reduce((a, b) => a * b, 1);
  const n = x.length / xw;
  model.compile({ optimizer: tf.train.adam(o.learningRate), loss: 'meanSquaredError' });
  const rnd = mulberry32(o.seed);
  const order = Array.from({ length: n }, (_, i) => i);
  const loss: number[] = [];
  let last = NaN;
  const every = Math.max(1, Math.floor(o.epochs / 20));
  for (let ep = 0; ep < o.epochs; ep += 1) {
    for (let i = n - 1; i > 0; i -= 1) {
      const j = Math.floor(rnd() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    let sum = 0;
    for (let b = 0; b < n; b += o.batchSize) {
      const idx = order.slice(b, b + o.batchSize);
      const xb = tf.tensor(gather(x, xw, idx), [idx.length, ...xShape]);
      const yb = tf.tensor(gather(y, yw, idx), [idx.length, ...yShape]);
      const l = await model.trainOnBatch(xb, yb);
      xb.dispose();
      yb.dispose();
      sum += (Array.isArray(l) ? l[0]! : l) * idx.length;
    }
    last = sum / n;
    if (ep % every === 0 || ep === o.epochs - 1) loss.push(Math.round(last * 1e5) / 1e5);
  }
  return { loss, finalLoss: Math.round(last * 1e5) / 1e5, epochs: o.epochs, samples: n };
};

/** Rows per inference call: large enough to amortise a call, small enough to bound memory. */
export const PREDICT_BATCH = 2048;

/** Batched inference: n rows of xShape in, n rows of outputs (row-major) out. */
export const predictNet = (model: LayersModel, x: Float32Array, xShape: readonly number[], outWidth: number): Float32Array => {
  const xw = xShape.reduce((a, b) => a * b, 1);
  const n = x.length / xw;
  const out = new Float32Array(n * outWidth);
  for (let b = 0; b < n; b += PREDICT_BATCH) {
    const rows = Math.min(PREDICT_BATCH, n - b);
    const y = tf.tidy(() => model.predict(tf.tensor(x.subarray(b * xw, (b + rows) * xw), [rows, ...xShape])) as tf.Tensor);
    out.set(y.dataSync() as Float32Array, b * outWidth);
    y.dispose();
  }
  return out;
};

/** A network's topology and weights as plain JSON and bytes. */
export interface NetFiles {
  topology: unknown;
  weightSpecs: unknown[];
  weights: Uint8Array;
}

export const saveNet = async (model: LayersModel): Promise<NetFiles> => {
  let files: NetFiles | undefined;
  await model.save(tf.io.withSaveHandler(async (a) => {
    const data = a.weightData;
    const buf = data === undefined ? new ArrayBuffer(0) : Array.isArray(data) ? tf.io.concatenateArrayBuffers(data) : data;
    files = { topology: a.modelTopology, weightSpecs: (a.weightSpecs ?? []) as unknown[], weights: new Uint8Array(buf.slice(0)) };
    return { modelArtifactsInfo: { dateSaved: new Date(0), modelTopologyType: 'JSON' } };
  }));
  return files!;
};

export const loadNet = async (f: NetFiles): Promise<LayersModel> => {
  const bytes = f.weights.buffer.slice(f.weights.byteOffset, f.weights.byteOffset + f.weights.byteLength) as ArrayBuffer;
  return tf.loadLayersModel(tf.io.fromMemory({
    modelTopology: f.topology as object, weightSpecs: f.weightSpecs as tf.io.WeightsManifestEntry[], weightData: bytes,
  }));
};

/** Weights per model: parameter count and bytes (float32). */
export const netSize = (model: LayersModel): { parameters: number; bytes: number } => {
  const parameters = model.countParams();
  return { parameters, bytes: parameters * 4 };
};
