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
  const s = 1 - Math.exp(-((z / Z_SCALE) ** 2));
  return round(s);
};

/** Scores and features are rounded so their JSON is stable and short. */
export const round = (x: number, digits = 4): number => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};
