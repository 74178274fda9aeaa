/** Conduit detail: expected vs observed (the baseline band and the live line), scores, edges, operations, alerts. */
import { barchart, C, CONDUIT, CONDUIT_VAR, RUN, RUN_VAR, severityOf, T, table, timeseries, toAlert, UID, ZONE_VAR, type DashboardSpec } from './common.ts';

const w = C.windows;
const f = C.flows;
const a = C.alerts;

const windows = (detector: string) =>
  `${T.windows} WHERE ${w.runId} = ${RUN} AND ${w.conduit} = ${CONDUIT} AND $__timeFilter(${w.windowStart}) AND ${w.detector} = '${detector}' AND ${w.learning} = 0`;
const flowScope = `${f.runId} = ${RUN} AND ${f.conduit} = ${CONDUIT} AND $__timeFilter(${f.tsStart})`;

export const conduitDetail = (): DashboardSpec => ({
  uid: UID.conduit,
  file: 'conduit-detail',
  title: 'conduitwatch / Conduit detail',
  description: 'One conduit: its learned baseline against what is seen now, the scores per detector, its edges and operations, and its alerts.',
  variables: [RUN_VAR, ZONE_VAR, CONDUIT_VAR],
  panels: [
    timeseries({
      title: 'Request rate: observed vs baseline', unit: 'short', minInterval: '10s', band: { upper: 'expected_high', lower: 'expected_low' },
      description: 'Requests per window on the conduit (all its edges): the line is what was seen, the band the learned expectation ± one standard deviation (rate detector, from the conduit\'s activity rows).',
      sql: `SELECT $__timeInterval(${w.windowStart}) AS time, sum(${w.features}['rate_value']) AS observed, sum(${w.features}['rate_expected']) AS expected,
  greatest(sum(${w.features}['rate_expected']) - sqrt(sum(pow(${w.features}['rate_std'], 2))), 0) AS expected_low,
  sum(${w.features}['rate_expected']) + sqrt(sum(pow(${w.features}['rate_std'], 2))) AS expected_high
FROM ${windows('activity')} AND ${w.features}['rate_edges'] > 0
GROUP BY time ORDER BY time`,
    }),
    timeseries({
      title: 'Poll cadence: observed vs baseline', unit: 'ms', minInterval: '10s', band: { upper: 'expected_high', lower: 'expected_low' },
      description: 'Mean poll period on the conduit (cadence detector, from the conduit\'s activity rows): the line is the period seen, the band the learned period ± its learned jitter.',
      sql: `SELECT $__timeInterval(${w.windowStart}) AS time, avg(${w.features}['cadence_period_ms']) AS observed_period,
  avg(${w.features}['cadence_expected_period_ms']) AS expected_period,
  avg(${w.features}['cadence_expected_period_ms'] - ${w.features}['cadence_expected_jitter_ms']) AS expected_low,
  avg(${w.features}['cadence_expected_period_ms'] + ${w.features}['cadence_expected_jitter_ms']) AS expected_high
FROM ${windows('activity')} AND ${w.features}['cadence_edges'] > 0
GROUP BY time ORDER BY time`,
    }),
    timeseries({
      title: 'Score timeline by detector', unit: 'percentunit', minInterval: '10s', w: 24,
      description: 'The worst window score per detector and interval (0 = as learned, 1 = never seen); learning windows included, since their novelty is what the baseline absorbs.',
      sql: `SELECT $__timeInterval(${w.windowStart}) AS time, ${w.detector} AS detector, max(${w.score}) AS score
FROM ${T.windows} WHERE ${w.runId} = ${RUN} AND ${w.conduit} = ${CONDUIT} AND $__timeFilter(${w.windowStart})
GROUP BY time, detector ORDER BY time`,
    }),
    table({
      title: 'Edges', unit: 'short', units: { bytes: 'bytes', first_seen: 'dateTimeAsIso', last_seen: 'dateTimeAsIso' },
      description: 'Who talks to whom on this conduit: each edge (client → server:port, protocol) with its flows, packets and bytes in the time range.',
      sql: `SELECT ${f.srcIp} AS src, ${f.dstIp} AS dst, ${f.dstPort} AS port, if(${f.l7} = '', toString(${f.proto}), ${f.l7}) AS protocol,
  count() AS flows, sum(${f.packets} + ${f.packetsRev}) AS packets, sum(${f.bytes} + ${f.bytesRev}) AS bytes,
  min(${f.tsStart}) AS first_seen, max(${f.tsEnd}) AS last_seen
FROM ${T.flows} WHERE ${flowScope}
GROUP BY src, dst, port, protocol ORDER BY flows DESC LIMIT 200`,
    }),
    barchart({
      title: 'Operations by protocol', unit: 'short', x: 'operation',
      description: 'OT operations (e.g. Modbus function codes) requested on the conduit in the time range, per protocol; writes and program changes stand out here.',
      sql: `SELECT concat(${f.l7}, ' ', op) AS operation, sum(n) AS requests
FROM ${T.flows} ARRAY JOIN mapKeys(${f.l7Ops}) AS op, mapValues(${f.l7Ops}) AS n
WHERE ${flowScope} AND ${f.l7} != ''
GROUP BY operation ORDER BY requests DESC LIMIT 20`,
    }),
    timeseries({
      title: 'Traffic', unit: 'bytes', minInterval: '10s', units: { flows: 'short' },
      description: 'Bytes (both directions) and flows per interval on the conduit.',
      sql: `SELECT $__timeInterval(${f.tsStart}) AS time, sum(${f.bytes} + ${f.bytesRev}) AS bytes, count() AS flows
FROM ${T.flows} WHERE ${flowScope}
GROUP BY time ORDER BY time`,
    }),
    table({
      title: 'Alerts with explanations', unit: 'short', w: 24, h: 10, units: { time: 'dateTimeAsIso', score: 'percentunit' },
      description: 'Every alert on the conduit in the time range, worst first, with what was expected and what was seen. Click a row for the alert detail.',
      links: [toAlert()],
      sql: `SELECT ${a.tsStart} AS time, ${severityOf(a.score)} AS severity, ${a.score} AS score, ${a.detector} AS detector,
  concat(${a.src}, ' → ', ${a.dst}, ':', toString(${a.dstPort})) AS flow, ${a.explanation} AS explanation, ${a.conduit} AS conduit, ${a.id} AS id
FROM ${T.alerts} FINAL WHERE ${a.runId} = ${RUN} AND ${a.conduit} = ${CONDUIT} AND $__timeFilter(${a.tsStart})
ORDER BY score DESC, time LIMIT 200`,
    }),
  ],
});
