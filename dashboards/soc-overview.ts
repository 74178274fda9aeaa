/** SOC overview: what is unusual now, on which conduit, and which conduits are still learning. */
import { C, CONDUITS_VAR, conduitIn, conduitZonesIn, RUN, RUN_VAR, severityOf, stat, T, table, timeseries, toAlert, toConduit, UID, ZONE_VAR, type DashboardSpec } from './common.ts';

const a = C.alerts;
const w = C.windows;

const alertScope = `${a.runId} = ${RUN} AND $__timeFilter(${a.tsStart}) AND ${conduitIn(a.conduit)} AND ${conduitZonesIn(a.conduit)}`;
const windowScope = `${w.runId} = ${RUN} AND $__timeFilter(${w.windowStart}) AND ${conduitIn(w.conduit)} AND ${conduitZonesIn(w.conduit)}`;

export const socOverview = (): DashboardSpec => ({
  uid: UID.soc,
  file: 'soc-overview',
  title: 'conduitwatch / SOC overview',
  description: 'Alerts by severity, the conduits that deviate most, undeclared conduits and baseline status. Click a conduit to drill down.',
  variables: [RUN_VAR, ZONE_VAR, CONDUITS_VAR],
  panels: [
    stat({
      title: 'Alerts', unit: 'short', w: 6,
      description: 'Alerts raised in the time range on the selected conduits (deduplicated: one per alert id).',
      sql: `SELECT count() AS alerts FROM ${T.alerts} FINAL WHERE ${alertScope}`,
    }),
    stat({
      title: 'Conduits alerting', unit: 'short', w: 6,
      description: 'Conduits with at least one alert in the time range.',
      sql: `SELECT uniqExact(${a.conduit}) AS conduits FROM ${T.alerts} FINAL WHERE ${alertScope}`,
    }),
    stat({
      title: 'Worst score', unit: 'percentunit', w: 6,
      description: 'The highest window score (0 = as learned, 1 = never seen) outside learning, in the time range.',
      sql: `SELECT max(${w.score}) AS worst FROM ${T.windows} WHERE ${windowScope} AND ${w.learning} = 0`,
    }),
    stat({
      title: 'Undeclared conduits', unit: 'short', w: 6,
      description: 'Zone pairs that talked without a conduit declared in site.yaml (each is itself an alert).',
      sql: `SELECT uniqExact(${w.conduit}) AS undeclared FROM ${T.windows} WHERE ${windowScope} AND ${w.features}['undeclared'] > 0`,
    }),
    timeseries({
      title: 'Alerts over time by severity', unit: 'short', style: 'bars', stacked: true, w: 24, minInterval: '10s',
      description: 'Alerts per interval, stacked by severity (from the score until incidents carry one: critical ≥ 0.99, high ≥ 0.9, else medium).',
      sql: `SELECT $__timeInterval(${a.tsStart}) AS time, ${severityOf(a.score)} AS severity, count() AS alerts
FROM ${T.alerts} FINAL WHERE ${alertScope}
GROUP BY time, severity ORDER BY time`,
    }),
    table({
      title: 'Top conduits by score', unit: 'short', units: { worst_score: 'percentunit', mean_score: 'percentunit' },
      description: 'Conduits ranked by their worst window score outside learning; alert windows count scores at or above the alert threshold (0.8 by default). Click a row for the conduit detail.',
      links: [toConduit()],
      sql: `SELECT ${w.conduit} AS conduit, max(${w.score}) AS worst_score, avg(${w.score}) AS mean_score,
  countIf(${w.score} >= 0.8) AS alert_windows, uniqExact(${w.edge}) AS edges
FROM ${T.windows} WHERE ${windowScope} AND ${w.learning} = 0
GROUP BY conduit ORDER BY worst_score DESC, alert_windows DESC LIMIT 10`,
    }),
    table({
      title: 'Baseline status per conduit', unit: 'short', units: { last_window: 'dateTimeAsIso' },
      description: 'learning: the conduit is still learning its baseline (scored, never alerted); ready: scoring and alerting. Enforcing comes with rules (issue 10).',
      links: [toConduit()],
      sql: `SELECT ${w.conduit} AS conduit, if(argMax(${w.learning}, ${w.windowEnd}) = 1, 'learning', 'ready') AS status,
  countIf(${w.learning} = 1) AS learning_windows, countIf(${w.learning} = 0) AS scored_windows, max(${w.windowEnd}) AS last_window
FROM ${T.windows} WHERE ${windowScope}
GROUP BY conduit ORDER BY status, conduit`,
    }),
    table({
      title: 'Undeclared conduits', unit: 'short', units: { first_seen: 'dateTimeAsIso', last_seen: 'dateTimeAsIso' },
      description: 'Traffic between zones with no conduit in site.yaml: when it started, how many edges, and the first explanation. Declare the conduit or investigate.',
      links: [toConduit()],
      sql: `SELECT ${w.conduit} AS conduit, min(${w.windowStart}) AS first_seen, max(${w.windowEnd}) AS last_seen,
  uniqExact(${w.edge}) AS edges, any(${w.explanation}) AS explanation
FROM ${T.windows} WHERE ${windowScope} AND ${w.features}['undeclared'] > 0
GROUP BY conduit ORDER BY first_seen`,
    }),
    table({
      title: 'Latest alerts', unit: 'short', w: 24, h: 10, units: { time: 'dateTimeAsIso', score: 'percentunit' },
      description: 'The newest alerts with their explanation (expected vs observed). Click a row for the alert detail.',
      links: [toAlert(), toConduit()],
      sql: `SELECT ${a.tsStart} AS time, ${a.conduit} AS conduit, ${severityOf(a.score)} AS severity, ${a.score} AS score,
  ${a.detector} AS detector, concat(${a.src}, ' → ', ${a.dst}, ':', toString(${a.dstPort})) AS flow, ${a.l7} AS l7,
  ${a.explanation} AS explanation, ${a.id} AS id
FROM ${T.alerts} FINAL WHERE ${alertScope}
ORDER BY time DESC LIMIT 100`,
    }),
  ],
});

