/**
 * `conduitwatch train INPUTS… --site site.yaml --out DIR/NAME` (or `--data DIR` for flows from
 * the store): windows the baseline traffic exactly as the engine does, trains the autoencoder and
 * the forecast (seeded; byte-for-byte deterministic on the default cpu backend), calibrates them
 * on held-out baseline windows, and writes the next version of NAME with its model card.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { basename, dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Clock } from '../core/clock.ts';
import { loadSite, SiteMap } from '../core/config.ts';
import { PipelineError } from '../core/errors.ts';
import { inputFile, refText, saveModel, type ModelCard } from '../models/artifact.ts';
import { BACKEND_CHOICES, backendText, useBackend, type BackendChoice } from '../models/backend.ts';
import { featureSpec } from '../models/features.ts';
import { WindowRecorder } from '../models/record.ts';
import { storedFlows } from '../models/store-flows.ts';
import { DEFAULT_TRAIN, MODEL_KINDS, trainModels, type ModelKind, type TrainSettings } from '../models/train.ts';
import { openChdb } from '../store/chdb.ts';
import { intArg, usageError } from './args.ts';
import { openInput } from './inputs.ts';
import { listRuns, resolveRun } from './runs.ts';
import { selfCommand } from './self.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** package.json version and, in a git checkout, the commit (with `+dirty` when the tree has changes). */
export const codeVersion = (): ModelCard['code'] => {
  const pkg = JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
  let commit: string | null;
  try {
    commit = execFileSync('git', ['-C', ROOT, 'rev-parse', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['-C', ROOT, 'status', '--porcelain', '--', 'models', 'cli/train.ts'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    if (dirty) commit += '+dirty';
  } catch {
    commit = null;
  }
  return { package: pkg.name, version: pkg.version, commit };
};

const numArg = (flag: string, v: unknown, fallback: number, min: number): number => {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) throw usageError('train', `--${flag} takes a number ≥ ${min}, not "${String(v)}".`);
  return n;
};

export const trainSettings = (v: Record<string, unknown>): TrainSettings => {
  const kind = typeof v.kind === 'string' ? v.kind : 'both';
  if (kind !== 'both' && !MODEL_KINDS.includes(kind as ModelKind)) throw usageError('train', `--kind is autoencoder, forecast or both, not "${kind}".`);
  return {
    ...DEFAULT_TRAIN,
    kinds: kind === 'both' ? MODEL_KINDS : [kind as ModelKind],
    seed: intArg('train', 'seed', v.seed, DEFAULT_TRAIN.seed),
    epochs: Math.max(1, intArg('train', 'epochs', v.epochs, DEFAULT_TRAIN.epochs)),
    batchSize: Math.max(1, intArg('train', 'batch', v.batch, DEFAULT_TRAIN.batchSize)),
    history: Math.max(1, intArg('train', 'history', v.history, DEFAULT_TRAIN.history)),
    minResidual: numArg('min-residual', v['min-residual'], DEFAULT_TRAIN.minResidual, 0.01),
  };
};

export interface TrainRun {
  card: ModelCard;
  dir: string;
  windows: number;
}

export interface TrainOptions {
  inputs: string[];
  sitePath: string;
  /** DIR/NAME. */
  out: string;
  settings: TrainSettings;
  backend: BackendChoice;
  /** Read flows from this store instead of files (`--data`), optionally one run. */
  data?: string;
  runId?: string;
  mapping?: string;
  /** Only windows inside each conduit's baseline (site.yaml detection.baseline). */
  baselineOnly?: boolean;
  clock: Clock;
}

export const runTrain = async (o: TrainOptions): Promise<TrainRun> => {
  const site = loadSite(o.sitePath);
  const siteMap = new SiteMap(site);
  const W = site.detection.window;
  const root = dirname(o.out);
  const name = basename(o.out);
  const backend = await useBackend(o.backend);
  const started = performance.now();
  const rec = new WindowRecorder(siteMap);
  const inputs: ModelCard['baseline']['inputs'] = [];
  let source = 'files';
  if (o.data !== undefined) {
    const store = await openChdb(o.data);
    try {
      // The stored run to learn from: --run ID (a unique prefix is enough), the newest by default,
      // as in every command that reads the store (cli/runs.ts).
      if (o.runId === 'all') throw usageError('train', '--run all would learn one baseline from several runs; name one run (conduitwatch runs list).');
      const chosen = await resolveRun(store, o.runId, 'train');
      if (chosen && chosen.length > 1) throw usageError('train', `--run names ${chosen.length} runs; a model learns from one.`);
      const runId = chosen?.[0];
      if (o.runId === undefined && runId !== undefined && (await listRuns(store)).length > 1) {
        process.stderr.write(`conduitwatch train: the store holds several runs; learning from the newest, ${runId} (--run to choose another).\n`);
      }
      for await (const batch of storedFlows(store, runId !== undefined ? { runId } : {})) rec.add(batch);
      source = `store ${o.data}${runId !== undefined ? ` run ${runId}` : ''}`;
    } finally {
      await store.close();
    }
  } else {
    for (const file of o.inputs) {
      const opened = openInput(file, { sliceMs: W, ...(o.mapping ? { mapping: o.mapping } : {}) });
      for await (const batch of opened.flows) rec.add(batch);
      inputs.push(statSync(file).isFile() ? inputFile(file, relative(process.cwd(), resolve(file)) || file) : { file, bytes: 0, sha256: '' });
    }
  }
  rec.flush();
  let views = rec.windows();
  if (o.baselineOnly) views = views.filter((w) => w.learning);
  if (views.length === 0) throw new PipelineError('config_invalid', `no windows to learn from in ${o.data ?? o.inputs.join(', ')}${o.baselineOnly ? ' inside the conduits\' baselines (drop --baseline-only?)' : ''}; check the inputs and the site's zones`);
  const nets = await trainModels(views, W, o.settings);
  const conduits = [...new Set(views.map((w) => w.conduit))].sort();
  const edges = new Set<string>();
  for (const w of views) for (const e of w.edges) edges.add(e.edge);
  const from = Math.min(...views.map((w) => w.windowStart));
  const to = Math.max(...views.map((w) => w.windowEnd));
  const card = await saveModel(root, name, nets, {
    featureSpec: featureSpec(W, o.settings.history),
    site: { file: o.sitePath, windowMs: W, productionCycleMs: site.productionCycle },
    baseline: { from: new Date(from).toISOString(), to: new Date(to).toISOString(), windows: views.length, conduits, edges: edges.size, source, inputs },
    seed: o.settings.seed,
    settings: o.settings,
    backend: backendText(backend),
    code: codeVersion(),
    trainedAt: new Date(o.clock.now()).toISOString(),
    trainSeconds: Math.round((performance.now() - started) / 10) / 100,
  });
  return { card, dir: resolve(root, name, String(card.version)), windows: views.length };
};

export const runTrainCommand = async (v: Record<string, unknown>, inputs: string[], clock: Clock): Promise<number> => {
  if (typeof v.site !== 'string') throw usageError('train', 'Missing --site: the site config the models are trained for, e.g. --site examples/lemay/site.yaml.');
  if (typeof v.out !== 'string' || basename(v.out) === '' || v.out.endsWith('/')) throw usageError('train', 'Missing --out DIR/NAME: where the model goes, e.g. --out conduitwatch-models/lemay (version 1, 2, … under it).');
  if (inputs.length === 0 && typeof v.data !== 'string') throw usageError('train', 'No inputs: name baseline pcap/flow files, or --data DIR to train on the flows of a store.');
  if (inputs.length > 0 && typeof v.data === 'string') throw usageError('train', 'Name input files or --data, not both.');
  const backend = typeof v.backend === 'string' ? v.backend : 'cpu';
  if (!BACKEND_CHOICES.includes(backend as BackendChoice)) throw usageError('train', `--backend is one of ${BACKEND_CHOICES.join(', ')}, not "${backend}".`);
  const run = await runTrain({
    inputs, sitePath: v.site, out: v.out, settings: trainSettings(v), backend: backend as BackendChoice, clock,
    ...(typeof v.data === 'string' ? { data: v.data } : {}), ...(typeof v.run === 'string' ? { runId: v.run } : {}),
    ...(typeof v.mapping === 'string' ? { mapping: v.mapping } : {}), ...(v['baseline-only'] === true ? { baselineOnly: true } : {}),
  });
  if (v.json === true) {
    process.stdout.write(JSON.stringify(run.card, null, 2) + '\n');
    return 0;
  }
  const c = run.card;
  const lines = [`trained ${refText(c.name, c.version)} (id ${c.id}) on ${run.windows} windows of ${c.baseline.conduits.length} conduit(s), ${c.baseline.from} → ${c.baseline.to}, in ${c.trainSeconds} s on ${c.backend}`];
  for (const k of c.kinds) {
    const n = c.models[k]!;
    lines.push(`  ${k}: ${n.parameters} parameters, ${n.training.trainSamples} training samples, loss ${n.training.finalLoss}${n.training.heldOutLoss !== null ? `, held-out ${n.training.heldOutLoss}` : ' (calibrated in-sample: too few windows to hold out)'}; baseline scores p99 ${n.calibration.scores.p99}, ${n.calibration.scores.atOrAbove08} of ${n.calibration.scores.of} at ≥ 0.8`);
  }
  lines.push(`  card: ${resolve(run.dir, 'card.json')}`);
  lines.push(`  use it: ${selfCommand()} replay INPUTS… --site ${v.site} --model ${refText(c.name, c.version)}${dirname(v.out) !== 'conduitwatch-models' ? ` --models ${dirname(v.out)}` : ''}`);
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
};
