/**
 * Metrics of one evaluation run, and their sum over runs. Pure functions of (attacks, alerts,
 * scored time range): no I/O, no clock, so they are tested on hand-made inputs.
 *
 * Definitions (also in evals/README.md):
 * - Event level: an attack [start, end] is detected by an alert whose window overlaps
 *   [start, end + slack) and, when the label names both hosts and endpoint matching is on, whose
 *   src/dst are those two hosts in either direction. Delay = end of the first such alert's window
 *   (when the engine can raise it) − attack start.
 * - Window level, global over conduits (labels such as the MMS intervals name no conduit): each
 *   window of the scored range is positive when it overlaps an attack, predicted positive when any
 *   conduit alerted in it.
 * - False alerts: alerts outside every attack widened by one window on each side (and by the slack
 *   after it), per conduit, over the conduit's normal time: the normal windows (those that touch
 *   no widened attack) from the start of its exposure — the run start for a conduit known from
 *   the baseline, else the window of its first record in the test input.
 */
import { cidrContains, ipToBig, parseCidr } from '../../core/net.ts';
import type { Alert } from '../../core/records.ts';
import type { Attack } from './labels.ts';

export const DAY_MS = 86_400_000;

/** The scored part of one run, in the engine's (possibly shifted) time. */
export interface RunFrame {
  windowMs: number;
  /** Start of the first scored window and end of the last one. */
  from: number;
  to: number;
  /** Added to the input's own times to get engine time. */
  shiftMs: number;
  /** Per conduit: engine time its exposure to false alerts begins. */
  exposureStart: Record<string, number>;
  /** Alerts after an attack's end that still detect it. */
  slackMs: number;
  /** Require the label's hosts on the alert when it names them. */
  endpoints: boolean;
}

export interface FirstAlert {
  detector: string;
  conduit: string;
  src: string;
  dst: string;
  dstPort: number;
  /** Window of the alert, in the input's own time. */
  windowStart: number;
  windowEnd: number;
  explanation: string;
}

export interface AttackOutcome {
  input: string;
  id: string;
  kind: string;
  start: number;
  end: number;
  src?: string;
  dst?: string;
  detected: boolean;
  /** Detectors with at least one matching alert, sorted. */
  detectors: string[];
  /** Matching alerts. */
  alerts: number;
  first?: FirstAlert;
  /** End of the first matching alert's window − attack start. */
  delayMs?: number;
  /** Alerts in the attack's time between other hosts (only counted with endpoint matching). */
  otherHostAlerts: number;
}

export interface WindowCounts {
  windows: number;
  positive: number;
  predicted: number;
  tp: number;
  fp: number;
  fn: number;
  tn: number;
}

export interface ConduitFalseAlerts {
  alerts: number;
  exposureMs: number;
}

export interface DetectorCounts {
  alerts: number;
  /** Alerts within an attack widened by one window (and the slack after it). */
  nearAttack: number;
  false: number;
}

export interface RunScore {
  attacks: AttackOutcome[];
  windows: WindowCounts;
  /** Windows of the scored range that touch no widened attack, times the window length. */
  normalMs: number;
  falseAlerts: Record<string, ConduitFalseAlerts>;
  detectors: Record<string, DetectorCounts>;
}

const hostMatches = (label: string, ip: string): boolean => {
  if (!label.includes('/')) return label === ip;
  const v = ipToBig(ip);
  try {
    return v !== undefined && cidrContains(parseCidr(label), v);
  } catch {
    return false;
  }
};

/** The alert runs between the attack's two hosts, either direction. */
export const endpointsMatch = (a: Attack, alert: Alert): boolean => {
  if (a.src === undefined || a.dst === undefined) return true;
  return (hostMatches(a.src, alert.src) && hostMatches(a.dst, alert.dst)) || (hostMatches(a.src, alert.dst) && hostMatches(a.dst, alert.src));
};

const overlaps = (ws: number, we: number, s: number, e: number): boolean => ws <= e && we > s;

const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Sorts alerts the way the engine does: time, then conduit, edge and detector. */
const alertOrder = (a: Alert, b: Alert): number =>
  a.tsStart - b.tsStart || byString(a.conduit, b.conduit) || byString(a.src, b.src) || byString(a.dst, b.dst)
  || a.dstPort - b.dstPort || byString(a.detector, b.detector);

/** Event-level outcome of one attack given the run's alerts (engine time). */
export const matchAttack = (a: Attack, alerts: readonly Alert[], f: RunFrame): AttackOutcome => {
  const s = a.start + f.shiftMs;
  const e = a.end + f.shiftMs;
  const during = alerts.filter((x) => x.tsStart < e + f.slackMs && x.tsEnd > s);
  const hits = during.filter((x) => !f.endpoints || endpointsMatch(a, x)).sort(alertOrder);
  const out: AttackOutcome = {
    input: a.input, id: a.id, kind: a.kind, start: a.start, end: a.end,
    ...(a.src !== undefined ? { src: a.src } : {}), ...(a.dst !== undefined ? { dst: a.dst } : {}),
    detected: hits.length > 0,
    detectors: [...new Set(hits.map((x) => x.detector))].sort(byString),
    alerts: hits.length,
    otherHostAlerts: during.length - hits.length,
  };
  const first = hits[0];
  if (first) {
    out.first = {
      detector: first.detector, conduit: first.conduit, src: first.src, dst: first.dst, dstPort: first.dstPort,
      windowStart: first.tsStart - f.shiftMs, windowEnd: first.tsEnd - f.shiftMs, explanation: first.explanation,
    };
    out.delayMs = Math.round(first.tsEnd - s);
  }
  return out;
};

/** Scores one run: `alerts` may include baseline alerts; only those in [from, to) count. */
export const scoreRun = (attacks: readonly Attack[], alerts: readonly Alert[], f: RunFrame): RunScore => {
  const W = f.windowMs;
  const scored = alerts.filter((x) => x.tsStart >= f.from && x.tsStart < f.to);
  const spans = attacks.map((a) => [a.start + f.shiftMs, a.end + f.shiftMs] as const);
  const near = (ws: number, we: number) => spans.some(([s, e]) => overlaps(ws, we, s - W, e + Math.max(W, f.slackMs)));

  const alertWindows = new Set(scored.map((x) => x.tsStart));
  const windows: WindowCounts = { windows: 0, positive: 0, predicted: 0, tp: 0, fp: 0, fn: 0, tn: 0 };
  const normalStarts: number[] = [];
  for (let ws = f.from; ws < f.to; ws += W) {
    const pos = spans.some(([s, e]) => overlaps(ws, ws + W, s, e));
    const pred = alertWindows.has(ws);
    windows.windows += 1;
    if (pos) windows.positive += 1;
    if (pred) windows.predicted += 1;
    if (pos && pred) windows.tp += 1;
    else if (pred) windows.fp += 1;
    else if (pos) windows.fn += 1;
    else windows.tn += 1;
    if (!near(ws, ws + W)) normalStarts.push(ws);
  }

  const falseAlerts: Record<string, ConduitFalseAlerts> = {};
  const exposure = (conduit: string): number => {
    const start = f.exposureStart[conduit] ?? f.from;
    return normalStarts.filter((ws) => ws >= start).length * W;
  };
  for (const c of Object.keys(f.exposureStart)) falseAlerts[c] = { alerts: 0, exposureMs: exposure(c) };
  const detectors: Record<string, DetectorCounts> = {};
  for (const x of scored) {
    const d = (detectors[x.detector] ??= { alerts: 0, nearAttack: 0, false: 0 });
    d.alerts += 1;
    if (near(x.tsStart, x.tsEnd)) {
      d.nearAttack += 1;
      continue;
    }
    d.false += 1;
    (falseAlerts[x.conduit] ??= { alerts: 0, exposureMs: exposure(x.conduit) }).alerts += 1;
  }
  return {
    attacks: attacks.map((a) => matchAttack(a, alerts, f)),
    windows, normalMs: normalStarts.length * W, falseAlerts, detectors,
  };
};

/** Rounds to 4 decimals so results diff cleanly; null stays null. */
export const round4 = (x: number | null): number | null => (x === null ? null : Math.round(x * 10_000) / 10_000);

export const ratio = (num: number, den: number): number | null => (den > 0 ? num / den : null);

export interface WindowMetrics extends WindowCounts {
  /** tp / (tp + fp); null when nothing was predicted. */
  precision: number | null;
  /** tp / (tp + fn); null when no window is positive. */
  recall: number | null;
  f1: number | null;
}

export const windowMetrics = (c: WindowCounts): WindowMetrics => {
  const p = ratio(c.tp, c.tp + c.fp);
  const r = ratio(c.tp, c.tp + c.fn);
  const f1 = p === null || r === null ? null : p + r === 0 ? 0 : (2 * p * r) / (p + r);
  return { ...c, precision: round4(p), recall: round4(r), f1: round4(f1) };
};

export const perDay = (count: number, ms: number): number | null => round4(ratio(count, ms / DAY_MS));

export interface ConduitRate {
  conduit: string;
  alerts: number;
  normalHours: number;
  /** Alerts per day of normal time; null when the conduit had no normal time. */
  perDay: number | null;
}

export interface Summary {
  attacks: number;
  detected: number;
  missed: string[];
  windows: WindowMetrics;
  falseAlerts: {
    total: number;
    normalHours: number;
    perDay: number | null;
    /** Highest per-conduit rate; null when no conduit had normal time. */
    maxPerConduitPerDay: number | null;
    conduits: ConduitRate[];
  };
  detectors: (DetectorCounts & { detector: string })[];
}

const hours = (ms: number): number => round4(ms / 3_600_000)!;

/** Adds up the runs of an evaluation. */
export const summarize = (runs: readonly RunScore[]): Summary => {
  const w: WindowCounts = { windows: 0, positive: 0, predicted: 0, tp: 0, fp: 0, fn: 0, tn: 0 };
  const conduits: Record<string, ConduitFalseAlerts> = {};
  const detectors: Record<string, DetectorCounts> = {};
  let normalMs = 0;
  for (const r of runs) {
    for (const k of Object.keys(w) as (keyof WindowCounts)[]) w[k] += r.windows[k];
    normalMs += r.normalMs;
    for (const [c, v] of Object.entries(r.falseAlerts)) {
      const t = (conduits[c] ??= { alerts: 0, exposureMs: 0 });
      t.alerts += v.alerts;
      t.exposureMs += v.exposureMs;
    }
    for (const [d, v] of Object.entries(r.detectors)) {
      const t = (detectors[d] ??= { alerts: 0, nearAttack: 0, false: 0 });
      t.alerts += v.alerts;
      t.nearAttack += v.nearAttack;
      t.false += v.false;
    }
  }
  const attacks = runs.flatMap((r) => r.attacks);
  const rates: ConduitRate[] = Object.keys(conduits).sort(byString).map((c) => ({
    conduit: c, alerts: conduits[c]!.alerts, normalHours: hours(conduits[c]!.exposureMs), perDay: perDay(conduits[c]!.alerts, conduits[c]!.exposureMs),
  }));
  const withRate = rates.map((r) => r.perDay).filter((x): x is number => x !== null);
  const total = rates.reduce((s, r) => s + r.alerts, 0);
  return {
    attacks: attacks.length,
    detected: attacks.filter((a) => a.detected).length,
    missed: attacks.filter((a) => !a.detected).map((a) => `${a.input} ${a.id}`),
    windows: windowMetrics(w),
    falseAlerts: {
      total, normalHours: hours(normalMs), perDay: perDay(total, normalMs),
      maxPerConduitPerDay: withRate.length ? Math.max(...withRate) : null,
      conduits: rates,
    },
    detectors: Object.keys(detectors).sort(byString).map((d) => ({ detector: d, ...detectors[d]! })),
  };
};
