/**
 * Flow assembly: decoded packets → bidirectional, direction-normalised {@link FlowRecord} slices.
 *
 * Key: (proto, the two (address, port) endpoints, unordered). ICMP flows are keyed on addresses and
 * protocol only (echo request and reply share a flow); their `dstPort` is the first packet's
 * type * 256 + code.
 *
 * Initiator (the record's `src`, the client):
 *   1. TCP: the sender of a SYN without ACK; the receiver of a SYN+ACK when the SYN was missed.
 *   2. Otherwise (a TCP flow first seen mid-stream, UDP) the rule of ingest/direction.ts: a side whose
 *      port is a service port (< 1024, or a registered OT/industrial port in `SERVICE_PORTS`) while
 *      the other side's is not is the server; when both or neither are, the lower port is the server;
 *      equal ports: the first packet's sender is the client; to a multicast/broadcast address: the
 *      sender. Such records say so in `fidelity` (`direction_port`, `direction_lower_port`,
 *      `direction_group`).
 *   3. ICMP: the first packet's sender.
 *
 * Records end at:
 *   - slice boundaries: every `sliceMs` of event time, aligned to the 1970 epoch. When a packet's time
 *     first reaches a new slice, every flow with packets in the previous slice is emitted before that
 *     packet is counted, so a record never spans a boundary and downstream event-time windows can close
 *     as soon as they see a newer record. A packet a little late (its time before the current slice)
 *     is counted in the current slice at the slice start time (note `late_packet`).
 *   - idle timeout: no packet for `idleTimeoutMs`; the flow is forgotten.
 *   - active timeout: the record has lasted `activeTimeoutMs`; the flow goes on in a new record.
 *   - TCP close: RST, or FIN from both sides. The flow lingers {@link CLOSE_LINGER_MS} to absorb the
 *     last ACK and retransmissions, then is emitted; a new SYN on the same 5-tuple emits it at once.
 *   - end of input ({@link FlowAssembler.finish}).
 *
 * Record ids (`FlowRecord.id`): `flowId('pcap', file name, n, slice)` where n is the record number in
 * the capture of the record's first packet and slice its `sliceMs` slice: every packet is counted in
 * exactly one record, so ids are distinct within a capture, and the same capture gives the same ids.
 *
 * Emission order is deterministic: within one emission step records are sorted by tsStart, then by
 * flow creation order (itself the order of first packets in the file).
 *
 * Ethernet captures: the first frame's source and destination MACs become the record's `srcMac` / `dstMac`
 * (by the initiator found; a group address is left out), read once per flow.
 *
 * TCP payload is passed in sequence order to the flow's L7 session (see `l7.ts`): retransmitted bytes
 * are trimmed, and a jump forward in sequence is reported as a gap. Bytes already delivered are never
 * dissected again, also after the flow ended: a TCP flow that ends (idle, or closed and lingered)
 * leaves its next sequence numbers in a bounded memory of ended flows ({@link ENDED_FLOWS}), and a
 * flow that starts again on the same 5-tuple without a SYN takes them up, so a retransmission minutes
 * later (tshark, which never forgets a stream, marks it so) is not counted as new operations — when
 * its sequence number is within {@link RETRANSMIT_WINDOW} of where the ended flow had got to; further
 * away it is another connection on the same 5-tuple whose SYN was missed.
 */
import { flowIdAfter, flowIdPrefix, type DirectionNote, type FlowIdPrefix, type FlowRecord } from '../../core/records.ts';
import { dstIsServer, isGroupAddress, portRuleNote } from '../direction.ts';
import { ipString, macAt, type DecodedPacket } from './decode.ts';
import type { L7Analyzer, L7Session } from './l7.ts';

/** Flow-assembly options; all durations in ms of event time. */
export interface FlowOptions {
  /** Records are cut at epoch multiples of this (default 60 000). */
  sliceMs: number;
  /** A flow with no packet for this long is over (default 60 000). */
  idleTimeoutMs: number;
  /** A record is cut after lasting this long (default 1 800 000, as NetFlow exporters do). */
  activeTimeoutMs: number;
}

export const DEFAULT_FLOW_OPTIONS: FlowOptions = { sliceMs: 60_000, idleTimeoutMs: 60_000, activeTimeoutMs: 1_800_000 };

/** How long a closed TCP flow stays to absorb trailing packets before it is emitted. */
export const CLOSE_LINGER_MS = 1_000;

/**
 * Slots of the memory of ended TCP flows: a direct-mapped table by flow-key hash, so remembering and
 * looking up cost a few typed-array stores and no allocation; a later flow whose hash maps to the same
 * slot overwrites it (a retransmission of a flow overwritten so is dissected again, as before).
 */
export const ENDED_FLOWS = 65_536;

/** The flow table starts with 2^this buckets. */
const MIN_BUCKET_BITS = 10;
/** A key hash's bucket: its high bits after one more multiply (`shift` = 32 - log2 buckets). */
const bucketOf = (hash: number, shift: number): number => Math.imul(hash, 0x2c1b3c6d) >>> shift;

/** Slots of the address-text caches (a power of two). */
const TEXT_SLOTS = 4096;
const textSlot = (key: number): number => (Math.imul(key ^ (key >>> 16), 0x45d9f3b) >>> 20) & (TEXT_SLOTS - 1);

/** Ended flow objects kept for reuse at most. */
const SPARE_FLOWS = 16_384;

/**
 * The slot of a key hash: its high bits after one more multiply (the hash's low 16 bits repeat for
 * every client port of a client/server pair: ports << 16 times an odd constant ends in 16 zero bits).
 */
const endedSlot = (hash: number): number => (Math.imul(hash ^ (hash >>> 15), 0x2c1b3c6d) >>> 16) & (ENDED_FLOWS - 1);

/**
 * How far from an ended flow's next sequence number a new segment may be to resume that flow (a
 * retransmission is near; another connection's random initial sequence number is near by 1 chance
 * in 1000). A live flow trims any jump back, as tshark does.
 */
export const RETRANSMIT_WINDOW = 4 * 1024 * 1024;


export { SERVICE_PORTS, dstIsServer, isGroupAddress } from '../direction.ts';

/** Folds a 16-byte IPv6 address into 32 bits for hashing. */
const fold16 = (buf: Buffer, off: number): number =>
  (be32(buf, off) ^ Math.imul(be32(buf, off + 4), 31) ^ Math.imul(be32(buf, off + 8), 961) ^
    Math.imul(be32(buf, off + 12), 29791)) | 0;

/** Unsigned big-endian 32-bit read (bounds checked by the decoder), without Buffer#readUInt32BE's argument validation. */
const be32 = (b: Buffer, p: number): number => b[p]! * 0x1000000 + b[p + 1]! * 0x10000 + b[p + 2]! * 0x100 + b[p + 3]!;

const TCP_FIN = 0x01;
const TCP_SYN = 0x02;
const TCP_RST = 0x04;
const TCP_PSH = 0x08;
const TCP_ACK = 0x10;

interface Flow {
  id: number;
  /** Hash-table key and identity: endpoints A < B (IPv4 as signed 32-bit numbers; IPv6 folded, with full text). */
  hash: number;
  a: number;
  b: number;
  /** A's port << 16 | B's port (signed 32-bit). */
  ports: number;
  /** IPv6 addresses as 16-char latin1 strings (A, B), '' for IPv4. */
  a6: string;
  b6: string;
  /** Next flow in the same hash bucket. */
  chain: Flow | undefined;
  /** Neighbours in the list of every open flow (what slice flushes and sweeps walk). */
  older: Flow | undefined;
  newer: Flow | undefined;
  /** Whether the initiator is the key's first endpoint. */
  initIsA: boolean;
  /** How the direction was inferred when no handshake fixed it, else undefined. */
  dirNote: DirectionNote | undefined;
  srcIp: string;
  dstIp: string;
  srcPort: number;
  dstPort: number;
  proto: number;
  tsStart: number;
  tsEnd: number;
  /** Record number in the capture of the current record's first packet (see `DecodedPacket.index`). */
  firstIndex: number;
  packets: number;
  bytes: number;
  packetsRev: number;
  bytesRev: number;
  tcpFlags: number;
  lastTs: number;
  finInit: boolean;
  finResp: boolean;
  /** Event time the flow closed (RST / both FINs), or -1. */
  closedAt: number;
  l7: L7Session | undefined;
  /** The dissector that created `l7`. */
  analyzer: L7Analyzer | undefined;
  /** Next expected TCP sequence number per direction (initiator, responder), -1 = unknown. */
  nextSeqInit: number;
  nextSeqResp: number;
  /** Ethernet addresses of initiator and responder from the flow's first frame ('' unknown or group). */
  srcMac: string;
  dstMac: string;
}

/** Counters flow assembly writes to (shared with the reader's stats). */
export interface FlowCounters {
  notes: Record<string, number>;
  violations: Record<string, number>;
}

/** Flow table plus emission queue; feed packets in file order with {@link add}, take records with {@link drain}. */
export class FlowAssembler {
  /**
   * Hash buckets by the key hash's high bits, a power of two of them, grown to keep at most two open
   * flows per bucket; collisions chained through `Flow.chain`. (A Map by hash cost a hashed lookup per
   * packet and a set and a delete per flow: 8 % of ingest on connection-per-poll traffic.)
   */
  private table: (Flow | undefined)[] = new Array<Flow | undefined>(1 << MIN_BUCKET_BITS).fill(undefined);
  private bucketShift = 32 - MIN_BUCKET_BITS;
  private size = 0;
  /** The newest open flow; the list of open flows runs through `Flow.older`. */
  private newest: Flow | undefined;
  /** The flow of the previous packet (still in the table), or undefined. */
  private last: Flow | undefined;
  private out: FlowRecord[] = [];
  /**
   * Ended TCP flows with an L7 session (IPv4 keys), direct-mapped by key hash: A, B, ports and the next
   * sequence number of A's and B's side (-1 unknown); a slot with ports 0 and A 0 and B 0 is empty.
   */
  private readonly endedKey = new Int32Array(ENDED_FLOWS * 3);
  private readonly endedNext = new Float64Array(ENDED_FLOWS * 2);
  private endedCount = 0;
  /**
   * Flow objects of ended flows, reused by the next flows: a flow lives long enough to be promoted
   * to V8's old space, so one new object (and its boxed doubles) per connection was old-space garbage
   * per connection on connection-per-poll traffic.
   */
  private readonly spare: Flow[] = [];
  /** The same for L7 sessions whose dissector can `reuse()` them, per dissector. */
  private readonly sessions = new Map<L7Analyzer, L7Session[]>();
  private nextId = 0;
  private slice = Number.NaN;
  private sliceStart = 0;
  private sliceEnd = Number.NEGATIVE_INFINITY;
  private nextSweep = Number.NEGATIVE_INFINITY;
  private readonly sweepEvery: number;
  private readonly activeTimeoutMs: number;
  /** Records emitted so far. */
  emitted = 0;
  /** `flowId('pcap', exporter, …)` with its first two parts hashed once. */
  private readonly idPrefix: FlowIdPrefix;
  /**
   * Address texts by address, direct-mapped (IPv4 as a signed 32-bit key; MAC as 16 + 32 bits): a
   * capture's flows repeat a few hundred hosts, so a flow takes the string of its endpoints from here
   * instead of formatting two addresses and two MACs.
   */
  private readonly ipKey = new Int32Array(TEXT_SLOTS);
  private readonly ipText: (string | undefined)[] = new Array<string | undefined>(TEXT_SLOTS).fill(undefined);
  private readonly macHi = new Int32Array(TEXT_SLOTS);
  private readonly macLo = new Int32Array(TEXT_SLOTS);
  private readonly macText: (string | undefined)[] = new Array<string | undefined>(TEXT_SLOTS).fill(undefined);

  constructor(
    private readonly exporter: string,
    private readonly opts: FlowOptions = DEFAULT_FLOW_OPTIONS,
    private readonly analyzers: readonly L7Analyzer[] = [],
    private readonly counters: FlowCounters = { notes: {}, violations: {} },
  ) {
    if (!(opts.sliceMs > 0) || !(opts.idleTimeoutMs > 0) || !(opts.activeTimeoutMs > 0)) {
      throw new RangeError(`flow options must be positive durations, got ${JSON.stringify(opts)}`);
    }
    this.sweepEvery = Math.min(1_000, opts.idleTimeoutMs / 2);
    this.idPrefix = flowIdPrefix('pcap', exporter);
    this.activeTimeoutMs = opts.activeTimeoutMs;
  }

  /** Counts one decoded IP packet. */
  add(pkt: DecodedPacket): void {
    let ts = pkt.ts;
    // Inside the current slice [sliceStart, sliceEnd) is the common case: two compares, no division.
    if (!(ts >= this.sliceStart && ts < this.sliceEnd)) {
      const slice = Math.floor(ts / this.opts.sliceMs);
      if (Number.isNaN(this.slice) || slice > this.slice) {
        if (!Number.isNaN(this.slice)) this.flushSlice();
        this.slice = slice;
        this.sliceStart = slice * this.opts.sliceMs;
        this.sliceEnd = this.sliceStart + this.opts.sliceMs;
      } else {
        this.counters.notes.late_packet = (this.counters.notes.late_packet ?? 0) + 1;
        ts = this.sliceStart;
        pkt.ts = ts;
      }
    }
    if (ts >= this.nextSweep) {
      this.sweep(ts);
      this.nextSweep = ts + this.sweepEvery;
    }
    this.count(pkt);
  }

  /** Emits every open flow (end of input). */
  finish(): void {
    const all = this.all();
    this.table.fill(undefined);
    this.last = undefined;
    this.size = 0;
    this.newest = undefined;
    for (const f of all) { f.chain = undefined; f.older = undefined; f.newer = undefined; }
    this.emitSorted(all, true);
  }

  /** Takes the records emitted since the last call, in emission order. */
  drain(): FlowRecord[] {
    const o = this.out;
    this.out = [];
    return o;
  }

  /** Open flows (for tests and metrics). */
  get openFlows(): number {
    return this.size;
  }

  /** Counts `pkt` at `pkt.ts` (read from the packet: a double passed as an argument is boxed). */
  private count(pkt: DecodedPacket): void {
    const ts = pkt.ts;
    const proto = pkt.proto;
    const icmp = proto === 1 || proto === 58;
    const sp = icmp ? 0 : pkt.srcPort;
    const dp = icmp ? 0 : pkt.dstPort;
    const buf = pkt.buf;
    let s: number;
    let d: number;
    let s6 = '';
    let d6 = '';
    // Keys are signed 32-bit integers (small integers to V8: no boxing, integer compares); the order
    // of A and B is only internal, so signed comparison is as good as unsigned.
    if (pkt.ipVersion === 4) {
      s = pkt.view.getInt32(pkt.srcOff);
      d = pkt.view.getInt32(pkt.dstOff);
    } else {
      s6 = buf.toString('latin1', pkt.srcOff, pkt.srcOff + 16);
      d6 = buf.toString('latin1', pkt.dstOff, pkt.dstOff + 16);
      s = fold16(buf, pkt.srcOff);
      d = fold16(buf, pkt.dstOff);
    }
    const srcIsA = s < d || (s === d && (s6 < d6 || (s6 === d6 && sp <= dp)));
    const a = srcIsA ? s : d;
    const b = srcIsA ? d : s;
    const ports = srcIsA ? (sp << 16) | dp : (dp << 16) | sp;
    const a6 = srcIsA ? s6 : d6;
    const b6 = srcIsA ? d6 : s6;
    // A signed 32-bit key stays a small integer: an unsigned one above 2^31 is boxed for Map#get.
    const hash = Math.imul(a, 0x9e3779b1) ^ Math.imul(b ^ 0x5bd1e995, 0x85ebca77) ^ Math.imul(ports, 0xc2b2ae3d) ^ proto;
    // A request and its answer are usually back to back: try the flow of the previous packet first.
    let f = this.last;
    if (!(f && f.a === a && f.b === b && f.ports === ports && f.proto === proto && f.a6 === a6 && f.b6 === b6)) {
      f = this.table[bucketOf(hash, this.bucketShift)];
      while (f && !(f.a === a && f.b === b && f.ports === ports && f.proto === proto && f.a6 === a6 && f.b6 === b6)) f = f.chain;
    }
    const flags = pkt.tcpFlags;
    if (f && f.closedAt >= 0 && proto === 6 && (flags & (TCP_SYN | TCP_ACK)) === TCP_SYN) {
      // Port reuse: a new connection on the 5-tuple of one that closed.
      this.remove(f);
      if (f.packets + f.packetsRev > 0) this.emitSorted([f], true);
      f = undefined;
    }
    if (!f) {
      f = this.create(pkt, srcIsA, ts);
      f.hash = hash; f.a = a; f.b = b; f.ports = ports; f.a6 = a6; f.b6 = b6;
      if (this.size >= 2 * this.table.length) this.grow();
      const bucket = bucketOf(hash, this.bucketShift);
      f.chain = this.table[bucket];
      this.table[bucket] = f;
      f.older = this.newest;
      if (this.newest) this.newest.newer = f;
      this.newest = f;
      this.size++;
      if (proto === 6 && f.l7 && this.endedCount > 0 && !(flags & TCP_SYN)) this.resume(f, pkt.seq, srcIsA);
    } else if (ts - f.tsStart >= this.activeTimeoutMs && f.packets + f.packetsRev > 0) {
      this.emitSorted([f], false);
    }
    this.last = f;
    const fromInit = srcIsA === f.initIsA;
    if (f.packets + f.packetsRev === 0) {
      f.tsStart = ts;
      f.tsEnd = ts;
      f.firstIndex = pkt.index;
    } else {
      if (ts < f.tsStart) f.tsStart = ts;
      if (ts > f.tsEnd) f.tsEnd = ts;
    }
    if (ts > f.lastTs) f.lastTs = ts;
    if (fromInit) { f.packets++; f.bytes += pkt.ipLen; } else { f.packetsRev++; f.bytesRev += pkt.ipLen; }
    if (proto === 6) {
      f.tcpFlags |= flags;
      if (flags & TCP_FIN) { if (fromInit) f.finInit = true; else f.finResp = true; }
      if (f.closedAt < 0 && ((flags & TCP_RST) || (f.finInit && f.finResp))) f.closedAt = ts;
      if (f.l7) this.tcpPayload(f, pkt, fromInit);
    } else if (f.l7 && pkt.payloadLen > 0 && pkt.fragment === 0) {
      f.l7.onPayload(fromInit, buf, pkt.payloadOff, pkt.payloadLen, ts);
    }
  }

  /** Delivers new in-order bytes of a TCP segment to the flow's L7 session. */
  private tcpPayload(f: Flow, pkt: DecodedPacket, fromInit: boolean): void {
    const l7 = f.l7!;
    let next = fromInit ? f.nextSeqInit : f.nextSeqResp;
    const seq = pkt.seq;
    let off = pkt.payloadOff;
    let len = pkt.payloadLen;
    if (pkt.tcpFlags & TCP_SYN) next = (seq + 1) >>> 0;
    else if (next < 0 && len === 1 && !(pkt.tcpFlags & TCP_PSH)) {
      // A TCP keep-alive (one old byte, no PSH) seen before any data of a flow whose SYN was not
      // captured: it carries no new payload, so do not hand it to the dissector.
      next = (seq + 1) >>> 0;
    } else if (len > 0 && pkt.fragment === 0) {
      if (next >= 0) {
        const d = (seq - next) | 0; // signed distance modulo 2^32
        if (d < 0) {
          // Retransmission or overlap: keep only bytes not yet delivered.
          if (-d >= len) len = 0;
          else { off -= d; len += d; }
        } else if (d > 0) l7.onGap(fromInit);
      }
      if (len > 0) {
        l7.onPayload(fromInit, pkt.buf, off, len, pkt.ts);
        next = (seq + pkt.payloadLen) >>> 0;
      }
    }
    if (fromInit) f.nextSeqInit = next; else f.nextSeqResp = next;
  }

  private remove(f: Flow): void {
    if (this.last === f) this.last = undefined;
    const bucket = bucketOf(f.hash, this.bucketShift);
    const head = this.table[bucket];
    if (head === f) {
      this.table[bucket] = f.chain;
    } else {
      let p = head;
      while (p && p.chain !== f) p = p.chain;
      if (p) p.chain = f.chain;
    }
    f.chain = undefined;
    if (f.newer) f.newer.older = f.older; else this.newest = f.older;
    if (f.older) f.older.newer = f.newer;
    f.older = undefined;
    f.newer = undefined;
    this.size--;
  }

  /** Twice the buckets, every open flow rehashed. */
  private grow(): void {
    this.bucketShift--;
    this.table = new Array<Flow | undefined>(this.table.length * 2).fill(undefined);
    for (let f = this.newest; f; f = f.older) {
      const bucket = bucketOf(f.hash, this.bucketShift);
      f.chain = this.table[bucket];
      this.table[bucket] = f;
    }
  }

  /** Every open flow, in no particular order (callers sort). */
  private all(): Flow[] {
    const list: Flow[] = [];
    for (let f = this.newest; f; f = f.older) list.push(f);
    return list;
  }

  private create(pkt: DecodedPacket, srcIsA: boolean, ts: number): Flow {
    const proto = pkt.proto;
    const icmp = proto === 1 || proto === 58;
    let senderIsClient: boolean;
    let dirNote: DirectionNote | undefined;
    const a = pkt.ipVersion === 4 ? this.ipv4Text(pkt.buf, pkt.srcOff, pkt.view.getInt32(pkt.srcOff)) : pkt.srcIp;
    const b = pkt.ipVersion === 4 ? this.ipv4Text(pkt.buf, pkt.dstOff, pkt.view.getInt32(pkt.dstOff)) : pkt.dstIp;
    if (icmp) senderIsClient = true;
    else if (proto === 6 && pkt.tcpFlags & TCP_SYN) senderIsClient = !(pkt.tcpFlags & TCP_ACK);
    else if (isGroupAddress(b) || isGroupAddress(a)) { senderIsClient = isGroupAddress(b); dirNote = 'direction_group'; }
    else { senderIsClient = dstIsServer(pkt.srcPort, pkt.dstPort); dirNote = portRuleNote(pkt.srcPort, pkt.dstPort); }
    const f: Flow = this.spare.pop() ?? {
      id: 0,
      hash: 0, a: 0, b: 0, ports: 0, a6: '', b6: '', chain: undefined, older: undefined, newer: undefined,
      initIsA: senderIsClient === srcIsA,
      dirNote,
      srcIp: senderIsClient ? a : b,
      dstIp: senderIsClient ? b : a,
      srcPort: senderIsClient ? pkt.srcPort : pkt.dstPort,
      dstPort: senderIsClient ? pkt.dstPort : pkt.srcPort,
      proto,
      tsStart: ts,
      tsEnd: ts,
      firstIndex: pkt.index,
      packets: 0, bytes: 0, packetsRev: 0, bytesRev: 0, tcpFlags: 0,
      lastTs: ts,
      finInit: false, finResp: false, closedAt: -1,
      l7: undefined, analyzer: undefined,
      nextSeqInit: -1, nextSeqResp: -1,
      srcMac: '', dstMac: '',
    };
    // A flow object taken from `spare` is set field by field (the literal above only runs when none is).
    f.id = this.nextId++;
    f.hash = 0; f.a = 0; f.b = 0; f.ports = 0; f.a6 = ''; f.b6 = ''; f.chain = undefined; f.older = undefined; f.newer = undefined;
    f.initIsA = senderIsClient === srcIsA;
    f.dirNote = dirNote;
    f.srcIp = senderIsClient ? a : b;
    f.dstIp = senderIsClient ? b : a;
    f.srcPort = senderIsClient ? pkt.srcPort : pkt.dstPort;
    f.dstPort = senderIsClient ? pkt.dstPort : pkt.srcPort;
    f.proto = proto;
    f.tsStart = ts; f.tsEnd = ts; f.firstIndex = pkt.index;
    f.packets = 0; f.bytes = 0; f.packetsRev = 0; f.bytesRev = 0; f.tcpFlags = 0;
    f.lastTs = ts;
    f.finInit = false; f.finResp = false; f.closedAt = -1;
    f.l7 = undefined; f.analyzer = undefined;
    f.nextSeqInit = -1; f.nextSeqResp = -1;
    f.srcMac = ''; f.dstMac = '';
    if (pkt.macOff >= 0) {
      // The first frame's sender and receiver, read once per flow.
      const sender = this.macText6(pkt.buf, pkt.macOff + 6);
      const receiver = this.macText6(pkt.buf, pkt.macOff);
      f.srcMac = senderIsClient ? sender : receiver;
      f.dstMac = senderIsClient ? receiver : sender;
    }
    if (icmp) { f.srcPort = 0; f.dstPort = pkt.dstPort; }
    for (const an of this.analyzers) {
      if (an.matches(proto, f.srcPort, f.dstPort)) { f.l7 = this.sessions.get(an)?.pop() ?? an.create(); f.analyzer = an; break; }
    }
    return f;
  }

  /** The dotted quad of the IPv4 address `key` at `buf[off]`. */
  private ipv4Text(buf: Buffer, off: number, key: number): string {
    const slot = textSlot(key);
    const t = this.ipText[slot];
    if (t !== undefined && this.ipKey[slot] === key) return t;
    const text = ipString(buf, off, 4);
    this.ipKey[slot] = key;
    this.ipText[slot] = text;
    return text;
  }

  /** {@link macAt} of `buf[off, off + 6)`. */
  private macText6(buf: Buffer, off: number): string {
    const hi = (buf[off]! << 8) | buf[off + 1]!;
    const lo = (buf[off + 2]! << 24) | (buf[off + 3]! << 16) | (buf[off + 4]! << 8) | buf[off + 5]!;
    const slot = textSlot(lo ^ Math.imul(hi, 0x9e3779b1));
    const t = this.macText[slot];
    if (t !== undefined && this.macLo[slot] === lo && this.macHi[slot] === hi) return t;
    const text = macAt(buf, off);
    this.macHi[slot] = hi;
    this.macLo[slot] = lo;
    this.macText[slot] = text;
    return text;
  }

  /** Emits every flow with packets in the slice that just ended. */
  private flushSlice(): void {
    const live: Flow[] = [];
    for (let f = this.newest; f; f = f.older) if (f.packets + f.packetsRev > 0) live.push(f);
    this.emitSorted(live, false);
  }

  /** Emits and forgets idle flows and closed flows past their linger. */
  private sweep(now: number): void {
    const done: Flow[] = [];
    const idle = this.opts.idleTimeoutMs;
    for (let f = this.newest; f; f = f.older) {
      if (now - f.lastTs >= idle || (f.closedAt >= 0 && now - f.closedAt >= CLOSE_LINGER_MS)) done.push(f);
    }
    for (const f of done) {
      this.remove(f);
      if (f.proto === 6 && f.l7 && (f.nextSeqInit >= 0 || f.nextSeqResp >= 0)) this.remember(f);
    }
    this.emitSorted(done, true);
    for (const f of done) {
      const l7 = f.l7, an = f.analyzer;
      if (l7?.reuse && an) {
        let pool = this.sessions.get(an);
        if (!pool) this.sessions.set(an, (pool = []));
        if (pool.length < SPARE_FLOWS) { l7.reuse(); pool.push(l7); }
      }
      f.l7 = undefined; f.analyzer = undefined;
      if (this.spare.length < SPARE_FLOWS) this.spare.push(f);
    }
  }

  /** Keeps where an ending TCP flow's byte streams had got to (see the file comment). IPv4 only. */
  private remember(f: Flow): void {
    if (f.a6 !== '') return;
    const slot = endedSlot(f.hash);
    const k = this.endedKey;
    k[slot * 3] = f.a; k[slot * 3 + 1] = f.b; k[slot * 3 + 2] = f.ports;
    this.endedNext[slot * 2] = f.initIsA ? f.nextSeqInit : f.nextSeqResp;
    this.endedNext[slot * 2 + 1] = f.initIsA ? f.nextSeqResp : f.nextSeqInit;
    this.endedCount++;
  }

  /**
   * A TCP flow starting without a SYN takes up the sequence state of an ended flow of the same
   * 5-tuple, when its first segment's sequence number `seq` (sent by A when `fromA`) is near where
   * that side had got to.
   */
  private resume(f: Flow, seq: number, fromA: boolean): void {
    if (f.a6 !== '') return;
    const slot = endedSlot(f.hash);
    const k = this.endedKey;
    if (k[slot * 3] !== f.a || k[slot * 3 + 1] !== f.b || k[slot * 3 + 2] !== f.ports) return;
    const nextA = this.endedNext[slot * 2]!, nextB = this.endedNext[slot * 2 + 1]!;
    k[slot * 3] = 0; k[slot * 3 + 1] = 0; k[slot * 3 + 2] = 0; // taken
    const next = fromA ? nextA : nextB;
    if (next < 0 || Math.abs((seq - next) | 0) > RETRANSMIT_WINDOW) return;
    f.nextSeqInit = f.initIsA ? nextA : nextB;
    f.nextSeqResp = f.initIsA ? nextB : nextA;
  }


  private emitSorted(list: Flow[], final: boolean): void {
    if (list.length > 1) list.sort((x, y) => x.tsStart - y.tsStart || x.id - y.id);
    for (const f of list) {
      if (f.packets + f.packetsRev === 0) {
        // Nothing since the last record; only the L7 session's end-of-flow checks remain.
        if (final && f.l7) this.l7Violations(f, final);
        continue;
      }
      this.out.push(this.record(f, final));
    }
  }

  /** Runs an L7 flush whose record has no packets: only violations are kept (counted in stats). */
  private l7Violations(f: Flow, final: boolean): void {
    const rec = this.blank(f);
    f.l7!.flush(rec, final);
    this.countL7(rec);
  }

  private blank(f: Flow): FlowRecord {
    const rec: FlowRecord = {
      id: '', tsStart: f.tsStart, tsEnd: f.tsEnd,
      srcIp: f.srcIp, srcPort: f.srcPort, dstIp: f.dstIp, dstPort: f.dstPort, proto: f.proto,
      packets: f.packets, bytes: f.bytes, packetsRev: f.packetsRev, bytesRev: f.bytesRev,
      tcpFlags: f.tcpFlags, exporter: this.exporter, observationDomain: 0, source: 'pcap',
    };
    // Assigned, not spread from a literal: the same key order, without a temporary object per record.
    if (f.srcMac) rec.srcMac = f.srcMac;
    if (f.dstMac) rec.dstMac = f.dstMac;
    return rec;
  }

  private countL7(rec: FlowRecord): void {
    if (!rec.l7Violations) return;
    for (const [k, v] of Object.entries(rec.l7Violations)) this.counters.violations[k] = (this.counters.violations[k] ?? 0) + v;
  }

  private record(f: Flow, final: boolean): FlowRecord {
    const rec = this.blank(f);
    rec.id = flowIdAfter(this.idPrefix, f.firstIndex, Math.floor(f.tsStart / this.opts.sliceMs));
    if (f.l7) {
      f.l7.flush(rec, final);
      this.countL7(rec);
    }
    if (f.dirNote !== undefined) rec.fidelity = [f.dirNote];
    this.emitted++;
    f.packets = 0; f.bytes = 0; f.packetsRev = 0; f.bytesRev = 0; f.tcpFlags = 0;
    return rec;
  }
}
