/**
 * The main job in one process: inputs → flow records → event-time windows and detectors →
 * ClickHouse (chDB) → a report. Inputs are read in the order given, as one event-time stream.
 */
import { createHash } from 'node:crypto';
import type { Clock } from '../core/clock.ts';
import { SiteMap, type Site } from '../core/config.ts';
import { bump, edgeId, type Alert, type Asset, type EdgeSeries, type FlowRecord, type WindowScore } from '../core/records.ts';
import type { DetectionEngine } from '../detectors/engine.ts';
import { DEFAULT_SECURITY_PATTERNS, securityMatcher } from '../detectors/security.ts';
import { Inventory } from '../inventory/inventory.ts';
import { protocolSecurityOp } from './security-ops.ts';
import { openChdb } from '../store/chdb.ts';
import { migrate } from '../store/migrate.ts';
import { BatchWriter } from '../store/writer.ts';
import { alertRow, assetRow, conduitRow, inventoryChangeRow, inventoryRow, TABLES, type AssetSummary, type ConduitState } from '../store/schema.ts';
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
}

/** Alerts of the same edge and detector in consecutive windows, merged into one finding. */
export interface Incident extends Alert {
  windows: number;
}

export interface InputSummary {
  file: string;
  kind: string;
  units: number;
  records: number;
  truncated: boolean;
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
  conduits: ReturnType<DetectionEngine['status']>;
  undeclared: string[];
  windowsScored: number;
  lateRecords: number;
  alerts: Incident[];
  rawAlerts: number;
  /** The passive inventory of the same flows (inventory/): assets with roles and identity, and its change alerts. */
  inventory: { assets: Asset[]; alerts: Alert[] };
  dataDir?: string;
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
    // The hot tables go as Native blocks (store/blocks.ts); observed_at is the time a block is written.
    return new Sinks(store,
      new BatchWriter<FlowRecord>(store, TABLES.flows, { clock, encode: (rows) => flowBlock(rows, siteMap, runId, clock.now()) }),
      new BatchWriter<WindowScore>(store, TABLES.windows, { clock, encode: (rows) => windowBlock(rows, runId) }),
      new BatchWriter<EdgeSeries>(store, TABLES.series, { clock, encode: (rows) => seriesBlock(rows, runId) }),
      new BatchWriter(store, TABLES.alerts, { clock }));
  }

  async finish(assets: AssetSummary[], conduits: ConduitState[], runId: string, observedAt: number, inventory: Asset[], changes: object[]): Promise<void> {
    await Promise.all([this.flows.close(), this.windows.close(), this.series.close(), this.alerts.close()]);
    if (assets.length) await this.store.insertRows(TABLES.assets, assets.map((a) => assetRow(a, runId, observedAt)));
    if (conduits.length) await this.store.insertRows(TABLES.conduits, conduits.map((c) => conduitRow(c, runId)));
    if (inventory.length) await this.store.insertRows(TABLES.inventory, inventory.map((a) => inventoryRow(a, runId, 'replay', observedAt)));
    if (changes.length) await this.store.insertRows(TABLES.inventoryChanges, changes);
    await this.store.close();
  }

  async abort(): Promise<void> {
    await this.store.close();
  }
}

const mergeIncidents = (alerts: Alert[], windowMs: number): Incident[] => {
  const byKey = new Map<string, Incident[]>();
  const sorted = [...alerts].sort((a, b) => a.tsStart - b.tsStart || a.id.localeCompare(b.id));
  for (const a of sorted) {
    const key = `${a.conduit}|${edgeId({ src: a.src, dst: a.dst, proto: a.proto, dstPort: a.dstPort, l7: a.l7 })}|${a.detector}`;
    const list = byKey.get(key) ?? [];
    const last = list.at(-1);
    if (last && a.tsStart <= last.tsEnd + windowMs) {
      last.tsEnd = Math.max(last.tsEnd, a.tsEnd);
      last.windows += 1;
      if (a.score > last.score) { last.score = a.score; last.explanation = a.explanation; }
    } else {
      list.push({ ...a, windows: 1 });
    }
    byKey.set(key, list);
  }
  return [...byKey.values()].flat()
    .sort((a, b) => b.score - a.score || a.tsStart - b.tsStart || a.id.localeCompare(b.id));
};

export const runReplay = async (opts: ReplayOptions): Promise<ReplayReport> => {
  const siteMap = new SiteMap(opts.site);
  const windowMs = opts.site.detection.window;
  const runId = `run-${new Date(opts.clock.now()).toISOString()}-${createHash('sha256').update(opts.inputs.join('\0')).digest('hex').slice(0, 8)}`;
  const opened = opts.inputs.map((f) => openInput(f, { sliceMs: windowMs, ...(opts.mapping ? { mapping: opts.mapping } : {}) }));
  // Edges an analyst folded into the baseline (learn/unlearn, audited) are known to novelty from the start.
  const learned = opts.dataDir ? new BaselineOverrides(opts.dataDir).learnedEdges() : [];
  const engine = await createEngine(siteMap, { runId, ...(learned.length ? { config: { novelty: { learned } } } : {}), ...(opts.models ? { models: opts.models } : {}) });
  const sinks = opts.dataDir ? await Sinks.open(opts.dataDir, opts.clock, siteMap, runId) : undefined;
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

  const seeAsset = (ip: string, f: FlowRecord, bytes: number) => {
    let a = assets.get(ip);
    if (!a) assets.set(ip, (a = { ip, zone: siteMap.zoneOf(ip), firstSeen: f.tsStart, lastSeen: f.tsEnd, flows: 0, bytes: 0, l7: [] }));
    a.firstSeen = Math.min(a.firstSeen, f.tsStart);
    a.lastSeen = Math.max(a.lastSeen, f.tsEnd);
    a.flows += 1;
    a.bytes += bytes;
    if (f.l7 && !a.l7.includes(f.l7)) a.l7.push(f.l7);
  };

  const onScored = async (out: { scores: WindowScore[]; alerts: Alert[]; series?: EdgeSeries[] }) => {
    alerts.push(...out.alerts);
    if (sinks) {
      const stored = storedOf(out, opts.site.detection.alertThreshold, opts.site.detection.scoreFloor);
      await sinks.windows.write(stored.scores);
      await sinks.series.write(stored.series);
      await sinks.alerts.write(stored.alerts.map((a) => alertRow(a, runId)));
    }
  };

  const describe = (p: InputProgress) => `${p.file.split('/').pop()}: ${p.units().toLocaleString('en-US')} read, ${flowCount.toLocaleString('en-US')} flows, ${alerts.length} alerts`;
  try {
    for (const { flows, progress } of opened) {
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
      }
      doneBytes += progress.fileSize;
    }
    await onScored(engine.flush());
    const assetList = [...assets.values()].sort((a, b) => a.ip.localeCompare(b.ip, 'en', { numeric: true }));
    const inventoryAssets = inventory.assets();
    const conduits = engine.status();
    await sinks?.finish(assetList, conduitStates(conduits, siteMap, opts.clock.now()), runId, opts.clock.now(), inventoryAssets, changeRows);
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
      inputs: opened.map(({ progress: p }) => ({ file: p.file, kind: p.kind, units: p.units(), records: p.records(), truncated: p.truncated(), problems: problems(p) })),
      flows: flowCount,
      ...(firstTs !== undefined ? { firstTs } : {}),
      ...(lastTs !== undefined ? { lastTs } : {}),
      assets: assetList,
      conduits,
      undeclared: conduits.filter((c) => !c.declared).map((c) => c.conduit),
      windowsScored: stats.windowsClosed,
      lateRecords: stats.lateRecords,
      alerts: mergeIncidents(alerts, windowMs),
      rawAlerts: alerts.length,
      inventory: { assets: inventoryAssets, alerts: inventoryAlerts },
      ...(opts.dataDir ? { dataDir: opts.dataDir } : {}),
    };
  } catch (e) {
    await sinks?.abort();
    throw e;
  }
};
