/**
 * Collector role: flow batches (from the NetFlow/IPFIX collector, or a capture) → flows topic.
 * Each flow's partition is its conduit's (SiteMap, `partitionFor`). A batch becomes one Arrow
 * message per partition holding that partition's flows IN INPUT ORDER: the engine decides
 * lateness flow by flow against its watermark, so regrouping flows by conduit would change which
 * flows count as late. The key is the first flow's conduit (every flow of the message hashes to the
 * same partition). Messages carry the receive time (the sink stores it as `observed_at`, and the
 * end-to-end latency is measured from it).
 */
import type { Clock } from '../../core/clock.ts';
import type { SiteMap } from '../../core/config.ts';
import type { FlowRecord } from '../../core/records.ts';
import type { Metrics } from '../../core/telemetry.ts';
import { HEADERS, partitionFor, TOPICS, type Bus, type OutMessage } from '../../bus/bus.ts';
import { encodeFlows, SCHEMAS } from '../../bus/codec.ts';

/** One message per partition, flows in input order. */
export const flowMessages = (siteMap: SiteMap, flows: readonly FlowRecord[], receivedAt: number, partitions: number): OutMessage[] => {
  const byPartition = new Map<number, { key: string; flows: FlowRecord[] }>();
  for (const f of flows) {
    const c = siteMap.conduitOf(f.srcIp, f.dstIp);
    const p = partitionFor(c, partitions);
    let l = byPartition.get(p);
    if (!l) byPartition.set(p, (l = { key: c, flows: [] }));
    l.flows.push(f);
  }
  return [...byPartition].map(([partition, m]) => ({ key: m.key, partition, value: encodeFlows(m.flows), timestamp: receivedAt, headers: { [HEADERS.schema]: SCHEMAS.flows } }));
};

/** Publishes every batch of `source`; resolves at its end. Each publish is durable before the next batch is read. */
export const publishFlows = async (
  bus: Bus, siteMap: SiteMap, source: AsyncIterable<FlowRecord[]>, clock: Clock, metrics?: Metrics,
): Promise<number> => {
  let n = 0;
  for await (const batch of source) {
    if (batch.length === 0) continue;
    await bus.publish(TOPICS.flows, flowMessages(siteMap, batch, clock.now(), bus.partitions(TOPICS.flows)));
    n += batch.length;
    metrics?.add('conduitwatch_bus_published_records_total', { topic: TOPICS.flows }, batch.length);
  }
  return n;
};
