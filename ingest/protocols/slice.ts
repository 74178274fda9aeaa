/**
 * The per-slice counters every OT dissector keeps for one flow: operations by direction, errors,
 * violations, unit ids and the cadence of the initiator's requests. A dissector decodes; this class
 * counts, and writes the counts into the slice's {@link FlowRecord} when flow assembly flushes it.
 */
import { bump, intervals, type FlowRecord, type IdentityReport, type IntervalSummary } from '../../core/records.ts';

/** Identity reports kept per slice (distinct contents; the rest are dropped, they repeat a poll). */
export const MAX_IDENTITY_REPORTS = 8;

/**
 * Operation counts in first-seen order. A flow slice sees a handful of distinct operations, counted
 * millions of times: a scan of a short array of (usually identical) name strings is cheaper than a
 * keyed property update. Past {@link OpCounts.SCAN} names an index map takes over.
 */
export class OpCounts {
  static readonly SCAN = 16;
  /** Slots [0, n) are this slice's; the arrays are never shrunk (clearing is `n = 0`, not a length store). */
  private readonly names: string[] = [];
  private readonly counts: number[] = [];
  private n = 0;
  private index: Map<string, number> | undefined;

  add(name: string): void {
    const names = this.names;
    const n = this.n;
    if (this.index === undefined) {
      for (let i = 0; i < n; i++) {
        if (names[i] === name) { this.counts[i]!++; return; }
      }
      if (n === OpCounts.SCAN) this.index = new Map(names.slice(0, n).map((x, i) => [x, i]));
    } else {
      const i = this.index.get(name);
      if (i !== undefined) { this.counts[i]!++; return; }
    }
    this.index?.set(name, n);
    names[n] = name;
    this.counts[n] = 1;
    this.n = n + 1;
  }

  /** Forgets every count (the arrays are never handed out: {@link toRecord} copies). */
  clear(): void {
    this.n = 0;
    this.index = undefined;
  }

  /** The counts as a record, keys in first-seen order. */
  toRecord(): Record<string, number> {
    const r: Record<string, number> = {};
    for (let i = 0; i < this.n; i++) r[this.names[i]!] = this.counts[i]!;
    return r;
  }
}

/** Distinct units a slice scans for before it keeps a set. */
const UNIT_SCAN = 16;

export class L7Slice {
  private ops = new OpCounts();
  private opsRev = new OpCounts();
  private errors: Record<string, number> = {};
  private violations: Record<string, number> = {};
  /** Bumps of `errors` / `violations` in this slice: whether they are handed to the record. */
  private nErrors = 0;
  private nViolations = 0;
  /**
   * Distinct units of the slice in [0, nUnits) (a slice addresses one or a few: a scan, and no Set whose
   * clear() allocates a new table per flow); past {@link UNIT_SCAN} a set answers membership.
   */
  private readonly unitIds: number[] = [];
  private nUnits = 0;
  private unitSet: Set<number> | undefined;
  private gaps: IntervalSummary = intervals.empty();
  private lastRequestTs = -1;
  /** The unit added last (most requests repeat it), -1 for none. */
  private lastUnit = -1;
  /** Identity reports of the slice (rare: only identification messages make them). */
  private ids: IdentityReport[] | undefined;

  /**
   * `unitsWhenEmpty`: write `l7Units` (possibly `[]`) whenever `l7` is written, for dissectors whose
   * protocol always addresses a unit (Modbus, IEC 104, DNP3); otherwise only when a unit was seen.
   */
  constructor(private readonly unitsWhenEmpty = false) {}

  /** One operation: the initiator's go to `l7Ops`, the responder's to `l7OpsRev`. */
  op(fromInitiator: boolean, name: string): void {
    (fromInitiator ? this.ops : this.opsRev).add(name);
  }

  /** A protocol error or exception reported by the peer (`l7Errors`). */
  error(name: string): void {
    bump(this.errors, name);
    this.nErrors++;
  }

  /** `n` malformed-payload events of one code (`l7Violations`). */
  violation(code: string, n = 1): void {
    bump(this.violations, code, n);
    this.nViolations++;
  }

  /** A unit id / station / common address the initiator addressed (`l7Units`). */
  unit(id: number): void {
    if (id === this.lastUnit) return;
    this.lastUnit = id;
    const n = this.nUnits;
    if (this.unitSet !== undefined) {
      if (this.unitSet.has(id)) return;
      this.unitSet.add(id);
    } else {
      const ids = this.unitIds;
      for (let i = 0; i < n; i++) if (ids[i] === id) return;
      if (n === UNIT_SCAN) this.unitSet = new Set([...ids.slice(0, n), id]);
    }
    this.unitIds[n] = id;
    this.nUnits = n + 1;
  }

  /**
   * A device identity the payload revealed (`FlowRecord.identity`). A report with the same side, message
   * and fields as one already in the slice is dropped (a device polled for its identity repeats it).
   */
  identity(r: IdentityReport): void {
    const ids = (this.ids ??= []);
    if (ids.length >= MAX_IDENTITY_REPORTS) return;
    const key = identityKey(r);
    if (!ids.some((x) => identityKey(x) === key)) ids.push(r);
  }

  /** An initiator request at `ts` (epoch ms) that paces the flow: adds the gap since the previous one. */
  request(ts: number): void {
    if (this.lastRequestTs >= 0) intervals.add(this.gaps, Math.max(0, ts - this.lastRequestTs));
    this.lastRequestTs = ts;
  }

  /**
   * Writes the slice into `rec` and starts a new one. With `l7` (the flow is known to carry the
   * protocol): `l7`, `l7Ops`, `l7OpsRev` (even when empty), then `l7Units` (sorted), `l7Errors` and
   * `requestIntervalsMs` when not empty. `l7Violations` is written when not empty, with or without `l7`.
   */
  flushInto(rec: FlowRecord, l7: string | undefined): void {
    if (l7 !== undefined) {
      rec.l7 = l7;
      rec.l7Ops = this.ops.toRecord();
      rec.l7OpsRev = this.opsRev.toRecord();
      if (this.unitsWhenEmpty || this.nUnits > 0) rec.l7Units = this.unitList();
      if (this.nErrors > 0) rec.l7Errors = this.errors;
      if (this.gaps.count > 0) rec.requestIntervalsMs = this.gaps;
      if (this.ids) rec.identity = this.ids;
    }
    if (this.nViolations > 0) rec.l7Violations = this.violations;
    this.reset();
  }

  /** `l7Units`: the slice's units, sorted (most slices address one unit, the one added last). */
  private unitList(): number[] {
    const n = this.nUnits;
    if (n === 0) return [];
    if (n === 1) return [this.unitIds[0]!];
    return this.unitIds.slice(0, n).sort((a, b) => a - b);
  }

  /** Drops the slice's counts without writing them (a flow found not to be the protocol's). */
  reset(): void {
    // Only what a record may hold is replaced; the rest is cleared in place (a connection-per-poll
    // flow flushes once per connection, and each allocation here was garbage per flow).
    this.ops.clear();
    this.opsRev.clear();
    if (this.nErrors > 0) { this.errors = {}; this.nErrors = 0; }
    if (this.nViolations > 0) { this.violations = {}; this.nViolations = 0; }
    this.nUnits = 0;
    this.unitSet = undefined;
    this.lastUnit = -1;
    if (this.gaps.count > 0) this.gaps = intervals.empty();
    this.lastRequestTs = -1;
    this.ids = undefined;
  }
}

/** A report's content without its time: what makes two reports the same. */
const identityKey = (r: IdentityReport): string => JSON.stringify({ ...r, ts: 0 });
