/**
 * The Kafka bus: the only file that imports kafkajs (STYLE.md §2; kafkajs is in maintenance mode,
 * tulios/kafkajs#1753, so it stays behind `Bus`).
 *
 * - Topics come from infra/kafka/topics.yaml and are created on connect. Replication factor and
 *   `min.insync.replicas` are clamped to the broker count, with a warning (a single-node broker
 *   cannot hold RF 3).
 * - Producer: idempotent (KIP-98; kafkajs marks it experimental), `acks=-1` (all in-sync replicas),
 *   `maxInFlightRequests: 1` (kafkajs#598: out-of-order sequence errors with more in flight),
 *   retries that outlast a broker restart, one `sendBatch` per publish, LZ4 compression (kafkajs has
 *   only gzip built in; LZ4 is lz4-napi registered in `CompressionCodecs`). Idempotence dedups the producer's own retries only:
 *   a publish that rejects and is published again by the caller may be written twice (B1.1), so
 *   consumers must be idempotent (the sink's insert dedup token, ReplacingMergeTree).
 * - Consumer: `eachBatch` with `eachBatchAutoResolve: false` and `autoCommit: false`. The batch's
 *   offsets are resolved and committed only after the handler resolves (B1.3); a handler that
 *   throws commits nothing and kafkajs fetches the batch again (or, when stopping, the next owner). `heartbeat()` is exposed for long
 *   handlers (the sink retrying a store that is down). Transactions are never used (B1.6).
 * - Time: every message's Kafka timestamp is the time this bus published it (and the topics are
 *   LogAppendTime, infra/kafka/topics.yaml), never event time, so time-based retention counts from
 *   arrival and a replay of old traffic is not deleted unread. Event time travels in headers.
 * - Partitioning: the bus computes the partition itself with `partitionFor` (Kafka's murmur2), the
 *   same function the in-process bus uses.
 */
import { randomUUID } from 'node:crypto';
import { compressFrameSync, decompressFrameSync } from 'lz4-napi';
import kafkajs, {
  CompressionTypes, Kafka, logLevel, Partitioners, type Admin, type Consumer, type IHeaders, type LogEntry, type Producer,
} from 'kafkajs';
import { errorMessage, PipelineError } from '../core/errors.ts';
import { silentLogger, type Logger } from '../core/telemetry.ts';
import {
  nextOffset, partitionFor, TOPICS, type BatchHandler, type Bus, type InBatch, type InMessage, type OutMessage,
  type SubscribeOptions, type Subscription, type TopicName,
} from './bus.ts';
import { loadTopicSpecs, type TopicSpec } from './topics.ts';

export interface KafkaBusOptions {
  /** Bootstrap brokers, HOST:PORT. */
  brokers: string[];
  clientId?: string;
  /** Prepended to every topic name (tests use a unique one each). */
  prefix?: string;
  /** Partition count overrides (flows and state must stay equal). */
  partitions?: Partial<Record<TopicName, number>>;
  /** Topic config overrides on top of topics.yaml, for topics this bus creates (tests: a 1 ms retention to see the broker's retention check run). */
  topicConfig?: Partial<Record<TopicName, Record<string, string>>>;
  /** lz4 (default), gzip or none: how record batches are compressed on the wire and on the broker's disk. */
  compression?: 'lz4' | 'gzip' | 'none';
  log?: Logger;
  /** Consumer session timeout, ms (default 6000, the broker's minimum): how fast a dead worker's partitions move. */
  sessionTimeoutMs?: number;
  /** Longest a fetch waits for data, ms (default 100): bounds the added latency when traffic is light. */
  maxWaitMs?: number;
  /**
   * How often a request (a publish, and the connects and metadata refreshes under it) is retried
   * before it rejects: default 40, about 2 minutes with backoff up to 3 s, which outlasts a broker
   * restart. A producer with a spool (the collector) gives up sooner and spools instead.
   */
  retries?: number;
  /** Most bytes a fetch takes from one partition (default kafkajs's 1 MiB); the broker still returns at least one record batch. */
  maxBytesPerPartition?: number;
}

// kafkajs has gzip built in only; LZ4 (the Kafka frame format, KIP-57) comes from lz4-napi, whose
// prebuilt binary is an npm package of its own (no download at install). Registered once per process.
// CompressionCodecs is a CommonJS export that Node's ESM interop does not name: take it from the default export.
kafkajs.CompressionCodecs[CompressionTypes.LZ4] = () => ({
  compress: async (encoder: { buffer: Buffer }) => compressFrameSync(encoder.buffer),
  decompress: async (buffer: Buffer) => decompressFrameSync(buffer),
});

const COMPRESSION = { lz4: CompressionTypes.LZ4, gzip: CompressionTypes.GZIP, none: CompressionTypes.None } as const;

const headersOf = (h: IHeaders | undefined): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h ?? {})) if (v !== undefined) out[k] = Array.isArray(v) ? String(v[0]) : String(v);
  return out;
};

const logCreator = (log: Logger) => () => (e: LogEntry) => {
  // kafkajs's own stack traces say nothing an operator can act on; the message names the broker and the error.
  const { message, stack: _stack, timestamp: _ts, logger: _logger, ...rest } = e.log as LogEntry['log'] & { stack?: string; logger?: string };
  const fields = { kafkajs: e.namespace, ...rest };
  // kafkajs logs ERROR for every retried request while a broker restarts; retries are ours to judge.
  // Its notice that bounded producer retries weaken idempotence is known and accounted for (consumers
  // are idempotent, see above): not worth a warning at every start.
  if (e.level <= logLevel.WARN && !message.startsWith('Limiting retries for the idempotent producer')) log.warn(fields, message);
  else log.debug(fields, message);
};

export class KafkaBus implements Bus {
  private readonly consumers = new Set<Consumer>();
  private closed = false;

  private constructor(
    private readonly kafka: Kafka,
    private readonly admin: Admin,
    private readonly producer: Producer,
    private readonly specs: Map<TopicName, TopicSpec>,
    private readonly opts: KafkaBusOptions & { log: Logger },
  ) {}

  /**
   * One quick try to reach the brokers (connect and describe the cluster, no retries, nothing logged):
   * undefined when they answer, else why not. For a caller that retries on its own terms (serve's start).
   */
  static async probe(brokers: string[], timeoutMs = 3000): Promise<string | undefined> {
    const kafka = new Kafka({ clientId: 'conduitwatch-probe', brokers, logLevel: logLevel.NOTHING, connectionTimeout: timeoutMs, requestTimeout: timeoutMs, retry: { retries: 0 } });
    const admin = kafka.admin({ retry: { retries: 0 } });
    try {
      await admin.connect();
      await admin.describeCluster();
      return undefined;
    } catch (e) {
      return errorMessage(e);
    } finally {
      await admin.disconnect().catch(() => {});
    }
  }

  /** Connects, creates missing topics from the specs, connects the producer. Throws `not_connected`. */
  static async connect(opts: KafkaBusOptions): Promise<KafkaBus> {
    const log = opts.log ?? silentLogger();
    const kafka = new Kafka({
      clientId: opts.clientId ?? 'conduitwatch',
      brokers: opts.brokers,
      logLevel: logLevel.WARN,
      logCreator: logCreator(log),
      connectionTimeout: 3000,
      retry: { initialRetryTime: 200, maxRetryTime: 3000, retries: opts.retries ?? 40 },
    });
    const admin = kafka.admin();
    const producer = kafka.producer({
      // The bus picks every partition itself (partitionFor); naming a partitioner only silences kafkajs's v2 notice.
      createPartitioner: Partitioners.DefaultPartitioner,
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      retry: { initialRetryTime: 200, maxRetryTime: 3000, retries: opts.retries ?? 40 },
    });
    try {
      await admin.connect();
      const specs = loadTopicSpecs(undefined, opts.partitions);
      const bus = new KafkaBus(kafka, admin, producer, specs, { ...opts, log });
      await bus.createTopics();
      await producer.connect();
      return bus;
    } catch (e) {
      await producer.disconnect().catch(() => {});
      await admin.disconnect().catch(() => {});
      if (e instanceof PipelineError) throw e;
      throw new PipelineError('not_connected', `Cannot connect to Kafka at ${opts.brokers.join(',')}: ${errorMessage(e)}`, { brokers: opts.brokers }, { cause: e });
    }
  }

  /** Physical topic name. */
  name(topic: TopicName): string {
    return `${this.opts.prefix ?? ''}${topic}`;
  }

  private logical(physical: string): TopicName {
    return physical.slice((this.opts.prefix ?? '').length) as TopicName;
  }

  private async createTopics(): Promise<void> {
    const brokers = (await this.admin.describeCluster()).brokers.length;
    const topics = [...this.specs.values()].map((s) => {
      const rf = Math.min(s.replicationFactor, brokers);
      const config = { ...s.config, ...this.opts.topicConfig?.[s.name] };
      const isr = Number(config['min.insync.replicas'] ?? 1);
      if (isr > rf) config['min.insync.replicas'] = String(rf);
      if (rf < s.replicationFactor || isr > rf) {
        this.opts.log.warn({ topic: s.name, replicationFactor: s.replicationFactor, brokers, minInsyncReplicas: isr },
          'Replication factor and min.insync.replicas clamped to the broker count; a broker loss can lose data.');
      }
      return {
        topic: this.name(s.name), numPartitions: s.partitions, replicationFactor: rf,
        configEntries: Object.entries(config).map(([name, value]) => ({ name, value })),
      };
    });
    const existing = new Set(await this.admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.topic));
    if (missing.length) await this.admin.createTopics({ topics: missing, waitForLeaders: true });
    const meta = await this.admin.fetchTopicMetadata({ topics: topics.map((t) => t.topic) });
    for (const t of meta.topics) {
      const want = this.specs.get(this.logical(t.name))!.partitions;
      if (t.partitions.length !== want) {
        throw new PipelineError('config_invalid', `Topic ${t.name} has ${t.partitions.length} partitions but the specs say ${want}; keys would map to other partitions. Recreate it or change the specs.`, { topic: t.name });
      }
    }
  }

  partitions(topic: TopicName): number {
    return this.specs.get(topic)!.partitions;
  }

  async publish(topic: TopicName, messages: OutMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const n = this.partitions(topic);
    const now = Date.now();
    try {
      await this.producer.send({
        topic: this.name(topic),
        acks: -1,
        compression: COMPRESSION[this.opts.compression ?? 'lz4'],
        messages: messages.map((m) => ({
          key: m.key, value: m.value, headers: m.headers ?? {},
          partition: m.partition ?? partitionFor(m.key, n),
          // The time of publishing, never event time: retention counts from it (OutMessage).
          timestamp: String(now),
        })),
      });
    } catch (e) {
      throw new PipelineError('not_connected', `Publish of ${messages.length} message(s) to ${this.name(topic)} failed: ${errorMessage(e)}`, { topic }, { cause: e });
    }
  }

  async subscribe(opts: SubscribeOptions, handler: BatchHandler): Promise<Subscription> {
    const consumer = this.kafka.consumer({
      groupId: opts.groupId,
      sessionTimeout: this.opts.sessionTimeoutMs ?? 6000,
      rebalanceTimeout: 20000,
      heartbeatInterval: 1000,
      maxWaitTimeInMs: this.opts.maxWaitMs ?? 100,
      ...(this.opts.maxBytesPerPartition ? { maxBytesPerPartition: this.opts.maxBytesPerPartition } : {}),
      allowAutoTopicCreation: false,
      retry: { initialRetryTime: 200, maxRetryTime: 3000, retries: 40 },
    });
    this.consumers.add(consumer);
    let ready = false;
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      ready = true;
      const a = e.payload.memberAssignment;
      void Promise.resolve(opts.onAssign?.(opts.topics.map((t) => ({ topic: t, partitions: [...(a[this.name(t)] ?? [])].sort((x, y) => x - y) }))))
        .catch((err: unknown) => this.opts.log.error({ err: errorMessage(err) }, 'onAssign failed.'));
    });
    await consumer.connect();
    await consumer.subscribe({ topics: opts.topics.map((t) => this.name(t)), fromBeginning: opts.fromBeginning ?? true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: opts.concurrency ?? 1,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale, commitOffsetsIfNecessary }) => {
        if (batch.messages.length === 0) return;
        const topic = this.logical(batch.topic);
        const b: InBatch = {
          topic, partition: batch.partition, highWatermark: batch.highWatermark,
          messages: batch.messages.map((m): InMessage => ({
            topic, partition: batch.partition, offset: m.offset, key: m.key?.toString('utf8') ?? '',
            value: m.value ?? Buffer.alloc(0), headers: headersOf(m.headers), timestamp: Number(m.timestamp),
          })),
        };
        await handler(b, { heartbeat, isRunning: () => isRunning() && !isStale() });
        // A finished handler commits even while the consumer stops; only a partition sought
        // elsewhere meanwhile (stale) is not committed by us.
        if (isStale()) return;
        const last = batch.lastOffset();
        resolveOffset(last);
        // Through the payload, not consumer.commitOffsets: the latter silently skips the commit
        // once stop() has begun, which would redeliver a batch the handler finished.
        await commitOffsetsIfNecessary({ topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: nextOffset(last) }] }] });
      },
    });
    return {
      get ready() { return ready; },
      stop: async () => {
        if (!this.consumers.delete(consumer)) return;
        await consumer.disconnect();
      },
    };
  }

  async readLatest(topic: TopicName, partitions: number[]): Promise<Map<string, InMessage>> {
    const out = new Map<string, InMessage>();
    const name = this.name(topic);
    const offsets = await this.topicOffsets(name);
    const pending = new Map<number, bigint>();
    for (const o of offsets) {
      if (partitions.includes(o.partition) && BigInt(o.high) > BigInt(o.low)) pending.set(o.partition, BigInt(o.high) - 1n);
    }
    if (pending.size === 0) return out;
    const groupId = `${this.opts.clientId ?? 'conduitwatch'}-restore-${randomUUID()}`;
    const consumer = this.kafka.consumer({ groupId, maxWaitTimeInMs: 50, sessionTimeout: 6000, heartbeatInterval: 1000 });
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [name], fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new PipelineError('not_connected', `Reading ${name} partitions ${partitions.join(',')} did not finish in 60 s.`, { topic })), 60_000);
        consumer.run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            const p = batch.partition;
            for (const m of batch.messages) {
              if (!pending.has(p) && !partitions.includes(p)) break;
              if (!partitions.includes(p)) continue;
              out.set(m.key?.toString('utf8') ?? '', {
                topic, partition: p, offset: m.offset, key: m.key?.toString('utf8') ?? '', value: m.value ?? Buffer.alloc(0),
                headers: headersOf(m.headers), timestamp: Number(m.timestamp),
              });
              const end = pending.get(p);
              if (end !== undefined && BigInt(m.offset) >= end) pending.delete(p);
            }
            if (pending.size === 0) { clearTimeout(timer); resolve(); }
          },
        }).catch(reject);
      });
    } finally {
      await consumer.disconnect();
      await this.admin.deleteGroups([groupId]).catch(() => {});
    }
    return out;
  }

  async committed(groupId: string, topic: TopicName): Promise<Map<number, string | undefined>> {
    const res = await this.admin.fetchOffsets({ groupId, topics: [this.name(topic)] });
    const out = new Map<number, string | undefined>();
    for (const p of res[0]?.partitions ?? []) out.set(p.partition, p.offset === '-1' ? undefined : p.offset);
    return out;
  }

  /**
   * Partition offsets of a topic. Right after a topic is created (or a broker restarts) leadership may
   * not have reached the metadata yet and the broker answers a retriable NOT_LEADER; ask again, bounded.
   * Just after a broker restart kafkajs's admin can also get an empty offsets answer for the topic
   * and fail inside itself with a TypeError ("Cannot destructure property 'partitions' of
   * 'high.pop(...)'"): the same race, seen in the broker-kill fault test; it is retried too.
   */
  private async topicOffsets(name: string): Promise<Awaited<ReturnType<Admin['fetchTopicOffsets']>>> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.admin.fetchTopicOffsets(name);
      } catch (e) {
        const race = e instanceof TypeError && /high\.pop|partitions/.test(e.message);
        if (attempt >= 20 || ((e as { retriable?: unknown }).retriable !== true && !race)) throw e;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  async endOffsets(topic: TopicName): Promise<Map<number, string>> {
    const res = await this.topicOffsets(this.name(topic));
    return new Map(res.map((o) => [o.partition, o.high]));
  }

  /** Log start offset (first still stored) per partition: it moves when retention deletes segments. */
  async startOffsets(topic: TopicName): Promise<Map<number, string>> {
    const res = await this.topicOffsets(this.name(topic));
    return new Map(res.map((o) => [o.partition, o.low]));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const c of [...this.consumers]) await c.disconnect().catch(() => {});
    this.consumers.clear();
    await this.producer.disconnect().catch(() => {});
    await this.admin.disconnect().catch(() => {});
  }
}

/** All topic names, logical. */
export const ALL_TOPICS = Object.values(TOPICS);
