/**
 * The `assets` and `conduits` rows, built the same way by every path that stores a run (replay,
 * the serve sink), so both write the same rows:
 * - `assetPartials(flows, siteMap)`: one partial summary per address seen in a batch of flows;
 *   `assets` (AggregatingMergeTree) folds the partials of a run, so a writer never holds an asset's
 *   whole history and any cut of the flows into batches gives the same merged rows.
 * - `conduitStates(status, siteMap, updatedAt)`: the detection engine's per-conduit status
 *   (`DetectionEngine.status()`: readiness, coverage, cycles) as `conduits` states; the newest
 *   `updated_at` wins. `bytes` is 0: the engine counts flows, not bytes (sum `flows.bytes`).
 */
import type { SiteMap } from '../core/config.ts';
import type { ConduitReadiness, FlowRecord } from '../core/records.ts';
import type { AssetSummary, ConduitState, ConduitStatus } from './schema.ts';

/**
 * The engine's per-conduit status as the sink receives it: `readyAt` may be missing in messages
 * from a detector that predates readiness gating.
 */
export type EngineConduitStatus = Omit<ConduitReadiness, 'readyAt'> & { readyAt?: number | null };

/** One partial per address of the batch (source and destination sides both count the flow). */
export const assetPartials = (flows: readonly FlowRecord[], siteMap: SiteMap): AssetSummary[] => {
  const out = new Map<string, AssetSummary>();
  const see = (ip: string, f: FlowRecord, bytes: number): void => {
    let a = out.get(ip);
    if (!a) out.set(ip, (a = { ip, zone: siteMap.zoneOf(ip), firstSeen: f.tsStart, lastSeen: f.tsEnd, flows: 0, bytes: 0, l7: [] }));
    if (f.tsStart < a.firstSeen) a.firstSeen = f.tsStart;
    if (f.tsEnd > a.lastSeen) a.lastSeen = f.tsEnd;
    a.flows += 1;
    a.bytes += bytes;
    if (f.l7 && !a.l7.includes(f.l7)) a.l7.push(f.l7);
  };
  for (const f of flows) {
    see(f.srcIp, f, f.bytes);
    see(f.dstIp, f, f.bytesRev);
  }
  return [...out.values()];
};

const statusOf = (s: EngineConduitStatus): ConduitStatus =>
  s.learning ? 'learning' : s.state.startsWith('new') ? 'new' : 'ready';

/** The engine's status as `conduits` states, stamped with `updatedAt` (processing time). Conduits never seen in a closed window are left out. */
export const conduitStates = (status: readonly EngineConduitStatus[], siteMap: SiteMap, updatedAt: number): ConduitState[] =>
  status.filter((s) => s.firstSeen !== null).map((s) => {
    const [fromZone = '', toZone = ''] = s.conduit.split('->');
    const firstSeen = s.firstSeen!;
    const st = statusOf(s);
    const readyAt = s.readyAt ?? null;
    return {
      conduit: s.conduit,
      fromZone, toZone, declared: s.declared, firstSeen, lastSeen: s.lastSeen ?? firstSeen, flows: s.flows, bytes: 0,
      status: st, state: s.state,
      baselineUntil: readyAt ?? (st === 'new' ? firstSeen : firstSeen + siteMap.baselineMs),
      readyAt, coverage: s.coverage, cyclesCovered: s.cyclesCovered, phaseBucketsSeen: s.phaseBucketsSeen,
      phaseBuckets: s.phaseBuckets, novelFirstCycle: s.novelFirstCycle, novelLastCycle: s.novelLastCycle,
      detectedCycleMs: s.detectedCycleMs, cycleNote: s.cycleNote, edges: s.edges, windowsScored: s.windowsScored,
      alerts: s.alerts, updatedAt,
    };
  });
