/** Alert detail: one alert, its edge's scores and flows around it, and the other alerts on its conduit. */
import { ALERT, C, CONDUIT, CONDUIT_VAR, edgeOf, RUN, RUN_VAR, severityOf, T, table, timeseries, toAlert, UID, type DashboardSpec, type VariableSpec } from './common.ts';

const a = C.alerts;
const w = C.windows;
const r = C.series;
const f = C.flows;

/** `alert`: the alerts of the conduit in the time range, worst first. */
const ALERT_VAR: VariableSpec = {
  name: 'alert', label: 'Alert', description: 'An alert id on the conduit (the worst first); links from the other dashboards set it.',
  query: `SELECT ${a.id} FROM ${T.alerts} FINAL WHERE ${a.runId} = ${RUN} AND ${a.conduit} = ${CONDUIT} AND $__timeFilter(${a.tsStart}) ORDER BY ${a.score} DESC, ${a.tsStart}`,
};

const theAlert = `(SELECT * FROM ${T.alerts} FINAL WHERE ${a.runId} = ${RUN} AND ${a.id} = ${ALERT} LIMIT 1)`;
const edge = edgeOf(a.src, a.dst, a.proto, a.dstPort, a.l7);

export const alertDetail = (): DashboardSpec => ({
  uid: UID.alert,
  file: 'alert-detail',
  title: 'conduitwatch / Alert detail',
  description: 'One alert: what was expected and what was seen, the scores and the rate band of its edge over the time range, and the flows of that edge around it.',
  variables: [RUN_VAR, CONDUIT_VAR, ALERT_VAR],
  panels: [
    table({
      title: 'Alert', unit: 'short', w: 24, h: 5, units: { start: 'dateTimeAsIso', end: 'dateTimeAsIso', score: 'percentunit' },
      description: 'The alert as a SIEM receives it: when, which conduit and edge, the detector, its score and the explanation in words.',
      sql: `SELECT ${a.tsStart} AS start, ${a.tsEnd} AS end, ${a.conduit} AS conduit, ${severityOf(a.score)} AS severity, ${a.score} AS score,
  ${a.detector} AS detector, ${edge} AS edge, ${a.explanation} AS explanation
FROM ${theAlert}`,
    }),
    timeseries({
      title: 'Scores of this edge', unit: 'percentunit', minInterval: '10s', w: 24,
      description: 'Window scores of the alert\'s edge per detector over the time range; the alert is where a score crossed the alert threshold.',
      sql: `SELECT $__timeInterval(${w.windowStart}) AS time, ${w.detector} AS detector, max(${w.score}) AS score
FROM ${T.windows}
WHERE ${w.runId} = ${RUN} AND ${w.conduit} = ${CONDUIT} AND $__timeFilter(${w.windowStart})
  AND ${w.edge} IN (SELECT ${edge} FROM ${theAlert})
GROUP BY time, detector ORDER BY time`,
    }),
    timeseries({
      title: 'Rate of this edge: observed vs baseline', unit: 'short', minInterval: '10s', w: 24, band: { upper: 'expected_high', lower: 'expected_low' },
      description: 'Requests (or flows) per window on the alert\'s edge: the line is what was seen, the band what its baseline expected at that point of the production cycle ± one standard deviation (the engine\'s series).',
      sql: `SELECT $__timeInterval(${r.windowStart}) AS time, sum(${r.observed}) AS observed_rate, sum(${r.expected}) AS expected_rate,
  greatest(sum(${r.expected}) - sqrt(sum(pow(${r.expectedStd}, 2))), 0) AS expected_low,
  sum(${r.expected}) + sqrt(sum(pow(${r.expectedStd}, 2))) AS expected_high
FROM ${T.series} FINAL
WHERE ${r.runId} = ${RUN} AND ${r.conduit} = ${CONDUIT} AND $__timeFilter(${r.windowStart})
  AND ${r.edge} IN (SELECT ${edge} FROM ${theAlert})
GROUP BY time ORDER BY time`,
    }),
    table({
      title: 'Flows of this edge around the alert', unit: 'short', units: { start: 'dateTimeAsIso', bytes: 'bytes' },
      description: 'The flow records between the alert\'s hosts from 5 minutes before to 5 minutes after it: the evidence behind the score.',
      sql: `SELECT ${f.tsStart} AS start, ${f.srcIp} AS src, ${f.srcPort} AS src_port, ${f.dstIp} AS dst, ${f.dstPort} AS dst_port, ${f.l7} AS l7,
  ${f.packets} + ${f.packetsRev} AS packets, ${f.bytes} + ${f.bytesRev} AS bytes, toString(${f.l7Ops}) AS operations
FROM ${T.flows}
WHERE ${f.runId} = ${RUN} AND ${f.conduit} = ${CONDUIT}
  AND (${f.srcIp}, ${f.dstIp}, ${f.dstPort}) IN (SELECT ${a.src}, ${a.dst}, ${a.dstPort} FROM ${theAlert})
  AND ${f.tsStart} >= (SELECT ${a.tsStart} - INTERVAL 5 MINUTE FROM ${theAlert})
  AND ${f.tsStart} <= (SELECT ${a.tsEnd} + INTERVAL 5 MINUTE FROM ${theAlert})
ORDER BY start LIMIT 500`,
    }),
    table({
      title: 'Other alerts on this conduit', unit: 'short', units: { time: 'dateTimeAsIso', score: 'percentunit' },
      description: 'The conduit\'s other alerts in the time range: one incident often raises several. Click a row to switch to it.',
      links: [toAlert()],
      sql: `SELECT ${a.tsStart} AS time, ${a.score} AS score, ${a.detector} AS detector, ${a.explanation} AS explanation, ${a.conduit} AS conduit, ${a.id} AS id
FROM ${T.alerts} FINAL
WHERE ${a.runId} = ${RUN} AND ${a.conduit} = ${CONDUIT} AND $__timeFilter(${a.tsStart}) AND ${a.id} != ${ALERT}
ORDER BY time LIMIT 100`,
    }),
  ],
});
