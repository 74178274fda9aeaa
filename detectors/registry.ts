/**
 * Builds the detectors an engine runs from a registry (a list of `DetectorDef`s handed in by the
 * wiring, cli/registry.ts): which ones, each with its settings parsed by its own schema, created
 * in name order and awaited (a detector may need a backend to be ready first). Knows no detector
 * by name. Every mistake is a `config_invalid` error in plain words: the detector, the setting,
 * what is wrong and the valid names or keys.
 */
import { PipelineError } from '../core/errors.ts';
import { issueText } from '../core/zod-text.ts';
import { byString, type DetectorContext, type DetectorDef, type WindowDetector } from './detector.ts';

/** Which detectors to run and their raw settings (from site.yaml, an eval spec or a snapshot). */
export interface DetectorSelection {
  /** Detector names; default every detector of the registry. */
  detectors?: readonly string[];
  /** Raw settings by detector name, each parsed by that detector's schema; absent = its defaults. */
  config?: Readonly<Record<string, unknown>>;
}

/** Parses one detector's raw settings, or throws `config_invalid` naming the detector and each problem. */
export const parseDetectorConfig = (def: DetectorDef, raw: unknown): unknown => {
  const res = def.config.safeParse(raw ?? {});
  if (res.success) return res.data;
  const lines = res.error.issues.map((iss) => issueText(iss, def.config));
  throw new PipelineError('config_invalid', `detector "${def.name}" settings are invalid:\n  ${lines.join('\n  ')}`, { detector: def.name, problems: lines });
};

const quoted = (xs: readonly string[]): string => xs.map((n) => `"${n}"`).join(', ');

/** Checks a selection against the registry without creating anything: names and every detector's settings. */
export const checkSelection = (defs: readonly DetectorDef[], sel: DetectorSelection): Map<string, unknown> => {
  const byName = new Map(defs.map((d) => [d.name, d]));
  const known = [...byName.keys()].sort(byString);
  const names = sel.detectors ?? known;
  const unknown = names.filter((n) => !byName.has(n));
  if (unknown.length > 0) throw new PipelineError('config_invalid', `unknown detector(s) ${quoted(unknown)}; known detectors: ${known.join(', ')}`, { unknown });
  const cfg = sel.config ?? {};
  if (typeof cfg !== 'object' || cfg === null || Array.isArray(cfg)) throw new PipelineError('config_invalid', `detector settings must be a map from detector name to its settings, e.g. { rate: { minWindows: 5 } }; known detectors: ${known.join(', ')}`);
  const stray = Object.keys(cfg).filter((n) => !byName.has(n));
  if (stray.length > 0) throw new PipelineError('config_invalid', `settings for unknown detector(s) ${quoted(stray)}; known detectors: ${known.join(', ')}`, { unknown: stray });
  const parsed = new Map<string, unknown>();
  for (const n of [...new Set(Object.keys(cfg).concat(names))].sort(byString)) parsed.set(n, parseDetectorConfig(byName.get(n)!, cfg[n]));
  return parsed;
};

/** Creates the selected detectors, in name order, each with its parsed settings. */
export const createDetectors = async (defs: readonly DetectorDef[], sel: DetectorSelection, ctx: DetectorContext): Promise<WindowDetector[]> => {
  const parsed = checkSelection(defs, sel);
  const byName = new Map(defs.map((d) => [d.name, d]));
  const names = [...new Set(sel.detectors ?? [...byName.keys()])].sort(byString);
  const out: WindowDetector[] = [];
  for (const n of names) {
    const det = await byName.get(n)!.create(parsed.get(n), ctx);
    if (det.name !== n) throw new PipelineError('config_invalid', `detector "${n}" was created with the name "${det.name}"; a registry entry must create the detector it names`);
    out.push(det);
  }
  return out;
};
