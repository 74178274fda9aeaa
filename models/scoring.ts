/**
 * From a model's error to a score, calibrated on the baseline with the statistical detectors'
 * shared mapping (detectors/calibration.ts):
 *
 * - each feature's residual r = log1p(seen) − log1p(expected) is divided by that feature's
 *   residual spread σ on the baseline (held-out windows, floored at `minResidual` log units);
 * - the largest |r|/σ of the F features is corrected for having looked at F of them (the chance
 *   that any one of F Gaussian residuals is that far out: F × its two-sided tail), giving z;
 * - score = zToScore(z): z 5 → 0.8, the default alert threshold, as for every other detector.
 *
 * The explanation names the features that deviated most, with expected (and its ±1σ band) and seen.
 */
import { lnTwoSidedTail, round, tailToZ, zToScore } from '../detectors/calibration.ts';
import { durationText, num } from '../detectors/detector.ts';
import type { FeatureDef } from './features.ts';

/** Residual spread per feature, and the floor it was clamped to. */
export interface Calibration {
  sigma: number[];
  minResidual: number;
  /**
   * Factor the measured spreads were widened by so that the baseline's 99th-percentile sample
   * scores z = BASELINE_Z (heavy-tailed traffic: a Gaussian spread alone alerts on its quiet gaps);
   * 1 when the baseline was already that calm. `sigma` includes it.
   */
  tailScale: number;
  /** Samples the spread was measured on, and whether they were held out of training. */
  samples: number;
  heldOut: boolean;
  /** Baseline scores: quantiles and how many reached the alert threshold 0.8. */
  scores: { p50: number; p90: number; p99: number; max: number; atOrAbove08: number; of: number };
}

export interface FeatureDeviation {
  name: string;
  z: number;
  seen: number;
  expected: number;
  /** expected ± 1 σ, in the feature's own unit. */
  low: number;
  high: number;
}

export interface Judgement {
  z: number;
  score: number;
  /** Features by decreasing |z|. */
  features: FeatureDeviation[];
}

/** Corrected z of the largest of F per-feature deviations. */
export const combinedZ = (zmax: number, features: number): number =>
  zmax > 0 ? tailToZ(Math.min(0, lnTwoSidedTail(zmax) + Math.log(features))) : 0;

/**
 * Judges one sample: `seenLog` and `expectedLog` are log1p values per feature, `raw` the seen
 * values themselves (for the text).
 */
export const judge = (seenLog: ArrayLike<number>, expectedLog: ArrayLike<number>, raw: readonly number[], cal: Calibration, defs: readonly FeatureDef[]): Judgement => {
  const features: FeatureDeviation[] = [];
  let zmax = 0;
  for (let j = 0; j < defs.length; j += 1) {
    const s = cal.sigma[j]!;
    const r = seenLog[j]! - expectedLog[j]!;
    const z = Math.abs(r) / s;
    if (z > zmax) zmax = z;
    const e = expectedLog[j]!;
    features.push({ name: defs[j]!.name, z, seen: raw[j]!, expected: Math.max(0, Math.expm1(e)), low: Math.max(0, Math.expm1(e - s)), high: Math.max(0, Math.expm1(e + s)) });
  }
  features.sort((a, b) => b.z - a.z || (a.name < b.name ? -1 : 1));
  const z = combinedZ(zmax, defs.length);
  return { z, score: zToScore(z), features };
};

const valueText = (v: number, unit: FeatureDef['unit']): string => (unit === 'ms' ? durationText(v) : unit === 'B' ? `${num(v)} B` : num(v));

/** 'requests 18 expected (15–22), 36 seen; starts 18 expected (16–20), 36 seen (autoencoder lemay@2, z 7.1 over 10 features)' */
export const explain = (j: Judgement, defs: readonly FeatureDef[], what: string, max = 3): string => {
  const unit = new Map(defs.map((d) => [d.name, d.unit]));
  const shown = j.features.filter((f, i) => i === 0 || f.z >= 2).slice(0, max);
  const parts = shown.map((f) => {
    const u = unit.get(f.name) ?? '';
    return `${f.name} ${valueText(f.expected, u)} expected (${valueText(f.low, u)}–${valueText(f.high, u)}), ${valueText(f.seen, u)} seen`;
  });
  return `${parts.join('; ')} (${what}, z ${num(j.z)} over ${defs.length} features)`;
};

/** Finding features: z, and seen/expected/z of the features shown. */
export const judgementFeatures = (j: Judgement, max = 3): Record<string, number> => {
  const out: Record<string, number> = { z: round(j.z, 3) };
  for (const f of j.features.slice(0, max)) {
    out[`${f.name}_seen`] = round(f.seen, 3);
    out[`${f.name}_expected`] = round(f.expected, 3);
    out[`${f.name}_z`] = round(f.z, 3);
  }
  return out;
};

/** The z the baseline's 99th-percentile sample is given (score 0.44): the baseline is normal. */
export const BASELINE_Z = 4;
/** The baseline quantile given BASELINE_Z: its largest sample. */
export const BASELINE_Q = 1;

/**
 * The factor to widen the spreads by so that the 99th percentile of the baseline samples'
 * largest per-feature |r|/σ (`zmaxes`) gives combined z = BASELINE_Z; at least 1.
 */
export const tailScale = (zmaxes: readonly number[], features: number): number => {
  if (zmaxes.length === 0) return 1;
  const s = [...zmaxes].sort((a, b) => a - b);
  const q = s[Math.min(s.length - 1, Math.floor(BASELINE_Q * s.length))]!;
  const target = tailToZ(lnTwoSidedTail(BASELINE_Z) - Math.log(features));
  return round(Math.max(1, q / target), 4);
};

/** Largest per-feature |r|/σ of one sample. */
export const maxZ = (resid: readonly number[], sigma: readonly number[]): number => {
  let m = 0;
  for (let j = 0; j < resid.length; j += 1) m = Math.max(m, Math.abs(resid[j]!) / sigma[j]!);
  return m;
};

/** Residual spread per feature: the RMS of each column, floored. */
export const residualSigma = (resid: readonly (readonly number[])[], width: number, floor: number): number[] => {
  const s = new Array<number>(width).fill(0);
  for (const r of resid) for (let j = 0; j < width; j += 1) s[j]! += r[j]! * r[j]!;
  return s.map((v) => round(Math.max(floor, resid.length > 0 ? Math.sqrt(v / resid.length) : 0), 6));
};

/** p50/p90/p99/max of baseline scores and how many reached 0.8. */
export const scoreSummary = (scores: readonly number[]): Calibration['scores'] => {
  const s = [...scores].sort((a, b) => a - b);
  const q = (p: number): number => (s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))]! : 0);
  return { p50: q(0.5), p90: q(0.9), p99: q(0.99), max: s.length ? s[s.length - 1]! : 0, atOrAbove08: s.filter((x) => x >= 0.8).length, of: s.length };
};
