/**
 * The per-slice counters every OT dissector keeps for one flow: operations by direction, errors,
 * violations, unit ids and the cadence of the initiator's requests. A dissector decodes; this class
 * counts, and writes the counts into the slice's {@link FlowRecord} when flow assembly flushes it.
 */
import { bump, intervals, type FlowRecord, type IntervalSummary } from '../../core/records.ts';

export class L7Slice {
  private ops: Record<string, number> = {};
  private opsRev: Record<string, number> = {};
  private errors: Record<string, number> = {};
  private violations: Record<string, number> = {};
  private units = new Set<number>();
  private gaps: IntervalSummary = intervals.empty();
  private lastRequestTs = -1;

  /**
   * `unitsWhenEmpty`: write `l7Units` (possibly `[]`) whenever `l7` is written, for dissectors whose
   * protocol always addresses a unit (Modbus, IEC 104, DNP3); otherwise only when a unit was seen.
   */
  constructor(private readonly unitsWhenEmpty = false) {}

  /** One operation: the initiator's go to `l7Ops`, the responder's to `l7OpsRev`. */
  op(fromInitiator: boolean, name: string): void {
    bump(fromInitiator ? this.ops : this.opsRev, name);
  }

  /** A protocol error or exception reported by the peer (`l7Errors`). */
  error(name: string): void {
    bump(this.errors, name);
  }

  /** `n` malformed-payload events of one code (`l7Violations`). */
  violation(code: string, n = 1): void {
    bump(this.violations, code, n);
  }

  /** A unit id / station / common address the initiator addressed (`l7Units`). */
  unit(id: number): void {
    this.units.add(id);
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
      rec.l7Ops = this.ops;
      rec.l7OpsRev = this.opsRev;
      if (this.unitsWhenEmpty || this.units.size > 0) rec.l7Units = [...this.units].sort((a, b) => a - b);
      if (Object.keys(this.errors).length > 0) rec.l7Errors = this.errors;
      if (this.gaps.count > 0) rec.requestIntervalsMs = this.gaps;
    }
    if (Object.keys(this.violations).length > 0) rec.l7Violations = this.violations;
    this.reset();
  }

  /** Drops the slice's counts without writing them (a flow found not to be the protocol's). */
  reset(): void {
    this.ops = {};
    this.opsRev = {};
    this.errors = {};
    this.violations = {};
    if (this.units.size > 0) this.units = new Set();
    this.gaps = intervals.empty();
    this.lastRequestTs = -1;
  }
}
