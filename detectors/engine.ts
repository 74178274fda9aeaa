/**
 * DetectionEngine: flows in, scored windows and alerts out. It windows flows by event time
 * (detectors/windows.ts), runs every enabled detector on each closed window of each conduit, and
 * raises alerts past each conduit's baseline.
 *
 * Rules (see detectors/README.md):
 * - Baseline: a conduit learns for `siteMap.baselineMs` from its first event time. Windows that
 *   start inside it are scored with `learning: true` and never alerted — except novelty on an
 *   undeclared conduit (`alertWhileLearning`). A conduit first seen after the site's own baseline
 *   (first event time of the input + baselineMs) has no baseline: it is new, and alerts at once.
 * - After it, a score ≥ `detection.alertThreshold` raises an `Alert`. Inside a maintenance window
 *   only findings marked `alertInMaintenance` (security-relevant novelty, undeclared conduits)
 *   alert; the rest are scored and say that they were not alerted.
 * - Novelty learns continuously (an item alerts on first sight, then is normal); rate and cadence
 *   learn only from windows scoring below their `learnBelow`, so a lasting deviation keeps alerting.
 * - Determinism: no wall clock, no randomness; scores and alerts are sorted by (windowStart,
 *   conduit, edge, detector) and feature keys are sorted, so the same input gives byte-identical
 *   JSON. `snapshot()` → JSON → `restore()` continues exactly where the first engine stopped.
 */
import { createHash } from 'node:crypto';
import type { SiteMap } from '../core/config.ts';
import { PipelineError } from '../core/errors.ts';
import { parseEdgeId, type Alert, type FlowRecord, type WindowScore } from '../core/records.ts';
import { createCadence } from './cadence/detector.ts';
import { round } from './calibration.ts';
import { byString, type WindowContext, type WindowDetector } from './detector.ts';
import { newConduitFeatures, type ConduitFeatures } from './features.ts';
import { createNovelty } from './novelty/detector.ts';
import { createRate } from './rate/detector.ts';
import { FlowWindows, type ClosedWindow, type FlowWindowsJSON } from './windows.ts';

/** The detectors the engine knows, by name. */
export const DETECTORS = {
  cadence: createCadence,
  novelty: createNovelty,
  rate: createRate,
} as const satisfies Record<string, (config?: unknown) => WindowDetector<unknown>>;

export type DetectorName = keyof typeof DETECTORS;
export const DETECTOR_NAMES = Object.keys(DETECTORS).sort(byString) as DetectorName[];

export interface EngineOptions {
  /** Detectors to run; default all. */
  detectors?: string[];
  /** Names the run in `stats()`; never part of ids or scores. */
  runId?: string;
  /** Raw detector configs by detector name, parsed by each detector's zod schema. */
  config?: Partial<Record<DetectorName, unknown>>;
}

export interface ScoredBatch {
  scores: WindowScore[];
  alerts: Alert[];
}

/** Per-conduit readiness, for reports and the promote-to-block workflow. */
export interface ConduitStatus {
  conduit: string;
  declared: boolean;
  /** Smallest event time seen (epoch ms), null before the conduit's first closed window. */
  firstSeen: number | null;
  /** Largest flow end time seen in closed windows. */
  lastSeen: number | null;
  /** The last scored window was inside the baseline. */
  learning: boolean;
  /** Fraction of the baseline time covered by closed windows, 0..1. */
  coverage: number;
  edges: number;
  flows: number;
  windowsScored: number;
  alerts: number;
}

export interface EngineStats {
  runId: string;
  records: number;
  lateRecords: number;
  lateByConduit: Record<string, number>;
  invalidRecords: number;
  lastInvalid: string;
  windowsClosed: number;
  skippedEmptyWindows: number;
  watermark: number | null;
  scores: number;
  alerts: number;
}

interface ConduitTrack {
  firstSeen: number;
  lastSeen: number;
  lastWindowStart: number;
  edges: Set<string>;
  flows: number;
  windowsScored: number;
  alerts: number;
}

/** Plain JSON state of an engine. */
export interface EngineState {
  version: 1;
  runId: string;
  detectors: string[];
  config: Partial<Record<DetectorName, unknown>>;
  windows: FlowWindowsJSON;
  conduits: [string, Omit<ConduitTrack, 'edges'> & { edges: string[] }][];
  models: Record<string, [string, unknown][]>;
  counters: { scores: number; alerts: number };
  siteFirstSeen: number | null;
}

/** Stable alert id: same conduit, edge, detector and window → same id. */
export const alertId = (conduit: string, edge: string, detector: string, windowStart: number): string =>
  createHash('sha256').update(`${conduit}\n${edge}\n${detector}\n${windowStart}`).digest('hex').slice(0, 24);

const sortRecord = (r: Record<string, number>): Record<string, number> => {
  const keys = Object.keys(r);
  if (keys.every((k, i) => i === 0 || keys[i - 1]! < k)) return r;
  return Object.fromEntries(keys.sort(byString).map((k) => [k, r[k]!]));
};

const scoreOrder = (a: WindowScore, b: WindowScore): number =>
  a.windowStart - b.windowStart || byString(a.conduit, b.conduit) || byString(a.edge, b.edge) || byString(a.detector, b.detector);

const alertOrder = (a: Alert, b: Alert): number =>
  a.tsStart - b.tsStart || byString(a.conduit, b.conduit) || byString(a.src, b.src) || byString(a.dst, b.dst)
  || a.proto - b.proto || a.dstPort - b.dstPort || byString(a.l7, b.l7) || byString(a.detector, b.detector);

export class DetectionEngine {
  private windows: FlowWindows;
  private readonly detectors: WindowDetector<unknown>[];
  private models = new Map<string, Map<string, unknown>>();
  private conduits = new Map<string, ConduitTrack>();
  private counters = { scores: 0, alerts: 0 };
  /** First event time of the whole input: conduits that appear after its baseline get none of their own. */
  private siteFirstSeen: number | null = null;
  private readonly runId: string;
  private readonly names: string[];
  private readonly config: Partial<Record<DetectorName, unknown>>;

  constructor(private readonly siteMap: SiteMap, opts: EngineOptions = {}) {
    const names = opts.detectors ?? DETECTOR_NAMES;
    const unknown = names.filter((n) => !(n in DETECTORS));
    if (unknown.length > 0) {
      throw new PipelineError('config_invalid', `unknown detector(s) ${unknown.map((n) => `"${n}"`).join(', ')}; known detectors: ${DETECTOR_NAMES.join(', ')}`);
    }
    this.names = [...new Set(names)].sort(byString);
    this.config = opts.config ?? {};
    this.runId = opts.runId ?? '';
    this.detectors = this.names.map((n) => {
      try {
        return DETECTORS[n as DetectorName](this.config[n as DetectorName] ?? {}) as WindowDetector<unknown>;
      } catch (e) {
        throw new PipelineError('config_invalid', `detector "${n}" config is invalid: ${(e as Error).message}`, { detector: n }, { cause: e });
      }
    });
    for (const n of this.names) this.models.set(n, new Map());
    const d = siteMap.site.detection;
    this.windows = new FlowWindows({ windowMs: d.window, allowedLatenessMs: d.allowedLateness }, (s, t) => siteMap.conduitOf(s, t));
  }

  /** Adds a batch of flows; returns the scores and alerts of the windows it closed. */
  ingest(flows: readonly FlowRecord[]): ScoredBatch {
    return this.scoreClosed(this.windows.add(flows));
  }

  /** End of input: closes and scores every open window. */
  flush(): ScoredBatch {
    return this.scoreClosed(this.windows.flush());
  }

  private scoreClosed(closed: ClosedWindow[]): ScoredBatch {
    const scores: WindowScore[] = [];
    const alerts: Alert[] = [];
    for (const w of closed) this.scoreWindow(w, scores, alerts);
    scores.sort(scoreOrder);
    alerts.sort(alertOrder);
    this.counters.scores += scores.length;
    this.counters.alerts += alerts.length;
    return { scores, alerts };
  }

  private scoreWindow(w: ClosedWindow, scores: WindowScore[], alerts: Alert[]): void {
    const withData = new Map(w.conduits.map((c) => [c.conduit, c]));
    if (this.siteFirstSeen === null && w.conduits.length > 0) this.siteFirstSeen = Math.min(...w.conduits.map((c) => c.firstTs));
    for (const c of w.conduits) {
      if (!this.conduits.has(c.conduit)) {
        this.conduits.set(c.conduit, { firstSeen: c.firstTs, lastSeen: c.lastTs, lastWindowStart: w.windowStart, edges: new Set(), flows: 0, windowsScored: 0, alerts: 0 });
      }
    }
    const names = [...this.conduits.keys()].sort(byString);
    const maintenance = this.siteMap.inMaintenance(w.windowStart) ?? this.siteMap.inMaintenance(w.windowEnd - 1);
    const threshold = this.siteMap.site.detection.alertThreshold;
    for (const conduit of names) {
      const track = this.conduits.get(conduit)!;
      const cw: ConduitFeatures = withData.get(conduit) ?? newConduitFeatures(conduit, w.windowStart, w.windowEnd);
      this.track(track, cw);
      const ctx: WindowContext = {
        conduit, windowStart: w.windowStart, windowEnd: w.windowEnd, maintenance,
        learning: w.windowStart < this.baselineEnd(track),
        declared: this.siteMap.isDeclared(conduit),
      };
      for (const det of this.detectors) {
        const models = this.models.get(det.name)!;
        const { findings, state } = det.scoreWindow(cw, models.has(conduit) ? models.get(conduit) : det.init(), ctx);
        models.set(conduit, state);
        for (const f of findings) {
          const raise = f.score >= threshold && (!ctx.learning || f.alertWhileLearning === true);
          const muted = raise && maintenance !== undefined && f.alertInMaintenance !== true;
          const features = sortRecord(maintenance !== undefined ? { ...f.features, maintenance: 1 } : f.features);
          const explanation = muted ? `${f.explanation} (in maintenance window ${maintenance}: not alerted)` : f.explanation;
          scores.push({ conduit, edge: f.edge, windowStart: w.windowStart, windowEnd: w.windowEnd, detector: det.name, score: f.score, learning: ctx.learning, explanation, features });
          if (!raise || muted) continue;
          const k = parseEdgeId(f.edge);
          track.alerts += 1;
          alerts.push({
            id: alertId(conduit, f.edge, det.name, w.windowStart), conduit, src: k.src, dst: k.dst, proto: k.proto, dstPort: k.dstPort, l7: k.l7,
            tsStart: w.windowStart, tsEnd: w.windowEnd, score: f.score, detector: det.name, explanation,
          });
        }
      }
    }
  }

  /**
   * End of a conduit's baseline: its first event time + baselineMs. A conduit that first appears
   * after the site's own baseline is over (an RTU that starts talking to another RTU mid-run) gets
   * no baseline: everything it does is new, so it is scored for alerts from its first window.
   */
  private baselineEnd(t: ConduitTrack): number {
    const base = this.siteMap.baselineMs;
    if (this.siteFirstSeen !== null && t.firstSeen >= this.siteFirstSeen + base) return -Infinity;
    return t.firstSeen + base;
  }

  private track(t: ConduitTrack, cw: ConduitFeatures): void {
    t.lastWindowStart = cw.windowStart;
    t.windowsScored += 1;
    if (cw.flows === 0) return;
    t.firstSeen = Math.min(t.firstSeen, cw.firstTs);
    t.lastSeen = Math.max(t.lastSeen, cw.lastTs);
    t.flows += cw.flows;
    for (const id of cw.edges.keys()) t.edges.add(id);
  }

  /** Per conduit: declared, first/last seen, baseline progress, counts. Sorted by conduit. */
  status(): ConduitStatus[] {
    const base = this.siteMap.baselineMs;
    return [...this.conduits].sort(([a], [b]) => byString(a, b)).map(([conduit, t]) => {
      const coveredMs = t.lastWindowStart + this.siteMap.site.detection.window - t.firstSeen;
      return {
        conduit, declared: this.siteMap.isDeclared(conduit), firstSeen: t.firstSeen, lastSeen: t.lastSeen,
        learning: t.lastWindowStart < this.baselineEnd(t),
        coverage: base > 0 ? round(Math.min(1, Math.max(0, coveredMs / base))) : 1,
        edges: t.edges.size, flows: t.flows, windowsScored: t.windowsScored, alerts: t.alerts,
      };
    });
  }

  stats(): EngineStats {
    const w = this.windows.stats();
    return {
      runId: this.runId, records: w.records, lateRecords: w.lateRecords, lateByConduit: w.lateByConduit,
      invalidRecords: w.invalidRecords, lastInvalid: w.lastInvalid, windowsClosed: w.windowsClosed,
      skippedEmptyWindows: w.skippedEmptyWindows, watermark: w.watermark, ...this.counters,
    };
  }

  /** Plain JSON-serialisable state: open windows, conduit tracks, every detector model. */
  snapshot(): EngineState {
    const models: Record<string, [string, unknown][]> = {};
    for (const det of this.detectors) {
      models[det.name] = [...this.models.get(det.name)!].map(([conduit, s]) => [conduit, det.save(s)]);
    }
    return {
      version: 1, runId: this.runId, detectors: [...this.names], config: this.config,
      windows: this.windows.toJSON(),
      conduits: [...this.conduits].map(([c, t]) => [c, { ...t, edges: [...t.edges].sort(byString) }]),
      models, counters: { ...this.counters }, siteFirstSeen: this.siteFirstSeen,
    };
  }

  /** Rebuilds an engine from `snapshot()` output (after a JSON round trip). */
  static restore(siteMap: SiteMap, state: EngineState): DetectionEngine {
    if (state?.version !== 1) throw new PipelineError('input_invalid', `engine state version ${String(state?.version)} is not supported; expected 1`);
    const e = new DetectionEngine(siteMap, { detectors: state.detectors, runId: state.runId, config: state.config });
    e.windows = FlowWindows.fromJSON(state.windows, (s, t) => siteMap.conduitOf(s, t));
    e.conduits = new Map(state.conduits.map(([c, t]) => [c, { ...t, edges: new Set(t.edges) }]));
    for (const det of e.detectors) {
      e.models.set(det.name, new Map((state.models[det.name] ?? []).map(([conduit, s]) => [conduit, det.load(s)])));
    }
    e.counters = { ...state.counters };
    e.siteFirstSeen = state.siteFirstSeen;
    return e;
  }
}
