/**
 * The in-process bus: the same topic names, partitioning (`partitionFor`), per-partition order and
 * commit semantics as the Kafka bus, held in memory. For the one-process mode and for tests of the
 * roles without a broker. Nothing survives the process.
 *
 * Group members share partitions round-robin; a new or stopped member rebalances the group, and a
 * partition's new owner starts at the group's committed offset, so uncommitted messages are
 * delivered again, as on Kafka.
 */
import { PipelineError } from '../core/errors.ts';
import {
  partitionFor, type BatchHandler, type Bus, type InBatch, type InMessage, type OutMessage, type SubscribeOptions,
  type Subscription, type TopicName,
} from './bus.ts';
import { loadTopicSpecs } from './topics.ts';

interface Member {
  opts: SubscribeOptions;
  handler: BatchHandler;
  running: boolean;
  assigned: Set<string>;
  ready: boolean;
}

interface Group {
  members: Member[];
  committed: Map<string, number>;
}

const tp = (topic: string, partition: number): string => `${topic}#${partition}`;

export interface MemoryBusOptions {
  /** Partition counts per topic; default from infra/kafka/topics.yaml. */
  partitions?: Partial<Record<TopicName, number>>;
  /** Most messages per delivered batch (default 500). */
  maxBatch?: number;
}

export class MemoryBus implements Bus {
  private readonly logs = new Map<string, InMessage[][]>();
  private readonly groups = new Map<string, Group>();
  private readonly counts = new Map<TopicName, number>();
  private readonly maxBatch: number;
  private closed = false;
  private pump: Promise<void> = Promise.resolve();
  private pumping = false;

  constructor(opts: MemoryBusOptions = {}) {
    for (const [name, spec] of loadTopicSpecs(undefined, opts.partitions)) this.counts.set(name, spec.partitions);
    this.maxBatch = opts.maxBatch ?? 500;
  }

  partitions(topic: TopicName): number {
    return this.counts.get(topic)!;
  }

  private log(topic: TopicName): InMessage[][] {
    let l = this.logs.get(topic);
    if (!l) this.logs.set(topic, (l = Array.from({ length: this.partitions(topic) }, () => [])));
    return l;
  }

  async publish(topic: TopicName, messages: OutMessage[]): Promise<void> {
    if (this.closed) throw new PipelineError('not_connected', 'The in-process bus is closed.');
    const log = this.log(topic);
    for (const m of messages) {
      const p = m.partition ?? partitionFor(m.key, log.length);
      const part = log[p];
      if (!part) throw new RangeError(`partition ${p} of ${topic} does not exist (${log.length} partitions)`);
      part.push({ topic, partition: p, offset: String(part.length), key: m.key, value: m.value, headers: { ...m.headers }, timestamp: Date.now() });
    }
    this.kick();
  }

  async subscribe(opts: SubscribeOptions, handler: BatchHandler): Promise<Subscription> {
    let g = this.groups.get(opts.groupId);
    if (!g) this.groups.set(opts.groupId, (g = { members: [], committed: new Map() }));
    const member: Member = { opts, handler, running: true, assigned: new Set(), ready: false };
    g.members.push(member);
    await this.rebalance(g);
    this.kick();
    const group = g;
    return {
      get ready() { return member.ready; },
      stop: async () => {
        if (!member.running) return;
        member.running = false;
        await this.pump;
        group.members = group.members.filter((m) => m !== member);
        await this.rebalance(group);
        this.kick();
      },
    };
  }

  private async rebalance(g: Group): Promise<void> {
    const all = new Set<string>();
    for (const m of g.members) for (const t of m.opts.topics) for (let p = 0; p < this.partitions(t); p++) all.add(tp(t, p));
    const list = [...all].sort();
    g.members.forEach((m) => m.assigned.clear());
    list.forEach((k, i) => {
      const eligible = g.members.filter((m) => m.opts.topics.includes(k.split('#')[0] as TopicName));
      eligible[i % eligible.length]?.assigned.add(k);
    });
    for (const m of g.members) {
      m.ready = true;
      await m.opts.onAssign?.(m.opts.topics.map((topic) => ({
        topic, partitions: [...m.assigned].filter((k) => k.startsWith(`${topic}#`)).map((k) => Number(k.split('#')[1])).sort((a, b) => a - b),
      })));
    }
  }

  /** Delivers pending batches until every member has caught up. */
  private kick(): void {
    if (this.pumping) return;
    this.pumping = true;
    this.pump = this.pump.then(async () => {
      try {
        for (let progress = true; progress && !this.closed;) {
          progress = false;
          for (const g of this.groups.values()) {
            for (const m of [...g.members]) {
              if (!m.running) continue;
              for (const k of [...m.assigned].sort()) {
                const [topic, p] = k.split('#') as [TopicName, string];
                const part = this.log(topic)[Number(p)]!;
                const from = g.committed.get(k) ?? (m.opts.fromBeginning === false ? part.length : 0);
                if (!g.committed.has(k)) g.committed.set(k, from);
                if (from >= part.length) continue;
                const batch: InBatch = { topic, partition: Number(p), messages: part.slice(from, from + this.maxBatch), highWatermark: String(part.length) };
                try {
                  await m.handler(batch, { heartbeat: async () => {}, isRunning: () => m.running && m.assigned.has(k) });
                  g.committed.set(k, from + batch.messages.length);
                  progress = true;
                } catch {
                  // Not committed: the same batch comes again on the next kick, as on Kafka.
                }
              }
            }
          }
        }
      } finally {
        this.pumping = false;
      }
    });
  }

  /** Resolves once every delivered batch has been handled (tests). */
  async idle(): Promise<void> {
    while (this.pumping) await this.pump;
  }

  async readLatest(topic: TopicName, partitions: number[]): Promise<Map<string, InMessage>> {
    const out = new Map<string, InMessage>();
    for (const p of partitions) for (const m of this.log(topic)[p] ?? []) out.set(m.key, m);
    return out;
  }

  async committed(groupId: string, topic: TopicName): Promise<Map<number, string | undefined>> {
    const g = this.groups.get(groupId);
    const out = new Map<number, string | undefined>();
    for (let p = 0; p < this.partitions(topic); p++) {
      const c = g?.committed.get(tp(topic, p));
      out.set(p, c === undefined ? undefined : String(c));
    }
    return out;
  }

  async endOffsets(topic: TopicName): Promise<Map<number, string>> {
    return new Map(this.log(topic).map((part, p) => [p, String(part.length)]));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    for (const g of this.groups.values()) for (const m of g.members) m.running = false;
    await this.pump;
    this.closed = true;
  }
}
