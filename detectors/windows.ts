/**
 * Event-time tumbling windows per conduit and edge, closed by a watermark.
 *
 * - Windows are aligned to epoch multiples of `windowMs`: a flow's `tsStart` picks its window
 *   `[floor(tsStart / windowMs) · windowMs, + windowMs)`. Flow sources slice flows at the same
 *   boundaries, so one slice lands in exactly one window.
 * - Watermark = largest `tsStart` seen − `allowedLatenessMs`. A window closes once the watermark
 *   reaches its end. Closing happens at the end of each `add` batch, but whether a record is late
 *   is decided against the watermark as it stood when the record arrived, so how the input is cut
 *   into batches never changes the result.
 * - A late record (its window ended at or before the watermark) is not added anywhere: it is
 *   counted in `stats.lateRecords` (and per conduit in `stats.lateByConduit`), never folded into
 *   a later window, because that would misstate both windows.
 * - A record that cannot be windowed (non-finite time, missing address) is counted in
 *   `stats.invalidRecords` with the last reason in `stats.lastInvalid`; it never throws.
 * - Closed windows are contiguous: a window with no traffic at all is still closed (and returned
 *   with no conduits), so the engine can score known edges that went quiet. A gap longer than
 *   `maxEmptyWindows` empty windows is skipped (counted in `stats.skippedEmptyWindows`) so two
 *   captures days apart do not produce days of empty windows.
 * - `flush()` closes every open window, at end of input.
 *
 * Each flow's edge is resolved once, in the shared `EdgeTable`; its counters go into the columns
 * of its window (`WindowAcc`, detectors/features.ts). A closed window is handed out until the
 * engine `release`s it, then its columns are reused.
 */
import { PipelineError } from '../core/errors.ts';
import type { FlowRecord } from '../core/records.ts';
import type { EdgeTable } from './edges.ts';
import { WindowAcc, type WindowAccJSON } from './features.ts';

export interface WindowSpec {
  /** Tumbling window length, ms. */
  windowMs: number;
  /** Watermark lag behind the newest event time, ms. */
  allowedLatenessMs: number;
  /** Longest run of empty windows closed one by one before the rest of a gap is skipped. */
  maxEmptyWindows?: number;
}

/** One closed window: the conduits with traffic in it (ids, sorted by conduit name) and their columns. */
export interface ClosedWindow {
  windowStart: number;
  windowEnd: number;
  /** The window's columns, or undefined for a window with no traffic. */
  acc: WindowAcc | undefined;
  conduits: number[];
}

export interface WindowStats {
  records: number;
  lateRecords: number;
  lateByConduit: Record<string, number>;
  invalidRecords: number;
  lastInvalid: string;
  windowsClosed: number;
  skippedEmptyWindows: number;
  /** Current watermark, or null before the first record. */
  watermark: number | null;
}

/** Plain-data state of `FlowWindows` (for engine snapshots). */
export interface FlowWindowsJSON {
  spec: WindowSpec;
  maxEventTime: number | null;
  closedUpTo: number | null;
  open: WindowAccJSON[];
  stats: WindowStats;
}

/** Start of the window holding `ts`. */
export const windowStartOf = (ts: number, windowMs: number): number => Math.floor(ts / windowMs) * windowMs;

/** Tracks max event time; the watermark trails it by the allowed lateness. */
export class Watermark {
  constructor(readonly allowedLatenessMs: number, public maxEventTime = -Infinity) {}
  observe(ts: number): void {
    if (ts > this.maxEventTime) this.maxEventTime = ts;
  }
  get value(): number {
    return this.maxEventTime - this.allowedLatenessMs;
  }
}

const DEFAULT_MAX_EMPTY = 1440;

const invalidReason = (f: FlowRecord): string | undefined => {
  if (typeof f !== 'object' || f === null) return 'record is not an object';
  if (!Number.isFinite(f.tsStart)) return `tsStart ${String(f.tsStart)} is not a finite epoch-ms time`;
  if (typeof f.srcIp !== 'string' || f.srcIp === '' || typeof f.dstIp !== 'string' || f.dstIp === '') return 'srcIp or dstIp is missing';
  if (!Number.isInteger(f.proto) || !Number.isInteger(f.dstPort)) return 'proto or dstPort is not an integer';
  return undefined;
};

export class FlowWindows {
  private readonly watermark: Watermark;
  /** Windows ending at or before this are closed; null before the first close. */
  private closedUpTo: number | null = null;
  /** Open windows by start. */
  private readonly open = new Map<number, WindowAcc>();
  private readonly free: WindowAcc[] = [];
  /** The last batch's open window, looked up without the Map for runs of flows in one window. */
  private lastStart = NaN;
  private lastAcc: WindowAcc | undefined;
  private readonly st: WindowStats = {
    records: 0, lateRecords: 0, lateByConduit: {}, invalidRecords: 0, lastInvalid: '', windowsClosed: 0, skippedEmptyWindows: 0, watermark: null,
  };

  constructor(readonly spec: WindowSpec, readonly edges: EdgeTable) {
    if (!(spec.windowMs > 0) || !(spec.allowedLatenessMs >= 0)) {
      throw new PipelineError('config_invalid', `window (${spec.windowMs} ms) must be > 0 and allowedLateness (${spec.allowedLatenessMs} ms) >= 0; e.g. window 60s, allowedLateness 10s`);
    }
    this.watermark = new Watermark(spec.allowedLatenessMs);
  }

  private accFor(start: number): WindowAcc {
    if (start === this.lastStart && this.lastAcc) return this.lastAcc;
    let acc = this.open.get(start);
    if (!acc) {
      acc = this.free.pop() ?? new WindowAcc();
      acc.reset(start, this.spec.windowMs);
      this.open.set(start, acc);
    }
    this.lastStart = start;
    this.lastAcc = acc;
    return acc;
  }

  /** Adds a batch; returns the windows it closed, oldest first. */
  add(flows: readonly FlowRecord[]): ClosedWindow[] {
    const w = this.spec.windowMs;
    const edges = this.edges;
    for (const f of flows) {
      const bad = invalidReason(f);
      if (bad) {
        this.st.invalidRecords += 1;
        this.st.lastInvalid = bad;
        continue;
      }
      this.st.records += 1;
      const start = windowStartOf(f.tsStart, w);
      const p = edges.pairOf(f.srcIp, f.dstIp);
      if (start + w <= this.watermark.value) {
        const conduit = edges.conduits.list[edges.pairConduit[p]!]!;
        this.st.lateRecords += 1;
        this.st.lateByConduit[conduit] = (this.st.lateByConduit[conduit] ?? 0) + 1;
        continue;
      }
      const e = edges.flowEdge(p, f.proto, f.dstPort, f.l7 === undefined ? 0 : edges.l7s.id(f.l7));
      if (start < edges.firstWindow[e]!) edges.firstWindow[e] = start;
      this.accFor(start).addFlow(e, f, edges);
      this.watermark.observe(f.tsStart);
    }
    return this.closeUpTo(this.watermark.value);
  }

  /**
   * Moves the newest event time to `maxEventTime` without a flow (a watermark from elsewhere) and
   * closes what that closes; an older time is a no-op.
   */
  advanceTo(maxEventTime: number): ClosedWindow[] {
    this.watermark.observe(maxEventTime);
    return this.closeUpTo(this.watermark.value);
  }

  /** Closes every open window (end of input). Records arriving afterwards behind it count as late. */
  flush(): ClosedWindow[] {
    if (this.open.size === 0) return [];
    const last = Math.max(...this.open.keys());
    const closed = this.closeUpTo(last + this.spec.windowMs);
    this.watermark.observe((this.closedUpTo ?? -Infinity) + this.spec.allowedLatenessMs);
    return closed;
  }

  /** Returns a closed window's columns for reuse; the window must not be read afterwards. */
  release(w: ClosedWindow): void {
    if (w.acc && !this.free.includes(w.acc)) this.free.push(w.acc);
    w.acc = undefined;
  }

  private closeUpTo(limit: number): ClosedWindow[] {
    const w = this.spec.windowMs;
    const maxEmpty = this.spec.maxEmptyWindows ?? DEFAULT_MAX_EMPTY;
    const out: ClosedWindow[] = [];
    const openStarts = [...this.open.keys()].filter((s) => s + w <= limit).sort((a, b) => a - b);
    let next = this.closedUpTo ?? openStarts[0];
    if (next === undefined) return out;
    let empties = 0;
    const names = this.edges.conduits.list;
    while (next + w <= limit) {
      const acc = this.open.get(next);
      if (acc) {
        this.open.delete(next);
        if (this.lastAcc === acc) { this.lastAcc = undefined; this.lastStart = NaN; }
        empties = 0;
        acc.group(this.edges);
        const conduits = [...acc.byConduit.keys()].sort((a, b) => (names[a]! < names[b]! ? -1 : names[a]! > names[b]! ? 1 : 0));
        out.push({ windowStart: next, windowEnd: next + w, acc, conduits });
      } else if (empties < maxEmpty) {
        empties += 1;
        out.push({ windowStart: next, windowEnd: next + w, acc: undefined, conduits: [] });
      } else {
        const upcoming = openStarts.find((s) => s > next!);
        const target = upcoming ?? windowStartOf(limit, w) - w;
        const jump = Math.max(next + w, target);
        this.st.skippedEmptyWindows += (jump - next) / w;
        next = jump;
        this.closedUpTo = next;
        continue;
      }
      next += w;
      this.closedUpTo = next;
    }
    this.st.windowsClosed += out.length;
    return out;
  }

  /** Largest flow start seen so far (epoch ms), null before the first record: how far the input has reached. */
  get maxEventTime(): number | null {
    const m = this.watermark.maxEventTime;
    return Number.isFinite(m) ? m : null;
  }

  stats(): WindowStats {
    const wm = this.watermark.value;
    return { ...this.st, lateByConduit: { ...this.st.lateByConduit }, watermark: Number.isFinite(wm) ? wm : null };
  }

  toJSON(): FlowWindowsJSON {
    const open = [...this.open.keys()].sort((a, b) => a - b).map((s) => this.open.get(s)!.toJSON());
    const m = this.watermark.maxEventTime;
    return { spec: { ...this.spec }, maxEventTime: Number.isFinite(m) ? m : null, closedUpTo: this.closedUpTo, open, stats: this.stats() };
  }

  static fromJSON(j: FlowWindowsJSON, edges: EdgeTable): FlowWindows {
    const fw = new FlowWindows(j.spec, edges);
    fw.watermark.maxEventTime = j.maxEventTime ?? -Infinity;
    fw.closedUpTo = j.closedUpTo;
    for (const o of j.open) {
      const acc = new WindowAcc();
      acc.load(o, j.spec.windowMs);
      fw.open.set(o.windowStart, acc);
    }
    Object.assign(fw.st, { ...j.stats, lateByConduit: { ...j.stats.lateByConduit } });
    return fw;
  }
}
