/**
 * `--compare OLD.json`: what changed between two results of the same evaluation — attacks newly
 * detected or missed, Δ precision / recall / F1, Δ false alerts per conduit per day and per
 * detector alert counts. Pure and deterministic (sorted lists, rounded deltas).
 */
import { readFileSync } from 'node:fs';
import { PipelineError } from '../../core/errors.ts';
import { round4 } from './metrics.ts';
import type { EvalResult } from './run.ts';

export interface Change {
  old: number | null;
  new: number | null;
  /** new − old; null when either is null. */
  delta: number | null;
}

export interface EvalDiff {
  /** The new result's evaluation name. */
  name: string;
  /** The old result: its evaluation name and, when given, the file it was read from. */
  old: { name: string; file?: string };
  attacks: {
    newlyDetected: string[];
    newlyMissed: string[];
    /** In the new result only / in the old result only (the labels or inputs changed). */
    added: string[];
    removed: string[];
  };
  precision: Change;
  recall: Change;
  f1: Change;
  falseAlertsPerDay: Change;
  /** Per conduit false alerts per day, only conduits whose count or rate changed. */
  conduits: (Change & { conduit: string })[];
  /** Per detector alert counts, only detectors whose count changed. */
  detectors: (Change & { detector: string })[];
  /** Anything got worse: an attack newly missed, or more false alerts on some conduit. */
  regressed: boolean;
}

const change = (a: number | null | undefined, b: number | null | undefined): Change => {
  const o = a ?? null;
  const n = b ?? null;
  return { old: o, new: n, delta: o === null || n === null ? null : round4(n - o) };
};

const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

const attackKey = (a: { input: string; id: string }): string => `${a.input} ${a.id}`;

/** Compares two results; `oldR` is usually the committed file (`oldFile` names it). */
export const diffResults = (oldR: EvalResult, newR: EvalResult, oldFile?: string): EvalDiff => {
  const before = new Map(oldR.attacks.map((a) => [attackKey(a), a.detected]));
  const after = new Map(newR.attacks.map((a) => [attackKey(a), a.detected]));
  const keys = [...new Set([...before.keys(), ...after.keys()])].sort(byString);
  const attacks = { newlyDetected: [] as string[], newlyMissed: [] as string[], added: [] as string[], removed: [] as string[] };
  for (const k of keys) {
    const b = before.get(k);
    const a = after.get(k);
    if (b === undefined) attacks.added.push(k);
    else if (a === undefined) attacks.removed.push(k);
    else if (a && !b) attacks.newlyDetected.push(k);
    else if (!a && b) attacks.newlyMissed.push(k);
  }
  const oc = new Map(oldR.summary.falseAlerts.conduits.map((c) => [c.conduit, c]));
  const nc = new Map(newR.summary.falseAlerts.conduits.map((c) => [c.conduit, c]));
  const conduits = [...new Set([...oc.keys(), ...nc.keys()])].sort(byString)
    .filter((c) => oc.get(c)?.alerts !== nc.get(c)?.alerts || oc.get(c)?.perDay !== nc.get(c)?.perDay)
    .map((c) => ({ conduit: c, ...change(oc.get(c)?.perDay ?? (oc.has(c) ? null : 0), nc.get(c)?.perDay ?? (nc.has(c) ? null : 0)) }));
  const od = new Map(oldR.summary.detectors.map((d) => [d.detector, d.alerts]));
  const nd = new Map(newR.summary.detectors.map((d) => [d.detector, d.alerts]));
  const detectors = [...new Set([...od.keys(), ...nd.keys()])].sort(byString)
    .filter((d) => (od.get(d) ?? 0) !== (nd.get(d) ?? 0))
    .map((d) => ({ detector: d, ...change(od.get(d) ?? 0, nd.get(d) ?? 0) }));
  const moreFalse = [...nc.values()].some((c) => c.alerts > (oc.get(c.conduit)?.alerts ?? 0));
  return {
    name: newR.name,
    old: { name: oldR.name, ...(oldFile !== undefined ? { file: oldFile } : {}) },
    attacks,
    precision: change(oldR.summary.windows.precision, newR.summary.windows.precision),
    recall: change(oldR.summary.windows.recall, newR.summary.windows.recall),
    f1: change(oldR.summary.windows.f1, newR.summary.windows.f1),
    falseAlertsPerDay: change(oldR.summary.falseAlerts.perDay, newR.summary.falseAlerts.perDay),
    conduits,
    detectors,
    regressed: attacks.newlyMissed.length > 0 || moreFalse,
  };
};

/** Reads a result file written by `conduitwatch eval --out`. */
export const loadResult = (file: string): EvalResult => {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new PipelineError('input_invalid', `Cannot read result ${file}: ${(e as Error).message}. Pass a file written by 'conduitwatch eval --out'.`, { file }, { cause: e });
  }
  const r = doc as Partial<EvalResult> | null;
  if (typeof r !== 'object' || r === null || !Array.isArray(r.attacks) || typeof r.summary !== 'object' || r.summary === null) {
    throw new PipelineError('input_invalid', `${file} is not an eval result (no "attacks" list or "summary"); pass a file written by 'conduitwatch eval --out'.`, { file });
  }
  return r as EvalResult;
};
