/**
 * `conduitwatch models eval SPEC.yaml…`: is a learned model worth running on this data? For each
 * evaluation spec, trains the models on the spec's own baseline inputs (the traffic the engine
 * learns from, placed on the same timeline; seeded, on the cpu backend), then runs the evaluation
 * twice — the spec's detectors alone, and with the models beside them — and says what the models
 * changed: attacks newly detected or missed, window precision / recall / F1, false alerts per
 * conduit per day, and the models' own alerts near an attack and false.
 *
 * Deterministic: the same spec, data and code give the same comparison (training time is printed,
 * never written to the result).
 */
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadSite, SiteMap } from '../core/config.ts';
import { refText, saveModel, type ModelCard } from '../models/artifact.ts';
import { backendText, useBackend } from '../models/backend.ts';
import { featureSpec } from '../models/features.ts';
import { WindowRecorder } from '../models/record.ts';
import { DEFAULT_TRAIN, trainModels, type TrainSettings } from '../models/train.ts';
import { usageError } from './args.ts';
import { diffResults, type EvalDiff } from './eval/diff.ts';
import { renderDiff, table } from './eval/report.ts';
import { evalSite, placeSegment, readAll, resultJson, runEval, type EvalResult } from './eval/run.ts';
import { loadEvalSpec, type LoadedSpec } from './eval/spec.ts';
import { codeVersion, trainSettings } from './train.ts';

export interface ModelsEval {
  name: string;
  model: { ref: string; id: string; kinds: string[]; windows: number; featureSpecHash: string };
  without: EvalResult['summary'];
  with: EvalResult['summary'];
  compare: EvalDiff;
  /** Alerts of the model detectors: all, near an attack, false. */
  modelAlerts: { detector: string; alerts: number; nearAttack: number; false: number }[];
}

const MODEL_DETECTOR_NAMES = new Set(['autoencoder', 'forecast']);

/** Trains on the spec's baseline inputs, as the evaluation places them; returns the card. */
export const trainForSpec = async (loaded: LoadedSpec, root: string, settings: TrainSettings): Promise<ModelCard> => {
  const { spec, dataRoot } = loaded;
  const site = evalSite(loadSite(loaded.sitePath), spec.window);
  const siteMap = new SiteMap(site);
  const W = site.detection.window;
  const rec = new WindowRecorder(siteMap);
  let end = -Infinity;
  for (const input of spec.baseline) {
    const path = resolve(dataRoot, input.file);
    const seg = placeSegment(input, path, await readAll(path, W), W, end);
    end = seg.to;
    rec.add(seg.records);
  }
  rec.flush();
  const views = rec.windows();
  const nets = await trainModels(views, W, settings);
  const from = Math.min(...views.map((w) => w.windowStart));
  const to = Math.max(...views.map((w) => w.windowEnd));
  const edges = new Set<string>();
  for (const w of views) for (const e of w.edges) edges.add(e.edge);
  return saveModel(root, spec.name, nets, {
    featureSpec: featureSpec(W, settings.history),
    site: { file: spec.site, windowMs: W, productionCycleMs: site.productionCycle },
    baseline: { from: new Date(from).toISOString(), to: new Date(to).toISOString(), windows: views.length, conduits: [...new Set(views.map((w) => w.conduit))].sort(), edges: edges.size, source: `eval ${spec.name} baseline`, inputs: spec.baseline.map((b) => ({ file: b.file, bytes: 0, sha256: '' })) },
    seed: settings.seed, settings, backend: 'cpu', code: codeVersion(), trainedAt: new Date(0).toISOString(), trainSeconds: 0,
  });
};

/** The comparison of a result without the models and one with them. */
export const compareResults = (name: string, card: ModelCard, without: EvalResult, withResult: EvalResult): ModelsEval => ({
  name,
  model: { ref: refText(card.name, card.version), id: card.id, kinds: card.kinds, windows: card.baseline.windows, featureSpecHash: card.featureSpecHash },
  without: without.summary, with: withResult.summary, compare: diffResults(without, withResult),
  modelAlerts: withResult.summary.detectors.filter((d) => MODEL_DETECTOR_NAMES.has(d.detector)),
});

/** The evaluation with the models beside the spec's detectors (cpu), trained in `root` first. */
export const runWithModels = async (loaded: LoadedSpec, root: string, settings: TrainSettings): Promise<{ card: ModelCard; result: EvalResult }> => {
  await useBackend('cpu');
  const card = await trainForSpec(loaded, root, settings);
  return { card, result: await runEval(loaded, { refs: [refText(card.name, card.version)], dir: root, backend: 'cpu' }) };
};

export const evalWithModels = async (loaded: LoadedSpec, settings: TrainSettings, keep?: string): Promise<{ result: ModelsEval; withResult: EvalResult; trainSeconds: number }> => {
  await useBackend('cpu');
  const root = keep ?? mkdtempSync(join(tmpdir(), 'cw-models-eval-'));
  try {
    const t0 = performance.now();
    const { card, result: withResult } = await runWithModels(loaded, root, settings);
    const trainSeconds = (performance.now() - t0) / 1000;
    const without = await runEval(loaded);
    return { result: compareResults(loaded.spec.name, card, without, withResult), withResult, trainSeconds };
  } finally {
    if (keep === undefined) rmSync(root, { recursive: true, force: true });
  }
};

const n = (x: number | null | undefined, d = 4): string => (x === null || x === undefined ? '-' : String(Math.round(x * 10 ** d) / 10 ** d));

/** One row per data set: what the models changed. */
export const summaryTable = (rs: readonly ModelsEval[]): string => table(
  ['data set', 'attacks detected', 'window recall', 'window precision', 'false alerts/conduit/day (max)', 'model alerts (near attack / false)'],
  rs.map((r) => [
    r.name,
    `${r.without.detected}/${r.without.attacks} → ${r.with.detected}/${r.with.attacks}`,
    `${n(r.without.windows.recall)} → ${n(r.with.windows.recall)}`,
    `${n(r.without.windows.precision)} → ${n(r.with.windows.precision)}`,
    `${n(r.without.falseAlerts.maxPerConduitPerDay, 2)} → ${n(r.with.falseAlerts.maxPerConduitPerDay, 2)}`,
    r.modelAlerts.length ? r.modelAlerts.map((d) => `${d.detector} ${d.alerts} (${d.nearAttack} / ${d.false})`).join(', ') : 'none',
  ]),
);

export const runModelsEvalCommand = async (v: Record<string, unknown>, specs: string[]): Promise<number> => {
  if (specs.length === 0) throw usageError('models', 'models eval takes one or more eval specs, e.g. models eval evals/lemay.yaml evals/but-mms.yaml.');
  const settings = { ...DEFAULT_TRAIN, ...trainSettings(v) };
  const out: ModelsEval[] = [];
  for (const file of specs) {
    const loaded = loadEvalSpec(file, typeof v['data-root'] === 'string' ? v['data-root'] : undefined);
    const { result, withResult, trainSeconds } = await evalWithModels(loaded, settings, typeof v.keep === 'string' ? v.keep : undefined);
    out.push(result);
    if (typeof v.out === 'string') {
      mkdirSync(v.out, { recursive: true });
      writeFileSync(join(v.out, `${result.name}.json`), resultJson(withResult));
      writeFileSync(join(v.out, `${result.name}.compare.json`), resultJson(result));
    }
    if (v.json !== true) {
      process.stdout.write(`models eval ${result.name}: model ${result.model.ref} (${result.model.kinds.join('+')}, id ${result.model.id}) trained on ${result.model.windows} baseline windows, trained and evaluated in ${trainSeconds.toFixed(1)} s on ${backendText({ name: 'cpu', skipped: [] })}`);
      process.stdout.write(renderDiff(result.compare).replace('compared with the old result', 'with the models, compared with without'));
    }
  }
  process.stdout.write(v.json === true ? resultJson(out) : `\n${summaryTable(out)}`);
  return 0;
};
