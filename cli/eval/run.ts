/**
 * Runs an evaluation: for each test input, a fresh DetectionEngine is fed the baseline inputs and
 * then that test input as one event-time stream, and its alerts are scored against the labels.
 *
 * Timeline: inputs are read whole (eval inputs are captures of minutes to hours), cut at their
 * `from` / `until` offsets (rounded up to window boundaries) and laid one after the other. An input
 * that would start before the previous one ended (a capture recorded earlier, or the same time of
 * day on a date-less CSV) is shifted forward by whole windows so that its first window follows the
 * previous one's last; its labels move with it, and results name times in the file's own time.
 * Window alignment is kept, so every flow slice lands in the same window it would unshifted.
 * Maintenance windows of the site apply to shifted time.
 *
 * The engine is used only through its public API (constructor, ingest, flush, stats).
 */
import { basename, resolve } from 'node:path';
import { SiteMap, type Site } from '../../core/config.ts';
import { PipelineError } from '../../core/errors.ts';
import type { Alert, FlowRecord } from '../../core/records.ts';
import type { DetectionEngine, ScoredBatch } from '../../detectors/engine.ts';
import type { ModelUse } from '../../models/use.ts';
import { openInput } from '../inputs.ts';
import type { DetectorSelection } from '../../detectors/registry.ts';
import { createEngine, loadSiteChecked, mergeDetectorConfig, siteSelection } from '../registry.ts';
import { loadAttacks, type Attack } from './labels.ts';
import { scoreRun, summarize, type AttackOutcome, type RunFrame, type Summary } from './metrics.ts';
import type { EvalInput, LoadedSpec } from './spec.ts';

/** One input, cut and placed on the engine's timeline. */
export interface Segment {
  /** The file as the spec names it. */
  file: string;
  path: string;
  /** Records with engine times (shift applied). */
  records: FlowRecord[];
  /** Scored range in engine time: first window start, last window end. */
  from: number;
  to: number;
  shiftMs: number;
}

const ceilTo = (t: number, w: number): number => Math.ceil(t / w) * w;
const floorTo = (t: number, w: number): number => Math.floor(t / w) * w;

/** Reads every record of a file. */
export const readAll = async (path: string, windowMs: number): Promise<FlowRecord[]> => {
  const out: FlowRecord[] = [];
  for await (const batch of openInput(path, { sliceMs: windowMs }).flows) for (const f of batch) out.push(f);
  return out;
};

/**
 * Cuts `records` to the input's offsets and places them after `notBefore` (engine time): shifted
 * forward by whole windows when they would start earlier.
 */
export const placeSegment = (input: EvalInput, path: string, records: readonly FlowRecord[], windowMs: number, notBefore: number): Segment => {
  const W = windowMs;
  let first = Infinity;
  for (const r of records) if (r.tsStart < first) first = r.tsStart;
  const lo = input.from !== undefined ? ceilTo(first + input.from, W) : -Infinity;
  const hi = input.until !== undefined ? ceilTo(first + input.until, W) : Infinity;
  const kept = records.filter((r) => r.tsStart >= lo && r.tsStart < hi);
  if (kept.length === 0) {
    throw new PipelineError('config_invalid', `${input.file}: no records ${input.from !== undefined ? `from ${input.from} ms ` : ''}${input.until !== undefined ? `until ${input.until} ms ` : ''}after its first record; check from/until against the file's length.`, { file: input.file });
  }
  let minTs = Infinity;
  let maxTs = -Infinity;
  for (const r of kept) {
    if (r.tsStart < minTs) minTs = r.tsStart;
    if (r.tsStart > maxTs) maxTs = r.tsStart;
  }
  const from = Number.isFinite(lo) ? lo : floorTo(minTs, W);
  const to = Math.min(floorTo(maxTs, W) + W, hi);
  const shiftMs = from < notBefore ? notBefore - floorTo(from, W) : 0;
  return {
    file: input.file, path,
    records: shiftMs === 0 ? [...kept] : kept.map((r) => ({ ...r, tsStart: r.tsStart + shiftMs, tsEnd: r.tsEnd + shiftMs })),
    from: from + shiftMs, to: to + shiftMs, shiftMs,
  };
};

export interface SegmentSummary {
  file: string;
  from: number | null;
  until: number | null;
  records: number;
  /** Scored range in the file's own time. */
  start: string;
  end: string;
  shiftMs: number;
}

export interface RunSummary extends SegmentSummary {
  windows: number;
  /** Per conduit: test windows still inside its baseline (scored, never alerted). Sorted by conduit. */
  learningWindows: Record<string, number>;
  /** Alerts raised during the baseline inputs (never counted in the metrics). */
  baselineAlerts: number;
  /** Windows at the start of the input replayed but not scored (spec `settle`), and their alerts. */
  settleWindows: number;
  settleAlerts: number;
  lateRecords: number;
  invalidRecords: number;
  /** Labels of this input outside its scored range (e.g. inside the part used as baseline). */
  labelsOutside: number;
}

/** What `conduitwatch eval` writes: no processing times, stable key order, so results diff cleanly. */
export interface EvalResult {
  name: string;
  description: string;
  site: string;
  windowMs: number;
  alertThreshold: number;
  detectors: string[] | 'all';
  /** The detector settings used (site.yaml's with the spec's on top), when any. */
  detectorConfig?: Record<string, unknown>;
  baseline: SegmentSummary[];
  runs: RunSummary[];
  attacks: AttackResult[];
  summary: Summary;
  targets: {
    /** Every labelled attack detected; null when there are no labels. */
    everyAttackDetected: boolean | null;
    /** Every conduit under one false alert per day of normal time. */
    underOneFalseAlertPerConduitPerDay: boolean;
  };
}

/** An attack outcome with times written as ISO 8601 (the input file's own time). */
export type AttackResult = Omit<AttackOutcome, 'start' | 'end' | 'first'> & {
  start: string;
  end: string;
  first?: Omit<NonNullable<AttackOutcome['first']>, 'windowStart' | 'windowEnd'> & { windowStart: string; windowEnd: string };
};

const iso = (ms: number): string => new Date(ms).toISOString();

const segmentSummary = (input: EvalInput, s: Segment): SegmentSummary => ({
  file: input.file, from: input.from ?? null, until: input.until ?? null, records: s.records.length,
  start: iso(s.from - s.shiftMs), end: iso(s.to - s.shiftMs), shiftMs: s.shiftMs,
});

const attackResult = (o: AttackOutcome): AttackResult => {
  const { start, end, first, delayMs, otherHostAlerts, ...rest } = o;
  return {
    ...rest, start: iso(start), end: iso(end),
    ...(first ? { first: { ...first, windowStart: iso(first.windowStart), windowEnd: iso(first.windowEnd) } } : {}),
    ...(delayMs !== undefined ? { delayMs } : {}),
    otherHostAlerts,
  };
};

const BATCH = 4096;

interface Fed { alerts: Alert[]; learning: Set<string> }

const feed = (engine: DetectionEngine, records: readonly FlowRecord[], from: number, fed: Fed): void => {
  for (let i = 0; i < records.length; i += BATCH) take(engine.ingest(records.slice(i, i + BATCH)), from, fed);
};

const take = (out: ScoredBatch, from: number, fed: Fed): void => {
  fed.alerts.push(...out.alerts);
  for (const s of out.scores) if (s.learning && s.windowStart >= from) fed.learning.add(`${s.conduit}\n${s.windowStart}`);
};

const learningByConduit = (keys: Set<string>): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const k of [...keys].sort()) {
    const c = k.slice(0, k.indexOf('\n'));
    out[c] = (out[c] ?? 0) + 1;
  }
  return out;
};

/** The site with the spec's window override applied. */
export const evalSite = (site: Site, windowMs: number | undefined): Site =>
  windowMs === undefined ? site : { ...site, detection: { ...site.detection, window: windowMs } };

/**
 * The detectors an evaluation runs: site.yaml's selection (`detection.detectors`,
 * `detection.detectorConfig`), with the spec's `detectors` replacing the list and the spec's
 * `detectorConfig` overriding site.yaml's settings key by key, per detector — so a spec tries a
 * tuning, and copying its `detectorConfig` into site.yaml deploys it.
 */
export const evalSelection = (site: Site, spec: { detectors?: string[] | undefined; detectorConfig?: Record<string, unknown> | undefined }): DetectorSelection => {
  const fromSite = siteSelection(site);
  const config = mergeDetectorConfig(fromSite.config, spec.detectorConfig);
  const detectors = spec.detectors ?? fromSite.detectors;
  return { ...(detectors ? { detectors } : {}), config };
};

/** Runs the evaluation a loaded spec describes. Deterministic: same spec and data, same result. `models`: trained models to run beside the spec's detectors (cli/models-eval.ts). */
export const runEval = async (loaded: LoadedSpec, models?: ModelUse): Promise<EvalResult> => {
  const { spec, dataRoot } = loaded;
  const site = evalSite(loadSiteChecked(loaded.sitePath), spec.window);
  const siteMap = new SiteMap(site);
  const W = site.detection.window;
  const cache = new Map<string, FlowRecord[]>();
  const records = async (file: string): Promise<[string, FlowRecord[]]> => {
    const path = resolve(dataRoot, file);
    if (!cache.has(path)) cache.set(path, await readAll(path, W));
    return [path, cache.get(path)!];
  };

  const baseline: Segment[] = [];
  let end = -Infinity;
  for (const input of spec.baseline) {
    const [path, recs] = await records(input.file);
    const seg = placeSegment(input, path, recs, W, end);
    baseline.push(seg);
    end = seg.to;
  }
  const baselineConduits = new Set<string>();
  for (const s of baseline) for (const r of s.records) baselineConduits.add(siteMap.conduitOf(r.srcIp, r.dstIp));

  const selection = evalSelection(site, spec);
  const runs: RunSummary[] = [];
  const scores = [];
  const attacks: AttackResult[] = [];
  for (const input of spec.test) {
    const [path, recs] = await records(input.file);
    const seg = placeSegment(input, path, recs, W, end);
    const labels: Attack[] = [];
    for (const src of spec.labels) labels.push(...await loadAttacks(src, path, dataRoot, W));
    const from = Math.min(seg.to, seg.from + ceilTo(spec.settle ?? 0, W));
    const inside = labels.filter((a) => a.end + seg.shiftMs >= from && a.start + seg.shiftMs < seg.to);

    const engine = await createEngine(siteMap, { runId: `eval-${spec.name}-${basename(path)}`, ...selection, ...(models ? { models } : {}) });
    const fed: Fed = { alerts: [], learning: new Set() };
    for (const b of baseline) feed(engine, b.records, seg.from, fed);
    feed(engine, seg.records, seg.from, fed);
    take(engine.flush(), seg.from, fed);

    const exposureStart: Record<string, number> = {};
    for (const c of baselineConduits) exposureStart[c] = from;
    for (const r of seg.records) {
      const c = siteMap.conduitOf(r.srcIp, r.dstIp);
      const ws = Math.max(from, floorTo(r.tsStart, W));
      if (exposureStart[c] === undefined || ws < exposureStart[c]!) exposureStart[c] = ws;
    }
    const frame: RunFrame = {
      windowMs: W, from, to: seg.to, shiftMs: seg.shiftMs, exposureStart,
      slackMs: spec.match.slack ?? W, endpoints: spec.match.endpoints,
    };
    const score = scoreRun(inside, fed.alerts, frame);
    scores.push(score);
    attacks.push(...score.attacks.map(attackResult));
    const st = engine.stats();
    runs.push({
      ...segmentSummary(input, seg),
      windows: score.windows.windows,
      learningWindows: learningByConduit(fed.learning),
      baselineAlerts: fed.alerts.filter((a) => a.tsStart < seg.from).length,
      settleWindows: (from - seg.from) / W,
      settleAlerts: fed.alerts.filter((a) => a.tsStart >= seg.from && a.tsStart < from).length,
      lateRecords: st.lateRecords,
      invalidRecords: st.invalidRecords,
      labelsOutside: labels.length - inside.length,
    });
  }
  const summary = summarize(scores);
  return {
    name: spec.name,
    description: spec.description,
    site: spec.site,
    windowMs: W,
    alertThreshold: site.detection.alertThreshold,
    detectors: selection.detectors ? [...selection.detectors].sort() : 'all',
    ...(Object.keys(selection.config ?? {}).length > 0 ? { detectorConfig: selection.config } : {}),
    baseline: spec.baseline.map((input, i) => segmentSummary(input, baseline[i]!)),
    runs,
    attacks,
    summary,
    targets: {
      everyAttackDetected: summary.attacks > 0 ? summary.detected === summary.attacks : null,
      underOneFalseAlertPerConduitPerDay: (summary.falseAlerts.maxPerConduitPerDay ?? 0) < 1,
    },
  };
};

/** The result file's text: two-space JSON and a final newline. */
export const resultJson = (r: unknown): string => JSON.stringify(r, null, 2) + '\n';
