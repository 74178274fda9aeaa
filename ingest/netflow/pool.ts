/**
 * Several collectors, one per worker thread, each on its own UDP port, merged into one stream of
 * record batches on the main thread. For when one socket (one event loop) cannot keep up: point
 * exporters (or groups of them) at different ports.
 *
 * Why ports and not one shared port: node 20's dgram has no SO_REUSEPORT (`reusePort` arrived in
 * node 22.12), worker threads cannot share a socket, and the cluster module's shared UDP handle
 * hands datagrams to processes (not threads) whose records would then cross a JSON IPC pipe.
 *
 * Each worker decodes its datagrams and posts batches of up to `maxBatch` records (structured
 * clone), at the latest `flushInterval` after a batch's first record. Templates and sequence
 * numbers are per worker, which is right since they are per exporter session (ip:port → one port).
 */
import { Worker } from 'node:worker_threads';
import { z } from 'zod';
import { PipelineError } from '../../core/errors.ts';
import type { FlowRecord } from '../../core/records.ts';
import { createEvents, Metrics, silentLogger, type UnitEvents } from '../../core/telemetry.ts';
import { duration } from '../../core/units.ts';
import { CollectorConfig, parseListen, type CollectorDeps, type CollectorStats } from './collector.ts';
import type { PoolWorkerData, WorkerMessage } from './pool-worker.ts';

export const CollectorPoolConfig = CollectorConfig.omit({ listen: true }).extend({
  listen: z.array(z.string()).min(1).max(64)
    .describe('One udp://host:port per worker thread, e.g. ["udp://0.0.0.0:2055", "udp://0.0.0.0:2056"]. Port 0 picks a free port.'),
  flushInterval: duration.default('20ms')
    .describe('Longest a decoded record waits in a worker before it is posted to the main thread.'),
}).strict();
export type CollectorPoolConfig = z.output<typeof CollectorPoolConfig>;

interface Slot {
  worker: Worker;
  stats: CollectorStats;
  address: { address: string; port: number };
  closed: Promise<void>;
}

const emptyStats = (): CollectorStats => ({ datagrams: 0, records: 0, errors: {}, fidelity: {}, sequenceGaps: {}, recvBufferBytes: 0 });

/** Adds `from`'s counts into `into`. */
const addCounts = (into: Record<string, number>, from: Record<string, number>): void => {
  for (const k of Object.keys(from)) into[k] = (into[k] ?? 0) + from[k]!;
};

/** Where the worker module is: the .ts source under tsx (registered in the worker), else the built .js. */
const workerUrl = (): URL => {
  const self = import.meta.url;
  if (!self.endsWith('.ts')) return new URL('./pool-worker.js', self);
  const api = import.meta.resolve('tsx/esm/api');
  const target = new URL('./pool-worker.ts', self).href;
  const boot = `import { register } from ${JSON.stringify(api)}; register(); await import(${JSON.stringify(target)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(boot)}`);
};

export class CollectorPool {
  private readonly slots: Slot[] = [];
  private readonly events: UnitEvents;
  private queue: FlowRecord[][] = [];
  private head = 0;
  private queued = 0;
  private wake: (() => void) | undefined;
  private opened = false;
  private closed = false;

  /**
   * @param config parsed {@link CollectorPoolConfig}
   * @param onBatch when given, every batch goes here instead of the iterator
   */
  constructor(
    readonly config: CollectorPoolConfig,
    deps: Partial<Pick<CollectorDeps, 'id' | 'log' | 'metrics' | 'events'>> = {},
    private readonly onBatch?: (records: FlowRecord[]) => void,
  ) {
    for (const l of config.listen) parseListen(l); // config_invalid now, not in a worker
    const log = deps.log ?? silentLogger();
    const labels = { component_kind: 'source' as const, component_type: 'netflow', component_id: deps.id ?? 'netflow' };
    this.events = deps.events ?? createEvents(log, deps.metrics ?? new Metrics(), labels);
  }

  /** Totals over the workers, as of their last batch (exact after `close`). */
  get stats(): CollectorStats {
    const out = emptyStats();
    for (const s of this.slots) {
      out.datagrams += s.stats.datagrams;
      out.records += s.stats.records;
      out.recvBufferBytes += s.stats.recvBufferBytes;
      addCounts(out.errors, s.stats.errors);
      addCounts(out.fidelity, s.stats.fidelity);
      addCounts(out.sequenceGaps, s.stats.sequenceGaps);
    }
    return out;
  }

  /** Starts one worker per `listen` address; throws `not_connected` (after stopping the others) if any cannot bind. */
  async open(): Promise<void> {
    if (this.opened || this.closed) return;
    this.opened = true;
    const url = workerUrl();
    const { listen, flushInterval, ...rest } = this.config;
    const started = listen.map((l, i) => this.start(url, { config: { ...rest, listen: l }, id: `netflow-${i}`, flushMs: flushInterval }));
    const results = await Promise.allSettled(started);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await this.close();
      throw failed.reason;
    }
  }

  private start(url: URL, data: PoolWorkerData): Promise<void> {
    const worker = new Worker(url, { workerData: data });
    let resolveClosed: () => void = () => undefined;
    const slot: Slot = { worker, stats: emptyStats(), address: { address: '', port: 0 }, closed: new Promise((r) => { resolveClosed = r; }) };
    this.slots.push(slot);
    worker.once('exit', () => resolveClosed());
    return new Promise<void>((resolve, reject) => {
      worker.once('error', (e) => reject(new PipelineError('not_connected', `collector worker for ${data.config.listen} failed: ${e.message}`, {}, { cause: e })));
      worker.on('message', (m: WorkerMessage) => {
        switch (m.t) {
          case 'ready': slot.address = { address: m.address, port: m.port }; slot.stats.recvBufferBytes = m.recvBufferBytes; resolve(); return;
          case 'failed': reject(new PipelineError('not_connected', m.message)); return;
          case 'batch': slot.stats = m.stats; this.emit(m.records); return;
          case 'stats': case 'closed': slot.stats = m.stats; return;
        }
      });
    });
  }

  /** The bound addresses, one per worker, in `listen` order (after `open`). */
  addresses(): { address: string; port: number }[] {
    if (!this.opened || this.closed) throw new PipelineError('not_connected', 'collector pool is not open');
    return this.slots.map((s) => s.address);
  }

  /** Stops every worker after it posted what it decoded; ends the iterator after the queue. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.slots) s.worker.postMessage({ t: 'close' });
    const stopping = this.slots.map((s) => Promise.race([s.closed, new Promise<void>((r) => setTimeout(r, 5000).unref())]));
    await Promise.all(stopping);
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.wake?.();
  }

  /** Record batches until `close()` and the queue is drained. */
  async *records(): AsyncGenerator<FlowRecord[]> {
    while (true) {
      if (this.head < this.queue.length) {
        const out = this.queue[this.head]!;
        this.queue[this.head++] = [];
        if (this.head === this.queue.length) { this.queue = []; this.head = 0; }
        this.queued -= out.length;
        this.events.sent({ records: out.length });
        yield out;
        continue;
      }
      if (this.closed) return;
      await new Promise<void>((resolve) => { this.wake = resolve; });
      this.wake = undefined;
    }
  }

  private emit(records: FlowRecord[]): void {
    this.events.received({ records: records.length });
    if (this.onBatch) { this.onBatch(records); return; }
    if (this.queued + records.length > this.config.maxQueued) {
      this.events.dropped({ records: records.length, reason: 'queue_full', intentional: false });
      return;
    }
    this.queue.push(records);
    this.queued += records.length;
    this.wake?.();
  }
}
