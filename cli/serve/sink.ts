/**
 * Sink role: consumer group on flows, scores and alerts → ClickHouse tables (flows, windows,
 * alerts, and the incident versions the alerts topic carries beside its alerts → incidents,
 * ReplacingMergeTree on their alert count). Exactly-once into ClickHouse on at-least-once delivery:
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
import type { EdgeSeries, FlowRecord, WindowScore } from '../../core/records.ts';
import { decodeAlert, decodeConduitStatus, decodeFlowMessage, decodeIncident, decodeScore, decodeSeries, SCHEMAS } from '../../bus/codec.ts';
import { deadLetter } from '../../bus/deadletter.ts';
import { alertRow, assetRow, conduitRow, incidentRow, inventoryChangeRow, inventoryRow, TABLES } from '../../store/schema.ts';
import { assetPartials, conduitStates, type EngineConduitStatus } from '../../store/state.ts';
import { flowBlock, seriesBlock, windowBlock } from '../../store/blocks.ts';
import { rowCount, type NativeBlock } from '../../store/native.ts';
import { storedOf } from '../../store/scored.ts';
import { ensureSinkLog, lastSinkRange, recordSinkRange, type SinkRange } from '../../store/sink-log.ts';
import type { Store } from '../../store/store.ts';
import type { Inventory } from '../../inventory/inventory.ts';

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

  /**
   * The batch as what it inserts: flows and scores as Native blocks (store/blocks.ts), alerts as
   * rows. The scores topic also carries the engine's series and conduit states: a scores batch
   * gives its `series` block and `conduits` rows beside (store/scored.ts: activity rows and the
   * scores at or above the floor go to windows).
   */
  private rows(b: InMessage[]): { rows: object[] | NativeBlock; count: number; extra: [string, object[] | NativeBlock][]; flows?: FlowRecord[]; bad: { message: InMessage; reason: string }[] } {
    const alerts: object[] = [];
    const incidents: object[] = [];
    const conduits: object[] = [];
    const flows: FlowRecord[] = [];
    const seenAt: number[] = [];
    const scores: WindowScore[] = [];
    const series: EdgeSeries[] = [];
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
        for (const f of d.value) { flows.push(f); seenAt.push(observedAt); }
      } else if (m.topic === TOPICS.scores && m.headers[HEADERS.schema] === SCHEMAS.conduit) {
        const d = decodeConduitStatus(m.value);
        if (!d.ok) { bad.push({ message: m, reason: d.reason }); continue; }
        for (const c of conduitStates([d.value as unknown as EngineConduitStatus], this.o.siteMap, m.timestamp)) conduits.push(conduitRow(c, this.o.runId));
      } else if (m.topic === TOPICS.scores && m.headers[HEADERS.schema] === SCHEMAS.series) {
        const d = decodeSeries(m.value);
        if (d.ok) series.push(d.value); else bad.push({ message: m, reason: d.reason });
      } else if (m.topic === TOPICS.scores) {
        const d = decodeScore(m.value);
        if (d.ok) scores.push(d.value); else bad.push({ message: m, reason: d.reason });
      } else if (m.headers[HEADERS.schema] === SCHEMAS.incident) {
        const d = decodeIncident(m.value);
        if (d.ok) incidents.push(incidentRow(d.value, this.o.runId)); else bad.push({ message: m, reason: d.reason });
      } else {
        const d = decodeAlert(m.value);
        if (d.ok) alerts.push(alertRow(d.value, this.o.runId)); else bad.push({ message: m, reason: d.reason });
      }
    }
    const topic = b[0]?.topic;
    if (topic === TOPICS.flows) {
      const assets = assetPartials(flows, this.o.siteMap).map((a) => assetRow(a, this.o.runId, this.o.clock.now()));
      return { rows: flowBlock(flows, this.o.siteMap, this.o.runId, Float64Array.from(seenAt)), count: flows.length, extra: [[TABLES.assets, assets]], ...(this.o.inventory ? { flows } : {}), bad };
    }
    if (topic === TOPICS.scores) {
      const { alertThreshold, scoreFloor } = this.o.siteMap.site.detection;
      const stored = storedOf({ scores, series }, alertThreshold, scoreFloor);
      return {
        rows: windowBlock(stored.scores, this.o.runId), count: stored.scores.length,
        extra: [[TABLES.series, seriesBlock(stored.series, this.o.runId)], [TABLES.conduits, conduits]], bad,
      };
    }
    return { rows: alerts, count: alerts.length, extra: [[TABLES.incidents, incidents]], bad };
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
    const { rows, count, extra, flows, bad } = this.rows(msgs);
    const token = `${this.groupId}:${b.topic}:${b.partition}:${range.first}-${range.last}`;
    const t0 = performance.now();
    // Stopping while the store refuses (the intent log or the rows): nothing is committed, so the
    // batch stays on the bus for the next sink; say so once.
    const giveUp = (): void => {
      if (count === 0) return;
      this.unwritten += count;
      this.o.log.warn({ table, topic: b.topic, partition: b.partition, first: String(range.first), last: String(range.last), rows: count, event: 'sink_unwritten' },
        `Stopping with ${count} ${table} row(s) (${b.topic} partition ${b.partition} offsets ${range.first}-${range.last}) not written: the store refuses them. They stay uncommitted on the bus; the next sink of group ${this.groupId} writes them.`);
      this.o.metrics.add('conduitwatch_sink_unwritten_rows_total', { table }, count);
    };
    // A batch that writes nothing (the flows topic's watermark markers: 11 of 12 partitions in a
    // one-conduit site) needs no intent row, since no dedup token is used; each row cost about as
    // much as a 12,000-flow insert's fixed part (bench/kafka: 55 ms per 1-row insert, 2026-12-02).
    const writes = count > 0 || extra.some(([, r]) => rowCount(r) > 0);
    if (log && writes) {
      await this.retry(() => recordSinkRange(this.o.store, this.groupId, b.topic, b.partition, range, this.o.clock.now()), ctl, giveUp);
      this.ranges.set(`${b.topic}#${b.partition}`, range);
    }
    if (count) await this.retry(() => this.o.store.insertRows(table, rows, { dedupToken: token }), ctl, giveUp);
    // What else the batch gives (series, conduit readiness, asset partials), each with a token of its own.
    for (const [t, r] of extra) {
      if (!rowCount(r)) continue;
      await this.retry(() => this.o.store.insertRows(t, r, { dedupToken: `${token}:${t}` }), ctl, giveUp);
      this.o.metrics.add('conduitwatch_component_sent_records_total', { component_kind: 'sink', component_type: 'clickhouse', component_id: t }, rowCount(r));
    }
    await this.o.afterInsert?.({ topic: b.topic, partition: b.partition, first: range.first, last: range.last, rows: count, replayed: !log });
    if (flows?.length) await this.observe(flows, ctl);
    await deadLetter(this.o.bus, bad);
    const l = { component_kind: 'sink', component_type: 'clickhouse', component_id: table };
    this.o.metrics.add('conduitwatch_component_sent_records_total', l, count);
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
