/**
 * `conduitwatch models list|show|diff`: what is in a model store, one model card in words, and
 * what differs between two versions (feature spec, baseline, settings, training metrics,
 * calibration per feature). `models eval` is in cli/models-eval.ts.
 */
import { DEFAULT_MODEL_ROOT, modelNames, parseRef, readCard, refText, resolveRef, versionsOf, type ModelCard } from '../models/artifact.ts';
import { CONDUIT_FEATURES, EDGE_FEATURES } from '../models/features.ts';
import type { ModelKind } from '../models/train.ts';
import { usageError } from './args.ts';

const rootOf = (v: Record<string, unknown>): string => (typeof v.models === 'string' ? v.models : DEFAULT_MODEL_ROOT);

const cardOf = (root: string, text: string): ModelCard => readCard(resolveRef(root, parseRef(text)).dir);

const featureNames = (k: ModelKind): string[] => (k === 'autoencoder' ? CONDUIT_FEATURES : EDGE_FEATURES).map((f) => f.name);

/** One line per version. */
export const listText = (root: string): string => {
  const rows: string[][] = [['model', 'id', 'kinds', 'windows', 'baseline', 'trained']];
  for (const name of modelNames(root)) {
    for (const v of versionsOf(root, name)) {
      const c = readCard(resolveRef(root, { name, version: v }).dir);
      rows.push([refText(name, v), c.id, c.kinds.join('+'), String(c.baseline.windows), `${c.baseline.from} → ${c.baseline.to}`, c.trainedAt]);
    }
  }
  if (rows.length === 1) return `no models in ${root}; train one with: conduitwatch train INPUTS… --site site.yaml --out ${root}/NAME\n`;
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(w[i]!)).join('  ').trimEnd()).join('\n') + '\n';
};

/** A model card in words. */
export const showText = (c: ModelCard): string => {
  const out = [
    `${refText(c.name, c.version)}  id ${c.id}`,
    `  feature spec ${c.featureSpecHash}: window ${c.featureSpec.windowMs} ms, history ${c.featureSpec.history} windows, ${c.featureSpec.transform}`,
    `  baseline: ${c.baseline.from} → ${c.baseline.to}, ${c.baseline.windows} conduit-windows, ${c.baseline.conduits.length} conduit(s) (${c.baseline.conduits.join(', ')}), ${c.baseline.edges} edges, from ${c.baseline.source}`,
    ...c.baseline.inputs.map((i) => `    ${i.file}  ${i.bytes} B  sha256 ${i.sha256}`),
    `  site: ${c.site.file} (window ${c.site.windowMs} ms, production cycle ${c.site.productionCycleMs} ms)`,
    `  trained ${c.trainedAt} in ${c.trainSeconds} s on ${c.backend}, seed ${c.seed}, ${c.settings.epochs} epochs, batch ${c.settings.batchSize}, learning rate ${c.settings.learningRate}`,
    `  code: ${c.code.package} ${c.code.version}${c.code.commit ? ` (${c.code.commit})` : ''}`,
  ];
  for (const k of c.kinds) {
    const n = c.models[k]!;
    const shape = n.shape.kind === 'autoencoder' ? `dense ${n.shape.inputs}→${n.shape.hidden}→${n.shape.code}→${n.shape.hidden}→${n.shape.outputs}` : `GRU(${n.shape.units}) over ${n.shape.history}×${n.shape.features} → dense ${n.shape.features}`;
    out.push(`  ${k}: ${shape}, ${n.parameters} parameters (${n.weightBytes} B, sha256 ${n.weightsSha256.slice(0, 16)}…)`);
    out.push(`    training: ${n.training.trainSamples} samples, final loss ${n.training.finalLoss}, held-out loss ${n.training.heldOutLoss ?? 'n/a (in-sample calibration)'}`);
    out.push(`    calibration on ${n.calibration.samples} ${n.calibration.heldOut ? 'held-out' : 'in-sample'} samples, residual σ (log1p) per feature, floor ${n.calibration.minResidual}, widened ×${n.calibration.tailScale} for the baseline's tail:`);
    out.push(`      ${featureNames(k).map((f, i) => `${f} ${n.calibration.sigma[i]}`).join(', ')}`);
    const s = n.calibration.scores;
    out.push(`    baseline scores: p50 ${s.p50}, p90 ${s.p90}, p99 ${s.p99}, max ${s.max}; ${s.atOrAbove08} of ${s.of} at ≥ 0.8`);
  }
  return out.join('\n') + '\n';
};

type Flat = Map<string, string>;

const flatten = (v: unknown, path: string, out: Flat): void => {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    for (const k of Object.keys(v as object).sort()) flatten((v as Record<string, unknown>)[k], path ? `${path}.${k}` : k, out);
  } else {
    out.set(path, JSON.stringify(v));
  }
};

/** Names the per-feature arrays (sigma, scaler mean/std) so a diff says which feature moved. */
const named = (c: ModelCard): unknown => {
  const models: Record<string, unknown> = {};
  for (const k of c.kinds) {
    const n = c.models[k]!;
    const f = featureNames(k);
    const byName = (xs: readonly number[]) => Object.fromEntries(f.map((name, i) => [name, xs[i]]));
    models[k] = {
      ...n,
      scaler: { mean: byName(n.scaler.mean), std: byName(n.scaler.std) },
      calibration: { ...n.calibration, sigma: byName(n.calibration.sigma) },
      training: { ...n.training, loss: undefined },
    };
  }
  return { ...c, models, name: undefined, version: undefined };
};

/** Lines 'path: a → b' for every field that differs (training-curve samples left out). */
export const diffText = (a: ModelCard, b: ModelCard): string => {
  const fa: Flat = new Map();
  const fb: Flat = new Map();
  flatten(named(a), '', fa);
  flatten(named(b), '', fb);
  const keys = [...new Set([...fa.keys(), ...fb.keys()])].sort();
  const lines = [`${refText(a.name, a.version)} → ${refText(b.name, b.version)}`];
  if (a.featureSpecHash !== b.featureSpecHash) lines.push(`  FEATURE SPEC DIFFERS (${a.featureSpecHash} → ${b.featureSpecHash}): scores are not comparable`);
  for (const k of keys) {
    const x = fa.get(k);
    const y = fb.get(k);
    if (x !== y) lines.push(`  ${k}: ${x ?? '(none)'} → ${y ?? '(none)'}`);
  }
  if (lines.length === 1) lines.push('  identical');
  return lines.join('\n') + '\n';
};

export const runModelsCommand = async (v: Record<string, unknown>, p: string[]): Promise<number> => {
  const [sub, ...args] = p;
  const root = rootOf(v);
  switch (sub) {
    case 'list':
      process.stdout.write(v.json === true ? JSON.stringify(modelNames(root).flatMap((n) => versionsOf(root, n).map((ver) => readCard(resolveRef(root, { name: n, version: ver }).dir))), null, 2) + '\n' : listText(root));
      return 0;
    case 'show': {
      if (args.length !== 1) throw usageError('models', 'models show takes one model: NAME or NAME@VERSION.');
      const c = cardOf(root, args[0]!);
      process.stdout.write(v.json === true ? JSON.stringify(c, null, 2) + '\n' : showText(c));
      return 0;
    }
    case 'diff': {
      if (args.length !== 2) throw usageError('models', 'models diff takes two models, e.g. models diff lemay@1 lemay@2.');
      process.stdout.write(diffText(cardOf(root, args[0]!), cardOf(root, args[1]!)));
      return 0;
    }
    case 'eval':
      return (await import('./models-eval.ts')).runModelsEvalCommand(v, args);
    default:
      throw usageError('models', `models takes list, show, diff or eval${sub ? `, not "${sub}"` : ''}.`);
  }
};
