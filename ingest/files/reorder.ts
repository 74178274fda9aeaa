/**
 * The reorder buffer shared by readers whose rows are not in start-time order (Zeek writes a
 * connection at its end, nfdump and IPFIX files hold flows in export order). Records wait in a
 * min-heap on (tsStart, key) and leave once the input has moved `reorderMs` past them — measured
 * on the latest `tsEnd` read, because a flow is written after it ends — or when the buffer holds
 * `maxBuffered` records (oldest first). A record that starts before one already emitted is not
 * dropped: it goes out in the next batch with its true times and is counted in `stats.late`.
 */
import type { FlowRecord } from '../../core/records.ts';
import type { FileStats } from './csv.ts';

export interface ReorderOptions {
  /** How far (ms of end time) a record waits for earlier-starting ones. Default 600000 (10 min). */
  reorderMs?: number;
  /** Most records held; the oldest leaves first when full. Default 100000. */
  maxBuffered?: number;
}

export const REORDER_DEFAULTS = { reorderMs: 600_000, maxBuffered: 100_000 } as const;

interface Held {
  rec: FlowRecord;
  key: string;
}

const before = (a: Held, b: Held): boolean => a.rec.tsStart < b.rec.tsStart || (a.rec.tsStart === b.rec.tsStart && a.key < b.key);

/** A binary min-heap on (tsStart, key). */
class Heap {
  private readonly h: Held[] = [];
  get size(): number { return this.h.length; }
  peek(): Held | undefined { return this.h[0]; }
  push(x: Held): void {
    const h = this.h;
    h.push(x);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }
  pop(): Held | undefined {
    const h = this.h;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < h.length && before(h[l]!, h[m]!)) m = l;
        if (r < h.length && before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

/** Batches records out of a reorder buffer; `push` returns a batch when one is full. */
export class ReorderQueue {
  private readonly heap = new Heap();
  private readonly reorderMs: number;
  private readonly maxBuffered: number;
  private out: FlowRecord[] = [];
  private lastEmitted = -Infinity;
  private horizon = -Infinity;

  constructor(opts: ReorderOptions, private readonly stats: FileStats, private readonly batch = 512) {
    this.reorderMs = opts.reorderMs ?? REORDER_DEFAULTS.reorderMs;
    this.maxBuffered = opts.maxBuffered ?? REORDER_DEFAULTS.maxBuffered;
    if (!(this.reorderMs >= 0) || !(this.maxBuffered >= 1)) throw new RangeError(`reorderMs must be ≥ 0 and maxBuffered ≥ 1, got ${this.reorderMs} and ${this.maxBuffered}`);
  }

  /** Adds one record (`key` breaks ties deterministically); returns a full batch, if any. */
  push(rec: FlowRecord, key: string): FlowRecord[] | undefined {
    if (rec.tsEnd > this.horizon) this.horizon = rec.tsEnd;
    if (rec.tsStart < this.lastEmitted) {
      this.stats.late += 1;
      this.out.push(rec);
    } else this.heap.push({ rec, key });
    this.release(false);
    if (this.out.length < this.batch) return undefined;
    const b = this.out;
    this.out = [];
    return b;
  }

  /** Everything still held, in order (end of input). */
  flush(): FlowRecord[] {
    this.release(true);
    const b = this.out;
    this.out = [];
    return b;
  }

  private release(all: boolean): void {
    for (let top = this.heap.peek(); top; top = this.heap.peek()) {
      if (!all && this.heap.size <= this.maxBuffered && top.rec.tsStart > this.horizon - this.reorderMs) break;
      this.heap.pop();
      this.out.push(top.rec);
      this.lastEmitted = top.rec.tsStart;
    }
  }
}
