/**
 * The shape every window detector has: a pure-ish `scoreWindow(window, state, ctx)` over one closed
 * window of one conduit, returning findings and the updated per-conduit state. The engine
 * (detectors/engine.ts) turns findings into `WindowScore`s and, past the baseline, `Alert`s.
 */
import type { z } from 'zod';
import type { Site } from '../core/config.ts';
import type { ConduitFeatures } from './features.ts';
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
  /** The engine runs the scan detector, which reports a scanning source as one finding. */
  aggregateScans: boolean;
  /**
   * How far the input had reached when the window closed, ≤ windowEnd: windowEnd while more input
   * follows, the last flow start seen when the input ended inside the window (`flush`). Silence at
   * the end of a capture that simply stops is not evidence of anything. Default windowEnd.
   */
  horizon?: number;
  /** Services (e.g. 'tcp/502 modbus') `src` has initiated to `dst` on any conduit so far, if any. */
  knownServices?: (src: string, dst: string) => ReadonlySet<string> | undefined;
}

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
  /** Scored but never alerted by itself: another finding reports it (a scan's many new edges). */
  grouped?: boolean;
  /** A novel item (never seen on the conduit): counted per production cycle in the conduit's readiness (`novelFirstCycle`, `novelLastCycle`). */
  novel?: boolean;
}

export interface ScoreResult<S> {
  findings: Finding[];
  /** The state after this window. It may be the given state object, updated: treat the input as consumed. */
  state: S;
}

/**
 * A window detector. State is per conduit. `save` / `load` turn it into plain JSON data and back;
 * `load(JSON.parse(JSON.stringify(save(s))))` must behave exactly like `s`.
 */
export interface WindowDetector<S> {
  name: string;
  /**
   * This detector reports a scanning source as one finding of its own: while it runs, the
   * engine tells the others (`ctx.aggregateScans`) to mark their per-edge findings of the scan
   * `grouped` instead of alerting each.
   */
  reportsScans?: boolean;
  init(): S;
  scoreWindow(window: ConduitFeatures, state: S, ctx: WindowContext): ScoreResult<S>;
  save(state: S): unknown;
  load(json: unknown): S;
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
  create(config: z.output<C>, ctx: DetectorContext): WindowDetector<unknown> | Promise<WindowDetector<unknown>>;
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
