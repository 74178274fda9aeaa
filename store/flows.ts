/**
 * Flow records as `flows` rows, with the conduit and zones from the site map: the one place the
 * pipeline's writers (replay, the serve sink) turn flows into rows, so both write the same rows.
 */
import type { SiteMap } from '../core/config.ts';
import type { FlowRecord } from '../core/records.ts';
import { flowRow, type FlowRow } from './schema.ts';

/** `observedAt`: processing time of the batch, epoch ms. */
export const flowRows = (flows: readonly FlowRecord[], siteMap: SiteMap, runId: string, observedAt: number): FlowRow[] =>
  flows.map((f) => {
    const srcZone = siteMap.zoneOf(f.srcIp);
    const dstZone = siteMap.zoneOf(f.dstIp);
    return flowRow(f, { conduit: siteMap.conduitOf(f.srcIp, f.dstIp), srcZone, dstZone, runId, observedAt });
  });
