/**
 * What a scored batch (the detection engine's scores, series and alerts) stores, for every path that
 * stores one (replay, the serve sink): `windows` gets only the scores at or above the floor or the
 * alert threshold (`isStoredScore`), `series` one row per edge-window worth drawing, `alerts` all.
 * See store/README.md, "What windows and series hold".
 *
 * Until the engine emits `EdgeSeries` itself (`batch.series`), `seriesFromScores` derives them from
 * the rate and cadence scores' features: a bridge that reads the detectors' feature names
 * (`value`, `expected`, `std`; `request_period_ms`, …) and needs every score of a window, stored or
 * not. A batch that holds only part of an edge-window's scores (the Kafka sink cuts batches
 * anywhere) gives a partial row; `series` folds parts of one edge-window on merge (max of each
 * column, nulls ignored), so the parts complete each other.
 */
import { isStoredScore, SCORE_FLOOR, type Alert, type EdgeSeries, type WindowScore } from '../core/records.ts';


/** What the detection engine returns per batch; `series` once it emits them itself. */
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

/** An edge-window gets a series row when the edge had traffic, was expected to (≥ this per window), or scored above 0. */
export const SERIES_MIN_EXPECTED = 0.5;

/**
 * Whether an edge-window is worth a `series` row (see `SERIES_MIN_EXPECTED`). A measured cadence
 * means traffic too: it keeps a part that holds only the cadence (its rate came in another batch).
 */
export const keepSeries = (s: EdgeSeries): boolean =>
  s.edge === '' || s.observed > 0 || s.expected >= SERIES_MIN_EXPECTED || s.score > 0 || !Number.isNaN(s.periodMs);

const UNIT_RE = /\b(requests|flows) on /;

const num = (f: Record<string, number>, k: string): number => f[k] ?? Number.NaN;

/**
 * Bridge: the series of each edge-window from the rate and cadence scores' features (every score of
 * the window, stored or not). Sorted as the scores are; only edge-windows `keepSeries` keeps.
 */
export const seriesFromScores = (scores: readonly WindowScore[]): EdgeSeries[] => {
  const byKey = new Map<string, EdgeSeries>();
  const nan = Number.NaN;
  for (const s of scores) {
    if (s.edge === '') continue;
    const key = `${s.conduit}\n${s.edge}\n${s.windowStart}`;
    let e = byKey.get(key);
    if (!e) {
      e = {
        conduit: s.conduit, edge: s.edge, windowStart: s.windowStart, windowEnd: s.windowEnd, learning: s.learning, unit: '',
        observed: nan, expected: nan, expectedStd: nan, periodMs: nan, jitterMs: nan, expectedPeriodMs: nan,
        expectedJitterMs: nan, intervals: 0, score: 0,
      };
      byKey.set(key, e);
    }
    if (s.score > e.score) e.score = s.score;
    const f = s.features;
    if (s.detector === 'rate') {
      e.observed = num(f, 'value');
      e.expected = num(f, 'expected');
      e.expectedStd = num(f, 'std');
      e.unit = (UNIT_RE.exec(s.explanation)?.[1] as EdgeSeries['unit'] | undefined) ?? '';
    } else if (s.detector === 'cadence') {
      const p = f.request_intervals !== undefined ? 'request_' : f.connection_intervals !== undefined ? 'connection_' : undefined;
      if (p === undefined) continue;
      e.periodMs = num(f, `${p}period_ms`);
      e.jitterMs = num(f, `${p}jitter_ms`);
      e.expectedPeriodMs = num(f, `${p}expected_period_ms`);
      e.expectedJitterMs = num(f, `${p}expected_jitter_ms`);
      e.intervals = f[`${p}intervals`] ?? 0;
    }
  }
  return [...[...byKey.values()].filter(keepSeries), ...conduitSeries(scores)];
};

/**
 * One conduit-level row (edge '') per conduit-window the engine scored, whatever its edges did: its
 * highest score and learning, nothing else (a conduit's rate is the sum of its edge rows, summed at
 * read time: a sum stored per batch would not fold when the sink cuts a window's scores in two).
 * Every scored window of a known conduit is there, so a window count per conduit is the engine's.
 */
export const conduitSeries = (scores: readonly WindowScore[]): EdgeSeries[] => {
  const out = new Map<string, EdgeSeries>();
  const nan = Number.NaN;
  for (const s of scores) {
    const key = `${s.conduit}\n${s.windowStart}`;
    const c = out.get(key);
    if (c) {
      if (s.score > c.score) c.score = s.score;
      continue;
    }
    out.set(key, {
      conduit: s.conduit, edge: '', windowStart: s.windowStart, windowEnd: s.windowEnd, learning: s.learning, unit: '',
      observed: nan, expected: nan, expectedStd: nan, periodMs: nan, jitterMs: nan, expectedPeriodMs: nan,
      expectedJitterMs: nan, intervals: 0, score: Math.max(0, s.score),
    });
  }
  return [...out.values()];
};

/**
 * What one scored batch stores. `alertThreshold` is the site's (`detection.alertThreshold`): scores
 * at or above it are stored even below the floor, so every alerted score is in `windows`. `floor`
 * defaults to SCORE_FLOOR (a site setting may override it).
 */
export const storedOf = (batch: ScoredInput, alertThreshold: number, floor = SCORE_FLOOR): Stored => ({
  scores: batch.scores.filter((s) => isStoredScore(s.score, alertThreshold, floor)),
  series: (batch.series ?? seriesFromScores(batch.scores)).filter(keepSeries),
  alerts: [...(batch.alerts ?? [])],
});
