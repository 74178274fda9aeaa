/**
 * BullMQ and Redis for the promote-to-block workflow: the only module that imports `bullmq` or
 * `ioredis` (as bus/kafka.ts owns kafkajs). Everything above it sees `WorkflowQueue`: add a job
 * with an idempotent id, run a worker, and a few Redis commands for the promotion records.
 *
 * What BullMQ and Redis promise, and what we do about it (shared RELIABILITY.md B3.x):
 * - At-least-once (B3.1): a worker's lock lapses when it dies or blocks, the job is "stalled" and
 *   runs again. Every step is therefore idempotent and re-reads the promotion record first.
 *   `maxStalledCount` is raised to 5 so a crash loop does not fail a promotion half-way; the
 *   worker's `reconcile()` re-adds the job of every non-terminal promotion at start-up anyway.
 * - Idempotent job ids (B3.3): `add` with an existing id returns the existing job — only while it
 *   exists, so completed jobs are kept 7 days / 10k (B3.2 memory bound), and the steps do not rely
 *   on it for safety. Ids must not be integers nor contain ':'; `add` refuses those.
 * - Redis must run with `maxmemory-policy noeviction` (B3.4) and, for the workflow's promise to
 *   survive a Redis restart, with AOF on. `checkRedis` refuses anything else at start-up, naming
 *   the setting to change. `appendfsync everysec` may lose ~1 s of acks on a Redis crash; the steps
 *   are written to survive that (the known-good ruleset is on disk, and the apply checks the live
 *   ruleset before saving), and `always` is accepted too.
 * - Connections: workers use `maxRetriesPerRequest: null` and reconnect with a capped backoff;
 *   the producer side (the API) fails fast (`enableOfflineQueue: false`) so a request gets a 503
 *   rather than hanging while Redis is down.
 */
import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { errorMessage, hasCode, PipelineError } from '../../core/errors.ts';
import type { Logger } from '../../core/telemetry.ts';

/** Where Redis is, and the key prefix (one deployment per prefix; tests use a unique one). */
export interface RedisTarget {
  /** redis://HOST:PORT[/DB]. */
  url: string;
  /** BullMQ prefix and the promotion keys' prefix (default 'conduitwatch'). */
  prefix?: string;
}

/** What `checkRedis` found. */
export interface RedisPolicy {
  maxmemoryPolicy: string;
  appendonly: boolean;
  appendfsync: string;
  version: string;
}

const parseUrl = (url: string): { host: string; port: number; db: number } => {
  const m = /^redis:\/\/([^:/]+)(?::(\d+))?(?:\/(\d+))?$/.exec(url);
  if (!m) throw new PipelineError('config_invalid', `--redis "${url}" must be redis://HOST:PORT[/DB], e.g. redis://127.0.0.1:6379`);
  return { host: m[1]!, port: Number(m[2] ?? 6379), db: Number(m[3] ?? 0) };
};

const connect = (target: RedisTarget, role: 'worker' | 'producer'): Redis => {
  const { host, port, db } = parseUrl(target.url);
  const r = new Redis({
    host, port, db, lazyConnect: true,
    maxRetriesPerRequest: role === 'worker' ? null : 1,
    enableOfflineQueue: role === 'worker',
    retryStrategy: (times) => Math.min(50 * 2 ** times, 2_000),
    connectTimeout: 5_000,
  });
  // ioredis emits 'error' on every failed reconnect; without a listener Node prints each one.
  // The callers see the failures as rejected commands (producer) or as a waiting worker.
  r.on('error', () => {});
  return r;
};

/**
 * Reads `maxmemory-policy`, `appendonly` and `appendfsync`; refuses a Redis that could evict
 * BullMQ's keys or forget the workflow on restart.
 */
export const checkRedis = async (r: Redis, opts: { requireAof?: boolean } = {}): Promise<RedisPolicy> => {
  const get = async (k: string): Promise<string> => {
    const v = (await r.config('GET', k)) as string[];
    return v[1] ?? '';
  };
  const info = await r.info('server');
  const policy: RedisPolicy = {
    maxmemoryPolicy: await get('maxmemory-policy'),
    appendonly: (await get('appendonly')) === 'yes',
    appendfsync: await get('appendfsync'),
    version: /redis_version:(\S+)/.exec(info)?.[1] ?? '?',
  };
  if (policy.maxmemoryPolicy !== 'noeviction') {
    throw new PipelineError('config_invalid', `Redis at ${r.options.host}:${r.options.port} runs with maxmemory-policy ${policy.maxmemoryPolicy}; BullMQ needs noeviction (the only policy that never drops a queue key). Set "maxmemory-policy noeviction" in redis.conf or run: redis-cli CONFIG SET maxmemory-policy noeviction`, { policy });
  }
  if ((opts.requireAof ?? true) && !policy.appendonly) {
    throw new PipelineError('config_invalid', `Redis at ${r.options.host}:${r.options.port} runs without AOF (appendonly no); a restart would forget every promotion in flight. Set "appendonly yes" and "appendfsync everysec" (or always) in redis.conf, or run: redis-cli CONFIG SET appendonly yes`, { policy });
  }
  return policy;
};

/** A job as a step handler sees it. */
export interface StepJob<D = Record<string, unknown>> {
  id: string;
  name: string;
  data: D;
  /** 1 on the first run; BullMQ counts retries after a failure (a stall re-run keeps the count). */
  attempt: number;
}

export interface AddOptions {
  /** Idempotent id: no ':' and not an integer. */
  jobId: string;
  delayMs?: number;
  attempts?: number;
  backoffMs?: number;
}

export interface WorkerOptions {
  /** Lock per job; renewed at half. A dead worker's job is re-run after it lapses (default 30 s). */
  lockMs?: number;
  /** How often stalled jobs are looked for (default 30 s; tests use ~1 s). */
  stalledIntervalMs?: number;
  concurrency?: number;
  log?: Logger;
  /** Called when a job failed for good (after its attempts). */
  onFailed?: (job: StepJob, err: unknown) => void;
}

export interface WorkerHandle {
  close(): Promise<void>;
}

const KEEP = { removeOnComplete: { age: 7 * 86_400, count: 10_000 }, removeOnFail: { age: 30 * 86_400, count: 10_000 } };

/** The few Redis commands the promotion records need (so no other module touches ioredis). */
export interface Kv {
  /** Runs a Lua script (EVAL); keys are prefixed by the caller. */
  eval(script: string, keys: string[], args: (string | number)[]): Promise<unknown>;
  hget(key: string, field: string): Promise<string | null>;
  /** Ids by descending score. */
  zrevrange(key: string, start: number, stop: number): Promise<string[]>;
  get(key: string): Promise<string | null>;
}

/** The workflow's one queue, plus the Redis commands the promotion records need. */
export class WorkflowQueue {
  readonly prefix: string;
  private readonly queue: Queue;
  private readonly workers: Worker[] = [];
  private readonly extra: Redis[] = [];

  private constructor(readonly name: string, private readonly target: RedisTarget, private readonly redis: Redis, readonly policy: RedisPolicy) {
    this.prefix = target.prefix ?? 'conduitwatch';
    this.queue = new Queue(name, { connection: redis, prefix: this.prefix, defaultJobOptions: KEEP });
  }

  /**
   * Connects, checks the Redis policy, opens the queue. `role` 'producer' (the API, the CLI) fails
   * fast while Redis is down; 'worker' waits for it to come back.
   */
  static async open(target: RedisTarget, o: { role?: 'worker' | 'producer'; requireAof?: boolean; queue?: string } = {}): Promise<WorkflowQueue> {
    const r = connect(target, o.role ?? 'producer');
    try {
      await r.connect();
    } catch (e) {
      r.disconnect();
      throw new PipelineError('not_connected', `Cannot reach Redis at ${target.url}: ${errorMessage(e)}. Start redis-server (noeviction, appendonly yes) or pass --redis.`, { url: target.url }, { cause: e });
    }
    try {
      const policy = await checkRedis(r, { requireAof: o.requireAof });
      return new WorkflowQueue(o.queue ?? 'promotions', target, r, policy);
    } catch (e) {
      r.disconnect();
      throw e;
    }
  }

  /** Redis commands for the promotion records. */
  get kv(): Kv {
    const r = this.redis;
    return {
      eval: async (script, keys, args) => r.eval(script, keys.length, ...keys, ...args.map(String)),
      hget: (key, field) => r.hget(key, field),
      zrevrange: (key, start, stop) => r.zrevrange(key, start, stop),
      get: (key) => r.get(key),
    };
  }

  /** Adds a job unless one with its id exists; says which. */
  async add(name: string, data: Record<string, unknown>, o: AddOptions): Promise<{ id: string; existed: boolean }> {
    if (o.jobId.includes(':') || /^\d+$/.test(o.jobId)) throw new RangeError(`job id "${o.jobId}" must not contain ':' nor be an integer (BullMQ)`);
    const before = await this.queue.getJob(o.jobId);
    const job = await this.queue.add(name, data, {
      jobId: o.jobId,
      delay: Math.max(0, Math.round(o.delayMs ?? 0)),
      attempts: o.attempts ?? 8,
      backoff: { type: 'exponential', delay: o.backoffMs ?? 1_000 },
    });
    return { id: job.id ?? o.jobId, existed: before !== undefined };
  }

  /** 'missing' when no job has this id (never added, or removed after completion). */
  async jobState(jobId: string): Promise<string> {
    const j = await this.queue.getJob(jobId);
    return j ? await j.getState() : 'missing';
  }

  /** Removes a waiting or delayed job (a cancelled schedule). Harmless when it is gone. */
  async remove(jobId: string): Promise<void> {
    const j = await this.queue.getJob(jobId);
    if (j && !(await j.isActive())) await j.remove();
  }

  /** Puts a job that failed for good back to wait. */
  async retry(jobId: string): Promise<void> {
    const j = await this.queue.getJob(jobId);
    if (j && (await j.isFailed())) await j.retry('failed');
  }

  async counts(): Promise<Record<string, number>> {
    return this.queue.getJobCounts('waiting', 'delayed', 'active', 'completed', 'failed');
  }

  /**
   * Runs `handler` for every job. A handler that throws a `PipelineError` with code
   * 'unrecoverable' fails the job at once; anything else is retried with backoff.
   */
  async startWorker(handler: (job: StepJob) => Promise<void>, o: WorkerOptions = {}): Promise<WorkerHandle> {
    const conn = connect(this.target, 'worker');
    this.extra.push(conn);
    const w = new Worker(this.name, async (job: Job) => {
      const step: StepJob = { id: job.id ?? '', name: job.name, data: job.data as Record<string, unknown>, attempt: job.attemptsMade + 1 };
      try {
        await handler(step);
      } catch (e) {
        if (hasCode(e, 'unrecoverable')) throw new UnrecoverableError(errorMessage(e));
        throw e;
      }
    }, {
      connection: conn, prefix: this.prefix, concurrency: o.concurrency ?? 1,
      lockDuration: o.lockMs ?? 30_000, stalledInterval: o.stalledIntervalMs ?? 30_000, maxStalledCount: 5,
      ...KEEP,
    });
    w.on('failed', (job, err) => {
      if (!job) return;
      const final = job.attemptsMade >= (job.opts.attempts ?? 1) || err instanceof UnrecoverableError;
      o.log?.warn({ jobId: job.id, job: job.name, attempt: job.attemptsMade, final, err: err.message }, 'Workflow step failed.');
      if (final) o.onFailed?.({ id: job.id ?? '', name: job.name, data: job.data, attempt: job.attemptsMade }, err);
    });
    w.on('stalled', (jobId) => o.log?.warn({ jobId }, 'Workflow step stalled (its worker died or blocked); it runs again.'));
    w.on('error', (err) => o.log?.warn({ err: err.message }, 'Workflow worker error.'));
    await w.waitUntilReady();
    this.workers.push(w);
    return { close: async () => { await w.close(); } };
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.workers.map((w) => w.close()));
    await this.queue.close().catch(() => {});
    for (const r of [this.redis, ...this.extra]) r.disconnect();
  }
}

/**
 * BullMQ's own throughput on this Redis with no workflow around it: `n` jobs added in bulk and run
 * by one worker with a no-op processor (bench/workflow.ts prints it beside the workflow's figure).
 */
export const bareJobThroughput = async (target: RedisTarget, n: number, concurrency = 1): Promise<{ jobs: number; ms: number }> => {
  const name = `bare-${Date.now()}`;
  const prod = connect(target, 'worker');
  const cons = connect(target, 'worker');
  const q = new Queue(name, { connection: prod, prefix: target.prefix ?? 'conduitwatch' });
  let done = 0;
  let finish!: () => void;
  const finished = new Promise<void>((r) => (finish = r));
  const t0 = performance.now();
  const w = new Worker(name, async () => {}, { connection: cons, prefix: target.prefix ?? 'conduitwatch', concurrency, removeOnComplete: { count: 0 } });
  w.on('completed', () => { if (++done === n) finish(); });
  for (let i = 0; i < n; i += 500) {
    await q.addBulk(Array.from({ length: Math.min(500, n - i) }, (_, k) => ({ name: 'noop', data: { i: i + k }, opts: { jobId: `b-${i + k}` } })));
  }
  await finished;
  const ms = performance.now() - t0;
  await w.close();
  await q.obliterate({ force: true });
  await q.close();
  prod.disconnect();
  cons.disconnect();
  return { jobs: n, ms };
};
