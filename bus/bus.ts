/**
 * The bus interface: one small contract that the in-process bus (`memory.ts`) and the Kafka bus
 * (`kafka.ts`) both implement, so every role runs unchanged on either.
 *
 * Semantics (both implementations):
 * - `publish` resolves once every message is durable on the bus (Kafka: acks=all); messages with
 *   the same key go to the same partition (`partitionFor`, Kafka's murmur2 partitioner) and keep
 *   their order there.
 * - `subscribe` joins a consumer group. Each partition is owned by one member at a time; its
 *   messages arrive in order, batch by batch. The offset after a batch is committed only once the
 *   handler's promise resolves, so a handler that makes its output durable before resolving gets
 *   at-least-once delivery: after a crash, uncommitted messages are delivered again (RELIABILITY.md
 *   B1.3). A handler that throws commits nothing; the batch is delivered again.
 * - `readLatest` reads partitions of a (compacted) topic from the start to their current end and
 *   keeps the last value per key: how a worker restores state when it is given a partition.
 */

/** Logical topic names (DESIGN.md "Topics"). A bus may prefix them (tests use one prefix each). */
export const TOPICS = {
  flows: 'conduitwatch.flows.v1',
  scores: 'conduitwatch.scores.v1',
  alerts: 'conduitwatch.alerts.v1',
  state: 'conduitwatch.state.v1',
  deadletter: 'conduitwatch.deadletter.v1',
} as const;
export type TopicName = (typeof TOPICS)[keyof typeof TOPICS];

/** Header names the bus and the roles use. */
export const HEADERS = {
  /** Schema of the value, e.g. `flows-arrow/1`, `score-json/1`. */
  schema: 'cw-schema',
  /** Dead letters: why the value could not be decoded. */
  reason: 'cw-reason',
  /** Dead letters: where the value came from. */
  sourceTopic: 'cw-source-topic',
  sourcePartition: 'cw-source-partition',
  sourceOffset: 'cw-source-offset',
  /**
   * Flows topic: a watermark marker (empty value) instead of flows. Holds the collector's largest
   * flow start so far, epoch ms, across ALL partitions; the detector advances its engine to it.
   */
  watermark: 'cw-watermark',
  /** With `watermark`: '1' when the input ended (file replay) and the time is its last flow start. */
  endOfInput: 'cw-end-of-input',
  /**
   * Event time of the value, epoch ms (flows: the largest flow start in the message; scores: the
   * window end; alerts: the alert's end). Event time travels here and in the value, never in the
   * Kafka timestamp: that is the time of publishing (and of arrival on topics with
   * `message.timestamp.type=LogAppendTime`), which retention counts from (infra/kafka/topics.yaml).
   */
  eventTime: 'cw-event-time',
  /**
   * Flows topic: the collector's receive time of the batch, epoch ms on the collector's clock. The
   * sink stores it as `observed_at` and measures end-to-end latency from it.
   */
  receivedAt: 'cw-received-at',
} as const;

/** A numeric header (epoch ms), or undefined when absent or not a number. */
export const timeHeader = (m: Pick<InMessage, 'headers'>, name: string): number | undefined => {
  const v = m.headers[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
};

/** The event time a flows-topic watermark marker carries, or undefined for a flows message. */
export const watermarkOf = (m: Pick<InMessage, 'headers'>): { eventTimeMs: number; endOfInput: boolean } | undefined => {
  const v = m.headers[HEADERS.watermark];
  if (v === undefined) return undefined;
  const eventTimeMs = Number(v);
  return Number.isFinite(eventTimeMs) ? { eventTimeMs, endOfInput: m.headers[HEADERS.endOfInput] === '1' } : undefined;
};

/** A message to publish. */
export interface OutMessage {
  key: string;
  value: Buffer;
  /**
   * Event time and receive time go here (`HEADERS.eventTime`, `HEADERS.receivedAt`). There is no
   * timestamp field on purpose: the bus stamps every message with the time it publishes it, so the
   * broker's time-based retention never sees (and deletes) a replay's years-old event time.
   */
  headers?: Record<string, string>;
  /** Explicit partition; default `partitionFor(key, partitions)`. */
  partition?: number;
}

/** A consumed message. Offsets are decimal strings (Kafka's are 64-bit). */
export interface InMessage {
  topic: TopicName;
  partition: number;
  offset: string;
  key: string;
  value: Buffer;
  headers: Record<string, string>;
  /**
   * The message's Kafka timestamp, epoch ms: when it was published (CreateTime set by the bus) or
   * appended (LogAppendTime topics). Never event time: read that from `HEADERS.eventTime`.
   */
  timestamp: number;
}

/** One partition's messages, in offset order. */
export interface InBatch {
  topic: TopicName;
  partition: number;
  messages: InMessage[];
  /** The partition's end offset when fetched (for lag). */
  highWatermark: string;
}

/** Given to a batch handler during long work. */
export interface BatchControl {
  /** Keeps group membership alive during long processing (Kafka: a heartbeat). */
  heartbeat(): Promise<void>;
  /** False once the consumer is stopping or the partition was taken away: stop early, do not commit. */
  isRunning(): boolean;
}

export interface SubscribeOptions {
  /** Consumer group id. */
  groupId: string;
  /** Topics to consume (names as in `TOPICS`; the bus applies its prefix). */
  topics: TopicName[];
  /** Start of a partition with no committed offset: the earliest message (default) or the end. */
  fromBeginning?: boolean;
  /** Called with this member's partitions after every (re)assignment, before their batches. */
  onAssign?: (assigned: { topic: TopicName; partitions: number[] }[]) => void | Promise<void>;
  /** Partitions handled concurrently by this member (default 1). */
  concurrency?: number;
}

/** What a handler does with each batch; the batch's offsets are committed once it resolves. */
export type BatchHandler = (batch: InBatch, ctl: BatchControl) => Promise<void>;

export interface Subscription {
  /** Stops fetching, waits for the batch in flight, leaves the group. Harmless twice. */
  stop(): Promise<void>;
  /** True once partitions were assigned at least once. */
  readonly ready: boolean;
}

export interface Bus {
  /** Partition count of a topic. */
  partitions(topic: TopicName): number;
  publish(topic: TopicName, messages: OutMessage[]): Promise<void>;
  subscribe(opts: SubscribeOptions, handler: BatchHandler): Promise<Subscription>;
  /** Last value per key in `partitions` of `topic`, read from the start to the current end. */
  readLatest(topic: TopicName, partitions: number[]): Promise<Map<string, InMessage>>;
  /** Committed offset (next to read) per partition for a group, or undefined when none. */
  committed(groupId: string, topic: TopicName): Promise<Map<number, string | undefined>>;
  /** End offset (next to be written) per partition. */
  endOffsets(topic: TopicName): Promise<Map<number, string>>;
  /** Flushes and disconnects. Harmless twice. */
  close(): Promise<void>;
}

/**
 * Kafka's default partitioner for keyed records: murmur2 of the key bytes, made positive, modulo
 * the partition count. Both buses use it, so a conduit lands in the same partition on either.
 */
export const partitionFor = (key: string, partitions: number): number =>
  (murmur2(Buffer.from(key, 'utf8')) & 0x7fffffff) % partitions;

/** MurmurHash2 (32-bit, seed 0x9747b28c), as Kafka's `Utils.murmur2`. */
export const murmur2 = (data: Buffer): number => {
  const m = 0x5bd1e995;
  const len = data.length;
  let h = (0x9747b28c ^ len) | 0;
  const whole = len & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  const rest = len & 3;
  if (rest === 3) h ^= data[whole + 2]! << 16;
  if (rest >= 2) h ^= data[whole + 1]! << 8;
  if (rest >= 1) {
    h ^= data[whole]!;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
};

/** Offset arithmetic on decimal strings. */
export const nextOffset = (offset: string): string => (BigInt(offset) + 1n).toString();

/** A decode result: never an exception (STYLE.md §4). The codecs (codec.ts, flowcodec.ts) return it. */
export type Decoded<T> = { ok: true; value: T } | { ok: false; reason: string };
