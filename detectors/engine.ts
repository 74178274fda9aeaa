/**
 * DetectionEngine: flows in, scored windows and alerts out. It windows flows by event time
 * (detectors/windows.ts), runs the detectors it is given on each closed window of each conduit,
 * and raises alerts past each conduit's baseline. It knows no detector by name: the wiring
 * creates them from its registry (cli/registry.ts, asynchronously) and hands them in; what the
 * engine must treat specially is said by flags — `reportsScans` on a detector, `novel`,
 * `grouped`, `alertWhileLearning` and `alertInMaintenance` on its findings.
 *
 * Columnar: each flow's edge is resolved once in the edge index (detectors/edges.ts); window
 * counters and every detector's per-edge model are typed-array columns indexed by it. Detectors
 * build explanations and features only for the findings that are emitted:
 *
 * - Emitted scores: every finding scoring ≥ `detection.scoreFloor` (default 0.1; 0 emits every
 *   score), the `ensemble` row of each edge some detector scored ≥ 0.1, and one `activity` row per
 *   conduit and window (edge '', the conduit's counts and its highest score: the cadence series
 *   the dashboards draw). This is what the `windows` table holds (store/README.md).
 * - Emitted series: one `EdgeSeries` per edge-window in which the edge had traffic, or rate
 *   expected ≥ 0.5, or a detector scored it above 0 (what rate and cadence saw and learned, the
 *   edge's top score), from the detectors' `EdgeBands`: the `series` table (store/README.md).
 *
 * Rules (see detectors/README.md):
 * - Baseline: a conduit learns for at least `siteMap.baselineMs` from its first event time, and
 *   until its readiness is reached (`detection.readiness`: the production cycles covered and the
 *   share of the cycle's phase cells that held its traffic). Its windows until then are scored
 *   with `learning: true`; inside the minimum only findings of an undeclared conduit alert
 *   (`alertWhileLearning`), past it security-relevant ones too (`alertBeforeReady`). A conduit
 *   first seen after the site's own baseline (first event time of the input + baselineMs) has no
 *   baseline: it is new, ready and alerting from its first window. `status()` says when each
 *   conduit became ready (`readyAt`).
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
import { ACTIVITY_DETECTOR, parseEdgeId, type Alert, type ConduitReadiness, type EdgeSeries, type FlowRecord, type WindowScore } from '../core/records.ts';
import { ensembleScore, round } from './calibration.ts';
import { colFromJson, colToJson, grow, type NumJSON } from './columns.ts';
import { byString, EdgeBands, num, phaseBucket, Findings, UNIT_NONE, type ConduitWindow, type Finding, type Stage, type WindowContext, type WindowDetector } from './detector.ts';
import { EdgeTable, type EdgeTableJSON } from './edges.ts';
import { detectCycle, PHASE_BUCKETS } from './readiness.ts';
import { FlowWindows, type ClosedWindow, type FlowWindowsJSON, type WindowStats } from './windows.ts';

export interface EngineOptions {
  /**
   * The detectors to run, already created (see `createDetectors` in detectors/registry.ts and the
   * registry in cli/registry.ts). Names must be unique.
   */
  detectors: readonly WindowDetector[];
  /** Names the run in `stats()`; never part of ids or scores. */
  runId?: string;
  /** The raw detector settings the detectors were created with: kept in snapshots so a restore creates the same ones. */
  config?: Readonly<Record<string, unknown>>;
}

export interface ScoredBatch {
  scores: WindowScore[];
  alerts: Alert[];
  /** Per edge-window worth drawing (see `SERIES_MIN_EXPECTED`); always set by the engine. */
  series?: EdgeSeries[];
}

/** Per-conduit readiness (the contract is core/records.ts `ConduitReadiness`). */
export type ConduitStatus = ConduitReadiness;

/** The windows' counters plus what the engine emitted. */
export interface EngineStats extends WindowStats {
  runId: string;
  scores: number;
  alerts: number;
}

interface ConduitTrack {
  firstSeen: number;
  lastSeen: number;
  lastWindowStart: number;
  /** Edges seen in the conduit's closed windows. */
  edges: number;
  flows: number;
  windowsScored: number;
  alerts: number;
  /** Requests (or flows) per closed window, newest last, at most `seriesCap` long. */
  series: number[];
  /** Phase buckets (of PHASE_BUCKETS) that held a window. */
  phases: number[];
  /** Novel items per cycle since firstSeen (index = cycle number, capped). */
  novelByCycle: number[];
  /** Start of the window from which the conduit was ready (its baseline covered the configured cycles and phases); null while learning. */
  readyAt: number | null;
}

/** Most cycles of per-window activity kept per conduit for cycle detection. */
const SERIES_CYCLES = 4;
const SERIES_MAX = 10_080;
const NOVEL_CYCLES_MAX = 1_000;
/** Edge-windows whose best detector score is below this get no `ensemble` row (they are as learned). */
export const ENSEMBLE_MIN = 0.1;
/** `detector` of the per-conduit, per-window row (the cadence series). */
export const ACTIVITY = ACTIVITY_DETECTOR;
/** An edge-window without traffic or a score above 0 gets an `EdgeSeries` when rate expected at least this. */
export const SERIES_MIN_EXPECTED = 0.5;
const UNITS: EdgeSeries['unit'][] = ['', 'requests', 'flows'];

/** Plain JSON state of an engine. */
export interface EngineState {
  version: 2;
  runId: string;
  detectors: string[];
  config: Record<string, unknown>;
  edges: EdgeTableJSON;
  /** Per edge: counted in its conduit's `edges` (seen in a closed window). */
  counted: NumJSON[];
  windows: FlowWindowsJSON;
  conduits: [string, ConduitTrack][];
  models: Record<string, unknown>;
  counters: { scores: number; alerts: number };
  siteFirstSeen: number | null;
}

const formatMs = (ms: number): string => (ms % 3_600_000 === 0 ? `${ms / 3_600_000}h` : ms % 60_000 === 0 ? `${ms / 60_000}m` : `${ms / 1000}s`);

/** Stable alert id: same conduit, edge, detector and window → same id. */
export const alertId = (conduit: string, edge: string, detector: string, windowStart: number): string =>
  createHash('sha256').update(`${conduit}\n${edge}\n${detector}\n${windowStart}`).digest('hex').slice(0, 24);

const sortRecord = (r: Record<string, number>): Record<string, number> => {
  const keys = Object.keys(r);
  let sorted = true;
  for (let i = 1; i < keys.length && sorted; i += 1) sorted = keys[i - 1]! < keys[i]!;
  if (sorted) return r;
  keys.sort(byString);
  const out: Record<string, number> = {};
  for (const k of keys) out[k] = r[k]!;
  return out;
};

const scoreOrder = (a: WindowScore, b: WindowScore): number =>
  a.windowStart - b.windowStart || byString(a.conduit, b.conduit) || byString(a.edge, b.edge) || byString(a.detector, b.detector);

const alertOrder = (a: Alert, b: Alert): number =>
  a.tsStart - b.tsStart || byString(a.conduit, b.conduit) || byString(a.src, b.src) || byString(a.dst, b.dst)
  || a.proto - b.proto || a.dstPort - b.dstPort || byString(a.l7, b.l7) || byString(a.detector, b.detector);

export class DetectionEngine {
  private edges: EdgeTable;
  private windows: FlowWindows;
  private readonly detectors: WindowDetector[];
  private conduits = new Map<string, ConduitTrack>();
  /** Conduit names of `conduits`, sorted. */
  private names: string[] = [];
  private counted = new Uint8Array(16);
  private counters = { scores: 0, alerts: 0 };
  /** First event time of the whole input: conduits that appear after its baseline get none of their own. */
  private siteFirstSeen: number | null = null;
  private readonly runId: string;
  private readonly detectorNames: string[];
  private readonly config: Record<string, unknown>;
  private readonly aggregateScans: boolean;
  private readonly scoreFloor: number;
  /** Findings below this are not needed at all (not emitted, alerted or ensembled). */
  private readonly buildFloor: number;
  private cycleMemo = new Map<string, { at: number; lag: number | null }>();
  /** Scratch: the per-edge numbers of the conduit-window being scored. */
  private readonly bands = new EdgeBands();
  /** Edge ids (`EdgeTable.idOf`) of the edges that had a series row, built once per edge. */
  private edgeIds: string[] = [];

  constructor(private readonly siteMap: SiteMap, opts: EngineOptions) {
    this.detectors = [...opts.detectors].sort((a, b) => byString(a.name, b.name));
    this.detectorNames = this.detectors.map((d) => d.name);
    const twice = this.detectorNames.filter((n, i) => i > 0 && this.detectorNames[i - 1] === n);
    if (twice.length > 0) throw new PipelineError('config_invalid', `detector(s) ${twice.map((n) => `"${n}"`).join(', ')} given twice; each detector runs once per engine`);
    this.config = { ...opts.config };
    this.runId = opts.runId ?? '';
    this.aggregateScans = this.detectors.some((d) => d.reportsScans === true);
    const d = siteMap.site.detection;
    this.scoreFloor = d.scoreFloor;
    this.buildFloor = Math.min(d.scoreFloor, d.alertThreshold, this.detectors.length > 1 ? ENSEMBLE_MIN : 1);
    this.edges = new EdgeTable((s, t) => siteMap.conduitOf(s, t), d.ephemeralPorts);
    const cycle = siteMap.site.productionCycle;
    const cells = new Set<number>();
    for (let k = 0, n = Math.min(100_000, Math.ceil(cycle / d.window)); k < n && cells.size < PHASE_BUCKETS; k += 1) {
      cells.add(phaseBucket((((k * d.window) % cycle) + cycle) % cycle / cycle, PHASE_BUCKETS));
    }
    this.phaseCells = Math.max(1, cells.size);
    this.windows = new FlowWindows({ windowMs: d.window, allowedLatenessMs: d.allowedLateness }, this.edges);
  }

  /** Adds a batch of flows; returns the scores and alerts of the windows it closed. */
  ingest(flows: readonly FlowRecord[]): ScoredBatch {
    return this.scoreClosed(this.windows.add(flows));
  }

  /** End of input: closes and scores every open window. */
  flush(): ScoredBatch {
    const reached = this.windows.maxEventTime;
    return this.scoreClosed(this.windows.flush(), reached ?? Infinity);
  }

  /**
   * Moves event time to `eventTimeMs` without flows (a watermark from the collector, for an engine
   * that sees only some conduits, e.g. one bus partition): closes and scores the windows that
   * `ingest` would close if a flow starting at `eventTimeMs` arrived, without adding that flow
   * anywhere. With `endOfInput`, the input ended and its last flow started at `eventTimeMs`:
   * closes every window up to the one holding it, scored as `flush` would score them. Going back
   * in time is a no-op. `ingest(a ++ b)` = `ingest(a)`, `advance(max start of a ∪ other conduits)`,
   * `ingest(b)` for this engine's conduits.
   */
  advance(eventTimeMs: number, endOfInput = false): ScoredBatch {
    const { windowMs, allowedLatenessMs } = this.windows.spec;
    if (!Number.isFinite(eventTimeMs)) return { scores: [], alerts: [], series: [] };
    const limit = endOfInput ? Math.floor(eventTimeMs / windowMs) * windowMs + windowMs : eventTimeMs - allowedLatenessMs;
    const current = this.windows.maxEventTime;
    if (current !== null && limit + allowedLatenessMs <= current) return { scores: [], alerts: [], series: [] };
    return this.scoreClosed(this.windows.advanceTo(limit + allowedLatenessMs), endOfInput ? eventTimeMs : Infinity);
  }

  /** `reached`: how far the input got (flush: the last flow start); windows are never scored past it. */
  private scoreClosed(closed: ClosedWindow[], reached = Infinity): ScoredBatch {
    const scores: WindowScore[] = [];
    const alerts: Alert[] = [];
    const series: EdgeSeries[] = [];
    for (const w of closed) {
      this.scoreWindow(w, scores, alerts, series, reached);
      this.windows.release(w);
    }
    scores.sort(scoreOrder);
    alerts.sort(alertOrder);
    this.counters.scores += scores.length;
    this.counters.alerts += alerts.length;
    return { scores, alerts, series };
  }

  private scoreWindow(w: ClosedWindow, scores: WindowScore[], alerts: Alert[], series: EdgeSeries[], reached: number): void {
    const t = this.edges;
    const acc = w.acc;
    const conduitNames = t.conduits.list;
    if (this.siteFirstSeen === null && w.conduits.length > 0) {
      this.siteFirstSeen = Math.min(...w.conduits.map((c) => acc!.byConduit.get(c)!.firstTs));
    }
    for (const c of w.conduits) {
      const name = conduitNames[c]!;
      if (this.conduits.has(name)) continue;
      const g = acc!.byConduit.get(c)!;
      this.conduits.set(name, {
        firstSeen: g.firstTs, lastSeen: g.lastTs, lastWindowStart: w.windowStart, edges: 0, flows: 0, windowsScored: 0, alerts: 0,
        series: [], phases: [], novelByCycle: [], readyAt: null,
      });
      this.names.push(name);
      this.names.sort(byString);
    }
    const maintenance = this.siteMap.inMaintenance(w.windowStart) ?? this.siteMap.inMaintenance(w.windowEnd - 1);
    const threshold = this.siteMap.site.detection.alertThreshold;
    const cycleMs = this.siteMap.site.productionCycle;
    const cyclePhase = (((w.windowStart % cycleMs) + cycleMs) % cycleMs) / cycleMs;
    const ensemble = this.detectors.length > 1;
    this.counted = grow(this.counted, t.count);
    // The dynamic ports this window adds to its ephemeral edges, before any detector explains one.
    if (acc) for (let s = 0; s < acc.n; s += 1) { const e = acc.edge[s]!; if (t.ephem[e] === 1) t.seePorts(e, acc.portMin[s]!, acc.portMax[s]!); }
    for (const conduit of this.names) {
      const track = this.conduits.get(conduit)!;
      const cid = t.conduits.find(conduit);
      const g = acc?.byConduit.get(cid);
      const cw: ConduitWindow = {
        edges: t, conduit: cid, windowStart: w.windowStart, windowEnd: w.windowEnd, acc,
        from: g?.from ?? 0, to: g?.to ?? 0, flows: g?.flows ?? 0, firstTs: g?.firstTs ?? Infinity, lastTs: g?.lastTs ?? -Infinity,
      };
      const activity = this.track(track, cw, cyclePhase);
      const stage = this.stage(track, w.windowStart);
      const learning = stage !== 'ready';
      const ctx: WindowContext = {
        conduit, windowStart: w.windowStart, windowEnd: w.windowEnd, maintenance, learning,
        declared: this.siteMap.isDeclared(conduit), cycleMs, cyclePhase, aggregateScans: this.aggregateScans,
        horizon: Math.max(w.windowStart, Math.min(w.windowEnd, reached)),
      };
      const byEdge = ensemble ? new Map<string, [string, Finding][]>() : undefined;
      let top = 0;
      let topDetector = '';
      let stored = 0;
      let novel = 0;
      const conduitSeries: Record<string, number> = {};
      this.bands.begin(t.count);
      for (const det of this.detectors) {
        const out = new Findings(this.buildFloor, this.siteMap.site.detection.learningScores ? 'ready' : stage, threshold, this.bands);
        det.scoreWindow(cw, ctx, out);
        if (out.top > top) { top = out.top; topDetector = det.name; }
        Object.assign(conduitSeries, out.series);
        if (out.novelSkipped > 0) this.countNovel(track, w.windowStart, out.novelSkipped);
        novel += out.novelSkipped;
        for (const f of out.list) {
          if (f.novel === true) { this.countNovel(track, w.windowStart); novel += 1; }
          if (byEdge && f.score >= ENSEMBLE_MIN) {
            const list = byEdge.get(f.edge);
            if (list) list.push([det.name, f]);
            else byEdge.set(f.edge, [[det.name, f]]);
          }
          const raise = f.score >= threshold && f.grouped !== true
            && (stage === 'ready' || f.alertWhileLearning === true || (stage === 'early' && f.alertBeforeReady === true));
          const muted = raise && maintenance !== undefined && f.alertInMaintenance !== true;
          // Every alerted score is emitted, below the floor too (a site may set alertThreshold under it).
          const emit = f.score >= this.scoreFloor || (raise && !muted);
          if (!emit && !raise) continue;
          const explanation = muted ? `${f.explanation} (in maintenance window ${maintenance}: not alerted)` : f.explanation;
          if (emit) {
            stored += 1;
            const features = sortRecord(maintenance !== undefined ? { ...f.features, maintenance: 1 } : f.features);
            scores.push({ conduit, edge: f.edge, windowStart: w.windowStart, windowEnd: w.windowEnd, detector: det.name, score: f.score, learning, explanation, features });
          }
          if (!raise || muted) continue;
          const k = parseEdgeId(f.edge);
          track.alerts += 1;
          alerts.push({
            id: alertId(conduit, f.edge, det.name, w.windowStart), conduit, src: k.src, dst: k.dst, proto: k.proto, dstPort: k.dstPort, l7: k.l7,
            tsStart: w.windowStart, tsEnd: w.windowEnd, score: f.score, detector: det.name, explanation,
          });
        }
      }
      if (byEdge) this.ensembleScores(byEdge, conduit, w, learning, scores);
      scores.push(this.activityRow(conduit, cw, activity, learning, top, topDetector, stored, novel, maintenance, { ...conduitSeries, phase_bucket: phaseBucket(cyclePhase, PHASE_BUCKETS) }));
      this.edgeSeries(conduit, cw, learning, series);
    }
    // Site-wide services per host pair (novelty's reverse-direction hint), as the window closes.
    if (acc) {
      for (const c of w.conduits) {
        const g = acc.byConduit.get(c)!;
        for (let k = g.from; k < g.to; k += 1) t.register(acc.edge[acc.order[k]!]!);
      }
    }
  }

  /** The conduit's row of the cadence series: counts of the window and its highest score. */
  private activityRow(conduit: string, cw: ConduitWindow, a: { requests: number; edges: number }, learning: boolean, top: number, topDetector: string, findings: number, novel: number, maintenance: string | undefined, series: Record<string, number>): WindowScore {
    const acc = cw.acc;
    let packets = 0;
    let bytes = 0;
    let responses = 0;
    let connections = 0;
    if (acc) {
      for (let k = cw.from; k < cw.to; k += 1) {
        const s = acc.order[k]!;
        packets += acc.packets[s]!;
        bytes += acc.bytes[s]!;
        responses += acc.responses[s]!;
        for (let i = acc.startsHead[s]!; i >= 0; i = acc.startNext[i]!) connections += 1;
      }
    }
    const features: Record<string, number> = {
      bytes, connections, edges: a.edges, findings, flows: cw.flows, ...(maintenance !== undefined ? { maintenance: 1 } : {}), novel, packets, requests: a.requests, responses,
      ...series,
    };
    const text = `${cw.flows} flows, ${num(a.requests)} requests on ${a.edges} edge${a.edges === 1 ? '' : 's'}; ${top > 0 ? `highest score ${top} (${topDetector})` : 'nothing deviated'}`;
    return { conduit, edge: '', windowStart: cw.windowStart, windowEnd: cw.windowEnd, detector: ACTIVITY, score: top, learning, explanation: text, features: sortRecord(features) };
  }

  /**
   * The conduit-window's `EdgeSeries` from the bands the detectors filled, in edge index order (the
   * order the engine first saw the conduit's edges: the same however the input is batched or
   * partitioned by conduit), so a batch's series are in (window, conduit, edge index) order.
   */
  private edgeSeries(conduit: string, cw: ConduitWindow, learning: boolean, series: EdgeSeries[]): void {
    const b = this.bands;
    const acc = cw.acc;
    if (acc) {
      for (let k = cw.from; k < cw.to; k += 1) {
        const s = acc.order[k]!;
        b.seen(acc.edge[s]!, acc.requests[s]!, acc.flows[s]!);
      }
    }
    // Detectors touch a conduit's edges mostly in index order already: sort only when they did not.
    const touched = b.list.subarray(0, b.n);
    for (let i = 1; i < touched.length; i += 1) if (touched[i - 1]! > touched[i]!) { touched.sort(); break; }
    for (let i = 0; i < touched.length; i += 1) {
      const e = touched[i]!;
      if (b.traffic[e] === 0 && b.score[e]! <= 0 && !(b.expected[e]! >= SERIES_MIN_EXPECTED)) continue;
      series.push({
        conduit, edge: this.edgeIds[e] ?? this.edgeIdOf(e), windowStart: cw.windowStart, windowEnd: cw.windowEnd, learning, unit: UNITS[b.unit[e]!]!,
        observed: b.unit[e] === UNIT_NONE ? 0 : b.observed[e]!, expected: b.expected[e]!, expectedStd: b.expectedStd[e]!,
        periodMs: b.periodMs[e]!, jitterMs: b.jitterMs[e]!, expectedPeriodMs: b.expectedPeriodMs[e]!, expectedJitterMs: b.expectedJitterMs[e]!,
        intervals: b.intervals[e]!, score: b.score[e]!,
      });
    }
  }

  /**
   * Edge id of `e`, built once and kept as one flat string: the template literal gives a tree of
   * concatenated strings (five nodes of 32 B beside the parts), which reading it (`Number(id)`,
   * as before) did not always flatten — 160 B per edge of heap for the cached ids. A JSON round
   * trip copies it into one sequential string (≈ 48 B).
   */
  private edgeIdOf(e: number): string {
    const id = JSON.parse(JSON.stringify(this.edges.idOf(e))) as string;
    this.edgeIds[e] = id;
    return id;
  }

  /**
   * One `ensemble` score per edge that some detector scored ≥ ENSEMBLE_MIN in the window (see
   * `ensembleScore`): a summary for ranking and dashboards, never alerted by itself — every alert
   * comes from one detector.
   */
  private ensembleScores(byEdge: Map<string, [string, Finding][]>, conduit: string, w: ClosedWindow, learning: boolean, scores: WindowScore[]): void {
    // Any order: the batch's scores are sorted by (window, conduit, edge, detector) at the end.
    for (const [edge, found] of byEdge) {
      const list = found.sort((a, b) => b[1].score - a[1].score || byString(a[0], b[0]));
      const score = ensembleScore(list.map(([, f]) => f.score));
      if (score < this.scoreFloor) continue;
      const agree = list.filter(([, f]) => f.score >= 0.5).length;
      const features: Record<string, number> = { agreeing: agree };
      for (const [name, f] of list) features[name] = f.score;
      scores.push({
        conduit, edge, windowStart: w.windowStart, windowEnd: w.windowEnd, detector: 'ensemble', score, learning,
        explanation: `${list.map(([n, f]) => `${n} ${f.score}`).join(', ')}: ${list[0]![1].explanation}`, features: sortRecord(features),
      });
    }
  }

  private countNovel(t: ConduitTrack, windowStart: number, n = 1): void {
    const i = Math.max(0, Math.floor((windowStart - t.firstSeen) / this.siteMap.site.productionCycle));
    if (i >= NOVEL_CYCLES_MAX) return;
    while (t.novelByCycle.length <= i) t.novelByCycle.push(0);
    t.novelByCycle[i]! += n;
  }

  /**
   * Where a conduit stands in window `ws` (see `Stage`): inside its minimum baseline, past it but
   * not ready, or ready — ready once the minimum has passed, its windows cover
   * `detection.readiness.cycles` production cycles and the share `readiness.phases` of the cycle's
   * phase cells held its traffic. Latched: once ready, ready (`readyAt`). A conduit without a
   * baseline (first seen after the site's) is ready from its first window.
   */
  private stage(t: ConduitTrack, ws: number): Stage {
    if (t.readyAt !== null) return 'ready';
    const end = this.baselineEnd(t);
    if (end === -Infinity) { t.readyAt = ws; return 'ready'; }
    if (ws < end) return 'minimum';
    const r = this.siteMap.site.detection.readiness;
    const cycles = (ws - t.firstSeen) / this.siteMap.site.productionCycle;
    if (cycles >= r.cycles && t.phases.length >= Math.ceil(r.phases * this.phaseCells)) { t.readyAt = ws; return 'ready'; }
    return 'early';
  }

  /**
   * Phase cells a conduit can fill: PHASE_BUCKETS, or fewer when a production cycle holds fewer
   * windows than cells (a 10 min cycle of 60 s windows touches 10 of the 12).
   */
  private readonly phaseCells: number;

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

  /** Updates the conduit's track with one window; returns its requests (flows where none) and edges with traffic. */
  private track(t: ConduitTrack, cw: ConduitWindow, phase: number): { requests: number; edges: number } {
    t.lastWindowStart = cw.windowStart;
    t.windowsScored += 1;
    let activity = 0;
    const acc = cw.acc;
    if (acc) {
      for (let k = cw.from; k < cw.to; k += 1) {
        const s = acc.order[k]!;
        activity += acc.requests[s]! > 0 ? acc.requests[s]! : acc.flows[s]!;
      }
    }
    t.series.push(activity);
    const cap = Math.min(SERIES_MAX, Math.max(240, SERIES_CYCLES * Math.ceil(this.siteMap.site.productionCycle / this.siteMap.site.detection.window)));
    if (t.series.length > cap) t.series.splice(0, t.series.length - cap);
    const edges = cw.to - cw.from;
    if (cw.flows === 0) return { requests: activity, edges };
    const b = phaseBucket(phase, PHASE_BUCKETS);
    if (!t.phases.includes(b)) t.phases.push(b);
    t.firstSeen = Math.min(t.firstSeen, cw.firstTs);
    t.lastSeen = Math.max(t.lastSeen, cw.lastTs);
    t.flows += cw.flows;
    for (let k = cw.from; k < cw.to; k += 1) {
      const e = acc!.edge[acc!.order[k]!]!;
      if (this.counted[e] === 0) { this.counted[e] = 1; t.edges += 1; }
    }
    return { requests: activity, edges };
  }

  /** Per conduit: declared, first/last seen, baseline progress, readiness, detected cycle, counts. Sorted by conduit. */
  status(): ConduitStatus[] {
    const base = this.siteMap.baselineMs;
    const cycleMs = this.siteMap.site.productionCycle;
    const windowMs = this.siteMap.site.detection.window;
    return this.names.map((conduit) => {
      const t = this.conduits.get(conduit)!;
      const coveredMs = t.lastWindowStart + windowMs - t.firstSeen;
      const coverage = base > 0 ? round(Math.min(1, Math.max(0, coveredMs / base))) : 1;
      const learning = t.readyAt === null;
      const need = Math.ceil(this.siteMap.site.detection.readiness.phases * this.phaseCells);
      const waiting = coverage >= 1 && t.phases.length < need ? `, ${t.phases.length} of ${need} cycle phases seen` : '';
      const state = learning ? `learning, ${Math.round(coverage * 100)}% coverage${waiting}` : this.baselineEnd(t) === -Infinity ? 'new (no baseline: alerts from its first window)' : 'ready';
      const detected = this.detectedCycle(conduit, t);
      const detectedCycleMs = detected === null ? null : detected * windowMs;
      const cyclesCovered = round(Math.max(0, coveredMs) / cycleMs, 2);
      let cycleNote = '';
      if (this.siteMap.isSteady(conduit)) {
        // Declared steady in site.yaml: productionCycle is only its learning span, nothing to check.
      } else if (detectedCycleMs !== null && Math.abs(detectedCycleMs - cycleMs) > 0.2 * cycleMs) {
        cycleNote = `detected cycle ${formatMs(detectedCycleMs)} differs from productionCycle ${formatMs(cycleMs)} by more than 20%; check site.yaml`;
      } else if (detectedCycleMs === null && cyclesCovered >= 2) {
        cycleNote = `no cycle found in requests per window over ${cyclesCovered} cycles; productionCycle ${formatMs(cycleMs)} is not confirmed by the data`;
      }
      return {
        conduit, declared: this.siteMap.isDeclared(conduit), firstSeen: t.firstSeen, lastSeen: t.lastSeen,
        learning, coverage, edges: t.edges, flows: t.flows, windowsScored: t.windowsScored, alerts: t.alerts,
        state, cyclesCovered, phaseBucketsSeen: t.phases.length, phaseBuckets: PHASE_BUCKETS,
        novelFirstCycle: t.novelByCycle[0] ?? 0,
        novelLastCycle: t.novelByCycle[Math.max(0, Math.floor((t.lastWindowStart - t.firstSeen) / cycleMs))] ?? 0, detectedCycleMs, cycleNote,
        readyAt: t.readyAt,
      };
    });
  }

  /** Detected cycle in windows (memoised per conduit until a new window closes). */
  private detectedCycle(conduit: string, t: ConduitTrack): number | null {
    const memo = this.cycleMemo.get(conduit);
    if (memo && memo.at === t.windowsScored) return memo.lag;
    const found = detectCycle(t.series);
    const lag = found ? found.lag : null;
    this.cycleMemo.set(conduit, { at: t.windowsScored, lag });
    return lag;
  }

  stats(): EngineStats {
    const w = this.windows.stats();
    return {
      runId: this.runId, records: w.records, lateRecords: w.lateRecords, lateByConduit: w.lateByConduit,
      invalidRecords: w.invalidRecords, lastInvalid: w.lastInvalid, windowsClosed: w.windowsClosed,
      skippedEmptyWindows: w.skippedEmptyWindows, watermark: w.watermark, ...this.counters,
    };
  }

  /** Edges in the index (every edge seen, closed window or not). */
  get edgeCount(): number {
    return this.edges.count;
  }

  /** Plain JSON-serialisable state: the edge index, open windows, conduit tracks, every detector model. */
  snapshot(): EngineState {
    const models: Record<string, unknown> = {};
    for (const det of this.detectors) models[det.name] = det.save();
    return {
      version: 2, runId: this.runId, detectors: [...this.detectorNames], config: this.config,
      edges: this.edges.toJSON(), counted: colToJson(this.counted, this.edges.count),
      windows: this.windows.toJSON(),
      conduits: this.names.map((c) => { const t = this.conduits.get(c)!; return [c, { ...t, series: [...t.series], phases: [...t.phases], novelByCycle: [...t.novelByCycle] }]; }),
      models, counters: { ...this.counters }, siteFirstSeen: this.siteFirstSeen,
    };
  }

  /**
   * Rebuilds an engine from `snapshot()` output (after a JSON round trip). `detectors` must be
   * created from the snapshot's own selection (`state.detectors`, `state.config`): cli/registry.ts
   * `restoreEngine` does that.
   */
  static restore(siteMap: SiteMap, state: EngineState, detectors: readonly WindowDetector[]): DetectionEngine {
    if (state?.version !== 2) {
      throw new PipelineError('input_invalid', `engine state version ${String(state?.version)} is not supported; expected 2 (a state written before the columnar engine cannot be read: drop it and replay the flows it covered)`);
    }
    const e = new DetectionEngine(siteMap, { detectors, runId: state.runId, config: state.config });
    const have = e.detectorNames.join(',');
    if (have !== [...state.detectors].sort(byString).join(',')) {
      throw new PipelineError('input_invalid', `engine state was written by detectors ${state.detectors.join(', ')}, but ${have || 'none'} were given to restore it`);
    }
    const conduitOf = (s: string, t: string): string => siteMap.conduitOf(s, t);
    e.edges = EdgeTable.fromJSON(state.edges, conduitOf);
    e.counted = colFromJson(Uint8Array, state.counted, e.edges.count);
    e.windows = FlowWindows.fromJSON(state.windows, e.edges);
    e.conduits = new Map(state.conduits.map(([c, t]) => [c, { ...t, series: [...t.series], phases: [...t.phases], novelByCycle: [...t.novelByCycle], readyAt: t.readyAt ?? null }]));
    e.names = [...e.conduits.keys()].sort(byString);
    for (const det of e.detectors) if (state.models[det.name] !== undefined) det.load(state.models[det.name]);
    e.counters = { ...state.counters };
    e.siteFirstSeen = state.siteFirstSeen;
    return e;
  }
}
