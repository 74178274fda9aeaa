/**
 * Sink role: consumer group on flows, scores and alerts → ClickHouse tables (flows, windows,
 * alerts). Exactly-once into ClickHouse on at-least-once delivery:
 *
 * 1. a batch of offsets [first, last] of one partition is recorded in the intent log
 *    (store/sink-log.ts), then inserted as one block with the dedup token
 *    `group:topic:partition:first-last` (ClickHouse `insert_deduplication_token`);
 * 2. only after the insert resolves does the batch return, and the bus commits `last + 1`.
 *
 * A redelivered batch (crash before the commit) starts at the same `first`; the sink re-cuts it at
 * the logged `last`, so the retry carries the same token and ClickHouse skips it if it landed.
 * Scores re-published by a restarted detector have new offsets: `windows` and `alerts` are
 * ReplacingMergeTree on their natural keys, so read them with FINAL.
 *
 * While the store refuses inserts the sink retries with backoff (100 ms doubling to 5 s),
 * heartbeating so it keeps its partitions; the bus fetches nothing more for a partition whose
 * batch is in flight, so memory stays bounded by one fetch per partition.
 */
import type { Clock } from '../../core/clock.ts';
import type { SiteMap } from '../../core/config.ts';
import { errorMessage } from '../../core/errors.ts';
import type { Logger, Metrics } from '../../core/telemetry.ts';
import { HEADERS, timeHeader, TOPICS, watermarkOf, type Bus, type InBatch, type InMessage, type Subscription, type TopicName } from '../../bus/bus.ts';
import { decodeAlert, decodeFlowMessage, decodeScore } from '../../bus/codec.ts';
import { deadLetter } from '../../bus/deadletter.ts';
import { alertRow, flowRow, TABLES, windowRow } from '../../store/schema.ts';
import { ensureSinkLog, lastSinkRange, recordSinkRange, type SinkRange } from '../../store/sink-log.ts';
import type { Store } from '../../store/store.ts';
import type { FlowRecord } from '../../core/records.ts';
import type { Inventory } from '../../inventory/inventory.ts';
import { inventoryChangeRow, inventoryRow } from '../../store/schema.ts';

export const SINK_GROUP = 'conduitwatch-sink';

export interface SinkOptions {
  bus: Bus;
  store: Store;
  siteMap: SiteMap;
  runId: string;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  groupId?: string;
  /** Longest wait between insert retries, ms (default 5000). */
  maxBackoffMs?: number;
  /**
   * Test seam, absent in production: awaited after a batch's insert resolved and before the batch
   * returns, i.e. before the bus commits its offsets. A crash injected here is the window that
   * exactly-once into ClickHouse must survive (test/integration/serve/faults.test.ts).
   */
  afterInsert?: (info: AfterInsert) => Promise<void>;
  /**
   * The passive inventory (inventory/): fed every flows batch once it landed; its change alerts go to
   * the inventory_changes table, its assets to the inventory table (row per address and `writer`) at most every
   * `inventoryEveryMs` of processing time (default 60 s) and on stop. In memory per sink process: a
   * restarted sink starts a new inventory, and a redelivered batch is counted again in its flows.
   */
  inventory?: { inventory: Inventory; writer: string; everyMs?: number };
}

/** What `SinkOptions.afterInsert` is told about a batch that just landed. */
export interface AfterInsert {
  topic: TopicName;
  partition: number;
  /** The batch's offset range, inclusive; with the group it is the dedup token. */
  first: bigint;
  last: bigint;
  /** Rows inserted (0: the batch held only watermarks or undecodable messages, nothing was inserted). */
  rows: number;
  /** True when the batch was re-cut to the range the intent log holds (a redelivery). */
  replayed: boolean;
}

const TABLE_OF: Partial<Record<TopicName, string>> = { [TOPICS.flows]: TABLES.flows, [TOPICS.scores]: TABLES.windows, [TOPICS.alerts]: TABLES.alerts };

export class SinkRole {
  private sub: Subscription | undefined;
  /** Last logged range per topic/partition, loaded once per assignment. */
  private readonly ranges = new Map<string, SinkRange | null>();
  private stopping = false;
  /** Rows not written because the sink stopped while the store refused them (left on the bus). */
  unwritten = 0;
  private readonly wakers = new Set<() => void>();
  private inventoryWrittenAt = -Infinity;

  constructor(private readonly o: SinkOptions) {}

  get groupId(): string {
    return this.o.groupId ?? SINK_GROUP;
  }

  async start(): Promise<void> {
    await ensureSinkLog(this.o.store);
    this.sub = await this.o.bus.subscribe({
      groupId: this.groupId,
      topics: [TOPICS.flows, TOPICS.scores, TOPICS.alerts],
      concurrency: 3,
      onAssign: () => this.ranges.clear(),
    }, (b, ctl) => this.handle(b, ctl));
  }

  get ready(): boolean {
    return this.sub?.ready ?? false;
  }

  private rows(b: InMessage[]): { rows: object[]; flows: FlowRecord[]; bad: { message: InMessage; reason: string }[] } {
    const rows: object[] = [];
    const flows: FlowRecord[] = [];
    const bad: { message: InMessage; reason: string }[] = [];
    for (const m of b) {
      if (m.topic === TOPICS.flows) {
        // Watermark markers (collector.ts) carry no flows; they only move the detectors' event time.
        if (watermarkOf(m)) continue;
        const d = decodeFlowMessage(m);
        // The detector dead-letters undecodable flows; the sink only counts them.
        if (!d.ok) { this.o.metrics.add('conduitwatch_sink_skipped_total', { topic: m.topic }, 1); continue; }
        // observed_at is the collector's receive time (deterministic under an injected clock); a
        // message from an older collector without the header falls back to its publish time.
        const observedAt = timeHeader(m, HEADERS.receivedAt) ?? m.timestamp;
        if (this.o.inventory) flows.push(...d.value);
        for (const f of d.value) {
          const srcZone = this.o.siteMap.zoneOf(f.srcIp);
          const dstZone = this.o.siteMap.zoneOf(f.dstIp);
          rows.push(flowRow(f, { conduit: `${srcZone}->${dstZone}`, srcZone, dstZone, runId: this.o.runId, observedAt }));
        }
      } else if (m.topic === TOPICS.scores) {
        const d = decodeScore(m.value);
        if (d.ok) rows.push(windowRow(d.value, this.o.runId)); else bad.push({ message: m, reason: d.reason });
      } else {
        const d = decodeAlert(m.value);
        if (d.ok) rows.push(alertRow(d.value, this.o.runId)); else bad.push({ message: m, reason: d.reason });
      }
    }
    return { rows, flows, bad };
  }

  private async handle(b: InBatch, ctl: { heartbeat(): Promise<void>; isRunning(): boolean }): Promise<void> {
    const key = `${b.topic}#${b.partition}`;
    if (!this.ranges.has(key)) {
      const r = await this.retry(() => lastSinkRange(this.o.store, this.groupId, b.topic, b.partition), ctl);
      this.ranges.set(key, r ?? null);
    }
    let msgs = b.messages;
    const logged = this.ranges.get(key);
    if (logged && BigInt(msgs[0]!.offset) <= logged.last) {
      // Redelivery of a batch that may have landed: replay exactly the logged range first.
      const inRange = msgs.filter((m) => BigInt(m.offset) <= logged.last && BigInt(m.offset) >= logged.first);
      const lastHere = BigInt(msgs.at(-1)!.offset);
      if (lastHere < logged.last) throw new Error(`redelivered batch ends at ${lastHere}, before the logged range end ${logged.last}; waiting for a longer fetch`);
      if (BigInt(msgs[0]!.offset) === logged.first) await this.write(b, inRange, logged, ctl, false);
      msgs = msgs.filter((m) => BigInt(m.offset) > logged.last);
      if (msgs.length === 0) return;
    }
    const range = { first: BigInt(msgs[0]!.offset), last: BigInt(msgs.at(-1)!.offset) };
    await this.write(b, msgs, range, ctl, true);
  }

  private async write(b: InBatch, msgs: InMessage[], range: SinkRange, ctl: { heartbeat(): Promise<void>; isRunning(): boolean }, log: boolean): Promise<void> {
    const table = TABLE_OF[b.topic]!;
    const { rows, flows, bad } = this.rows(msgs);
    const token = `${this.groupId}:${b.topic}:${b.partition}:${range.first}-${range.last}`;
    const t0 = performance.now();
    // Stopping while the store refuses (the intent log or the rows): nothing is committed, so the
    // batch stays on the bus for the next sink; say so once.
    const giveUp = (): void => {
      if (rows.length === 0) return;
      this.unwritten += rows.length;
      this.o.log.warn({ table, topic: b.topic, partition: b.partition, first: String(range.first), last: String(range.last), rows: rows.length, event: 'sink_unwritten' },
        `Stopping with ${rows.length} ${table} row(s) (${b.topic} partition ${b.partition} offsets ${range.first}-${range.last}) not written: the store refuses them. They stay uncommitted on the bus; the next sink of group ${this.groupId} writes them.`);
      this.o.metrics.add('conduitwatch_sink_unwritten_rows_total', { table }, rows.length);
    };
    if (log) await this.retry(() => recordSinkRange(this.o.store, this.groupId, b.topic, b.partition, range, this.o.clock.now()), ctl, giveUp);
    this.ranges.set(`${b.topic}#${b.partition}`, range);
    if (rows.length) await this.retry(() => this.o.store.insertRows(table, rows, { dedupToken: token }), ctl, giveUp);
    await this.o.afterInsert?.({ topic: b.topic, partition: b.partition, first: range.first, last: range.last, rows: rows.length, replayed: !log });
    if (flows.length) await this.observe(flows, ctl);
    await deadLetter(this.o.bus, bad);
    const l = { component_kind: 'sink', component_type: 'clickhouse', component_id: table };
    this.o.metrics.add('conduitwatch_component_sent_records_total', l, rows.length);
    this.o.metrics.add('conduitwatch_store_write_seconds_total', { table }, (performance.now() - t0) / 1000);
    const now = this.o.clock.now();
    if (b.topic === TOPICS.flows && msgs.length) this.o.metrics.set('conduitwatch_sink_flow_latency_ms', {}, now - (timeHeader(msgs[0]!, HEADERS.receivedAt) ?? msgs[0]!.timestamp));
    this.o.metrics.set('conduitwatch_bus_lag_messages', { group: 'sink', topic: b.topic, partition: String(b.partition) }, Number(BigInt(b.highWatermark) - range.last - 1n));
  }

  /** Feeds the inventory; writes its change alerts, and its assets when due. */
  private async observe(flows: FlowRecord[], ctl: { heartbeat(): Promise<void>; isRunning(): boolean }): Promise<void> {
    const inv = this.o.inventory;
    if (!inv) return;
    const changes = inv.inventory.observe(flows).map((c) => inventoryChangeRow(inv.inventory.toAlert(c), c.kind, c.ip, this.o.runId));
    if (changes.length) await this.retry(() => this.o.store.insertRows(TABLES.inventoryChanges, changes), ctl);
    if (this.o.clock.now() - this.inventoryWrittenAt >= (inv.everyMs ?? 60_000)) await this.retry(() => this.writeInventory(), ctl);
  }

  /** Writes the inventory's assets (the whole state this sink knows); the newest row per address and writer wins. */
  async writeInventory(): Promise<void> {
    const inv = this.o.inventory;
    if (!inv) return;
    const now = this.o.clock.now();
    const rows = inv.inventory.assets().map((a) => inventoryRow(a, this.o.runId, inv.writer, now));
    if (rows.length) await this.o.store.insertRows(TABLES.inventory, rows);
    this.inventoryWrittenAt = now;
  }

  /**
   * Retries a store call with backoff until it succeeds or the consumer stops (then calls
   * `onGiveUp` and throws: no commit).
   */
  private async retry<T>(fn: () => Promise<T>, ctl: { heartbeat(): Promise<void>; isRunning(): boolean }, onGiveUp?: () => void): Promise<T> {
    let wait = 100;
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        this.o.metrics.add('conduitwatch_component_errors_total', { component_kind: 'sink', component_type: 'clickhouse', component_id: 'sink', error_code: 'write_rejected', stage: 'sending' }, 1);
        if (attempt === 1 || attempt % 20 === 0) this.o.log.warn({ attempt, err: errorMessage(e) }, 'Store write failed; retrying.');
        if (this.stopping || !ctl.isRunning()) { onGiveUp?.(); throw e; }
        await this.pause(wait);
        if (this.stopping || !ctl.isRunning()) { onGiveUp?.(); throw e; }
        wait = Math.min(wait * 2, this.o.maxBackoffMs ?? 5000);
        await ctl.heartbeat().catch(() => {});
      }
    }
  }

  /** A backoff wait that `stop` cuts short. */
  private pause(ms: number): Promise<void> {
    return new Promise((r) => {
      const wake = () => { clearTimeout(t); this.wakers.delete(wake); r(); };
      const t = setTimeout(wake, ms);
      this.wakers.add(wake);
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const wake of [...this.wakers]) wake();
    await this.sub?.stop();
    await this.writeInventory().catch((e: unknown) => this.o.log.warn({ err: errorMessage(e) }, 'Inventory not written at stop.'));
    await this.reportUncommitted();
  }

  /**
   * One log line with the messages this group leaves uncommitted on the bus (fetched or not): what
   * the next sink of the group writes. Bounded: a bus that does not answer in 5 s is not asked.
   */
  private async reportUncommitted(): Promise<void> {
    const count = async (): Promise<Record<string, number>> => {
      const out: Record<string, number> = {};
      for (const topic of [TOPICS.flows, TOPICS.scores, TOPICS.alerts]) {
        const [end, done] = await Promise.all([this.o.bus.endOffsets(topic), this.o.bus.committed(this.groupId, topic)]);
        let n = 0;
        for (const [p, e] of end) n += Number(BigInt(e) - BigInt(done.get(p) ?? '0'));
        if (n > 0) out[topic] = n;
      }
      return out;
    };
    let timer: NodeJS.Timeout | undefined;
    const left = await Promise.race([count().catch(() => undefined), new Promise<undefined>((r) => { timer = setTimeout(() => r(undefined), 5000); })]);
    clearTimeout(timer);
    if (left && Object.keys(left).length) {
      this.o.log.warn({ group: this.groupId, messages: left, unwrittenRows: this.unwritten, event: 'sink_uncommitted' },
        `Sink stopped with messages uncommitted on the bus (${Object.entries(left).map(([t, n]) => `${t}: ${n}`).join(', ')}); the next sink of group ${this.groupId} writes them.`);
    }
  }
}
