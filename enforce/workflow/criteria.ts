/**
 * Abort criteria: fixed at approval, watched for a set time after apply. Each watch tick reads the
 * nftables counters and the conduit's alerts and calls `evaluate`; the first criterion that trips
 * names itself with its figures, and the workflow restores the known-good ruleset.
 *
 *   criterion              trips when
 *   baseline_flow_dropped  a drop counter on a baseline edge rose by >= droppedPackets since apply
 *   baseline_edge_silent   a baseline edge whose traffic is due every E ms accepted nothing for
 *                          max(E × silenceFactor, 2 × interval)
 *   alerts                 >= alerts.count alerts on the conduit within the last alerts.within
 *   operator_abort         someone with `abort` pressed abort (console, API or CLI)
 *   window_closed          the maintenance window closed before the apply finished
 */
import { z } from 'zod';
import { PipelineError } from '../../core/errors.ts';
import { duration, formatDuration } from '../../core/units.ts';
import type { CounterReading, WatchedEdge } from './ports.ts';

/** What an approver may set; defaults come from here (the docs are generated from it). */
export const AbortCriteriaInput = z.object({
  watch: duration.default('15m').describe('How long the abort criteria are watched after apply; then the promotion is confirmed.'),
  interval: duration.default('10s').describe('How often the watch reads the nftables counters and the alerts.'),
  alertCount: z.number().int().min(1).default(3).describe('N: this many alerts on the conduit …'),
  alertWithin: duration.default('5m').describe('M: … within this long trips the "alerts" criterion.'),
  droppedPackets: z.number().int().min(1).default(1).describe('Packets dropped on a baseline edge that trip "baseline_flow_dropped".'),
  silenceFactor: z.number().min(1).default(3).describe('A baseline edge silent for this many times its longest normal gap trips "baseline_edge_silent".'),
}).strict();
export type AbortCriteriaInput = z.input<typeof AbortCriteriaInput>;

/** The criteria as fixed at approval (ms everywhere) with the edges they watch. */
export interface AbortCriteria {
  watchMs: number;
  intervalMs: number;
  alertCount: number;
  alertWithinMs: number;
  droppedPackets: number;
  silenceFactor: number;
  edges: WatchedEdge[];
}

export const fixCriteria = (input: AbortCriteriaInput | undefined, edges: WatchedEdge[]): AbortCriteria => {
  const r = AbortCriteriaInput.safeParse(input ?? {});
  if (!r.success) {
    throw new PipelineError('config_invalid', `Abort criteria: ${r.error.issues.map((i) => `${i.path.join('.') || '(criteria)'}: ${i.message}`).join('; ')}.`, { status: 422 });
  }
  const c = r.data;
  return {
    watchMs: c.watch, intervalMs: c.interval, alertCount: c.alertCount, alertWithinMs: c.alertWithin,
    droppedPackets: c.droppedPackets, silenceFactor: c.silenceFactor, edges,
  };
};

export type Criterion = 'baseline_flow_dropped' | 'baseline_edge_silent' | 'alerts' | 'operator_abort' | 'window_closed';

/** A criterion that tripped, with the figures that made it trip (they go into the audit trail). */
export interface Trip {
  criterion: Criterion;
  message: string;
  figures: Record<string, number | string>;
}

/** What the watch remembers between ticks (kept in the promotion record). */
export interface WatchState {
  appliedAt: number;
  /** Accepted-packet counter per watched edge at the last tick, and when it last moved. */
  lastAccepted: Record<string, number>;
  lastMovedAt: Record<string, number>;
  ticks: number;
}

export const startWatch = (appliedAt: number): WatchState => ({ appliedAt, lastAccepted: {}, lastMovedAt: {}, ticks: 0 });

/** One tick: the new watch state and the first criterion that tripped, if any. */
export const evaluate = (
  c: AbortCriteria, s: WatchState, reading: CounterReading, alerts: number, now: number,
): { state: WatchState; trip?: Trip } => {
  const state: WatchState = { ...s, lastAccepted: { ...s.lastAccepted }, lastMovedAt: { ...s.lastMovedAt }, ticks: s.ticks + 1 };
  for (const e of c.edges) {
    const dropped = reading.dropped[e.key] ?? 0;
    if (dropped >= c.droppedPackets) {
      return { state, trip: {
        criterion: 'baseline_flow_dropped',
        message: `${dropped} packets of baseline edge ${e.label} dropped since apply (limit ${c.droppedPackets})`,
        figures: { edge: e.label, droppedPackets: dropped, limit: c.droppedPackets },
      } };
    }
  }
  for (const e of c.edges) {
    const acc = reading.accepted[e.key] ?? 0;
    const prev = s.lastAccepted[e.key];
    if (prev === undefined) state.lastMovedAt[e.key] = acc > 0 ? now : s.appliedAt;
    else if (acc !== prev) state.lastMovedAt[e.key] = now;
    state.lastAccepted[e.key] = acc;
    if (e.expectedEveryMs === undefined) continue;
    const allowed = Math.max(e.expectedEveryMs * c.silenceFactor, 2 * c.intervalMs);
    const silent = now - state.lastMovedAt[e.key]!;
    if (silent > allowed) {
      return { state, trip: {
        criterion: 'baseline_edge_silent',
        message: `baseline edge ${e.label} accepted no packet for ${formatDuration(silent)}; its traffic is due every ${formatDuration(e.expectedEveryMs)} (limit ${formatDuration(allowed)})`,
        figures: { edge: e.label, silentMs: silent, expectedEveryMs: e.expectedEveryMs, limitMs: allowed, acceptedPackets: acc },
      } };
    }
  }
  if (alerts >= c.alertCount) {
    return { state, trip: {
      criterion: 'alerts',
      message: `${alerts} alerts on the conduit within ${formatDuration(c.alertWithinMs)} (limit ${c.alertCount})`,
      figures: { alerts, limit: c.alertCount, withinMs: c.alertWithinMs },
    } };
  }
  return { state };
};
