/** Pipeline health, from the rows the pipeline wrote: throughput, lag, scoring, bad input. */
import { C, RUN, RUN_VAR, stat, T, timeseries, UID, type DashboardSpec } from './common.ts';

const f = C.flows;
const w = C.windows;
const a = C.alerts;

const flowScope = `${f.runId} = ${RUN} AND $__timeFilter(${f.tsStart})`;

export const pipelineHealth = (): DashboardSpec => ({
  uid: UID.pipeline,
  file: 'pipeline-health',
  title: 'conduitwatch / Pipeline health',
  description: 'Is the pipeline keeping up? Flows stored per source, processing lag, windows scored per detector, malformed OT messages, alerts per detector. The /metrics endpoint of each role has the live counters.',
  variables: [RUN_VAR],
  panels: [
    stat({
      title: 'Flows stored', unit: 'short',
      description: 'Flow records stored in the time range (by event time).',
      sql: `SELECT count() AS flows FROM ${T.flows} WHERE ${flowScope}`,
    }),
    stat({
      title: 'Windows scored', unit: 'short',
      description: 'Window scores stored in the time range, all detectors, learning included.',
      sql: `SELECT count() AS windows FROM ${T.windows} WHERE ${w.runId} = ${RUN} AND $__timeFilter(${w.windowStart})`,
    }),
    stat({
      title: 'Malformed OT messages', unit: 'short',
      description: 'Protocol violations the dissectors counted in the time range (bad input is counted, never dropped silently).',
      sql: `SELECT sum(arraySum(mapValues(${f.l7Violations}))) AS violations FROM ${T.flows} WHERE ${flowScope}`,
    }),
    stat({
      title: 'Processing lag p99', unit: 's',
      description: 'How long after a flow ended it was stored (observed_at − ts_end), 99th percentile; on a replay of an old capture this is the capture\'s age.',
      sql: `SELECT quantile(0.99)(dateDiff('millisecond', ${f.tsEnd}, ${f.observedAt})) / 1000 AS lag_p99 FROM ${T.flows} WHERE ${flowScope}`,
    }),
    timeseries({
      title: 'Flows per interval by source', unit: 'short', style: 'bars', stacked: true, minInterval: '10s',
      description: 'Flow records by event time and by source (pcap, netflow5/9, ipfix, file, sim).',
      sql: `SELECT $__timeInterval(${f.tsStart}) AS time, ${f.source} AS source, count() AS flows
FROM ${T.flows} WHERE ${flowScope} GROUP BY time, source ORDER BY time`,
    }),
    timeseries({
      title: 'Processing lag', unit: 's', minInterval: '10s',
      description: 'Median and 99th percentile of observed_at − ts_end per interval: a growing lag means the pipeline falls behind.',
      sql: `SELECT $__timeInterval(${f.tsStart}) AS time, quantile(0.5)(dateDiff('millisecond', ${f.tsEnd}, ${f.observedAt})) / 1000 AS p50,
  quantile(0.99)(dateDiff('millisecond', ${f.tsEnd}, ${f.observedAt})) / 1000 AS p99
FROM ${T.flows} WHERE ${flowScope} GROUP BY time ORDER BY time`,
    }),
    timeseries({
      title: 'Windows scored by detector', unit: 'short', minInterval: '10s',
      description: 'Window scores per interval per detector; a detector that stops scoring shows as a gap.',
      sql: `SELECT $__timeInterval(${w.windowStart}) AS time, ${w.detector} AS detector, count() AS windows
FROM ${T.windows} WHERE ${w.runId} = ${RUN} AND $__timeFilter(${w.windowStart}) GROUP BY time, detector ORDER BY time`,
    }),
    timeseries({
      title: 'Malformed OT messages by protocol', unit: 'short', style: 'bars', minInterval: '10s',
      description: 'Protocol violations per interval per OT protocol (e.g. Modbus length mismatches).',
      sql: `SELECT $__timeInterval(${f.tsStart}) AS time, if(${f.l7} = '', 'none', ${f.l7}) AS protocol, sum(arraySum(mapValues(${f.l7Violations}))) AS violations
FROM ${T.flows} WHERE ${flowScope} GROUP BY time, protocol ORDER BY time`,
    }),
    timeseries({
      title: 'Alerts by detector', unit: 'short', style: 'bars', stacked: true, minInterval: '10s', w: 24,
      description: 'Alerts per interval per detector: a detector that suddenly alerts on everything needs tuning (conduitwatch eval).',
      sql: `SELECT $__timeInterval(${a.tsStart}) AS time, ${a.detector} AS detector, count() AS alerts
FROM ${T.alerts} FINAL WHERE ${a.runId} = ${RUN} AND $__timeFilter(${a.tsStart}) GROUP BY time, detector ORDER BY time`,
    }),
  ],
});
