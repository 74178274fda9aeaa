/** Baseline readiness: which conduits still learn, how much of the production cycle each has covered. */
import { PHASE_BUCKETS as PHASES } from '../detectors/readiness.ts';
import { C, CONDUITS_VAR, conduitIn, conduitZonesIn, RUN, RUN_VAR, stat, T, table, timeseries, toConduit, UID, ZONE_VAR, type DashboardSpec } from './common.ts';

const w = C.windows;

const scope = `${w.runId} = ${RUN} AND ${conduitIn(w.conduit)} AND ${conduitZonesIn(w.conduit)}`;

// The rate detector learns one expectation per phase of the production cycle (its `phase_bucket`
// feature, PHASE_BUCKETS of them), so the phases it has scored are the cycle coverage.

export const baselineReadiness = (): DashboardSpec => ({
  uid: UID.readiness,
  file: 'baseline-readiness',
  title: 'conduitwatch / Baseline readiness',
  description: 'Is it safe to alert (and later enforce) yet? Per conduit: learning or ready, since when, and how many phases of the production cycle the baseline covers.',
  variables: [RUN_VAR, ZONE_VAR, CONDUITS_VAR],
  panels: [
    stat({
      title: 'Conduits ready', unit: 'short',
      description: 'Conduits whose newest window is scored (baseline complete) in the run.',
      sql: `SELECT countIf(l = 0) AS ready FROM (SELECT argMax(${w.learning}, ${w.windowEnd}) AS l FROM ${T.windows} WHERE ${scope} GROUP BY ${w.conduit})`,
    }),
    stat({
      title: 'Conduits learning', unit: 'short',
      description: 'Conduits whose newest window is still a learning window: scored, never alerted.',
      sql: `SELECT countIf(l = 1) AS learning FROM (SELECT argMax(${w.learning}, ${w.windowEnd}) AS l FROM ${T.windows} WHERE ${scope} GROUP BY ${w.conduit})`,
    }),
    stat({
      title: 'Edges learning', unit: 'short',
      description: 'Edges (client → server:port) whose newest window is still learning; a new edge on a ready conduit learns on its own.',
      sql: `SELECT countIf(l = 1) AS edges FROM (SELECT argMax(${w.learning}, ${w.windowEnd}) AS l FROM ${T.windows} WHERE ${scope} GROUP BY ${w.conduit}, ${w.edge})`,
    }),
    stat({
      title: 'Cycle coverage (mean)', unit: 'percentunit',
      description: `Mean share of the ${PHASES} production-cycle phases in which the conduits' scored windows held traffic (silent windows do not count), over the conduits.`,
      sql: `SELECT avg(p) / ${PHASES} AS coverage FROM (SELECT uniqExactIf(${w.features}['phase_bucket'], ${w.detector} = 'activity' AND ${w.learning} = 0 AND ${w.features}['flows'] > 0) AS p
FROM ${T.windows} WHERE ${scope} GROUP BY ${w.conduit})`,
    }),
    table({
      title: 'Readiness per conduit', unit: 'short', w: 24, h: 10,
      units: { learning_since: 'dateTimeAsIso', ready_since: 'dateTimeAsIso', cycle_coverage: 'percentunit', observed: 's' },
      description: `Per conduit over the run: status, when learning began and when scoring began, time observed, learning vs scored windows, and the share of the ${PHASES} cycle phases in which traffic was scored. Click for the conduit detail.`,
      links: [toConduit()],
      sql: `SELECT ${w.conduit} AS conduit, if(argMax(${w.learning}, ${w.windowEnd}) = 1, 'learning', 'ready') AS status,
  min(${w.windowStart}) AS learning_since, minIf(${w.windowStart}, ${w.learning} = 0) AS ready_since,
  dateDiff('second', min(${w.windowStart}), max(${w.windowEnd})) AS observed,
  countIf(${w.learning} = 1) AS learning_windows, countIf(${w.learning} = 0) AS scored_windows,
  uniqExactIf(${w.features}['phase_bucket'], ${w.detector} = 'activity' AND ${w.learning} = 0 AND ${w.features}['flows'] > 0) / ${PHASES} AS cycle_coverage
FROM ${T.windows} WHERE ${scope}
GROUP BY conduit ORDER BY status, conduit`,
    }),
    timeseries({
      title: 'Scored share of windows', unit: 'percentunit', minInterval: '10s', w: 24,
      description: 'Per conduit, the share of its windows that are scored rather than learning, per interval: climbs to 100% as the baseline completes.',
      sql: `SELECT $__timeInterval(${w.windowStart}) AS time, ${w.conduit} AS conduit, avg(1 - ${w.learning}) AS scored
FROM ${T.windows} WHERE ${scope} AND $__timeFilter(${w.windowStart})
GROUP BY time, conduit ORDER BY time`,
    }),
  ],
});
