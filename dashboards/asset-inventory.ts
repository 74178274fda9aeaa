/** Asset inventory: every address seen, its zone, protocols and traffic; new assets over time. */
import { barchart, C, RUN, RUN_VAR, T, table, timeseries, UID, ZONE_VAR, type DashboardSpec } from './common.ts';

const s = C.assets;
const f = C.flows;

/** `assets` holds partial rows merged by the engine: always read with GROUP BY (store/README.md). */
const merged = `SELECT ${s.zone} AS zone, ${s.ip} AS ip, min(${s.firstSeen}) AS first_seen, max(${s.lastSeen}) AS last_seen,
  sum(${s.flows}) AS flows, sum(${s.bytes}) AS bytes, arrayStringConcat(arraySort(groupUniqArrayArray(${s.l7})), ', ') AS protocols
FROM ${T.assets} WHERE ${s.runId} = ${RUN} AND $__conditionalAll(${s.zone} IN (\${zone}), $zone)
GROUP BY zone, ip`;

export const assetInventory = (): DashboardSpec => ({
  uid: UID.assets,
  file: 'asset-inventory',
  title: 'conduitwatch / Asset inventory',
  description: 'Every address the run saw (passive inventory): its zone, when it was first and last seen, its protocols and traffic.',
  variables: [RUN_VAR, ZONE_VAR],
  panels: [
    table({
      title: 'Assets', unit: 'short', w: 24, h: 10, units: { first_seen: 'dateTimeAsIso', last_seen: 'dateTimeAsIso', bytes: 'bytes' },
      description: 'One row per address and zone over the whole run (not only the time range): first and last seen, flows, bytes and the OT protocols it spoke.',
      sql: `${merged} ORDER BY zone, ip`,
    }),
    barchart({
      title: 'Assets per zone', unit: 'short', x: 'zone',
      description: 'How many addresses each zone holds; "unknown" counts addresses outside every declared zone.',
      sql: `SELECT zone, count() AS assets FROM (${merged}) GROUP BY zone ORDER BY assets DESC`,
    }),
    timeseries({
      title: 'New assets over time', unit: 'short', style: 'bars', minInterval: '1m',
      description: 'Addresses by the interval they were first seen in; a new address late in a run is worth a look.',
      sql: `SELECT $__timeInterval(first_seen) AS time, count() AS new_assets FROM (${merged})
WHERE $__timeFilter(first_seen) GROUP BY time ORDER BY time`,
    }),
    table({
      title: 'Top talkers in the time range', unit: 'short', units: { bytes: 'bytes' },
      description: 'Addresses by flows they started in the time range, with the zones they reached.',
      sql: `SELECT ${f.srcIp} AS ip, ${f.srcZone} AS zone, count() AS flows, sum(${f.bytes} + ${f.bytesRev}) AS bytes,
  uniqExact(${f.dstIp}) AS peers, arrayStringConcat(arraySort(groupUniqArray(${f.dstZone})), ', ') AS reaches
FROM ${T.flows} WHERE ${f.runId} = ${RUN} AND $__timeFilter(${f.tsStart}) AND $__conditionalAll(${f.srcZone} IN (\${zone}), $zone)
GROUP BY ip, zone ORDER BY flows DESC LIMIT 50`,
    }),
  ],
});
