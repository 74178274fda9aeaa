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
import type { Alert, FlowRecord, FlowSource, Incident, Severity, WindowScore } from '../core/records.ts';

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
    runId: 'run_id', observedAt: 'observed_at', conduit: 'conduit', srcZone: 'src_zone', dstZone: 'dst_zone',
    tsStart: 'ts_start', tsEnd: 'ts_end', srcIp: 'src_ip', srcPort: 'src_port', dstIp: 'dst_ip', dstPort: 'dst_port',
    proto: 'proto', packets: 'packets', bytes: 'bytes', packetsRev: 'packets_rev', bytesRev: 'bytes_rev',
    tcpFlags: 'tcp_flags', exporter: 'exporter', observationDomain: 'observation_domain', source: 'source',
    l7: 'l7', l7Ops: 'l7_ops', l7OpsRev: 'l7_ops_rev', l7Errors: 'l7_errors', l7Units: 'l7_units',
    l7Violations: 'l7_violations', reqCount: 'req_count', reqMean: 'req_mean', reqM2: 'req_m2',
    reqMin: 'req_min', reqMax: 'req_max',
  }),
  windows: table('windows', {
    runId: 'run_id', conduit: 'conduit', edge: 'edge', windowStart: 'window_start', windowEnd: 'window_end',
    detector: 'detector', score: 'score', learning: 'learning', explanation: 'explanation', features: 'features',
  }),
  alerts: table('alerts', {
    id: 'id', runId: 'run_id', conduit: 'conduit', src: 'src', dst: 'dst', proto: 'proto', dstPort: 'dst_port',
    l7: 'l7', tsStart: 'ts_start', tsEnd: 'ts_end', score: 'score', detector: 'detector', explanation: 'explanation',
    severity: 'severity', risk: 'risk', severityReason: 'severity_reason', incident: 'incident',
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
    firstSeen: 'first_seen', lastSeen: 'last_seen', flows: 'flows', bytes: 'bytes', status: 'status',
    baselineUntil: 'baseline_until', updatedAt: 'updated_at',
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
} as const;

/** Table names alone, for callers that only need `FROM ${TABLES.alerts}`. */
export const TABLES = {
  schemaMigrations: tables.schemaMigrations.name,
  flows: tables.flows.name,
  windows: tables.windows.name,
  alerts: tables.alerts.name,
  incidents: tables.incidents.name,
  runs: tables.runs.name,
  assets: tables.assets.name,
  conduits: tables.conduits.name,
  audit: tables.audit.name,
  rules: tables.rules.name,
} as const;

/** Tables created by the DDL migrations (schema_migrations is created by `migrate.ts`). */
export const dataTables = [tables.flows, tables.windows, tables.alerts, tables.assets, tables.conduits, tables.audit, tables.rules, tables.incidents, tables.runs] as const;

/** A row type keyed by column name, from camelCase value types. */
type RowOf<C extends Record<string, string>, V extends { [K in keyof C]: unknown }> = { [K in keyof C as C[K]]: V[K] };

/** A Float64 as JSONEachRow takes it: non-finite values as the strings ClickHouse parses. */
export type F64 = number | 'inf' | '-inf' | 'nan';

/** Epoch ms, the integer form DateTime64(3) accepts. */
type Ms = number;

export type FlowRow = RowOf<typeof tables.flows.columns, {
  runId: string; observedAt: Ms; conduit: string; srcZone: string; dstZone: string; tsStart: Ms; tsEnd: Ms;
  srcIp: string; srcPort: number; dstIp: string; dstPort: number; proto: number; packets: number; bytes: number;
  packetsRev: number; bytesRev: number; tcpFlags: number; exporter: string; observationDomain: number;
  source: FlowSource; l7: string; l7Ops: Record<string, number>; l7OpsRev: Record<string, number>;
  l7Errors: Record<string, number>; l7Units: number[]; l7Violations: Record<string, number>;
  reqCount: number; reqMean: F64; reqM2: F64; reqMin: F64; reqMax: F64;
}>;

export type WindowRow = RowOf<typeof tables.windows.columns, {
  runId: string; conduit: string; edge: string; windowStart: Ms; windowEnd: Ms; detector: string;
  score: F64; learning: 0 | 1; explanation: string; features: Record<string, F64>;
}>;

export type AlertRow = RowOf<typeof tables.alerts.columns, {
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
  flows: number; bytes: number; status: ConduitStatus; baselineUntil: Ms; updatedAt: Ms;
}>;

export type ConduitStatus = 'learning' | 'baselined' | 'undeclared';

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

/** A FlowRecord as a `flows` row. Absent L7 fields become empty; absent intervals become zeros. */
export const flowRow = (rec: FlowRecord, extra: FlowExtra): FlowRow => {
  const iv = rec.requestIntervalsMs;
  const has = iv !== undefined && iv.count > 0;
  return {
    [F.runId]: extra.runId,
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

const I = tables.incidents.columns;

/** An incident as an `incidents` row (one per version; the one with the most alerts wins). */
export const incidentRow = (i: Incident, runId: string): IncidentRow => ({
  [I.runId]: runId,
  [I.id]: i.id,
  [I.severity]: i.severity,
  [I.risk]: i.risk,
  [I.firstSeen]: chMs(i.firstSeen),
  [I.lastSeen]: chMs(i.lastSeen),
  [I.alerts]: i.alerts,
  [I.alertIds]: i.alertIds,
  [I.conduits]: i.conduits,
  [I.sources]: i.sources,
  [I.targets]: i.targets,
  [I.detectors]: i.detectors,
  [I.topAlert]: i.topAlert,
  [I.summary]: i.summary,
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

const R = tables.runs.columns;

/** A run as a `runs` row; `version` orders the rows of one run (the highest wins). */
export const runRow = (r: RunInfo, version: number): RunRow => ({
  [R.runId]: r.runId,
  [R.command]: r.command,
  [R.site]: r.site,
  [R.inputs]: r.inputs,
  [R.startedAt]: chMs(r.startedAt),
  [R.finishedAt]: chMs(r.finishedAt),
  [R.status]: r.status,
  [R.flows]: r.flows,
  [R.alerts]: r.alerts,
  [R.incidents]: r.incidents,
  [R.firstTs]: chMs(r.firstTs),
  [R.lastTs]: chMs(r.lastTs),
  [R.note]: r.note,
  [R.version]: version,
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
export interface ConduitState {
  conduit: string;
  fromZone: string;
  toZone: string;
  declared: boolean;
  firstSeen: number;
  lastSeen: number;
  flows: number;
  bytes: number;
  status: ConduitStatus;
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
  [C.baselineUntil]: c.baselineUntil,
  [C.updatedAt]: chMs(c.updatedAt),
});

/** Epoch ms of a DateTime64(3, 'UTC') as JSONEachRow prints it ('2025-01-01 00:00:00.123'). */
export const parseChTime = (text: string): number => {
  const ms = Date.parse(`${text.replace(' ', 'T')}Z`);
  if (Number.isNaN(ms)) throw new RangeError(`not a ClickHouse DateTime64: ${text}`);
  return ms;
};

/** The inverse of `parseChTime`, for comparing rows read back with the rows written. */
export const formatChTime = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
