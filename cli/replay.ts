/**
 * The main job in one process: inputs → flow records → event-time windows and detectors →
 * ClickHouse (chDB) → a report. Inputs are read in the order given, as one event-time stream.
 */
import { createHash } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import type { Clock } from '../core/clock.ts';
import { SiteMap, type Site } from '../core/config.ts';
import { bump, edgeId, type Alert, type Asset, type EdgeSeries, type FlowRecord, type Incident, type WindowScore } from '../core/records.ts';
import type { DetectionEngine } from '../detectors/engine.ts';
import { DEFAULT_SECURITY_PATTERNS, securityMatcher } from '../detectors/security.ts';
import { severityRank } from '../incidents/severity.ts';
import { Triage } from '../incidents/triage.ts';
import { Inventory } from '../inventory/inventory.ts';
import { protocolSecurityOp } from './security-ops.ts';
import { openChdb } from '../store/chdb.ts';
import { migrate } from '../store/migrate.ts';
import { BatchWriter } from '../store/writer.ts';
import { alertRow, assetRow, conduitRow, incidentRow, inventoryChangeRow, inventoryRow, runRow, TABLES, type AssetSummary, type ConduitState, type RunInfo } from '../store/schema.ts';
import { conduitStates } from '../store/state.ts';
import { flowBlock, seriesBlock, windowBlock } from '../store/blocks.ts';
import { storedOf } from '../store/scored.ts';
import type { Store } from '../store/store.ts';
import type { ModelUse } from '../models/use.ts';
import { openInput, type InputProgress } from './inputs.ts';
import type { Progress } from './progress.ts';
import { createEngine } from './registry.ts';
import { BaselineOverrides } from '../enforce/workflow/learn.ts';

export interface ReplayOptions {
  inputs: string[];
  site: Site;
  /** chDB data directory; undefined = do not store. */
  dataDir?: string;
  clock: Clock;
  progress?: Progress;
  /** How many incidents the report lists (JSON lists all). */
  top?: number;
  /** Read every input as a generic CSV with this mapping file. */
  mapping?: string;
  /** Trained models to run beside the detectors (`--model`). */
  models?: ModelUse;
  /** Stop reading when aborted (Ctrl-C): what was read is scored, stored and reported. */
  signal?: AbortSignal;
  /** The command, for the runs table (replay, demo). */
  command?: string;
}

/** Alerts of the same edge and detector in consecutive windows, merged into one finding. */
export interface Finding extends Alert {
  windows: number;
}

export interface InputSummary {
  file: string;
  kind: string;
  units: number;
  records: number;
  truncated: boolean;
  /** Where the end of the file cut a record, in words. */
  truncation?: string;
  problems: Record<string, number>;
}

export interface ReplayReport {
  site: string;
  runId: string;
  inputs: InputSummary[];
  flows: number;
  firstTs?: number;
  lastTs?: number;
  assets: AssetSummary[];
  /** Each conduit's status, and whether site.yaml declares it steady (not following the production cycle). */
  conduits: (ReturnType<DetectionEngine['status']>[number] & { steady: boolean })[];
  undeclared: string[];
  windowsScored: number;
  lateRecords: number;
  /** Findings (alerts of consecutive windows merged), most severe first. */
  alerts: Finding[];
  rawAlerts: number;
  /** The passive inventory of the same flows (inventory/): assets with roles and identity, and its change alerts. */
  inventory: { assets: Asset[]; alerts: Alert[] };
  /** Related alerts grouped (incidents/), most severe first. */
  incidents: Incident[];
  dataDir?: string;
  /** Set when the replay was stopped before the end of its inputs: what was read by then. */
  interrupted?: { bytesRead: number; bytesTotal: number };
}

class Sinks {
  private constructor(
    private readonly store: Store,
    readonly flows: BatchWriter<FlowRecord>,
    readonly windows: BatchWriter<WindowScore>,
    readonly series: BatchWriter<EdgeSeries>,
    readonly alerts: BatchWriter,
  ) {}

  static async open(dir: string, clock: Clock, siteMap: SiteMap, runId: string): Promise<Sinks> {
    const store = await openChdb(dir);
    await migrate(store);
    // The hot tables go as Native blocks (store/blocks.ts), encoded as each batch arrives so no record
    // objects wait for the engine; observed_at is the time a batch is encoded.
    return new Sinks(store,
      new BatchWriter<FlowRecord>(store, TABLES.flows, { clock, encodeOnWrite: true, encode: (rows) => flowBlock(rows, siteMap, runId, clock.now()) }),
      new BatchWriter<WindowScore>(store, TABLES.windows, { clock, encodeOnWrite: true, encode: (rows) => windowBlock(rows, runId) }),
      new BatchWriter<EdgeSeries>(store, TABLES.series, { clock, encodeOnWrite: true, encode: (rows) => seriesBlock(rows, runId) }),
      new BatchWriter(store, TABLES.alerts, { clock }));
  }

  /** Writes what is buffered, the assets, conduit states and inventory; the store stays open for the run's last rows. */
  async finish(assets: AssetSummary[], conduits: ConduitState[], runId: string, observedAt: number, inventory: Asset[], changes: object[]): Promise<void> {
    await Promise.all([this.flows.close(), this.windows.close(), this.series.close(), this.alerts.close()]);
    if (assets.length) await this.store.insertRows(TABLES.assets, assets.map((a) => assetRow(a, runId, observedAt)));
    if (conduits.length) await this.store.insertRows(TABLES.conduits, conduits.map((c) => conduitRow(c, runId)));
    if (inventory.length) await this.store.insertRows(TABLES.inventory, inventory.map((a) => inventoryRow(a, runId, 'replay', observedAt)));
    if (changes.length) await this.store.insertRows(TABLES.inventoryChanges, changes);
  }

  async close(): Promise<void> {
    await this.store.close();
  }

  /** The run's row in `runs` (version 1 when it starts, 2 when it ends). */
  async recordRun(run: RunInfo, version: number): Promise<void> {
    await this.store.insertRows(TABLES.runs, [runRow(run, version)]);
  }

  /** The incidents as they stand at the end (one version each). */
  async writeIncidents(list: Incident[], runId: string): Promise<void> {
    if (list.length) await this.store.insertRows(TABLES.incidents, list.map((i) => incidentRow(i, runId)));
  }

  async abort(): Promise<void> {
    await this.store.close();
  }
}

/**
 * V8 lets the old generation grow to up to 4× what survived the last full GC before it collects
 * again. A replay promotes every batch of records (each lives across a few scavenges while it is
 * scored), so its heap stood at 230–400 MB of which ~70 MB was live. Growing by 25 % instead keeps
 * it near 100 MB at the same CPU seconds (bench/replay.ts --whole, 2026-12-02). V8 reads the flag
 * each time it sets the next limit, so setting it here works; a process started with its own
 * `--heap-growing-percent` (node flags or NODE_OPTIONS) keeps that.
 */
const HEAP_GROWING_PERCENT = 25;
let heapGrowthSet = false;
const boundHeapGrowth = (): void => {
  if (heapGrowthSet) return;
  heapGrowthSet = true;
  if ([...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((a) => a.includes('heap-growing-percent') || a.includes('heap_growing_percent'))) return;
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
};

/** Most severe first: severity level, then risk, then score, then time. */
export const bySeverity = (a: { severity?: Alert['severity']; risk?: number; score: number; tsStart: number; id: string }, b: typeof a): number =>
  severityRank(b.severity) - severityRank(a.severity) || (b.risk ?? 0) - (a.risk ?? 0) || b.score - a.score || a.tsStart - b.tsStart || a.id.localeCompare(b.id);

const mergeFindings = (alerts: Alert[], windowMs: number): Finding[] => {
  const byKey = new Map<string, Finding[]>();
  const sorted = [...alerts].sort((a, b) => a.tsStart - b.tsStart || a.id.localeCompare(b.id));
  for (const a of sorted) {
    const key = `${a.conduit}|${edgeId({ src: a.src, dst: a.dst, proto: a.proto, dstPort: a.dstPort, l7: a.l7 })}|${a.detector}`;
    const list = byKey.get(key) ?? [];
    const last = list.at(-1);
    if (last && a.tsStart <= last.tsEnd + windowMs) {
      last.tsEnd = Math.max(last.tsEnd, a.tsEnd);
      last.windows += 1;
      if (a.score > last.score) { last.score = a.score; last.explanation = a.explanation; }
      if ((a.risk ?? 0) > (last.risk ?? 0)) {
        last.risk = a.risk;
        if (a.severity) last.severity = a.severity;
        if (a.severityReason) last.severityReason = a.severityReason;
      }
    } else {
      list.push({ ...a, windows: 1 });
    }
    byKey.set(key, list);
  }
  return [...byKey.values()].flat().sort(bySeverity);
};

export const runReplay = async (opts: ReplayOptions): Promise<ReplayReport> => {
  boundHeapGrowth();
  const siteMap = new SiteMap(opts.site);
  const windowMs = opts.site.detection.window;
  const runId = `run-${new Date(opts.clock.now()).toISOString()}-${createHash('sha256').update(opts.inputs.join('\0')).digest('hex').slice(0, 8)}`;
  const opened = opts.inputs.map((f) => openInput(f, { sliceMs: windowMs, ...(opts.mapping ? { mapping: opts.mapping } : {}) }));
  // Edges an analyst folded into the baseline (learn/unlearn, audited) are known to novelty from the start.
  const learned = opts.dataDir ? new BaselineOverrides(opts.dataDir).learnedEdges() : [];
  const engine = await createEngine(siteMap, { runId, ...(learned.length ? { config: { novelty: { learned } } } : {}), ...(opts.models ? { models: opts.models } : {}) });
  const triage = Triage.create(siteMap);
  const incidents = new Map<string, Incident>();
  const assets = new Map<string, AssetSummary>();
  const alerts: Alert[] = [];
  const inventory = new Inventory({ zoneOf: (ip) => siteMap.zoneOf(ip), learnMs: siteMap.baselineMs, isSecurityOp: securityMatcher(DEFAULT_SECURITY_PATTERNS, protocolSecurityOp) });
  const inventoryAlerts: Alert[] = [];
  const changeRows: object[] = [];
  let flowCount = 0;
  let firstTs: number | undefined;
  let lastTs: number | undefined;
  const totalBytes = opened.reduce((s, o) => s + o.progress.fileSize, 0);
  let doneBytes = 0;
  const sinks = opts.dataDir ? await Sinks.open(opts.dataDir, opts.clock, siteMap, runId) : undefined;
  const startedAt = opts.clock.now();
  const run = (status: RunInfo['status'], note = ''): RunInfo => ({
    runId, command: opts.command ?? 'replay', site: opts.site.site, inputs: opts.inputs, startedAt,
    finishedAt: status === 'running' ? 0 : opts.clock.now(), status, flows: flowCount, alerts: alerts.length, incidents: incidents.size,
    firstTs: firstTs ?? 0, lastTs: lastTs ?? 0, note,
  });
  await sinks?.recordRun(run('running'), 1);

  const seeAsset = (ip: string, f: FlowRecord, bytes: number) => {
    let a = assets.get(ip);
    if (!a) assets.set(ip, (a = { ip, zone: siteMap.zoneOf(ip), firstSeen: f.tsStart, lastSeen: f.tsEnd, flows: 0, bytes: 0, l7: [] }));
    a.firstSeen = Math.min(a.firstSeen, f.tsStart);
    a.lastSeen = Math.max(a.lastSeen, f.tsEnd);
    a.flows += 1;
    a.bytes += bytes;
    if (f.l7 && !a.l7.includes(f.l7)) a.l7.push(f.l7);
  };

  const onScored = async (scored: { scores: WindowScore[]; alerts: Alert[]; series?: EdgeSeries[] }) => {
    const triaged = triage.apply(scored);
    const out = { scores: scored.scores, alerts: triaged.alerts, ...(scored.series ? { series: scored.series } : {}) };
    alerts.push(...out.alerts);
    for (const i of triaged.incidents) incidents.set(i.id, i);
    if (sinks) {
      const stored = storedOf(out, opts.site.detection.alertThreshold, opts.site.detection.scoreFloor);
      await sinks.windows.write(stored.scores);
      await sinks.series.write(stored.series);
      await sinks.alerts.write(stored.alerts.map((a) => alertRow(a, runId)));
    }
  };

  const describe = (p: InputProgress) => `${p.file.split('/').pop()}: ${p.units().toLocaleString('en-US')} read, ${flowCount.toLocaleString('en-US')} flows, ${alerts.length} alerts`;
  let interrupted: ReplayReport['interrupted'];
  try {
    for (const { flows, progress } of opened) {
      if (interrupted) break;
      for await (const batch of flows) {
        flowCount += batch.length;
        for (const f of batch) {
          firstTs = firstTs === undefined ? f.tsStart : Math.min(firstTs, f.tsStart);
          lastTs = lastTs === undefined ? f.tsEnd : Math.max(lastTs, f.tsEnd);
          seeAsset(f.srcIp, f, f.bytes);
          seeAsset(f.dstIp, f, f.bytesRev);
        }
        if (sinks) await sinks.flows.write(batch);
        await onScored(engine.ingest(batch));
        for (const c of inventory.observe(batch)) {
          const a = inventory.toAlert(c);
          inventoryAlerts.push(a);
          changeRows.push(inventoryChangeRow(a, c.kind, c.ip, runId));
        }
        opts.progress?.update((doneBytes + progress.bytesRead()) / Math.max(1, totalBytes), describe(progress));
        if (opts.signal?.aborted) {
          interrupted = { bytesRead: doneBytes + progress.bytesRead(), bytesTotal: totalBytes };
          break;
        }
      }
      doneBytes += progress.fileSize;
    }
    await onScored(engine.flush());
    const incidentList = [...incidents.values()].sort((a, b) => bySeverity({ ...a, score: a.risk, tsStart: a.firstSeen }, { ...b, score: b.risk, tsStart: b.firstSeen }));
    const assetList = [...assets.values()].sort((a, b) => a.ip.localeCompare(b.ip, 'en', { numeric: true }));
    const inventoryAssets = inventory.assets();
    const status = engine.status();
    await sinks?.finish(assetList, conduitStates(status, siteMap, opts.clock.now()), runId, opts.clock.now(), inventoryAssets, changeRows);
    await sinks?.writeIncidents(incidentList, runId);
    await sinks?.recordRun(run(interrupted ? 'interrupted' : 'complete',
      interrupted ? `stopped after ${interrupted.bytesRead} of ${interrupted.bytesTotal} input bytes; what was read is stored` : ''), 2);
    await sinks?.close();
    const conduits = status.map((c) => ({ ...c, steady: siteMap.isSteady(c.conduit) }));
    const stats = engine.stats();
    opts.progress?.done(`${flowCount.toLocaleString('en-US')} flows, ${alerts.length} alert windows`);
    const problems = (p: InputProgress) => {
      const out: Record<string, number> = {};
      for (const [k, v] of Object.entries(p.problems())) if (v) bump(out, k, v);
      return out;
    };
    return {
      site: opts.site.site,
      runId,
      inputs: opened.map(({ progress: p }) => ({ file: p.file, kind: p.kind, units: p.units(), records: p.records(), truncated: p.truncated(), ...(p.truncation?.() ? { truncation: p.truncation()! } : {}), problems: problems(p) })),
      flows: flowCount,
      ...(firstTs !== undefined ? { firstTs } : {}),
      ...(lastTs !== undefined ? { lastTs } : {}),
      assets: assetList,
      conduits,
      undeclared: conduits.filter((c) => !c.declared).map((c) => c.conduit),
      windowsScored: stats.windowsClosed,
      lateRecords: stats.lateRecords,
      alerts: mergeFindings(alerts, windowMs),
      rawAlerts: alerts.length,
      inventory: { assets: inventoryAssets, alerts: inventoryAlerts },
      incidents: incidentList,
      ...(opts.dataDir ? { dataDir: opts.dataDir } : {}),
      ...(interrupted ? { interrupted } : {}),
    };
  } catch (e) {
    await sinks?.recordRun(run('failed', (e as Error).message.split('\n')[0]!.slice(0, 500)), 2).catch(() => {});
    await sinks?.abort();
    throw e;
  }
};
