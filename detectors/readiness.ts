/**
 * Baseline readiness and the production cycle seen in the data.
 *
 * - `detectCycle`: the period of a per-window activity series (requests per window of a conduit)
 *   by autocorrelation: r(L) = mean(x_t · x_{t+L}) / mean(x_t²) over the centred series. The ACF of
 *   any series is high at small lags, so the search starts after r first drops below 0 (half a
 *   cycle for a square wave, such as a batch phase) and takes the first local peak within 90 % of
 *   the highest one up to N/2 (a cycle of 30 also peaks at 60). It is a cycle only if that peak
 *   reaches `minAcf` and the series holds two periods.
 * - `PHASE_BUCKETS`: the calendar cells of readiness: the cycle split in 12; a conduit whose
 *   windows have touched every cell has seen every phase of the cycle at least once.
 */

/** Calendar cells per production cycle for readiness. */
export const PHASE_BUCKETS = 12;

/** Smallest autocorrelation peak accepted as a cycle. */
export const MIN_ACF = 0.3;

export interface DetectedCycle {
  /** Period in windows. */
  lag: number;
  /** Autocorrelation at that lag. */
  acf: number;
}

/** Dominant period of `series` (values per window), or undefined when there is none. O(N²/2). */
export const detectCycle = (series: readonly number[], minAcf = MIN_ACF): DetectedCycle | undefined => {
  const n = series.length;
  if (n < 8) return undefined;
  // Winsorised at the 5th and 95th percentiles: a few anomalous windows (a flood, a stop) must not
  // outweigh the cycle.
  const sorted = [...series].sort((a, b) => a - b);
  const lo = sorted[Math.floor(0.05 * (n - 1))]!;
  const hi = sorted[Math.ceil(0.95 * (n - 1))]!;
  const clipped = series.map((v) => Math.min(hi, Math.max(lo, v)));
  let mean = 0;
  for (const v of clipped) mean += v;
  mean /= n;
  const x = clipped.map((v) => v - mean);
  let var0 = 0;
  for (const v of x) var0 += v * v;
  var0 /= n;
  if (!(var0 > 0)) return undefined;
  const acf = (lag: number): number => {
    let s = 0;
    for (let t = 0; t + lag < n; t += 1) s += x[t]! * x[t + lag]!;
    return s / (n - lag) / var0;
  };
  const maxLag = Math.floor(n / 2);
  let lag = 1;
  while (lag <= maxLag && acf(lag) >= 0) lag += 1;
  const rs: [number, number][] = [];
  for (; lag <= maxLag; lag += 1) rs.push([lag, acf(lag)]);
  const top = Math.max(...rs.map(([, r]) => r));
  if (!(top >= minAcf)) return undefined;
  // The first peak near the top: a cycle of 30 also peaks at 60, and that is not the cycle.
  const i = rs.findIndex(([, r], k) => r >= 0.9 * top && (k + 1 >= rs.length || r >= rs[k + 1]![1]));
  const [l, r] = rs[i]!;
  return { lag: l, acf: r };
};
