/** Durations and sizes are strings with units, parsed into numbers once (STYLE.md §3). */
import { z } from 'zod';

const DURATION_UNITS: Record<string, number> = {
  ms: 1, s: 1_000, m: 60_000, min: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000,
};

/** '60s' → 60000, '1h30m' → 5400000, '250ms' → 250. Throws RangeError on anything else. */
export const parseDuration = (text: string): number => {
  const s = text.trim();
  if (!/^(\d+(\.\d+)?(ms|s|min|m|h|d|w))+$/.test(s)) {
    throw new RangeError(`"${text}" is not a duration; write a number and a unit, e.g. 250ms, 60s, 15m, 8h, 7d`);
  }
  let total = 0;
  for (const m of s.matchAll(/(\d+(?:\.\d+)?)(ms|s|min|m|h|d|w)/g)) total += Number(m[1]) * DURATION_UNITS[m[2]!]!;
  return Math.round(total);
};

/** 3600000 → '1h', 90000 → '1m30s'. */
export const formatDuration = (ms: number): string => {
  if (ms === 0) return '0s';
  const parts: string[] = [];
  let rest = Math.round(ms);
  for (const [u, n] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1_000], ['ms', 1]] as const) {
    if (rest >= n) { parts.push(`${Math.floor(rest / n)}${u}`); rest %= n; }
  }
  return parts.join('');
};

/** A zod field for a duration string; its output is milliseconds. */
export const duration = z.string().transform((s, ctx) => {
  try {
    return parseDuration(s);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message });
    return z.NEVER;
  }
});
