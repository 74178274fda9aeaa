/**
 * A batching writer for one table: callers `write` rows as they come, the writer inserts them
 * in blocks of up to `maxRows`, and hands back receipts only for rows the store has written.
 *
 * - Size: reaching `maxRows` starts a flush in the background; the caller keeps writing.
 * - Time: `tick()` flushes once the oldest buffered row has waited `maxDelayMs` on the
 *   injected clock. The core never sets timers; `startTicker` is the optional timer.
 * - Encoding: rows go to the store as they are (JSON), or, with `encode`, as the Native block it
 *   builds from them (store/blocks.ts), encoded once per block.
 * - Failure: a refused insert leaves its rows buffered (nothing is dropped) and rethrows
 *   `write_rejected`. The next `flush()` retries the very same block (the same bytes) with the
 *   same deduplication token (one per block, unique to the writer), so a table with insert
 *   deduplication skips it if the first attempt did land after all.
 * - Backpressure: the buffer holds at most `maxBufferedRows` (default 4 × maxRows); a
 *   `write` that would exceed it first awaits a flush, and rejects if that flush fails.
 *
 * Inserts run one at a time, in buffer order.
 */
import { randomUUID } from 'node:crypto';
import { systemClock, type Clock } from '../core/clock.ts';
import { errorMessage, hasCode, PipelineError } from '../core/errors.ts';
import type { UnitEvents } from '../core/telemetry.ts';
import { isNativeBlock, releaseBlock, type NativeBlock } from './native.ts';
import type { Receipt, Store } from './store.ts';

export interface BatchWriterOptions<Row = object> {
  /** Rows per insert; reaching it starts a flush. Default 50 000. */
  maxRows?: number;
  /** A buffered row waits at most this long (by `clock`) before `tick()` flushes it. Default 1000. */
  maxDelayMs?: number;
  /** Hard cap on buffered rows before `write` waits for a flush. Default 4 × maxRows. */
  maxBufferedRows?: number;
  clock?: Clock;
  /** `sent` on every written block, `error` on every refused one. */
  events?: UnitEvents;
  /** Builds the block to insert from buffered rows (a Native block); default: the rows as JSON. */
  encode?: (rows: Row[]) => NativeBlock;
  /** Prefix of the per-block deduplication tokens; default a random id per writer. */
  tokenPrefix?: string;
}

const addReceipt = (a: Receipt, b: Receipt): Receipt => ({ records: a.records + b.records, bytes: a.bytes + b.bytes });
const EMPTY: Receipt = { records: 0, bytes: 0 };

export class BatchWriter<Row extends object = object> {
  readonly maxRows: number;
  readonly maxDelayMs: number;
  readonly maxBufferedRows: number;
  private readonly clock: Clock;
  private readonly events: UnitEvents | undefined;
  private buffer: Row[] = [];
  /** Clock time the oldest buffered row arrived; kept across partial flushes (conservative). */
  private oldestAt = 0;
  /** Size of a block that failed, so a retry sends exactly the same rows. */
  private retryRows = 0;
  /** The failed block as sent (encoded) and its token, for the retry. */
  private retryBlock: { data: readonly object[] | NativeBlock; token: string } | undefined;
  private readonly encode: ((rows: Row[]) => NativeBlock) | undefined;
  private readonly tokenPrefix: string;
  private blockSeq = 0;
  /** The flush in progress, if any; flushes are chained so inserts never overlap. */
  private inflight: Promise<Receipt> | undefined;
  /** Written but not yet reported by `flush()`/`close()`. */
  private unreported: Receipt = EMPTY;
  private total: Receipt = EMPTY;
  private closed = false;

  constructor(private readonly store: Pick<Store, 'insertRows'>, readonly table: string, opts: BatchWriterOptions<Row> = {}) {
    this.maxRows = opts.maxRows ?? 50_000;
    this.maxDelayMs = opts.maxDelayMs ?? 1_000;
    this.maxBufferedRows = opts.maxBufferedRows ?? 4 * this.maxRows;
    if (!(this.maxRows >= 1) || !(this.maxBufferedRows >= this.maxRows) || !(this.maxDelayMs >= 0)) {
      throw new PipelineError('config_invalid',
        `BatchWriter for ${table}: need maxRows ≥ 1, maxBufferedRows ≥ maxRows and maxDelayMs ≥ 0 ` +
        `(got ${this.maxRows}, ${this.maxBufferedRows}, ${this.maxDelayMs}).`, { table });
    }
    this.clock = opts.clock ?? systemClock;
    this.events = opts.events;
    this.encode = opts.encode;
    this.tokenPrefix = opts.tokenPrefix ?? `bw-${randomUUID()}`;
  }

  /** Rows waiting to be written (including a failed block). */
  get buffered(): number {
    return this.buffer.length;
  }

  /** Everything written since the writer was created. */
  get written(): Receipt {
    return this.total;
  }

  /**
   * Buffers rows. Resolves at once unless the buffer is full, in which case it first waits
   * for a flush (and rejects `write_rejected`, without taking the rows, if that fails).
   */
  async write(rows: readonly Row[]): Promise<void> {
    if (this.closed) throw new PipelineError('unrecoverable', `BatchWriter for ${this.table} is closed.`, { table: this.table });
    while (this.buffer.length > 0 && this.buffer.length + rows.length > this.maxBufferedRows) await this.writeAll();
    if (rows.length === 0) return;
    if (this.buffer.length === 0) this.oldestAt = this.clock.now();
    for (const r of rows) this.buffer.push(r);
    if (this.buffer.length >= this.maxRows && !this.inflight) {
      // Errors are reported through events and left for the next flush/write to retry.
      this.writeAll(true).catch(() => undefined);
    }
  }

  /** Flushes when the oldest buffered row has waited `maxDelayMs`; otherwise does nothing. */
  async tick(): Promise<Receipt | undefined> {
    if (this.buffer.length === 0 || this.clock.now() - this.oldestAt < this.maxDelayMs) return undefined;
    return this.flush();
  }

  /**
   * Writes everything buffered, in blocks of up to `maxRows`. Resolves with what was written
   * since the previous `flush()` returned (background flushes included) once the store
   * acknowledged it. On a refused block the rest stays buffered and this rejects.
   */
  async flush(): Promise<Receipt> {
    await this.writeAll();
    const r = this.unreported;
    this.unreported = EMPTY;
    return r;
  }

  /** Flushes, then refuses further writes. Calling it again returns an empty receipt. */
  async close(): Promise<Receipt> {
    if (this.closed && this.buffer.length === 0 && !this.inflight) return EMPTY;
    const r = await this.flush();
    this.closed = true;
    return r;
  }

  /**
   * Removes and returns the rows of the block that last failed, for a caller that decides
   * they can never be written (e.g. to dead-letter them). Empty when nothing failed.
   */
  takeFailedBlock(): Row[] {
    const n = this.retryRows;
    this.retryRows = 0;
    this.retryBlock = undefined;
    return this.buffer.splice(0, n);
  }

  /**
   * Waits for the flush in progress, then writes what is buffered (with `fullOnly`, only whole
   * blocks of `maxRows`: a size-triggered flush leaves the tail for `tick`, so the table gets
   * few large parts). One insert at a time.
   */
  private async writeAll(fullOnly = false): Promise<void> {
    while (this.inflight) await this.inflight.catch(() => undefined);
    const run = this.drain(fullOnly);
    this.inflight = run;
    try {
      await run;
    } finally {
      if (this.inflight === run) this.inflight = undefined;
    }
  }

  private async drain(fullOnly: boolean): Promise<Receipt> {
    let done = EMPTY;
    while (this.buffer.length >= (fullOnly ? this.maxRows : 1)) {
      const n = this.retryRows || Math.min(this.maxRows, this.buffer.length);
      let r: Receipt;
      try {
        if (!this.retryBlock) {
          const rows = this.buffer.slice(0, n);
          this.retryBlock = { data: this.encode ? this.encode(rows) : rows, token: `${this.tokenPrefix}:${++this.blockSeq}` };
        }
        r = await this.store.insertRows(this.table, this.retryBlock.data, { dedupToken: this.retryBlock.token });
      } catch (e) {
        this.retryRows = n;
        const err = hasCode(e, 'write_rejected') ? e : new PipelineError('write_rejected',
          `Insert into ${this.table} failed (${n} rows): ${errorMessage(e)}`, { table: this.table, rows: n }, { cause: e });
        this.events?.error({ errorCode: 'write_rejected', stage: 'sending', message: errorMessage(err), details: { table: this.table, rows: n } });
        throw err;
      }
      this.retryRows = 0;
      if (isNativeBlock(this.retryBlock.data)) releaseBlock(this.retryBlock.data);
      this.retryBlock = undefined;
      this.buffer.splice(0, n);
      this.events?.sent(r);
      done = addReceipt(done, r);
      this.unreported = addReceipt(this.unreported, r);
      this.total = addReceipt(this.total, r);
    }
    return done;
  }
}

/**
 * Calls `writer.tick()` every `everyMs` of wall time: the optional timer around the clock-driven
 * core. Failures are already reported through the writer's events; the rows stay buffered.
 * Returns a function that stops the timer.
 */
export const startTicker = (writer: Pick<BatchWriter, 'tick'>, everyMs = 250): (() => void) => {
  const t = setInterval(() => { writer.tick().catch(() => undefined); }, everyMs);
  t.unref();
  return () => clearInterval(t);
};
