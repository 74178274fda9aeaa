/**
 * The shape every window detector has: `scoreWindow(window, ctx, out)` over one closed window of
 * one conduit, reading the window's columns (detectors/features.ts) and keeping its own state in
 * columns indexed by the engine's edge index (detectors/edges.ts). It pushes only the findings
 * that are needed — those the sink `wants` — and builds their explanation and features
 * then, never for the rest. The engine (detectors/engine.ts) turns findings into `WindowScore`s
 * and, past the baseline, `Alert`s.
 */
import type { z } from 'zod';
import type { Site } from '../core/config.ts';
import { grow } from './columns.ts';
import type { EdgeTable } from './edges.ts';
import type { WindowAcc } from './features.ts';
import type { ProtocolSecurity } from './security.ts';

/** What the engine knows about the window being scored. */
export interface WindowContext {
  conduit: string;
  windowStart: number;
  windowEnd: number;
  /** The conduit is still inside its baseline: scores are emitted but not alerted. */
  learning: boolean;
  /** `SiteMap.isDeclared(conduit)`. */
  declared: boolean;
  /** Name of the maintenance window the window falls in, if any. */
  maintenance: string | undefined;
  /** `site.productionCycle`, ms. */
  cycleMs: number;
  /** Where the window start falls in the production cycle, [0, 1): (windowStart mod cycleMs) / cycleMs. */
  cyclePhase: number;
  /** Some detector of the engine reports a scanning source as one finding (`reportsScans`). */
  aggregateScans: boolean;
  /**
   * How far the input had reached when the window closed, ≤ windowEnd: windowEnd while more input
   * follows, the last flow start seen when the input ended inside the window (`flush`). Silence at
   * the end of a capture that simply stops is not evidence of anything. Default windowEnd.
   */
  horizon?: number;
}

/** One closed window of one conduit: its slots in the window's columns, and the edge index. */
export interface ConduitWindow {
  edges: EdgeTable;
  /** Conduit id in `edges.conduits`. */
  conduit: number;
  windowStart: number;
  windowEnd: number;
  /** The window's columns; undefined when no conduit had traffic in the window. */
  acc: WindowAcc | undefined;
  /** The conduit's slots are `acc.order[from..to)`, in first-flow order; none when from = to. */
  from: number;
  to: number;
  /** Flows of the conduit in the window, first tsStart and last tsEnd. */
  flows: number;
  firstTs: number;
  lastTs: number;
}

/** Slot of edge `e` in the window, -1 when it had no traffic there. */
export const slotIn = (w: ConduitWindow, e: number): number => (w.acc ? (w.acc.slotOf[e] ?? -1) : -1);

/** Phase bucket (0 … buckets − 1) of a cycle phase in [0, 1). */
export const phaseBucket = (phase: number, buckets: number): number => Math.min(buckets - 1, Math.max(0, Math.floor(phase * buckets)));

/** One detector's verdict on one edge (or the conduit, edge '') in one window. */
export interface Finding {
  edge: string;
  /** Deviation in [0, 1]. */
  score: number;
  explanation: string;
  features: Record<string, number>;
  /** Raise an alert even while the conduit learns (undeclared conduit). */
  alertWhileLearning?: boolean;
  /** Raise an alert even inside a maintenance window (security-relevant novelty). */
  alertInMaintenance?: boolean;
  /** Security-relevant: raise an alert once the conduit's minimum baseline has passed, before its readiness is reached. */
  alertBeforeReady?: boolean;
  /** Scored but never alerted by itself: another finding reports it (a scan's many new edges). */
  grouped?: boolean;
  /** A novel item (never seen on the conduit): counted per production cycle in the conduit's readiness (`novelFirstCycle`, `novelLastCycle`). */
  novel?: boolean;
}

/** Where findings go: a detector builds (and pushes) only the findings the sink `wants`. */
export interface FindingSink {
  /**
   * Whether a finding of this score is needed: emitted, alerted or ensembled. `early` says the
   * finding would alert before the conduit is ready: 'always' (`alertWhileLearning`: undeclared
   * conduits), 'security' (`alertBeforeReady`). While a conduit learns only those can be needed,
   * unless learning scores are kept. Build the explanation and features only when true. Ask it
   * about every finding the detector would make, needed or not: the sink keeps the highest.
   * `edge` (the finding's edge index, when it has one) gives the edge's top score in `bands`.
   */
  wants(score: number, early?: EarlyAlert, edge?: number): boolean;
  push(f: Finding): void;
  /** Novel items whose finding was not wanted (readiness counts novel items per cycle). */
  novelSkipped: number;
  /**
   * The detector's numbers for the conduit's `activity` row (the cadence series the dashboards
   * draw), e.g. rate's observed and expected requests: feature name → value, prefixed with the
   * detector's name.
   */
  readonly series: Record<string, number>;
  /** Per-edge numbers of the window (each edge's `EdgeSeries`): rate and cadence record theirs here. */
  readonly bands?: EdgeBands;
}

/** `EdgeBands.unit` values. */
export const UNIT_NONE = 0;
export const UNIT_REQUESTS = 1;
export const UNIT_FLOWS = 2;

/**
 * The numbers behind each edge's line and band in one conduit-window, in columns by edge index:
 * what rate saw and expected, what cadence saw and learned, the edge's top score and whether it
 * had traffic. The engine starts a conduit-window with `begin`, detectors record, and the engine
 * turns each edge touched (`list[0..n)`) into an `EdgeSeries` (core/records.ts). NaN = not known.
 */
export class EdgeBands {
  /** Edges touched in this conduit-window, in touch order. */
  n = 0;
  list = new Int32Array(16);
  private pass = 0;
  private stamp = new Int32Array(16);
  traffic = new Uint8Array(16);
  unit = new Uint8Array(16);
  observed = new Float64Array(16);
  expected = new Float64Array(16);
  expectedStd = new Float64Array(16);
  periodMs = new Float64Array(16);
  jitterMs = new Float64Array(16);
  expectedPeriodMs = new Float64Array(16);
  expectedJitterMs = new Float64Array(16);
  intervals = new Float64Array(16);
  score = new Float64Array(16);

  /** A new conduit-window over `edges` edges: nothing touched. */
  begin(edges: number): void {
    this.pass += 1;
    this.n = 0;
    if (edges <= this.stamp.length) return;
    this.stamp = grow(this.stamp, edges); this.list = grow(this.list, edges); this.traffic = grow(this.traffic, edges);
    this.unit = grow(this.unit, edges); this.observed = grow(this.observed, edges); this.expected = grow(this.expected, edges);
    this.expectedStd = grow(this.expectedStd, edges); this.periodMs = grow(this.periodMs, edges); this.jitterMs = grow(this.jitterMs, edges);
    this.expectedPeriodMs = grow(this.expectedPeriodMs, edges); this.expectedJitterMs = grow(this.expectedJitterMs, edges);
    this.intervals = grow(this.intervals, edges); this.score = grow(this.score, edges);
  }

  /**
   * Marks edge `e` touched (its numbers reset to "not known" on the first touch of the
   * conduit-window). Detectors on the hot path mark, then write the columns themselves: numbers
   * handed to a method that is not inlined are boxed, one heap number each per edge-window.
   */
  touch(e: number): void {
    if (this.stamp[e] === this.pass) return;
    this.stamp[e] = this.pass;
    this.list[this.n++] = e;
    this.traffic[e] = 0; this.unit[e] = UNIT_NONE; this.intervals[e] = 0; this.score[e] = 0;
    this.observed[e] = NaN; this.expected[e] = NaN; this.expectedStd[e] = NaN;
    this.periodMs[e] = NaN; this.jitterMs[e] = NaN; this.expectedPeriodMs[e] = NaN; this.expectedJitterMs[e] = NaN;
  }

  /** Rate: requests (or flows) seen, the baseline for this point of the cycle and its std (NaN until learned). */
  rate(e: number, unit: number, observed: number, expected: number, expectedStd: number): void {
    this.touch(e);
    this.unit[e] = unit; this.observed[e] = observed; this.expected[e] = expected; this.expectedStd[e] = expectedStd;
  }

  /** Cadence: mean and std of the intervals seen, the learned period and jitter (NaN until learned), intervals. */
  cadence(e: number, periodMs: number, jitterMs: number, expectedPeriodMs: number, expectedJitterMs: number, intervals: number): void {
    this.touch(e);
    this.periodMs[e] = periodMs; this.jitterMs[e] = jitterMs; this.expectedPeriodMs[e] = expectedPeriodMs;
    this.expectedJitterMs[e] = expectedJitterMs; this.intervals[e] = intervals;
  }

  /** A detector's score of the edge (the highest is kept). */
  scored(e: number, score: number): void {
    this.touch(e);
    if (score > this.score[e]!) this.score[e] = score;
  }

  /** The edge had traffic: requests and flows in the window (the observed rate when rate recorded none). */
  seen(e: number, requests: number, flows: number): void {
    this.touch(e);
    this.traffic[e] = 1;
    if (this.unit[e] !== UNIT_NONE) return;
    this.unit[e] = requests > 0 ? UNIT_REQUESTS : UNIT_FLOWS;
    this.observed[e] = requests > 0 ? requests : flows;
  }
}

/** Which findings alert before a conduit is ready (see `FindingSink.wants`). */
export type EarlyAlert = 'always' | 'security';

/**
 * Where a conduit stands: 'ready' (everything may alert), 'minimum' (inside its minimum baseline:
 * only undeclared-conduit findings alert), 'early' (past the minimum, readiness not reached: those
 * and security-relevant findings alert).
 */
export type Stage = 'ready' | 'early' | 'minimum';

/** A `FindingSink` that keeps what it is given: findings scoring at least `floor`, and before `ready` only those that can alert at `threshold`. */
export class Findings implements FindingSink {
  readonly list: Finding[] = [];
  novelSkipped = 0;
  readonly series: Record<string, number> = {};
  constructor(readonly floor = 0, readonly stage: Stage = 'ready', readonly threshold = 0, readonly bands?: EdgeBands) {}
  /** The highest score asked about, wanted or not (the conduit's top score in its activity row). */
  top = 0;
  wants(score: number, early?: EarlyAlert, edge?: number): boolean {
    if (score > this.top) this.top = score;
    if (edge !== undefined && this.bands) this.bands.scored(edge, score);
    if (!(score >= this.floor)) return false;
    if (this.stage === 'ready') return true;
    return score >= this.threshold && (early === 'always' || (early === 'security' && this.stage === 'early'));
  }
  push(f: Finding): void {
    this.list.push(f);
  }
}

/**
 * A window detector. Its state covers every conduit and edge it has scored, in columns indexed
 * by the engine's edge index (`ConduitWindow.edges`) and conduit id. `save` / `load` turn it
 * into plain JSON data and back; a detector loaded from `JSON.parse(JSON.stringify(save()))`
 * must behave exactly like the original.
 */
export interface WindowDetector {
  name: string;
  /**
   * This detector reports a scanning source as one finding of its own: while it runs, the
   * engine tells the others (`ctx.aggregateScans`) to mark their per-edge findings of the scan
   * `grouped` instead of alerting each.
   */
  reportsScans?: boolean;
  scoreWindow(window: ConduitWindow, ctx: WindowContext, out: FindingSink): void;
  save(): unknown;
  load(json: unknown): void;
}

/** What a detector's `create` may read besides its own config. */
export interface DetectorContext {
  /** The parsed site config (windows, production cycle, baseline). */
  site: Site;
  /** The dissectors' own sets of security-relevant operations, by l7 (cli/security-ops.ts); absent = name patterns only. */
  securityOp?: ProtocolSecurity;
}

/**
 * One entry of the detector registry: a name, its config schema and how to build it. The list
 * lives in the wiring (cli/registry.ts), not here, so that detectors defined above this floor
 * (models/) join it without an import loop. `create` may be asynchronous (a model whose backend
 * must be ready first); it gets the config already parsed by `config`.
 */
export interface DetectorDef<C extends z.ZodTypeAny = z.ZodTypeAny> {
  /** snake_case, unique in the registry; the `detector` of its scores and alerts. */
  name: string;
  /** One line for `--help` and docs. */
  summary: string;
  config: C;
  create(config: z.output<C>, ctx: DetectorContext): WindowDetector | Promise<WindowDetector>;
}

/** Types a registry entry (identity at run time). */
export const defineDetector = <C extends z.ZodTypeAny>(d: DetectorDef<C>): DetectorDef<C> => d;

/** Compares strings by code unit, for a sort order that never depends on locale. */
export const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Shortens a list for an explanation: 'a, b, c (+4 more)'. */
export const listText = (items: readonly (string | number)[], max = 6): string =>
  items.length === 0 ? 'nothing' : items.slice(0, max).join(', ') + (items.length > max ? ` (+${items.length - max} more)` : '');

/** A duration for text: 850 ms, 21 s, 110 s, 4.5 min, 3.2 h. */
export const durationText = (ms: number): string => {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 180_000) return `${num(ms / 1000)} s`;
  if (ms < 3 * 3_600_000) return `${num(ms / 60_000)} min`;
  return `${num(ms / 3_600_000)} h`;
};

/** Rounds for text: 1234.567 → '1235', 12.34 → '12.3', 0.1234 → '0.12'. */
export const num = (x: number): string => {
  const a = Math.abs(x);
  if (a >= 100) return String(Math.round(x));
  if (a >= 10) return x.toFixed(1).replace(/\.0$/, '');
  return x.toFixed(2).replace(/\.?0+$/, '') || '0';
};
