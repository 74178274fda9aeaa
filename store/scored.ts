/**
 * What a scored batch (the detection engine's scores, series and alerts) stores, for every path that
 * stores one (replay, the serve sink): `windows` gets every conduit's `activity` row and the scores
 * at or above the floor or the alert threshold (`isStoredScore`), `series` the engine's `EdgeSeries`
 * as given (one per edge-window worth drawing: the engine decides, detectors/engine.ts), `alerts`
 * all. See store/README.md, "What windows and series hold".
 */
import { ACTIVITY_DETECTOR, isStoredScore, SCORE_FLOOR, type Alert, type EdgeSeries, type WindowScore } from '../core/records.ts';

/** What the detection engine returns per batch (detectors/engine.ts `ScoredBatch`). */
export interface ScoredInput {
  scores: readonly WindowScore[];
  alerts?: readonly Alert[];
  series?: readonly EdgeSeries[];
}

/** What a scored batch stores: `windows` ← scores, `series` ← series, `alerts` ← alerts. */
export interface Stored {
  scores: WindowScore[];
  series: EdgeSeries[];
  alerts: Alert[];
}

/** Whether a score goes to `windows`: a conduit's activity row always, a finding at or above the floor or the alert threshold. */
export const isStoredWindow = (s: WindowScore, alertThreshold: number, floor = SCORE_FLOOR): boolean =>
  s.detector === ACTIVITY_DETECTOR || isStoredScore(s.score, alertThreshold, floor);

/**
 * What one scored batch stores. `alertThreshold` is the site's (`detection.alertThreshold`): scores
 * at or above it are stored even below the floor, so every alerted score is in `windows`. `floor` is
 * the site's `detection.scoreFloor` (the engine already emits nothing below it; with `scoreFloor: 0`
 * it emits every score and so does this).
 */
export const storedOf = (batch: ScoredInput, alertThreshold: number, floor = SCORE_FLOOR): Stored => ({
  scores: batch.scores.filter((s) => isStoredWindow(s, alertThreshold, floor)),
  series: [...(batch.series ?? [])],
  alerts: [...(batch.alerts ?? [])],
});
