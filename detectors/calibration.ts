/**
 * One mapping from a deviation to a score, shared by every statistical detector, so that the same
 * score means about the same rarity whichever detector gave it.
 *
 * Each detector first expresses its deviation as a z-like number: how many (floored) standard
 * deviations the window sits from what was learned. Then
 *
 *     score = 1 − exp(−(z / Z_SCALE)²),   Z_SCALE = Z_AT_ALERT / √(ln 5)
 *
 * so that z = Z_AT_ALERT (5) maps to exactly 0.8, the default `detection.alertThreshold`.
 * Some points: z 1 → 0.06, 2 → 0.23, 3 → 0.44, 4 → 0.64, 5 → 0.80, 6 → 0.90, 8 → 0.98.
 * The square keeps ordinary wobble (z ≤ 2) near 0 and saturates smoothly; a z of 5 is a one in
 * a few million event under a Gaussian, and real traffic is heavier-tailed, so 0.8 is a sensible
 * default line. Novelty skips the mapping: something never seen is 1.0 by definition.
 */

/** The z at which a score reaches 0.8 (the default alert threshold). */
export const Z_AT_ALERT = 5;

const Z_SCALE = Z_AT_ALERT / Math.sqrt(Math.log(5));

/** Maps a non-negative deviation z to a score in [0, 1). NaN and negatives give 0. */
export const zToScore = (z: number): number => {
  if (!(z > 0)) return 0;
  const u = (z / Z_SCALE) ** 2;
  // 1 − e^−u ≤ u: below 4e-5 the score rounds to 0 at 4 digits (< 0.4 of the last one), without the exp.
  if (u < 4e-5) return 0;
  return round(1 - Math.exp(-u));
};

/**
 * ln of the two-sided Gaussian tail P(|Z| > z) = erfc(z / √2), accurate to ~1e-7 relative
 * (Chebyshev fit of erfc, Numerical Recipes §6.2), and finite far into the tail.
 */
export const lnTwoSidedTail = (z: number): number => {
  const x = z / Math.SQRT2;
  const t = 1 / (1 + 0.5 * x);
  const poly = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807
    + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  return Math.log(t) - x * x + poly;
};

/**
 * The z of a Gaussian whose two-sided tail is `p`: what a tail probability is "worth" in standard
 * deviations. `lnP` is ln p, so products of many small probabilities stay exact. p ≥ 1 → 0.
 */
export const tailToZ = (lnP: number): number => {
  if (!(lnP < 0)) return 0;
  let lo = 0;
  let hi = 64;
  for (let i = 0; i < 60; i += 1) {
    const mid = (lo + hi) / 2;
    if (lnTwoSidedTail(mid) > lnP) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
};

/** Score of an event whose tail probability under the baseline is exp(lnP): `zToScore(tailToZ(lnP))`. */
export const tailToScore = (lnP: number): number => zToScore(tailToZ(lnP));

/** Scores at or above this count as agreeing in `ensembleScore`. */
export const AGREE_AT = 0.5;
/** Share of the remaining distance to 1 that each agreeing detector beyond the first adds. */
export const AGREE_BOOST = 0.1;

/**
 * One score per edge and window from every detector's: the largest, raised by `AGREE_BOOST` of
 * the gap to 1 for each further detector that also scored ≥ `AGREE_AT`. Two detectors at 0.7 give
 * 0.73, three give 0.757: agreement moves the ensemble a little, never across the board, and one
 * detector alone is never diluted.
 */
export const ensembleScore = (scores: readonly number[]): number => {
  let max = 0;
  let agree = 0;
  for (const s of scores) {
    if (s > max) max = s;
    if (s >= AGREE_AT) agree += 1;
  }
  let e = max;
  for (let i = 1; i < agree; i += 1) e += AGREE_BOOST * (1 - e);
  return round(e);
};

/** Scores and features are rounded so their JSON is stable and short. */
export const round = (x: number, digits = 4): number => {
  // The same factors as 10 ** digits, without the power on the hot path.
  const f = digits === 4 ? 1e4 : digits === 2 ? 100 : 10 ** digits;
  return Math.round(x * f) / f;
};
