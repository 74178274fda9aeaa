/**
 * A batching writer for one table: callers `write` rows as they come, the writer inserts them
 * in blocks of up to `maxRows`, and hands back receipts only for rows the store has written.
 *
 * - Size: reaching `maxRows` starts a flush in the background; the caller keeps writing.
 * - Time: `tick()` flushes once the oldest buffered row has waited `maxDelayMs` on the
 *   injected clock. The core never sets timers; `startTicker` is the optional timer.
 * - Encoding: rows go to the store as they are (JSON), or, with `encode`, as the Native block it
 *   builds from them (store/blocks.ts), encoded once per block. With `encodeOnWrite` too, each
 *   `write` encodes its rows at once and the writer keeps only the encoded bytes (no row objects
 *   wait for the engine); each piece is appended to the block being filled (a Native stream of
 *   several blocks, one insert), cut so a full block still holds exactly `maxRows` rows.
 * - Failure: a refused insert leaves its rows buffered (nothing is dropped) and rethrows
 *   `write_rejected`. The next `flush()` retries the very same block (the same bytes) with the
 *   same deduplication token (one per block, unique to the writer), so a table with insert
 *   deduplication skips it if the first attempt did land after all.
 * - Backpressure: the buffer holds at most `maxBufferedRows` (default 4 × maxRows) and, encoded
 *   on write, at most `maxBufferedBytes`; a `write` that would exceed either first awaits a flush,
 *   and rejects if that flush fails.
 *
 * Inserts run one at a time, in buffer order.
 */
import { randomUUID } from 'node:crypto';
import { systemClock, type Clock } from '../core/clock.ts';
import { errorMessage, hasCode, PipelineError } from '../core/errors.ts';
import type { UnitEvents } from '../core/telemetry.ts';
import { isNativeBlock, NativeStream, releaseBlock, type NativeBlock } from './native.ts';
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
  /**
   * With `encode`: encode each `write`'s rows at once and buffer only the bytes (the rows are not
   * kept, so `takeFailedBlock` has none to hand back). Default false.
   */
  encodeOnWrite?: boolean;
  /** Encoded on write: hard cap on buffered bytes (the block in flight aside). Default 16 MiB. */
  maxBufferedBytes?: number;
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
  /** Encoded on write: the block being filled, the full blocks waiting, and the rows and bytes of both. */
  private readonly onWrite: boolean;
  readonly maxBufferedBytes: number;
  private readonly filling = new NativeStream();
  private readonly full: NativeBlock[] = [];
  private pieceRows = 0;
  private pieceBytes = 0;
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
    this.onWrite = opts.encodeOnWrite === true && opts.encode !== undefined;
    this.maxBufferedBytes = opts.maxBufferedBytes ?? 16 * 1_048_576;
    this.tokenPrefix = opts.tokenPrefix ?? `bw-${randomUUID()}`;
  }

  /** Rows waiting to be written (including a failed block). */
  get buffered(): number {
    return this.onWrite ? this.pieceRows + this.retryRows : this.buffer.length;
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
    if (this.onWrite) return this.writeEncoded(rows);
    while (this.buffer.length > 0 && this.buffer.length + rows.length > this.maxBufferedRows) await this.writeAll();
    if (rows.length === 0) return;
    if (this.buffer.length === 0) this.oldestAt = this.clock.now();
    for (const r of rows) this.buffer.push(r);
    if (this.buffer.length >= this.maxRows && !this.inflight) {
      // Errors are reported through events and left for the next flush/write to retry.
      this.writeAll(true).catch(() => undefined);
    }
  }

  /** `write` of a writer that encodes on write: the rows become pieces of at most one block each. */
  private async writeEncoded(rows: readonly Row[]): Promise<void> {
    while (this.buffered > 0 && (this.buffered + rows.length > this.maxBufferedRows || this.pieceBytes > this.maxBufferedBytes)) {
      // Wait for the insert in flight, then start the next full block and go on encoding while the
      // engine writes it: a block in flight and one being filled, no longer a stall for every block.
      if (this.inflight) await this.inflight.catch(() => undefined);
      else if (this.full.length > 0 && !this.retryBlock) this.writeAll(true).catch(() => undefined);
      // A refused block to retry, or only the block being filled: write them now, rejecting if that fails.
      else await this.writeAll();
    }
    if (rows.length === 0) return;
    if (this.buffered === 0) this.oldestAt = this.clock.now();
    for (let at = 0; at < rows.length;) {
      // A piece never crosses a block, so a full block holds exactly maxRows rows.
      const n = Math.min(rows.length - at, this.maxRows - this.filling.rows);
      const piece = this.encode!(rows.slice(at, at + n) as Row[]);
      this.pieceRows += piece.rows;
      this.pieceBytes += piece.bytes.length;
      this.filling.append(piece, this.maxRows);
      if (this.filling.rows >= this.maxRows) this.full.push(this.filling.seal());
      at += n;
    }
    if (this.full.length > 0 && !this.inflight) this.writeAll(true).catch(() => undefined);
  }

  /** Flushes when the oldest buffered row has waited `maxDelayMs`; otherwise does nothing. */
  async tick(): Promise<Receipt | undefined> {
    if (this.buffered === 0 || this.clock.now() - this.oldestAt < this.maxDelayMs) return undefined;
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
    if (this.closed && this.buffered === 0 && !this.inflight) return EMPTY;
    const r = await this.flush();
    this.closed = true;
    return r;
  }

  /**
   * Removes and returns the rows of the block that last failed, for a caller that decides
   * they can never be written (e.g. to dead-letter them). Empty when nothing failed.
   */
  takeFailedBlock(): Row[] {
    if (this.onWrite) {
      // Encoded on write: no rows are kept; the refused block is set aside (dropped) all the same.
      if (this.retryBlock && isNativeBlock(this.retryBlock.data)) releaseBlock(this.retryBlock.data);
      this.retryRows = 0;
      this.retryBlock = undefined;
      return [];
    }
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
    if (this.onWrite) return this.drainEncoded(fullOnly);
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
        throw this.rejected(e, n);
      }
      this.retryRows = 0;
      if (isNativeBlock(this.retryBlock.data)) releaseBlock(this.retryBlock.data);
      this.retryBlock = undefined;
      this.buffer.splice(0, n);
      done = this.landed(done, r);
    }
    return done;
  }

  /** The `write_rejected` error of a refused insert of `rows` rows, reported once. */
  private rejected(e: unknown, rows: number): unknown {
    const err = hasCode(e, 'write_rejected') ? e : new PipelineError('write_rejected',
      `Insert into ${this.table} failed (${rows} rows): ${errorMessage(e)}`, { table: this.table, rows }, { cause: e });
    this.events?.error({ errorCode: 'write_rejected', stage: 'sending', message: errorMessage(err), details: { table: this.table, rows } });
    return err;
  }

  /** Counts a landed insert's receipt (reported, unreported, total) and adds it to `done`. */
  private landed(done: Receipt, r: Receipt): Receipt {
    this.events?.sent(r);
    this.unreported = addReceipt(this.unreported, r);
    this.total = addReceipt(this.total, r);
    return addReceipt(done, r);
  }

  /** `drain` of a writer that encodes on write: the full blocks, then (unless `fullOnly`) the one being filled. */
  private async drainEncoded(fullOnly: boolean): Promise<Receipt> {
    let done = EMPTY;
    while (this.retryBlock || this.full.length > 0 || (!fullOnly && this.filling.rows > 0)) {
      if (!this.retryBlock) {
        const next = this.full.shift() ?? this.filling.seal();
        this.pieceRows -= next.rows;
        this.pieceBytes -= next.bytes.length;
        this.retryRows = next.rows;
        this.retryBlock = { data: next, token: `${this.tokenPrefix}:${++this.blockSeq}` };
      }
      const block = this.retryBlock.data as NativeBlock;
      let r: Receipt;
      try {
        r = await this.store.insertRows(this.table, block, { dedupToken: this.retryBlock.token });
      } catch (e) {
        throw this.rejected(e, block.rows);
      }
      releaseBlock(block);
      this.retryRows = 0;
      this.retryBlock = undefined;
      done = this.landed(done, r);
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
