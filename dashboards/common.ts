/**
 * Shared panel defaults for the conduitwatch dashboards (STYLE.md §10): the ClickHouse query
 * target, the template variables, the panel factories (each sets a title, a description and a
 * unit — the types make all three required) and the drill-down links.
 *
 * Tables and columns are named only through `store/schema.ts` (`T`, `C` below), so a rename
 * breaks `tsc`, not an analyst's panel. SQL text uses the plugin's macros (`dashboards/macros.ts`).
 */
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import {
  ReduceDataOptionsBuilder, StackingConfigBuilder, BigValueGraphMode, GraphDrawStyle, StackingMode, VizOrientation,
  LegendDisplayMode, LegendPlacement, BigValueColorMode, VizLegendOptionsBuilder,
} from '@grafana/grafana-foundation-sdk/common';
import {
  DashboardBuilder, DashboardLinkBuilder, DatasourceVariableBuilder, QueryVariableBuilder, TextBoxVariableBuilder,
  VariableRefresh, VariableSort, type DataSourceRef, type Dashboard,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { PanelBuilder as TimeseriesBuilder } from '@grafana/grafana-foundation-sdk/timeseries';
import { PanelBuilder as TableBuilder } from '@grafana/grafana-foundation-sdk/table';
import { PanelBuilder as StatBuilder } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as BarChartBuilder } from '@grafana/grafana-foundation-sdk/barchart';
import { TABLES, tables } from '../store/schema.ts';

/** Table names (`T.alerts`) and columns per table (`C.alerts.tsStart`), from the store's schema. */
export const T = TABLES;
export const C = {
  flows: tables.flows.columns,
  windows: tables.windows.columns,
  series: tables.series.columns,
  alerts: tables.alerts.columns,
  assets: tables.assets.columns,
  conduits: tables.conduits.columns,
  rules: tables.rules.columns,
  audit: tables.audit.columns,
} as const;

/** The Grafana plugin id of the official ClickHouse data source. */
export const PLUGIN_ID = 'grafana-clickhouse-datasource';
/** The provisioned data source's uid (infra/grafana/provisioning/datasources/). */
export const DATASOURCE_UID = 'conduitwatch';
/** Every panel reads the data source the `site` variable selects: one ClickHouse per plant. */
export const DS: DataSourceRef = { type: PLUGIN_ID, uid: '${site}' };

/** Dashboard uids, for links between them. */
export const UID = {
  soc: 'conduitwatch-soc',
  conduit: 'conduitwatch-conduit',
  alert: 'conduitwatch-alert',
  assets: 'conduitwatch-assets',
  readiness: 'conduitwatch-readiness',
  pipeline: 'conduitwatch-pipeline',
  rules: 'conduitwatch-rules',
  audit: 'conduitwatch-audit',
} as const;

/** The plugin's result formats (the backend reads `format`: 0 time series, 1 table). */
const FORMAT = { timeseries: 0, table: 1 } as const;

/** One SQL query of the ClickHouse plugin (its `CHSqlQuery` model). */
class ClickHouseQuery implements cog.Builder<cog.Dataquery> {
  constructor(private readonly sql: string, private readonly format: keyof typeof FORMAT) {}

  build(): cog.Dataquery {
    return {
      refId: 'A',
      datasource: DS,
      editorType: 'sql',
      queryType: this.format === 'timeseries' ? 'timeseries' : 'table',
      format: FORMAT[this.format],
      rawSql: this.sql.trim(),
      _implementsDataqueryVariant() {},
    } as cog.Dataquery;
  }
}

// ---- SQL fragments ---------------------------------------------------------------------------

/** The selected run (single value), quoted. */
export const RUN = "'${run}'";
/** The selected conduit on the detail dashboards (single value), quoted. */
export const CONDUIT = "'${conduit}'";
/** The selected alert id on the alert dashboard, quoted. */
export const ALERT = "'${alert}'";

/** `col IN (…selected conduits…)`, or true when "All" is selected. */
export const conduitIn = (col: string): string => `$__conditionalAll(${col} IN (\${conduit}), $conduit)`;
/** Either zone of a flow in the selected zones, or true when "All" is selected. */
export const zonesIn = (a: string, b: string): string => `$__conditionalAll((${a} IN (\${zone}) OR ${b} IN (\${zone})), $zone)`;
/** A conduit id `from->to` in the selected zones (alerts and windows carry only the conduit id). */
export const conduitZonesIn = (col: string): string =>
  `$__conditionalAll((splitByString('->', ${col})[1] IN (\${zone}) OR splitByString('->', ${col})[2] IN (\${zone})), $zone)`;

/**
 * Severity of an alert from its score, until incidents carry one. Alerts start at
 * `detection.alertThreshold` (default 0.8): critical ≥ 0.99 (never seen in baseline), high ≥ 0.9,
 * else medium.
 */
export const severityOf = (score: string): string => `multiIf(${score} >= 0.99, 'critical', ${score} >= 0.9, 'high', 'medium')`;

/**
 * The edge id of an alert's columns, as `edgeId` in core/records.ts spells it
 * (`src>dst/proto/dstPort/l7`, `-` for no l7); test/unit/dashboards checks the two agree.
 */
export const edgeOf = (src: string, dst: string, proto: string, dstPort: string, l7: string): string =>
  `concat(${src}, '>', ${dst}, '/', toString(${proto}), '/', toString(${dstPort}), '/', if(${l7} = '', '-', ${l7}))`;

// ---- links -----------------------------------------------------------------------------------

/** Keeps the time range and the site when following a link. */
const KEEP = 'var-site=${site}&var-run=${run}&${__url_time_range}';

/** A data link from a table row's `conduit` field to the conduit detail dashboard. */
export const toConduit = (field = 'conduit'): Link =>
  ({ title: 'Conduit detail', url: `/d/${UID.conduit}/conduit-detail?${KEEP}&var-conduit=\${__data.fields.${field}}` });

/** A data link from a table row's `id` field to the alert detail dashboard. */
export const toAlert = (): Link =>
  ({ title: 'Alert detail', url: `/d/${UID.alert}/alert-detail?${KEEP}&var-conduit=\${__data.fields.conduit}&var-alert=\${__data.fields.id}` });

export interface Link {
  title: string;
  url: string;
}

const link = (l: Link) => new DashboardLinkBuilder(l.title).url(l.url);

// ---- panels ----------------------------------------------------------------------------------

/** What every panel must say: the factories below take nothing less. */
export interface PanelSpec {
  title: string;
  /** What the panel shows and how to read it, for the (i) tooltip. */
  description: string;
  /** A Grafana unit id: 'short', 'percentunit', 'bytes', 'ms', 's', 'dateTimeAsIso', 'none', … */
  unit: string;
  sql: string;
  /** Width in grid columns (of 24) and height in rows; defaults per kind. */
  w?: number;
  h?: number;
  /** Data links on every field (tables: row drill-down). */
  links?: Link[];
  /** Minimum panel interval ('10s'): below one detector window a bucket means nothing. */
  minInterval?: string;
}

export interface TimeseriesSpec extends PanelSpec {
  style?: 'lines' | 'bars';
  stacked?: boolean;
  /** Shade between two series (the baseline band): the upper series is filled down to the lower. */
  band?: { upper: string; lower: string };
  /** Per-series units where they differ from the panel's. */
  units?: Record<string, string>;
}

/** A panel: its builder and the spec it came from (the grid position is set by `dashboard`). */
export interface Panel {
  kind: 'timeseries' | 'table' | 'stat' | 'barchart';
  spec: PanelSpec;
  builder: TimeseriesBuilder | TableBuilder | StatBuilder | BarChartBuilder;
}

const base = <B extends TimeseriesBuilder | TableBuilder | StatBuilder | BarChartBuilder>(b: B, s: PanelSpec, format: keyof typeof FORMAT): B => {
  b.title(s.title).description(s.description).unit(s.unit).datasource(DS).withTarget(new ClickHouseQuery(s.sql, format));
  if (s.minInterval) b.interval(s.minInterval);
  if (s.links?.length) b.dataLinks(s.links.map(link));
  return b;
};

/** A time series panel: the query returns `time`, then one numeric column per series (or long form). */
export const timeseries = (s: TimeseriesSpec): Panel => {
  const b = base(new TimeseriesBuilder(), s, 'timeseries')
    .drawStyle(s.style === 'bars' ? GraphDrawStyle.Bars : GraphDrawStyle.Line)
    .fillOpacity(s.style === 'bars' ? 80 : 10)
    .lineWidth(s.style === 'bars' ? 1 : 2)
    .legend(new VizLegendOptionsBuilder().displayMode(LegendDisplayMode.List).placement(LegendPlacement.Bottom).showLegend(true).calcs([]));
  if (s.stacked) b.stacking(new StackingConfigBuilder().mode(StackingMode.Normal));
  if (s.band) {
    b.overrideByName(s.band.upper, [{ id: 'custom.fillBelowTo', value: s.band.lower }, { id: 'custom.lineWidth', value: 0 }, { id: 'custom.fillOpacity', value: 20 }]);
    b.overrideByName(s.band.lower, [{ id: 'custom.lineWidth', value: 0 }, { id: 'custom.hideFrom', value: { legend: true, tooltip: false, viz: false } }]);
  }
  for (const [name, unit] of Object.entries(s.units ?? {})) b.overrideByName(name, [{ id: 'unit', value: unit }]);
  return { kind: 'timeseries', spec: s, builder: b };
};

/** A table; `links` make each row a drill-down. */
export const table = (s: PanelSpec & { units?: Record<string, string> }): Panel => {
  const b = base(new TableBuilder(), s, 'table').cellHeight('sm' as never).filterable(true);
  for (const [name, unit] of Object.entries(s.units ?? {})) b.overrideByName(name, [{ id: 'unit', value: unit }]);
  return { kind: 'table', spec: s, builder: b };
};

/** One number (the query returns one row); `graph` adds the sparkline of a time column. */
export const stat = (s: PanelSpec & { graph?: boolean }): Panel => {
  const b = base(new StatBuilder(), s, 'table')
    .graphMode(s.graph ? BigValueGraphMode.Area : BigValueGraphMode.None)
    .colorMode(BigValueColorMode.Value)
    .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false));
  return { kind: 'stat', spec: s, builder: b };
};

/** Horizontal bars of a category column against numeric columns. */
export const barchart = (s: PanelSpec & { x: string; stacked?: boolean }): Panel => {
  const b = base(new BarChartBuilder(), s, 'table').xField(s.x).orientation(VizOrientation.Horizontal).showValue('auto' as never);
  if (s.stacked) b.stacking(StackingMode.Normal);
  return { kind: 'barchart', spec: s, builder: b };
};

// ---- variables -------------------------------------------------------------------------------

const DEFAULT_W: Record<Panel['kind'], number> = { timeseries: 12, table: 12, stat: 6, barchart: 12 };
const DEFAULT_H: Record<Panel['kind'], number> = { timeseries: 8, table: 9, stat: 4, barchart: 8 };

/** A variable of a dashboard, and the query that lists its options (none for a text box). */
export interface VariableSpec {
  name: string;
  label: string;
  description: string;
  /** SQL listing the options (plugin macros and earlier variables allowed). */
  query?: string;
  multi?: boolean;
  includeAll?: boolean;
}

/** `site`: which plant's ClickHouse (one data source per site). Always first. */
const siteVariable = () => new DatasourceVariableBuilder('site').label('Site')
  .description('The plant: one ClickHouse data source per site (infra/grafana/provisioning/datasources/).')
  .type(PLUGIN_ID).regex('');

/** `run`: a replay or serve run (run_id); the newest first. */
export const RUN_VAR: VariableSpec = {
  name: 'run', label: 'Run', description: 'A replay or serve run (run_id). The newest run is first; pick an older one to compare.',
  query: `SELECT ${C.flows.runId} FROM ${T.flows} GROUP BY ${C.flows.runId} ORDER BY max(${C.flows.observedAt}) DESC`,
};

/** `zone`: zones seen in the run. */
export const ZONE_VAR: VariableSpec = {
  name: 'zone', label: 'Zone', description: 'Security zones (site.yaml) seen in the run; a conduit is shown when either end is selected.',
  query: `SELECT DISTINCT z FROM (SELECT ${C.flows.srcZone} AS z FROM ${T.flows} WHERE ${C.flows.runId} = ${RUN} ` +
    `UNION ALL SELECT ${C.flows.dstZone} AS z FROM ${T.flows} WHERE ${C.flows.runId} = ${RUN}) ORDER BY z`,
  multi: true, includeAll: true,
};

/** `conduit`: conduits of the selected zones (several on the overview). */
export const CONDUITS_VAR: VariableSpec = {
  name: 'conduit', label: 'Conduit', description: 'Conduits (from->to zone pairs) of the selected zones.',
  query: `SELECT DISTINCT ${C.flows.conduit} FROM ${T.flows} WHERE ${C.flows.runId} = ${RUN} AND ${zonesIn(C.flows.srcZone, C.flows.dstZone)} ORDER BY 1`,
  multi: true, includeAll: true,
};

/** `conduit`: one conduit, on the detail dashboards. */
export const CONDUIT_VAR: VariableSpec = { ...CONDUITS_VAR, description: 'The conduit (from->to zone pair) to look at.', multi: false, includeAll: false };

const variable = (v: VariableSpec) => {
  if (v.query === undefined) return new TextBoxVariableBuilder(v.name).label(v.label).description(v.description);
  return new QueryVariableBuilder(v.name).label(v.label).description(v.description).datasource(DS)
    .query({ rawSql: v.query, editorType: 'sql', format: FORMAT.table, queryType: 'table' }).definition(v.query)
    .refresh(VariableRefresh.OnTimeRangeChanged).sort(VariableSort.Disabled)
    .multi(v.multi ?? false).includeAll(v.includeAll ?? false);
};

// ---- dashboards ------------------------------------------------------------------------------

export interface DashboardSpec {
  uid: string;
  title: string;
  description: string;
  /** File name under infra/grafana/dashboards/ (without .json). */
  file: string;
  variables: VariableSpec[];
  panels: Panel[];
  /** Default time range ('now-6h'), Grafana's spelling. */
  from?: string;
}

/** The dashboard menu shown on every dashboard: the other conduitwatch dashboards. */
const navLink = () => new DashboardLinkBuilder('conduitwatch').type('dashboards' as never).tags(['conduitwatch'])
  .asDropdown(true).includeVars(true).keepTime(true);

/** Builds a dashboard: the variables after `site`, the panels laid out left to right in a 24-column grid. */
export const dashboard = (d: DashboardSpec): Dashboard => {
  const b = new DashboardBuilder(d.title).uid(d.uid).description(d.description).tags(['conduitwatch'])
    .editable().timezone('utc').time({ from: d.from ?? 'now-6h', to: 'now' }).refresh('1m')
    .link(navLink()).withVariable(siteVariable());
  for (const v of d.variables) b.withVariable(variable(v));
  let x = 0;
  let y = 0;
  let rowH = 0;
  d.panels.forEach((p, i) => {
    const w = p.spec.w ?? DEFAULT_W[p.kind];
    const h = p.spec.h ?? DEFAULT_H[p.kind];
    if (x + w > 24) { x = 0; y += rowH; rowH = 0; }
    p.builder.id(i + 1).gridPos({ x, y, w, h });
    x += w;
    rowH = Math.max(rowH, h);
    b.withPanel(p.builder);
  });
  return b.build();
};
