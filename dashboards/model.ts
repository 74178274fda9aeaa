/**
 * The built dashboards as data: each panel's SQL, unit and interval, and each variable's query,
 * read back from the Grafana JSON (what Grafana is given), plus a small runner that does what
 * Grafana does on load — list each variable's options in order, pick the current values, expand
 * every panel's macros — over any query function (chDB directly, or the HTTP endpoint).
 * Used by the panel-query test, `npm run docs:pictures` and bench/dashboards.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expandQuery, panelIntervalMs, parseInterval, type VarValue } from './macros.ts';

export interface PanelModel {
  id: number;
  title: string;
  type: string;
  description: string;
  unit: string;
  sql: string;
  /** The plugin's result format: 0 time series, 1 table. */
  format: number;
  minIntervalMs: number;
  /** Data link URLs on the panel's fields. */
  links: string[];
  gridPos: { x: number; y: number; w: number; h: number };
  /** Per-field overrides (name → property id → value), e.g. fillBelowTo, unit. */
  overrides: Record<string, Record<string, unknown>>;
  /** Time series: 'line' or 'bars'; stacked series. Bar charts: the category field. */
  drawStyle?: string;
  stacked: boolean;
  xField?: string;
}

export interface VariableModel {
  name: string;
  type: string;
  query?: string;
  multi: boolean;
  includeAll: boolean;
}

export interface DashboardModel {
  file: string;
  uid: string;
  title: string;
  description: string;
  variables: VariableModel[];
  panels: PanelModel[];
}

type Json = Record<string, unknown>;

const panelOf = (p: Json): PanelModel => {
  const target = ((p.targets as Json[] | undefined) ?? [])[0] ?? {};
  const defaults = ((p.fieldConfig as Json | undefined)?.defaults ?? {}) as Json;
  const overrides: PanelModel['overrides'] = {};
  for (const o of (((p.fieldConfig as Json | undefined)?.overrides ?? []) as Json[])) {
    const name = String((o.matcher as Json).options);
    for (const prop of o.properties as Json[]) (overrides[name] ??= {})[String(prop.id)] = prop.value;
  }
  return {
    id: Number(p.id),
    title: String(p.title ?? ''),
    type: String(p.type),
    description: String(p.description ?? ''),
    unit: String(defaults.unit ?? ''),
    sql: String(target.rawSql ?? ''),
    format: Number(target.format ?? 1),
    minIntervalMs: typeof p.interval === 'string' ? parseInterval(p.interval) : 0,
    links: ((defaults.links ?? []) as Json[]).map((l) => String(l.url)),
    gridPos: p.gridPos as PanelModel['gridPos'],
    overrides,
    ...(typeof (defaults.custom as Json | undefined)?.drawStyle === 'string' ? { drawStyle: String((defaults.custom as Json).drawStyle) } : {}),
    stacked: ((((defaults.custom as Json | undefined)?.stacking as Json | undefined)?.mode ?? ((p.options as Json | undefined)?.stacking)) ?? 'none') !== 'none',
    ...(typeof (p.options as Json | undefined)?.xField === 'string' ? { xField: String((p.options as Json).xField) } : {}),
  };
};

/** Parses one dashboard JSON (as `conduitwatch dashboards build` writes it). */
export const dashboardModel = (file: string, text: string): DashboardModel => {
  const d = JSON.parse(text) as Json;
  const vars = (((d.templating as Json | undefined)?.list ?? []) as Json[]).map((v): VariableModel => ({
    name: String(v.name),
    type: String(v.type),
    ...(v.type === 'query' ? { query: String((v.query as Json).rawSql) } : {}),
    multi: Boolean(v.multi),
    includeAll: Boolean(v.includeAll),
  }));
  return {
    file,
    uid: String(d.uid),
    title: String(d.title),
    description: String(d.description ?? ''),
    variables: vars,
    panels: ((d.panels ?? []) as Json[]).map(panelOf),
  };
};

/** Every dashboard JSON in `dir`, sorted by file name. */
export const loadDashboards = (dir: string): DashboardModel[] =>
  readdirSync(dir).filter((f) => f.endsWith('.json')).sort().map((f) => dashboardModel(f, readFileSync(join(dir, f), 'utf8')));

/** Runs one SQL query and returns its rows as arrays (first column first). */
export type RunQuery = (sql: string) => Promise<unknown[][]>;

export interface TimeRange {
  from: number;
  to: number;
}

/**
 * Grafana on dashboard load: each variable's query in order (with the variables before it),
 * its options from the first column; the current value is `choose[name]` when given, else
 * "All" where allowed, else the first option, else '' (no options: Grafana's panels then show nothing).
 */
export const resolveVariables = async (d: DashboardModel, run: RunQuery, range: TimeRange, choose: Record<string, VarValue> = {}): Promise<Record<string, VarValue>> => {
  const vars: Record<string, VarValue> = {};
  for (const v of d.variables) {
    if (v.query === undefined) continue;
    const sql = expandQuery(v.query, { ...range, intervalMs: panelIntervalMs(range.from, range.to), vars });
    const options = (await run(sql)).map((r) => String(r[0]));
    const chosen = choose[v.name];
    if (chosen !== undefined) vars[v.name] = chosen;
    else vars[v.name] = v.includeAll ? { all: true, options } : options[0] ?? '';
  }
  return vars;
};

/** The SQL one panel sends for a time range and variable values. */
export const panelQuery = (p: PanelModel, range: TimeRange, vars: Record<string, VarValue>, maxDataPoints = 1_000): string =>
  expandQuery(p.sql, { ...range, intervalMs: panelIntervalMs(range.from, range.to, maxDataPoints, p.minIntervalMs), vars });
