/**
 * Model artifacts: a directory of named models, each with numbered versions.
 *
 *     <root>/<name>/<version>/card.json         the model card (below)
 *     <root>/<name>/<version>/<kind>.json       network topology and weight layout (TensorFlow.js layers format)
 *     <root>/<name>/<version>/<kind>.bin        weights, float32 little-endian
 *
 * A version is written once (into a temporary directory, then renamed) and never changed. It is
 * named `name@version`, and identified by `id`: a hash of the feature spec, the weights, the
 * scalers and the calibration, so two versions with the same id score alike. Workers load a
 * version by name and refuse it, with the reason, when its feature spec is not the one this code
 * computes, its window is not the site's, or its weights do not match the card.
 *
 * The card is what an auditor reads: the feature spec and its hash, the baseline it was trained
 * on (time range, windows, conduits, input files with sha256), training settings and seed, the
 * training metrics, the calibration, the backend and the code version.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { PipelineError } from '../core/errors.ts';
import { featureSpec, specHash, type FeatureSpec, type Scaler } from './features.ts';
import { loadNet, netSize, saveNet, type NetFiles, type NetShape } from './nets.ts';
import type { Calibration } from './scoring.ts';
import type { LayersModel } from './tf.ts';
import type { ModelKind, TrainedNet, TrainSettings } from './train.ts';

/** Where models live unless `--models DIR` says otherwise. */
export const DEFAULT_MODEL_ROOT = 'conduitwatch-models';

export const CARD_FORMAT = 'conduitwatch-model/1';

export interface NetCard {
  shape: NetShape;
  parameters: number;
  weightBytes: number;
  weightsSha256: string;
  scaler: Scaler;
  calibration: Calibration;
  training: TrainedNet['training'];
}

export interface InputFile {
  file: string;
  bytes: number;
  sha256: string;
}

export interface ModelCard {
  format: typeof CARD_FORMAT;
  name: string;
  version: number;
  id: string;
  kinds: ModelKind[];
  featureSpec: FeatureSpec;
  featureSpecHash: string;
  site: { file: string; windowMs: number; productionCycleMs: number };
  baseline: { from: string; to: string; windows: number; conduits: string[]; edges: number; source: string; inputs: InputFile[] };
  seed: number;
  settings: TrainSettings;
  backend: string;
  code: { package: string; version: string; commit: string | null };
  trainedAt: string;
  trainSeconds: number;
  models: Partial<Record<ModelKind, NetCard>>;
}

/** Just enough of a card to know it is one and whose it is; the rest is checked by use. */
const CardHead = z.object({
  format: z.literal(CARD_FORMAT),
  name: z.string(),
  version: z.number().int().positive(),
  id: z.string(),
  kinds: z.array(z.enum(['autoencoder', 'forecast'])),
  featureSpec: z.object({ version: z.literal(1), windowMs: z.number(), history: z.number().int().positive() }).passthrough(),
  featureSpecHash: z.string(),
}).passthrough();

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export interface ModelRef {
  name: string;
  /** undefined = the latest version. */
  version?: number;
}

/** 'lemay' or 'lemay@3'. */
export const parseRef = (text: string): ModelRef => {
  const m = /^([^@]+)(?:@(\d+))?$/.exec(text.trim());
  if (!m || !NAME.test(m[1]!)) throw new PipelineError('config_invalid', `model "${text}" is not a model name: write NAME or NAME@VERSION (letters, digits, "_", "-", "."; e.g. "lemay@2")`);
  return m[2] !== undefined ? { name: m[1]!, version: Number(m[2]) } : { name: m[1]! };
};

export const refText = (name: string, version: number): string => `${name}@${version}`;

/** Versions of one model, ascending. */
export const versionsOf = (root: string, name: string): number[] => {
  const dir = join(root, name);
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((v) => /^\d+$/.test(v) && existsSync(join(dir, v, 'card.json'))).map(Number).sort((a, b) => a - b);
};

/** Model names under a root, sorted. */
export const modelNames = (root: string): string[] =>
  existsSync(root) ? readdirSync(root).filter((n) => NAME.test(n) && versionsOf(root, n).length > 0).sort() : [];

/** The exact version a reference names (the latest when none), or a clear error listing what exists. */
export const resolveRef = (root: string, ref: ModelRef): { name: string; version: number; dir: string } => {
  const versions = versionsOf(root, ref.name);
  if (versions.length === 0) {
    const names = modelNames(root);
    throw new PipelineError('config_invalid', `no model "${ref.name}" in ${resolve(root)}${names.length ? ` (models there: ${names.join(', ')})` : ' (it holds no models)'}; train one with: conduitwatch train INPUTS… --site site.yaml --out ${join(root, ref.name)}`, { model: ref.name });
  }
  const version = ref.version ?? versions[versions.length - 1]!;
  if (!versions.includes(version)) throw new PipelineError('config_invalid', `model ${ref.name} has no version ${version}; versions: ${versions.join(', ')}`, { model: ref.name });
  return { name: ref.name, version, dir: join(root, ref.name, String(version)) };
};

export const readCard = (dir: string): ModelCard => {
  const path = join(dir, 'card.json');
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new PipelineError('input_invalid', `${path}: not a readable model card (${e instanceof Error ? e.message : String(e)})`, { path });
  }
  const head = CardHead.safeParse(json);
  if (!head.success) throw new PipelineError('input_invalid', `${path}: not a conduitwatch model card (${head.error.issues[0]?.path.join('.')}: ${head.error.issues[0]?.message})`, { path });
  return json as ModelCard;
};

const sha256 = (b: Uint8Array | string): string => createHash('sha256').update(b).digest('hex');

/** The version id: feature spec, and per network its weights, scaler and calibration. */
export const modelId = (specHashText: string, nets: Partial<Record<ModelKind, Pick<NetCard, 'weightsSha256' | 'scaler' | 'calibration'>>>): string => {
  const h = createHash('sha256').update(specHashText);
  for (const k of Object.keys(nets).sort() as ModelKind[]) {
    const n = nets[k]!;
    h.update(`\n${k}\n${n.weightsSha256}\n${JSON.stringify(n.scaler)}\n${JSON.stringify(n.calibration.sigma)}`);
  }
  return h.digest('hex').slice(0, 16);
};

export type CardFields = Omit<ModelCard, 'format' | 'name' | 'version' | 'id' | 'kinds' | 'featureSpecHash' | 'models'>;

/** Writes trained networks as the next version of `name`; returns its card. */
export const saveModel = async (root: string, name: string, nets: readonly TrainedNet[], fields: CardFields): Promise<ModelCard> => {
  if (!NAME.test(name)) throw new PipelineError('config_invalid', `model name "${name}" must use letters, digits, "_", "-" or "." and start with a letter or digit`);
  if (nets.length === 0) throw new PipelineError('config_invalid', 'no network was trained: the inputs gave no windows to learn from');
  const files = new Map<ModelKind, NetFiles>();
  const models: Partial<Record<ModelKind, NetCard>> = {};
  for (const n of nets) {
    const f = await saveNet(n.net);
    files.set(n.kind, f);
    const size = netSize(n.net);
    models[n.kind] = { shape: n.shape, parameters: size.parameters, weightBytes: f.weights.byteLength, weightsSha256: sha256(f.weights), scaler: n.scaler, calibration: n.calibration, training: n.training };
  }
  const featureSpecHash = specHash(fields.featureSpec);
  const versions = versionsOf(root, name);
  const version = (versions[versions.length - 1] ?? 0) + 1;
  const card: ModelCard = {
    format: CARD_FORMAT, name, version, id: modelId(featureSpecHash, models), kinds: nets.map((n) => n.kind), featureSpecHash, ...fields, models,
  };
  const final = join(root, name, String(version));
  const tmp = join(root, name, `.${version}.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  for (const [kind, f] of files) {
    writeFileSync(join(tmp, `${kind}.json`), JSON.stringify({ topology: f.topology, weightSpecs: f.weightSpecs }) + '\n');
    writeFileSync(join(tmp, `${kind}.bin`), f.weights);
  }
  writeFileSync(join(tmp, 'card.json'), JSON.stringify(card, null, 2) + '\n');
  renameSync(tmp, final);
  return card;
};

/** A loaded network: the model, its scaler and calibration. */
export interface LoadedNet {
  kind: ModelKind;
  net: LayersModel;
  shape: NetShape;
  scaler: Scaler;
  calibration: Calibration;
}

export interface LoadedModel {
  card: ModelCard;
  /** `name@version`. */
  ref: string;
  nets: Partial<Record<ModelKind, LoadedNet>>;
}

/**
 * Checks that a card's feature spec is the one this code computes for the site's window, or
 * throws `config_invalid` naming what differs and how to fix it.
 */
export const checkSpec = (card: ModelCard, windowMs: number): void => {
  const ref = refText(card.name, card.version);
  const mine = featureSpec(card.featureSpec.windowMs, card.featureSpec.history);
  const mineHash = specHash(mine);
  if (mineHash !== card.featureSpecHash) {
    const theirs = card.featureSpec as Partial<FeatureSpec>;
    const diff = (['conduit', 'condition', 'edge', 'transform'] as const).filter((k) => JSON.stringify(theirs[k]) !== JSON.stringify(mine[k]));
    throw new PipelineError('config_invalid', `model ${ref} was trained on feature spec ${card.featureSpecHash}, but this conduitwatch computes ${mineHash} for the same window and history${diff.length ? ` (differs in: ${diff.join(', ')})` : ''}; its scores would be meaningless here. Retrain it with this version: conduitwatch train … --out <root>/${card.name}`, { model: ref, expected: mineHash, found: card.featureSpecHash });
  }
  if (card.featureSpec.windowMs !== windowMs) {
    throw new PipelineError('config_invalid', `model ${ref} was trained on ${card.featureSpec.windowMs} ms windows, but the site's detection.window is ${windowMs} ms; its features would not mean the same. Train a model for this window, or set detection.window: ${card.featureSpec.windowMs / 1000}s`, { model: ref });
  }
};

const loaded = new Map<string, Promise<LoadedModel>>();

/** Loads a version (cached per process by directory and id), checking its spec against the site's window and its weights against the card. */
export const loadModel = async (root: string, ref: ModelRef, windowMs: number): Promise<LoadedModel> => {
  const r = resolveRef(root, ref);
  const card = readCard(r.dir);
  checkSpec(card, windowMs);
  const key = `${resolve(r.dir)}\n${card.id}`;
  let p = loaded.get(key);
  if (!p) {
    p = (async () => {
      const nets: LoadedModel['nets'] = {};
      for (const kind of card.kinds) {
        const nc = card.models[kind];
        if (!nc) throw new PipelineError('input_invalid', `${r.dir}/card.json lists ${kind} but has no card for it`);
        const topo = JSON.parse(readFileSync(join(r.dir, `${kind}.json`), 'utf8')) as { topology: unknown; weightSpecs: unknown[] };
        const weights = new Uint8Array(readFileSync(join(r.dir, `${kind}.bin`)));
        if (sha256(weights) !== nc.weightsSha256) throw new PipelineError('input_invalid', `${join(r.dir, `${kind}.bin`)}: weights do not match the card (sha256 differs); the artifact was changed after training — retrain or restore it`, { model: refText(r.name, r.version) });
        nets[kind] = { kind, net: await loadNet({ topology: topo.topology, weightSpecs: topo.weightSpecs, weights }), shape: nc.shape, scaler: nc.scaler, calibration: nc.calibration };
      }
      return { card, ref: refText(r.name, r.version), nets };
    })();
    loaded.set(key, p);
    p.catch(() => loaded.delete(key));
  }
  return p;
};

/** sha256 and size of an input file, for the card (read in 1 MiB chunks: captures can be large). */
export const inputFile = (path: string, shown: string): InputFile => {
  const h = createHash('sha256');
  const buf = Buffer.alloc(1 << 20);
  const fd = openSync(path, 'r');
  let bytes = 0;
  try {
    for (let n = readSync(fd, buf); n > 0; n = readSync(fd, buf)) {
      h.update(buf.subarray(0, n));
      bytes += n;
    }
  } finally {
    closeSync(fd);
  }
  return { file: shown, bytes, sha256: h.digest('hex') };
};
