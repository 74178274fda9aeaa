/**
 * The single source of ClickHouse table and column names, and the mappers from `core/` records
 * to rows. Other modules (the writer's callers, `conduitwatch sql`, the Grafana dashboards)
 * name tables and columns only through `tables`, so a rename breaks a build or a test, never an
 * analyst's panel. The DDL itself lives in `infra/clickhouse/ddl/`; the integration test reads
 * it back with DESCRIBE TABLE and fails when the two drift apart.
 *
 * Row values are what JSONEachRow input expects: DateTime64(3) columns take epoch ms as an
 * integer, maps take objects, Float64 columns take numbers or the strings 'inf', '-inf', 'nan'
 * (JSON has no spelling for them, and JSON `null` would be stored as 0).
 */
import { createHash } from 'node:crypto';
import type { Alert, Asset, ConduitReadiness, EdgeSeries, FlowRecord, FlowSource, Incident, Severity, WindowScore } from '../core/records.ts';

/** DateTime64(3) columns take whole milliseconds; pcap times carry microseconds, so truncate. */
const chMs = (t: number): number => Math.floor(t);

/** Table name and camelCase key → snake_case column name. */
export interface TableDef<C extends Record<string, string>> {
  readonly name: string;
  readonly columns: C;
}

const table = <const C extends Record<string, string>>(name: string, columns: C): TableDef<C> => ({ name, columns });

export const tables = {
  schemaMigrations: table('schema_migrations', {
    version: 'version', name: 'name', checksum: 'checksum', appliedAt: 'applied_at',
  }),
  flows: table('flows', {
    runId: 'run_id', id: 'id', observedAt: 'observed_at', conduit: 'conduit', srcZone: 'src_zone', dstZone: 'dst_zone',
    tsStart: 'ts_start', tsEnd: 'ts_end', srcIp: 'src_ip', srcPort: 'src_port', dstIp: 'dst_ip', dstPort: 'dst_port',
    proto: 'proto', packets: 'packets', bytes: 'bytes', packetsRev: 'packets_rev', bytesRev: 'bytes_rev',
    tcpFlags: 'tcp_flags', exporter: 'exporter', observationDomain: 'observation_domain', source: 'source',
    l7: 'l7', l7Ops: 'l7_ops', l7OpsRev: 'l7_ops_rev', l7Errors: 'l7_errors', l7Units: 'l7_units',
    l7Violations: 'l7_violations', reqCount: 'req_count', reqMean: 'req_mean', reqM2: 'req_m2',
    reqMin: 'req_min', reqMax: 'req_max', fidelity: 'fidelity', storedAt: 'stored_at',
  }),
  windows: table('windows', {
    runId: 'run_id', conduit: 'conduit', edge: 'edge', windowStart: 'window_start', windowEnd: 'window_end',
    detector: 'detector', score: 'score', learning: 'learning', explanation: 'explanation', features: 'features',
    storedAt: 'stored_at',
  }),
  series: table('series', {
    runId: 'run_id', conduit: 'conduit', edge: 'edge', windowStart: 'window_start', windowEnd: 'window_end',
    learning: 'learning', unit: 'unit', observed: 'observed', expected: 'expected', expectedStd: 'expected_std',
    periodMs: 'period_ms', jitterMs: 'jitter_ms', expectedPeriodMs: 'expected_period_ms',
    expectedJitterMs: 'expected_jitter_ms', intervals: 'intervals', score: 'score', storedAt: 'stored_at',
  }),
  alerts: table('alerts', {
    id: 'id', runId: 'run_id', conduit: 'conduit', src: 'src', dst: 'dst', proto: 'proto', dstPort: 'dst_port',
    l7: 'l7', tsStart: 'ts_start', tsEnd: 'ts_end', score: 'score', detector: 'detector', explanation: 'explanation',
    severity: 'severity', risk: 'risk', severityReason: 'severity_reason', incident: 'incident', storedAt: 'stored_at',
  }),
  /** Related alerts as one case (incidents/); the row with the most alerts is the current version. */
  incidents: table('incidents', {
    runId: 'run_id', id: 'id', severity: 'severity', risk: 'risk', firstSeen: 'first_seen', lastSeen: 'last_seen',
    alerts: 'alerts', alertIds: 'alert_ids', conduits: 'conduits', sources: 'sources', targets: 'targets',
    detectors: 'detectors', topAlert: 'top_alert', summary: 'summary',
  }),
  /** One row per run (a replay, a demo, a serve sink): what it read, when, and how it ended. */
  runs: table('runs', {
    runId: 'run_id', command: 'command', site: 'site', inputs: 'inputs', startedAt: 'started_at', finishedAt: 'finished_at',
    status: 'status', flows: 'flows', alerts: 'alerts', incidents: 'incidents', firstTs: 'first_ts', lastTs: 'last_ts',
    note: 'note', version: 'version',
  }),
  assets: table('assets', {
    zone: 'zone', ip: 'ip', runId: 'run_id', firstSeen: 'first_seen', lastSeen: 'last_seen',
    flows: 'flows', bytes: 'bytes', l7: 'l7', observedAt: 'observed_at',
  }),
  conduits: table('conduits', {
    conduit: 'conduit', runId: 'run_id', fromZone: 'from_zone', toZone: 'to_zone', declared: 'declared',
    firstSeen: 'first_seen', lastSeen: 'last_seen', flows: 'flows', bytes: 'bytes', status: 'status', state: 'state',
    baselineUntil: 'baseline_until', readyAt: 'ready_at', coverage: 'coverage', cyclesCovered: 'cycles_covered',
    phaseBucketsSeen: 'phase_buckets_seen', phaseBuckets: 'phase_buckets', novelFirstCycle: 'novel_first_cycle',
    novelLastCycle: 'novel_last_cycle', detectedCycleMs: 'detected_cycle_ms', cycleNote: 'cycle_note', edges: 'edges',
    windowsScored: 'windows_scored', alerts: 'alerts', updatedAt: 'updated_at',
  }),
  /** The promote-to-block audit trail (enforce/audit.ts): one row per audit.jsonl line. */
  audit: table('audit', {
    seq: 'seq', kind: 'kind', ts: 'ts', actor: 'actor', action: 'action', target: 'target', result: 'result',
    ruleHash: 'rule_hash', whatifHash: 'whatif_hash', hash: 'hash', line: 'line',
  }),
  /** Allow-list rule versions (enforce/rules.ts), stored as canonical JSON under their content hash. */
  rules: table('rules', {
    hash: 'hash', conduit: 'conduit', parent: 'parent', createdAt: 'created_at', createdBy: 'created_by', json: 'json',
  }),
  /** Rollup of flows per conduit, l7 and minute (migration 013, filled by a materialized view). */
  flowsMinute: table('flows_minute', {
    runId: 'run_id', conduit: 'conduit', l7: 'l7', minute: 'minute', flows: 'flows', packets: 'packets', bytes: 'bytes',
    l7Ops: 'l7_ops', storedAt: 'stored_at',
  }),
  /** Rollup of series and activity rows per conduit and hour (migration 013, filled by materialized views). */
  conduitHour: table('conduit_hour', {
    runId: 'run_id', conduit: 'conduit', hour: 'hour', maxScore: 'max_score', scored: 'scored', edgeWindows: 'edge_windows',
    observed: 'observed', expected: 'expected', storedAt: 'stored_at',
  }),
  /** What the inventory knows of each asset (migration 014, ReplacingMergeTree on updated_at). */
  inventory: table('inventory', {
    runId: 'run_id', ip: 'ip', writer: 'writer', mac: 'mac', macVendor: 'mac_vendor', macs: 'macs', role: 'role',
    confidence: 'confidence', evidence: 'evidence', flags: 'flags', vendor: 'vendor', vendorId: 'vendor_id', model: 'model',
    productCode: 'product_code', firmware: 'firmware', software: 'software', serial: 'serial', name: 'name',
    deviceType: 'device_type', uri: 'uri', productUri: 'product_uri', address: 'address', identities: 'identities',
    protocols: 'protocols', services: 'services', peers: 'peers', firstSeen: 'first_seen', lastSeen: 'last_seen',
    flows: 'flows', bytes: 'bytes', updatedAt: 'updated_at',
  }),
  /** The inventory's change alerts: new MAC, identity change, new behaviour (migration 014). */
  inventoryChanges: table('inventory_changes', {
    runId: 'run_id', id: 'id', kind: 'kind', ip: 'ip', conduit: 'conduit', src: 'src', dst: 'dst', proto: 'proto',
    dstPort: 'dst_port', l7: 'l7', tsStart: 'ts_start', tsEnd: 'ts_end', explanation: 'explanation',
  }),
} as const;

/** Table names alone, for callers that only need `FROM ${TABLES.alerts}`. */
export const TABLES = {
  schemaMigrations: tables.schemaMigrations.name,
  flows: tables.flows.name,
  windows: tables.windows.name,
  series: tables.series.name,
  alerts: tables.alerts.name,
  incidents: tables.incidents.name,
  runs: tables.runs.name,
  assets: tables.assets.name,
  conduits: tables.conduits.name,
  audit: tables.audit.name,
  rules: tables.rules.name,
  inventory: tables.inventory.name,
  inventoryChanges: tables.inventoryChanges.name,
} as const;

/** Tables created by the DDL migrations (schema_migrations is created by `migrate.ts`). */
export const dataTables = [
  tables.flows, tables.windows, tables.series, tables.alerts, tables.assets, tables.conduits, tables.audit, tables.rules,
  tables.flowsMinute, tables.conduitHour, tables.inventory, tables.inventoryChanges, tables.incidents, tables.runs,
] as const;

/** A row type keyed by column name, from camelCase value types. */
type RowOf<C extends Record<string, string>, V extends { [K in keyof C]: unknown }> = { [K in keyof C as C[K]]: V[K] };

/** A Float64 as JSONEachRow takes it: non-finite values as the strings ClickHouse parses. */
export type F64 = number | 'inf' | '-inf' | 'nan';

/** Epoch ms, the integer form DateTime64(3) accepts. */
type Ms = number;

export type FlowRow = RowOf<Omit<typeof tables.flows.columns, 'storedAt'>, {
  runId: string; id: string; observedAt: Ms; conduit: string; srcZone: string; dstZone: string; tsStart: Ms; tsEnd: Ms;
  srcIp: string; srcPort: number; dstIp: string; dstPort: number; proto: number; packets: number; bytes: number;
  packetsRev: number; bytesRev: number; tcpFlags: number; exporter: string; observationDomain: number;
  source: FlowSource; l7: string; l7Ops: Record<string, number>; l7OpsRev: Record<string, number>;
  l7Errors: Record<string, number>; l7Units: number[]; l7Violations: Record<string, number>;
  reqCount: number; reqMean: F64; reqM2: F64; reqMin: F64; reqMax: F64; fidelity: string[];
}>;

/** `stored_at` is left out of the row types below: the engine fills it (DEFAULT now()). */
export type WindowRow = RowOf<Omit<typeof tables.windows.columns, 'storedAt'>, {
  runId: string; conduit: string; edge: string; windowStart: Ms; windowEnd: Ms; detector: string;
  score: F64; learning: 0 | 1; explanation: string; features: Record<string, F64>;
}>;

/** Nullable(Float64) as JSONEachRow takes it: NaN (not known) is null. */
export type NF64 = number | null | 'inf' | '-inf';

/** `stored_at` is left out: the engine fills it (DEFAULT now()). */
export type SeriesRow = RowOf<Omit<typeof tables.series.columns, 'storedAt'>, {
  runId: string; conduit: string; edge: string; windowStart: Ms; windowEnd: Ms; learning: 0 | 1; unit: string;
  observed: NF64; expected: NF64; expectedStd: NF64; periodMs: NF64; jitterMs: NF64; expectedPeriodMs: NF64;
  expectedJitterMs: NF64; intervals: number; score: F64;
}>;

export type AlertRow = RowOf<Omit<typeof tables.alerts.columns, 'storedAt'>, {
  id: string; runId: string; conduit: string; src: string; dst: string; proto: number; dstPort: number;
  l7: string; tsStart: Ms; tsEnd: Ms; score: F64; detector: string; explanation: string;
  severity: Severity | ''; risk: number; severityReason: string; incident: string;
}>;

export type IncidentRow = RowOf<typeof tables.incidents.columns, {
  runId: string; id: string; severity: Severity; risk: number; firstSeen: Ms; lastSeen: Ms; alerts: number;
  alertIds: string[]; conduits: string[]; sources: string[]; targets: string[]; detectors: string[]; topAlert: string; summary: string;
}>;

/** How a run ended: `running` until its last row is written (a crash leaves it so). */
export type RunStatus = 'running' | 'complete' | 'interrupted' | 'failed';

export type RunRow = RowOf<typeof tables.runs.columns, {
  runId: string; command: string; site: string; inputs: string[]; startedAt: Ms; finishedAt: Ms; status: RunStatus;
  flows: number; alerts: number; incidents: number; firstTs: Ms; lastTs: Ms; note: string; version: number;
}>;

export type AssetRow = RowOf<typeof tables.assets.columns, {
  zone: string; ip: string; runId: string; firstSeen: Ms; lastSeen: Ms; flows: number; bytes: number; l7: string[];
  observedAt: Ms;
}>;

export type ConduitRow = RowOf<typeof tables.conduits.columns, {
  conduit: string; runId: string; fromZone: string; toZone: string; declared: 0 | 1; firstSeen: Ms; lastSeen: Ms;
  flows: number; bytes: number; status: ConduitStatus; state: string; baselineUntil: Ms; readyAt: Ms | null;
  coverage: F64; cyclesCovered: F64; phaseBucketsSeen: number; phaseBuckets: number; novelFirstCycle: number;
  novelLastCycle: number; detectedCycleMs: number | null; cycleNote: string; edges: number; windowsScored: number;
  alerts: number; updatedAt: Ms;
}>;

/** learning: inside its baseline; ready: baseline done, alerting; new: first seen after the site's baseline, so it has none and alerts at once. */
export type ConduitStatus = 'learning' | 'ready' | 'new';

/** Float64 for JSONEachRow: NaN and ±Infinity spelled as strings so they are stored, not zeroed. */
export const f64 = (x: number): F64 => {
  if (Number.isFinite(x)) return x;
  if (Number.isNaN(x)) return 'nan';
  return x > 0 ? 'inf' : '-inf';
};

const f64Map = (m: Record<string, number>): Record<string, F64> => {
  const out: Record<string, F64> = {};
  for (const [k, v] of Object.entries(m)) out[k] = f64(v);
  return out;
};

/** What the pipeline knows about a flow beyond the record itself. */
export interface FlowExtra {
  conduit: string;
  srcZone: string;
  dstZone: string;
  runId: string;
  /** Processing time, epoch ms. */
  observedAt: number;
}

const F = tables.flows.columns;

/**
 * The id of a record whose source set none: a digest of its content (the same parts, in the same
 * order, as migration 010_flows_ids computes for rows written before ids existed). Two copies of one record
 * get one id; two records that differ in any counted field get two.
 */
export const contentFlowId = (r: FlowRecord): string =>
  // SHA-256, not flowId's hash: the migration computes the same digest in SQL (SHA256).
  createHash('sha256').update(['content', r.exporter, r.observationDomain, r.source, chMs(r.tsStart), chMs(r.tsEnd), r.srcIp,
    r.srcPort, r.dstIp, r.dstPort, r.proto, r.packets, r.bytes, r.packetsRev, r.bytesRev, r.tcpFlags, r.l7 ?? ''].join('\0'))
    .digest('hex').slice(0, 24);

/** A FlowRecord as a `flows` row. Absent L7 fields become empty; absent intervals become zeros. */
export const flowRow = (rec: FlowRecord, extra: FlowExtra): FlowRow => {
  const iv = rec.requestIntervalsMs;
  const has = iv !== undefined && iv.count > 0;
  return {
    [F.runId]: extra.runId,
    // The flows table deduplicates on (run_id, id) (migration 010_flows_ids).
    [F.id]: rec.id ?? contentFlowId(rec),
    [F.observedAt]: chMs(extra.observedAt),
    [F.conduit]: extra.conduit,
    [F.srcZone]: extra.srcZone,
    [F.dstZone]: extra.dstZone,
    [F.tsStart]: chMs(rec.tsStart),
    [F.tsEnd]: chMs(rec.tsEnd),
    [F.srcIp]: rec.srcIp,
    [F.srcPort]: rec.srcPort,
    [F.dstIp]: rec.dstIp,
    [F.dstPort]: rec.dstPort,
    [F.proto]: rec.proto,
    [F.packets]: rec.packets,
    [F.bytes]: rec.bytes,
    [F.packetsRev]: rec.packetsRev,
    [F.bytesRev]: rec.bytesRev,
    [F.tcpFlags]: rec.tcpFlags,
    [F.exporter]: rec.exporter,
    [F.observationDomain]: rec.observationDomain,
    [F.source]: rec.source,
    [F.l7]: rec.l7 ?? '',
    [F.l7Ops]: rec.l7Ops ?? {},
    [F.l7OpsRev]: rec.l7OpsRev ?? {},
    [F.l7Errors]: rec.l7Errors ?? {},
    [F.l7Units]: rec.l7Units ?? [],
    [F.l7Violations]: rec.l7Violations ?? {},
    // An empty Welford summary holds min=Infinity, max=-Infinity; store zeros instead.
    [F.reqCount]: has ? iv.count : 0,
    [F.reqMean]: has ? f64(iv.mean) : 0,
    [F.reqM2]: has ? f64(iv.m2) : 0,
    [F.reqMin]: has ? f64(iv.min) : 0,
    [F.reqMax]: has ? f64(iv.max) : 0,
    [F.fidelity]: rec.fidelity ?? [],
  };
};

const W = tables.windows.columns;

/** A WindowScore as a `windows` row. */
export const windowRow = (s: WindowScore, runId: string): WindowRow => ({
  [W.runId]: runId,
  [W.conduit]: s.conduit,
  [W.edge]: s.edge,
  [W.windowStart]: chMs(s.windowStart),
  [W.windowEnd]: chMs(s.windowEnd),
  [W.detector]: s.detector,
  [W.score]: f64(s.score),
  [W.learning]: s.learning ? 1 : 0,
  [W.explanation]: s.explanation,
  [W.features]: f64Map(s.features),
});

/** Nullable(Float64): NaN (not known) → null. */
const nf64 = (x: number): NF64 => (Number.isNaN(x) ? null : x === Infinity ? 'inf' : x === -Infinity ? '-inf' : x);

const R = tables.series.columns;

/** An EdgeSeries as a `series` row. */
export const seriesRow = (s: EdgeSeries, runId: string): SeriesRow => ({
  [R.runId]: runId,
  [R.conduit]: s.conduit,
  [R.edge]: s.edge,
  [R.windowStart]: chMs(s.windowStart),
  [R.windowEnd]: chMs(s.windowEnd),
  [R.learning]: s.learning ? 1 : 0,
  [R.unit]: s.unit,
  [R.observed]: nf64(s.observed),
  [R.expected]: nf64(s.expected),
  [R.expectedStd]: nf64(s.expectedStd),
  [R.periodMs]: nf64(s.periodMs),
  [R.jitterMs]: nf64(s.jitterMs),
  [R.expectedPeriodMs]: nf64(s.expectedPeriodMs),
  [R.expectedJitterMs]: nf64(s.expectedJitterMs),
  [R.intervals]: s.intervals,
  [R.score]: f64(s.score),
});

const A = tables.alerts.columns;

/** An Alert as an `alerts` row. */
export const alertRow = (a: Alert, runId: string): AlertRow => ({
  [A.id]: a.id,
  [A.runId]: runId,
  [A.conduit]: a.conduit,
  [A.src]: a.src,
  [A.dst]: a.dst,
  [A.proto]: a.proto,
  [A.dstPort]: a.dstPort,
  [A.l7]: a.l7,
  [A.tsStart]: chMs(a.tsStart),
  [A.tsEnd]: chMs(a.tsEnd),
  [A.score]: f64(a.score),
  [A.detector]: a.detector,
  [A.explanation]: a.explanation,
  [A.severity]: a.severity ?? '',
  [A.risk]: a.risk ?? 0,
  [A.severityReason]: a.severityReason ?? '',
  [A.incident]: a.incident ?? '',
});

const INC = tables.incidents.columns;

/** An incident as an `incidents` row (one per version; the one with the most alerts wins). */
export const incidentRow = (i: Incident, runId: string): IncidentRow => ({
  [INC.runId]: runId,
  [INC.id]: i.id,
  [INC.severity]: i.severity,
  [INC.risk]: i.risk,
  [INC.firstSeen]: chMs(i.firstSeen),
  [INC.lastSeen]: chMs(i.lastSeen),
  [INC.alerts]: i.alerts,
  [INC.alertIds]: i.alertIds,
  [INC.conduits]: i.conduits,
  [INC.sources]: i.sources,
  [INC.targets]: i.targets,
  [INC.detectors]: i.detectors,
  [INC.topAlert]: i.topAlert,
  [INC.summary]: i.summary,
});

/** What a run row says; times are epoch ms (0 = not yet). */
export interface RunInfo {
  runId: string;
  command: string;
  site: string;
  inputs: string[];
  startedAt: number;
  finishedAt: number;
  status: RunStatus;
  flows: number;
  alerts: number;
  incidents: number;
  firstTs: number;
  lastTs: number;
  note: string;
}

const RUN = tables.runs.columns;

/** A run as a `runs` row; `version` orders the rows of one run (the highest wins). */
export const runRow = (r: RunInfo, version: number): RunRow => ({
  [RUN.runId]: r.runId,
  [RUN.command]: r.command,
  [RUN.site]: r.site,
  [RUN.inputs]: r.inputs,
  [RUN.startedAt]: chMs(r.startedAt),
  [RUN.finishedAt]: chMs(r.finishedAt),
  [RUN.status]: r.status,
  [RUN.flows]: r.flows,
  [RUN.alerts]: r.alerts,
  [RUN.incidents]: r.incidents,
  [RUN.firstTs]: chMs(r.firstTs),
  [RUN.lastTs]: chMs(r.lastTs),
  [RUN.note]: r.note,
  [RUN.version]: version,
});

/** A partial summary of one asset; the engine merges partials with the same (zone, ip, run). */
export interface AssetSummary {
  ip: string;
  zone: string;
  firstSeen: number;
  lastSeen: number;
  flows: number;
  bytes: number;
  l7: string[];
}

const S = tables.assets.columns;

/**
 * An asset partial summary as an `assets` row; `l7` is sorted and de-duplicated.
 * `observedAt` is the processing time the partial was written (epoch ms).
 */
export const assetRow = (a: AssetSummary, runId: string, observedAt: number): AssetRow => ({
  [S.zone]: a.zone,
  [S.ip]: a.ip,
  [S.runId]: runId,
  [S.firstSeen]: chMs(a.firstSeen),
  [S.lastSeen]: chMs(a.lastSeen),
  [S.flows]: a.flows,
  [S.bytes]: a.bytes,
  [S.l7]: [...new Set(a.l7)].sort(),
  [S.observedAt]: chMs(observedAt),
});

/** The full current state of one conduit, as the detector stage holds it. */
export interface ConduitState extends Pick<ConduitReadiness, 'conduit' | 'declared' | 'flows' | 'state' | 'readyAt' | 'coverage' |
  'cyclesCovered' | 'phaseBucketsSeen' | 'phaseBuckets' | 'novelFirstCycle' | 'novelLastCycle' | 'detectedCycleMs' | 'cycleNote' |
  'edges' | 'windowsScored' | 'alerts'> {
  fromZone: string;
  toZone: string;
  firstSeen: number;
  lastSeen: number;
  bytes: number;
  status: ConduitStatus;
  /** Event time the baseline is (or will be) complete. */
  baselineUntil: number;
  /** Processing time of this version of the state, epoch ms; the newest row wins. */
  updatedAt: number;
}

const C = tables.conduits.columns;

/** A conduit state as a `conduits` row. */
export const conduitRow = (c: ConduitState, runId: string): ConduitRow => ({
  [C.conduit]: c.conduit,
  [C.runId]: runId,
  [C.fromZone]: c.fromZone,
  [C.toZone]: c.toZone,
  [C.declared]: c.declared ? 1 : 0,
  [C.firstSeen]: chMs(c.firstSeen),
  [C.lastSeen]: chMs(c.lastSeen),
  [C.flows]: c.flows,
  [C.bytes]: c.bytes,
  [C.status]: c.status,
  [C.state]: c.state,
  [C.baselineUntil]: chMs(c.baselineUntil),
  [C.readyAt]: c.readyAt === null ? null : chMs(c.readyAt),
  [C.coverage]: f64(c.coverage),
  [C.cyclesCovered]: f64(c.cyclesCovered),
  [C.phaseBucketsSeen]: c.phaseBucketsSeen,
  [C.phaseBuckets]: c.phaseBuckets,
  [C.novelFirstCycle]: c.novelFirstCycle,
  [C.novelLastCycle]: c.novelLastCycle,
  [C.detectedCycleMs]: c.detectedCycleMs,
  [C.cycleNote]: c.cycleNote,
  [C.edges]: c.edges,
  [C.windowsScored]: c.windowsScored,
  [C.alerts]: c.alerts,
  [C.updatedAt]: chMs(c.updatedAt),
});

export type InventoryRow = RowOf<typeof tables.inventory.columns, {
  runId: string; ip: string; writer: string; mac: string; macVendor: string; macs: string[]; role: string; confidence: F64;
  evidence: string[]; flags: string[]; vendor: string; vendorId: string; model: string; productCode: string; firmware: string;
  software: string; serial: string; name: string; deviceType: string; uri: string; productUri: string; address: string;
  identities: string; protocols: string[]; services: string[]; peers: string[]; firstSeen: Ms; lastSeen: Ms; flows: number;
  bytes: number; updatedAt: Ms;
}>;

const I = tables.inventory.columns;

/** An inventory asset as an `inventory` row; absent identity fields become ''. */
export const inventoryRow = (a: Asset, runId: string, writer: string, updatedAt: number): InventoryRow => ({
  [I.runId]: runId,
  [I.ip]: a.ip,
  [I.writer]: writer,
  [I.mac]: a.mac ?? '',
  [I.macVendor]: a.macVendor ?? '',
  [I.macs]: a.macs.map((m) => m.mac),
  [I.role]: a.role,
  [I.confidence]: f64(a.confidence),
  [I.evidence]: a.evidence,
  [I.flags]: a.flags,
  [I.vendor]: a.vendor ?? '',
  [I.vendorId]: a.vendorId ?? '',
  [I.model]: a.model ?? '',
  [I.productCode]: a.productCode ?? '',
  [I.firmware]: a.firmware ?? '',
  [I.software]: a.software ?? '',
  [I.serial]: a.serial ?? '',
  [I.name]: a.name ?? '',
  [I.deviceType]: a.deviceType ?? '',
  [I.uri]: a.uri ?? '',
  [I.productUri]: a.productUri ?? '',
  [I.address]: a.address ?? '',
  [I.identities]: JSON.stringify(a.identities),
  [I.protocols]: a.protocols,
  [I.services]: a.services,
  [I.peers]: a.peers,
  [I.firstSeen]: chMs(a.firstSeen),
  [I.lastSeen]: chMs(a.lastSeen),
  [I.flows]: a.flows,
  [I.bytes]: a.bytes,
  [I.updatedAt]: chMs(updatedAt),
});

export type InventoryChangeRow = RowOf<typeof tables.inventoryChanges.columns, {
  runId: string; id: string; kind: string; ip: string; conduit: string; src: string; dst: string; proto: number; dstPort: number;
  l7: string; tsStart: Ms; tsEnd: Ms; explanation: string;
}>;

const IC = tables.inventoryChanges.columns;

/** An inventory change (as its Alert, with its kind and asset) as an `inventory_changes` row. */
export const inventoryChangeRow = (a: Alert, kind: string, ip: string, runId: string): InventoryChangeRow => ({
  [IC.runId]: runId,
  [IC.id]: a.id,
  [IC.kind]: kind,
  [IC.ip]: ip,
  [IC.conduit]: a.conduit,
  [IC.src]: a.src,
  [IC.dst]: a.dst,
  [IC.proto]: a.proto,
  [IC.dstPort]: a.dstPort,
  [IC.l7]: a.l7,
  [IC.tsStart]: chMs(a.tsStart),
  [IC.tsEnd]: chMs(a.tsEnd),
  [IC.explanation]: a.explanation,
});

/** Epoch ms of a DateTime64(3, 'UTC') as JSONEachRow prints it ('2025-01-01 00:00:00.123'). */
export const parseChTime = (text: string): number => {
  const ms = Date.parse(`${text.replace(' ', 'T')}Z`);
  if (Number.isNaN(ms)) throw new RangeError(`not a ClickHouse DateTime64: ${text}`);
  return ms;
};

/** The inverse of `parseChTime`, for comparing rows read back with the rows written. */
export const formatChTime = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
