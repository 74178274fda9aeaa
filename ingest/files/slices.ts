/**
 * Aggregates message records (one per APDU/PDU) into FlowRecords per (conversation, event-time
 * slice). Slices are epoch-aligned multiples of `sliceMs`, so a record never spans a boundary.
 * A slice is emitted once a message at or past its end arrives, and everything at `flush()`;
 * emitted records are ordered by `tsStart`, ties by conversation key, so output is deterministic.
 */
import { flowId, intervals, bump, type FlowRecord, type IntervalSummary } from '../../core/records.ts';

/** One decoded message record, already direction-normalised (client = initiator = `src`). */
export interface Message {
  /** Event time, epoch ms (may carry a fraction). */
  ts: number;
  clientIp: string;
  clientPort: number;
  serverIp: string;
  serverPort: number;
  /** True when the client sent it. */
  fromClient: boolean;
  /** IP total length of the packet that carried it. */
  ipLen: number;
  /**
   * False when this row is a further APDU of the IP packet of the previous row (the probe writes
   * one row per APDU and repeats the packet's time and ipLen), so packets/bytes count it once.
   */
  newPacket: boolean;
  /** Operation name counted in `l7Ops` (client) or `l7OpsRev` (server). */
  op: string;
  /** Protocol error name counted in `l7Errors`, if any. */
  error?: string;
  /** Unit / ASDU address counted in `l7Units`, if any. */
  unit?: number;
  /** Whether a client message takes part in `requestIntervalsMs`. */
  cadence: boolean;
  /** The row's line number in its file: a slice's id is its file and the line of its first row. */
  line: number;
}

interface Slice {
  key: string;
  end: number;
  first: Message;
  tsStart: number;
  tsEnd: number;
  packets: number;
  bytes: number;
  packetsRev: number;
  bytesRev: number;
  ops: Record<string, number>;
  opsRev: Record<string, number>;
  errors: Record<string, number>;
  units: Set<number>;
  gaps: IntervalSummary;
  lastCadenceTs: number | undefined;
  /** Whether the client's current packet already counted for cadence (one gap per packet). */
  packetTimed: boolean;
}

const sortedCounts = (m: Record<string, number>): Record<string, number> =>
  Object.fromEntries(Object.entries(m).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

/** Rounds an interval to µs so float noise from epoch arithmetic does not leak into output. */
const micro = (ms: number): number => Math.round(ms * 1000) / 1000;

export class SliceAggregator {
  private readonly open = new Map<string, Slice>();
  private watermark = -Infinity;
  private nextEnd = Infinity;

  constructor(private readonly sliceMs: number, private readonly base: { exporter: string; l7: string }) {
    if (!Number.isInteger(sliceMs) || sliceMs <= 0) throw new RangeError(`sliceMs must be a positive integer, got ${sliceMs}`);
  }

  /** True when `ts` falls in a slice that was already emitted (the row came too late to count). */
  isLate(ts: number): boolean {
    return Math.floor(ts / this.sliceMs) * this.sliceMs + this.sliceMs <= this.watermark;
  }

  /** Adds one message; returns the records of the slices it closed (possibly none). Check `isLate` first. */
  push(m: Message): FlowRecord[] {
    if (m.ts > this.watermark) this.watermark = m.ts;
    const closed = m.ts >= this.nextEnd ? this.close(m.ts) : [];
    const start = Math.floor(m.ts / this.sliceMs) * this.sliceMs;
    const conv = `${m.clientIp}|${m.clientPort}|${m.serverIp}|${m.serverPort}`;
    const key = `${start}|${conv}`;
    let s = this.open.get(key);
    if (!s) {
      s = {
        key: conv, end: start + this.sliceMs, first: m, tsStart: m.ts, tsEnd: m.ts,
        packets: 0, bytes: 0, packetsRev: 0, bytesRev: 0, ops: {}, opsRev: {}, errors: {},
        units: new Set(), gaps: intervals.empty(), lastCadenceTs: undefined, packetTimed: false,
      };
      this.open.set(key, s);
      if (s.end < this.nextEnd) this.nextEnd = s.end;
    }
    this.add(s, m);
    return closed;
  }

  /** Emits every open slice (end of input). */
  flush(): FlowRecord[] {
    return this.close(Infinity);
  }

  private add(s: Slice, m: Message): void {
    if (m.ts < s.tsStart) s.tsStart = m.ts;
    if (m.ts > s.tsEnd) s.tsEnd = m.ts;
    // A continuation APDU of the same packet never opens a slice (same time), but guard anyway.
    const newPacket = m.newPacket || (m.fromClient ? s.packets : s.packetsRev) === 0;
    if (m.fromClient) {
      if (newPacket) { s.packets += 1; s.bytes += m.ipLen; s.packetTimed = false; }
      bump(s.ops, m.op);
      if (m.cadence && !s.packetTimed) {
        if (s.lastCadenceTs !== undefined) intervals.add(s.gaps, micro(m.ts - s.lastCadenceTs));
        s.lastCadenceTs = m.ts;
        s.packetTimed = true;
      }
    } else {
      if (newPacket) { s.packetsRev += 1; s.bytesRev += m.ipLen; }
      bump(s.opsRev, m.op);
    }
    if (m.error) bump(s.errors, m.error);
    if (m.unit !== undefined) s.units.add(m.unit);
  }

  private close(upTo: number): FlowRecord[] {
    const done: Slice[] = [];
    let nextEnd = Infinity;
    for (const [k, s] of this.open) {
      if (s.end <= upTo) { done.push(s); this.open.delete(k); } else if (s.end < nextEnd) nextEnd = s.end;
    }
    this.nextEnd = nextEnd;
    done.sort((a, b) => a.tsStart - b.tsStart || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return done.map((s) => this.toRecord(s));
  }

  private toRecord(s: Slice): FlowRecord {
    const m = s.first;
    const r: FlowRecord = {
      id: flowId('rows', this.base.exporter, m.line),
      tsStart: Math.floor(s.tsStart),
      tsEnd: Math.floor(s.tsEnd),
      srcIp: m.clientIp, srcPort: m.clientPort, dstIp: m.serverIp, dstPort: m.serverPort,
      proto: 6,
      packets: s.packets, bytes: s.bytes, packetsRev: s.packetsRev, bytesRev: s.bytesRev,
      // The probe exports no TCP flags.
      tcpFlags: 0,
      exporter: this.base.exporter, observationDomain: 0, source: 'file',
      l7: this.base.l7,
      l7Ops: sortedCounts(s.ops),
      l7OpsRev: sortedCounts(s.opsRev),
    };
    if (Object.keys(s.errors).length > 0) r.l7Errors = sortedCounts(s.errors);
    if (s.units.size > 0) r.l7Units = [...s.units].sort((a, b) => a - b);
    if (s.gaps.count > 0) r.requestIntervalsMs = { ...s.gaps };
    return r;
  }
}
