/**
 * Collector role: flow batches (from the NetFlow/IPFIX collector, or a capture) → flows topic.
 * Each flow's partition is its conduit's (SiteMap, `partitionFor`). A batch becomes one Arrow
 * message per partition holding that partition's flows IN INPUT ORDER: the engine decides
 * lateness flow by flow against its watermark, so regrouping flows by conduit would change which
 * flows count as late. The key is the first flow's conduit (every flow of the message hashes to the
 * same partition). Messages carry the receive time in header `cw-received-at` (the sink stores it
 * as `observed_at`, and the end-to-end latency is measured from it) and their largest flow start in
 * `cw-event-time`; the Kafka timestamp is the bus's time of publishing (bus/bus.ts `OutMessage`).
 *
 * Event time is global: after each batch the collector publishes a watermark marker (empty value,
 * header `cw-watermark` = largest flow start so far) to EVERY flows partition, in the same publish
 * as the batch, so each partition sees it after the batch's flows. A partition's engine advances
 * to it (`DetectionEngine.advance`) and closes the windows one engine for all conduits would
 * close, so an edge that went quiet is scored in the same trailing empty windows. At the end of a
 * file input a marker with `cw-end-of-input: 1` makes every engine close what `flush` would.
 */
import type { Clock } from '../../core/clock.ts';
import type { SiteMap } from '../../core/config.ts';
import type { FlowRecord } from '../../core/records.ts';
import type { Metrics } from '../../core/telemetry.ts';
import { HEADERS, partitionFor, TOPICS, type Bus, type OutMessage } from '../../bus/bus.ts';
import { encodeFlows, SCHEMAS } from '../../bus/codec.ts';

/** One message per partition, flows in input order. */
export const flowMessages = (siteMap: SiteMap, flows: readonly FlowRecord[], receivedAt: number, partitions: number): OutMessage[] => {
  const byPartition = new Map<number, { key: string; flows: FlowRecord[]; eventTime: number }>();
  for (const f of flows) {
    const c = siteMap.conduitOf(f.srcIp, f.dstIp);
    const p = partitionFor(c, partitions);
    let l = byPartition.get(p);
    if (!l) byPartition.set(p, (l = { key: c, flows: [], eventTime: -Infinity }));
    l.flows.push(f);
    if (f.tsStart > l.eventTime) l.eventTime = f.tsStart;
  }
  return [...byPartition].map(([partition, m]) => ({
    key: m.key, partition, value: encodeFlows(m.flows),
    headers: { [HEADERS.schema]: SCHEMAS.flows, [HEADERS.eventTime]: String(m.eventTime), [HEADERS.receivedAt]: String(receivedAt) },
  }));
};

/** A watermark marker for every partition (see the file comment). */
export const watermarkMessages = (eventTimeMs: number, partitions: number, receivedAt: number, endOfInput = false): OutMessage[] =>
  Array.from({ length: partitions }, (_, partition) => ({
    key: `watermark/${partition}`, partition, value: Buffer.alloc(0),
    headers: {
      [HEADERS.watermark]: String(eventTimeMs), [HEADERS.eventTime]: String(eventTimeMs), [HEADERS.receivedAt]: String(receivedAt),
      ...(endOfInput ? { [HEADERS.endOfInput]: '1' } : {}),
    },
  }));

/**
 * Publishes flow batches with their watermark markers; tracks the largest flow start across every
 * input it is given, so several files replay as one stream (as `runReplay` does).
 */
export class FlowPublisher {
  private maxStart = -Infinity;
  /** Flows published so far. */
  published = 0;

  constructor(private readonly bus: Bus, private readonly siteMap: SiteMap, private readonly clock: Clock, private readonly metrics?: Metrics) {}

  /** Publishes one batch and the watermark after it; resolves once both are durable. */
  async publish(batch: readonly FlowRecord[]): Promise<void> {
    if (batch.length === 0) return;
    for (const f of batch) if (f.tsStart > this.maxStart) this.maxStart = f.tsStart;
    const n = this.bus.partitions(TOPICS.flows);
    const now = this.clock.now();
    const marks = Number.isFinite(this.maxStart) ? watermarkMessages(this.maxStart, n, now) : [];
    await this.bus.publish(TOPICS.flows, [...flowMessages(this.siteMap, batch, now, n), ...marks]);
    this.published += batch.length;
    this.metrics?.add('conduitwatch_bus_published_records_total', { topic: TOPICS.flows }, batch.length);
  }

  /** Publishes every batch of `source`; resolves at its end with the flows it held. */
  async publishAll(source: AsyncIterable<FlowRecord[]>): Promise<number> {
    const before = this.published;
    for await (const batch of source) await this.publish(batch);
    return this.published - before;
  }

  /** End of input: every partition's engine closes the windows `flush` would close in one process. */
  async end(): Promise<void> {
    if (!Number.isFinite(this.maxStart)) return;
    await this.bus.publish(TOPICS.flows, watermarkMessages(this.maxStart, this.bus.partitions(TOPICS.flows), this.clock.now(), true));
  }
}

/** Publishes every batch of `source` (with watermarks); resolves at its end with the flow count. */
export const publishFlows = async (
  bus: Bus, siteMap: SiteMap, source: AsyncIterable<FlowRecord[]>, clock: Clock, metrics?: Metrics,
): Promise<number> => new FlowPublisher(bus, siteMap, clock, metrics).publishAll(source);
