/**
 * Collector role: flow batches (from the NetFlow/IPFIX collector, or a capture) → flows topic.
 * Each flow's partition is its conduit's (SiteMap, `partitionFor`). A batch becomes one columnar
 * (flows-col/2) message per partition holding that partition's flows IN INPUT ORDER: the engine decides
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
import { errorMessage } from '../../core/errors.ts';
import type { Logger, Metrics } from '../../core/telemetry.ts';
import { HEADERS, partitionFor, TOPICS, type Bus, type OutMessage } from '../../bus/bus.ts';
import { SCHEMAS } from '../../bus/codec.ts';
import { encodeFlowColumns } from '../../bus/flowcodec.ts';
import type { Spool } from '../../bus/spool.ts';

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
    key: m.key, partition, value: encodeFlowColumns(m.flows),
    headers: { [HEADERS.schema]: SCHEMAS.flowsCol, [HEADERS.eventTime]: String(m.eventTime), [HEADERS.receivedAt]: String(receivedAt) },
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

/** What a publisher does when the bus cannot take a publish. */
export interface PublisherOptions {
  /**
   * Where publishes go while the bus refuses them, published again oldest first once it is back
   * (bus/spool.ts). Without one a refused publish rejects, as the bus does.
   */
  spool?: Spool;
  log?: Logger;
  /** Wait between attempts to publish the spool's oldest entry while the bus refuses, ms: doubles from `min` to `max`. */
  retryMs?: { min: number; max: number };
  /**
   * With a spool: a publish the bus has not confirmed within this many ms counts as refused and is
   * spooled (default 10 000). The bus may still land it later: the copy from the spool is then a
   * double, which the detector skips and the sink stores once.
   */
  publishTimeoutMs?: number;
}

/**
 * Publishes flow batches with their watermark markers; tracks the largest flow start across every
 * input it is given, so several files replay as one stream (as `runReplay` does).
 *
 * With a spool the publisher outlives its broker: a publish the bus refuses (the Kafka bus gives up
 * after its retries) goes to the spool, and so does every publish after it while the spool is not
 * empty, so the flows topic gets them in input order; a background loop publishes the spool's
 * oldest entry until the bus takes it, then the next. `publish` then never rejects for the bus: it
 * resolves once the batch is durable on the bus or in the spool. A publish that landed although the
 * bus reported a failure is published again from the spool: the sink stores it once (flows dedup on
 * their ids) and the detector skips the repeated flows (cli/serve/detector.ts).
 */
export class FlowPublisher {
  private maxStart = -Infinity;
  /** Flows durable on the bus so far (spooled flows count once they are published from the spool). */
  published = 0;
  private draining: Promise<void> | undefined;
  private stopped = false;
  private wake: (() => void) | undefined;

  constructor(
    private readonly bus: Bus, private readonly siteMap: SiteMap, private readonly clock: Clock, private readonly metrics?: Metrics,
    private readonly opts: PublisherOptions = {},
  ) {
    // Entries a previous process left are published first.
    if (opts.spool?.entries) this.drain();
  }

  /** Publishes one batch and the watermark after it; resolves once both are durable (on the bus, or in the spool). */
  async publish(batch: readonly FlowRecord[]): Promise<void> {
    if (batch.length === 0) return;
    for (const f of batch) if (f.tsStart > this.maxStart) this.maxStart = f.tsStart;
    const n = this.bus.partitions(TOPICS.flows);
    const now = this.clock.now();
    const marks = Number.isFinite(this.maxStart) ? watermarkMessages(this.maxStart, n, now) : [];
    await this.send([...flowMessages(this.siteMap, batch, now, n), ...marks], batch.length);
  }

  /** Publishes every batch of `source`; resolves at its end with the flows it held. */
  async publishAll(source: AsyncIterable<FlowRecord[]>): Promise<number> {
    let n = 0;
    for await (const batch of source) {
      await this.publish(batch);
      n += batch.length;
    }
    return n;
  }

  /** End of input: every partition's engine closes the windows `flush` would close in one process. */
  async end(): Promise<void> {
    if (!Number.isFinite(this.maxStart)) return;
    await this.send(watermarkMessages(this.maxStart, this.bus.partitions(TOPICS.flows), this.clock.now(), true), 0);
  }

  /** Flows waiting in the spool. */
  get spooled(): number {
    return this.opts.spool?.records ?? 0;
  }

  /**
   * Waits until the spool is empty or `limitMs` passed, then stops publishing from it; what is left
   * stays on disk for the next start. Resolves with the records left behind.
   */
  async close(limitMs: number): Promise<number> {
    const spool = this.opts.spool;
    if (spool && this.draining) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.draining, new Promise<void>((r) => { timer = setTimeout(r, limitMs); })]);
      clearTimeout(timer);
    }
    // A publish still in flight may land after this; its entry stays in the spool and is published
    // again at the next start (a double the sink stores once).
    this.stopped = true;
    this.wake?.();
    const left = spool?.records ?? 0;
    if (spool && (left > 0 || spool.entries > 0)) {
      this.opts.log?.warn({ dir: spool.dir, records: left, entries: spool.entries, bytes: spool.bytes, event: 'spool_kept' },
        `Stopping with ${left} flow(s) in ${spool.entries} spool entries not yet on the bus; they stay in ${spool.dir} and are published at the next start.`);
    }
    return left;
  }

  private async send(messages: OutMessage[], records: number): Promise<void> {
    const spool = this.opts.spool;
    if (spool && (spool.entries > 0 || this.draining)) {
      await spool.append(messages, records);
      this.drain();
      return;
    }
    try {
      await (spool ? this.deadline(this.bus.publish(TOPICS.flows, messages)) : this.bus.publish(TOPICS.flows, messages));
    } catch (e) {
      if (!spool || this.stopped) throw e;
      this.opts.log?.warn({ err: errorMessage(e), dir: spool.dir, event: 'spooling' }, 'The bus refused a publish; spooling to disk until it takes them again.');
      this.metrics?.add('conduitwatch_component_errors_total', { component_kind: 'collector', component_type: 'kafka', component_id: 'publisher', error_code: 'not_connected', stage: 'sending' }, 1);
      await spool.append(messages, records);
      this.drain();
      return;
    }
    this.count(records);
  }

  /** Rejects once `publishTimeoutMs` passed without the bus confirming `p` (which is left to finish or fail on its own). */
  private deadline(p: Promise<void>): Promise<void> {
    const ms = this.opts.publishTimeoutMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    p.catch(() => undefined);
    return Promise.race([
      p,
      new Promise<void>((_, reject) => { timer = setTimeout(() => reject(new Error(`the bus did not confirm the publish within ${ms} ms`)), ms); }),
    ]).finally(() => clearTimeout(timer));
  }

  private count(records: number): void {
    this.published += records;
    this.metrics?.add('conduitwatch_bus_published_records_total', { topic: TOPICS.flows }, records);
  }

  /** Starts the loop that empties the spool, unless it runs. */
  private drain(): void {
    if (this.draining || this.stopped) return;
    const spool = this.opts.spool!;
    const { min, max } = this.opts.retryMs ?? { min: 200, max: 5000 };
    this.draining = (async () => {
      let wait = min;
      let failures = 0;
      while (!this.stopped) {
        const e = await spool.head();
        if (!e) break;
        try {
          // No deadline here: a second attempt while the first is still retrying inside the bus
          // would only add doubles. The bus's own retries bound the wait.
          await this.bus.publish(TOPICS.flows, e.messages);
        } catch (err) {
          if (failures++ % 10 === 0) this.opts.log?.warn({ err: errorMessage(err), records: spool.records, entries: spool.entries, event: 'spool_retry' }, 'The bus still refuses publishes; the spool waits.');
          await new Promise<void>((r) => { this.wake = r; setTimeout(r, wait); });
          wait = Math.min(wait * 2, max);
          continue;
        }
        await spool.remove(e.seq);
        this.count(e.records);
        if (failures) this.opts.log?.info({ records: spool.records, entries: spool.entries, event: 'spool_draining' }, 'The bus takes publishes again; publishing the spool.');
        wait = min;
        failures = 0;
      }
    })().finally(() => {
      this.draining = undefined;
      // An entry appended while the loop was finishing would wait for the next publish otherwise.
      if (!this.stopped && spool.entries > 0) this.drain();
    });
  }
}

/** Publishes every batch of `source` (with watermarks); resolves at its end with the flow count. */
export const publishFlows = async (
  bus: Bus, siteMap: SiteMap, source: AsyncIterable<FlowRecord[]>, clock: Clock, metrics?: Metrics, opts: PublisherOptions = {},
): Promise<number> => new FlowPublisher(bus, siteMap, clock, metrics, opts).publishAll(source);
