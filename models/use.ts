/**
 * Which trained models an engine runs: `--model NAME[@VERSION]` (repeatable) with `--models DIR`
 * and `--backend`. Each model is pinned to its exact version here, before any detector is
 * created, so the engine's settings — and so its snapshots on the state topic — name
 * `NAME@VERSION`, never "the latest", and never carry weights.
 */
import { PipelineError } from '../core/errors.ts';
import type { DetectorSelection } from '../detectors/registry.ts';
import { checkSpec, DEFAULT_MODEL_ROOT, parseRef, readCard, refText, resolveRef } from './artifact.ts';
import type { BackendChoice } from './backend.ts';

export interface ModelUse {
  /** NAME or NAME@VERSION, each. */
  refs: readonly string[];
  /** The model store; default conduitwatch-models. */
  dir?: string;
  backend?: BackendChoice;
}

/** The selection plus one detector per network of each named model, with its pinned settings. */
export const modelDetectorSetup = (use: ModelUse, base: DetectorSelection, windowMs: number): DetectorSelection => {
  const dir = use.dir ?? DEFAULT_MODEL_ROOT;
  const names = [...(base.detectors ?? [])];
  const config: Record<string, unknown> = { ...base.config };
  const by = new Map<string, string>();
  for (const text of use.refs) {
    const r = resolveRef(dir, parseRef(text));
    const card = readCard(r.dir);
    checkSpec(card, windowMs);
    const ref = refText(r.name, r.version);
    for (const kind of card.kinds) {
      const other = by.get(kind);
      if (other !== undefined) throw new PipelineError('config_invalid', `models ${other} and ${ref} both have a ${kind} network; an engine runs one model per kind: name one of them`, { kind });
      by.set(kind, ref);
      if (!names.includes(kind)) names.push(kind);
      config[kind] = { model: ref, dir, ...(use.backend ? { backend: use.backend } : {}) };
    }
  }
  return { detectors: names, config };
};
