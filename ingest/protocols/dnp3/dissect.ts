/**
 * DNP3 over TCP/UDP port 20000 (IEEE 1815-2012): data-link frames (§9.2) carrying transport segments
 * (§8.2) that carry application fragments (§4.2.2).
 *
 * Data-link frame:
 *   off len field        notes
 *   0   2   start        0x05 0x64, else violation 'dnp3_start'; parsing resumes at the next 0x05 0x64
 *   2   1   length       octets of control + addresses + user data: 5 … 255, else 'dnp3_length'
 *   3   1   control      DIR 0x80 (from master), PRM 0x40 (primary), FCB/FCV or DFC, function (4 bits)
 *   4   2   destination  little-endian
 *   6   2   source       little-endian
 *   8   2   header CRC   CRC-16/DNP over octets 0–7, else 'dnp3_header_crc' (frame not decoded further)
 *   10  …   user data    length − 5 octets in blocks of 16 (the last shorter), each followed by its CRC;
 *                        a bad block CRC is 'dnp3_data_crc' (one per block)
 *
 * A frame without user data (link reset, link status, ack …) counts as `link_<function>`. A primary
 * user-data frame (function 3 or 4) carries one transport segment:
 *
 *   0   1   transport    FIN 0x80, FIR 0x40, sequence (6 bits)
 *   then, in the segment that starts a fragment (FIR):
 *   1   1   app control  FIR, FIN, CON, UNS, sequence (4 bits)
 *   2   1   function     application function code → op name (`read`, `direct_operate` …)
 *   3   2   IIN          responses only (129, 130, 131): IIN1, IIN2; error bits → `l7Errors`
 *
 * One op is counted per application fragment, at its first segment. Segments that continue a fragment
 * are checked for the next transport sequence number ('dnp3_transport_sequence' when one is missing or
 * arrives without a first segment); their bytes are not reassembled. A user-data frame too short for
 * its headers is 'dnp3_short_fragment'.
 *
 * Stream handling (TCP): frames may share or span segments; each direction keeps at most one frame
 * (292 octets). Over UDP each datagram holds whole frames; a partial frame at its end is
 * 'dnp3_truncated', as is a TCP frame still incomplete when the flow ends.
 *
 * Units: the outstation's link address — the destination of frames from the master (DIR = 1) and the
 * source of frames from the outstation (DIR = 0).
 */
import type { FlowRecord } from '../../../core/records.ts';
import type { L7Analyzer, L7Session } from '../../pcap/l7.ts';
import { DNP3_IIN_ERRORS, dnp3Crc, functionName, isResponse, linkFunctionName } from './codes.ts';
import { Framer, type Framing } from '../framer.ts';
import { L7Slice } from '../slice.ts';

/** The registered DNP3 port (IEEE 1815-2012 Annex E). */
export const DNP3_PORT = 20000;
/** Header (10) + 250 octets of user data in 16 blocks, each with a 2-octet CRC. */
export const MAX_FRAME = 292;

/** Violation codes (snake_case, closed set). */
export type Dnp3Violation =
  | 'dnp3_start'
  | 'dnp3_length'
  | 'dnp3_header_crc'
  | 'dnp3_data_crc'
  | 'dnp3_short_fragment'
  | 'dnp3_transport_sequence'
  | 'dnp3_stream_gap'
  | 'dnp3_truncated';

/** Frame length on the wire for a length octet `len` (≥ 5). */
export const frameSize = (len: number): number => {
  const user = len - 5;
  return 10 + user + 2 * Math.ceil(user / 16);
};

/** Total frame length from its first three octets, or a violation. */
export const linkSize = (buf: Buffer, off: number): number | Dnp3Violation => {
  if (buf[off] !== 0x05 || buf[off + 1] !== 0x64) return 'dnp3_start';
  const len = buf[off + 2]!;
  if (len < 5) return 'dnp3_length';
  return frameSize(len);
};

const START = Buffer.from([0x05, 0x64]);

/** The next 0x05 0x64 in `buf[from, end)`, or -1. */
export const nextStart = (buf: Buffer, from: number, end: number): number => {
  const i = buf.indexOf(START, from);
  if (i >= 0 && i + 1 < end) return i;
  // A lone 0x05 at the very end may begin a start split across segments.
  return end > from && buf[end - 1] === 0x05 ? end - 1 : -1;
};

/** Little-endian 16-bit read as byte arithmetic: Buffer#readUInt16LE validates its offset on every call. */
const le16 = (b: Buffer, p: number): number => b[p]! | (b[p + 1]! << 8);

/** Whether the header CRC of the frame at `buf[off…]` (octets 8–9 over 0–7) matches. */
const headerCrcOk = (buf: Buffer, off: number): boolean => dnp3Crc(buf, off, 8) === le16(buf, off + 8);

/** Data blocks of the complete frame `buf[off, off + total)` whose CRC does not match. */
const badDataBlocks = (buf: Buffer, off: number, total: number): number => {
  const userLen = buf[off + 2]! - 5;
  let bad = 0;
  let p = off + 10;
  let u = 0;
  while (u < userLen && p < off + total) {
    const n = Math.min(16, userLen - u);
    if (dnp3Crc(buf, p, n) !== le16(buf, p + n)) bad++;
    u += n;
    p += n + 2;
  }
  return bad;
};

/** Link frames are at most {@link MAX_FRAME} bytes, so every one is kept whole. */
const FRAMING: Framing<Dnp3Violation> = { headerLen: 3, keep: MAX_FRAME, length: linkSize, resync: nextStart, handOver: 'whole' };

interface Side {
  /** Transport sequence expected next inside a fragment, or -1 when no fragment is open. */
  nextSeq: number;
}

/** Per-flow DNP3 state: framing and transport tracking per direction, counters of the current slice. */
export class Dnp3Session implements L7Session {
  private readonly init: Side = { nextSeq: -1 };
  private readonly resp: Side = { nextSeq: -1 };
  private readonly slice = new L7Slice(true);
  private readonly framer = new Framer(FRAMING, (req, buf, off, _kept, total, ts) => this.frame(req, buf, off, total, ts), (v) => this.slice.violation(v));
  private everValid = false;
  /**
   * Link addresses of the last frame from the master (DIR bit set): its source is the master, its
   * destination the outstation; which side of the flow sent it; and what was reported last, so a
   * flow reports its addresses once (`FlowRecord.identity`, via `dnp3_link`), again only when they change.
   */
  private master = -1;
  private outstation = -1;
  private masterIsInit = true;
  private addrTs = 0;
  private reported = -1;

  /** `datagrams`: each payload is one UDP datagram (no frame spans two). */
  constructor(private readonly datagrams = false) {}

  onPayload(fromInitiator: boolean, buf: Buffer, off: number, len: number, ts: number): void {
    this.framer.push(fromInitiator, buf, off, len, ts);
    if (this.datagrams && this.framer.gap(fromInitiator)) this.slice.violation('dnp3_truncated');
  }

  /** One complete frame `buf[off, off + total)` (start and length already checked), read where it lies, without copies. */
  private frame(fromInit: boolean, buf: Buffer, off: number, total: number, ts: number): void {
    if (!headerCrcOk(buf, off)) { this.slice.violation('dnp3_header_crc'); return; }
    this.everValid = true;
    const bad = badDataBlocks(buf, off, total);
    if (bad > 0) this.slice.violation('dnp3_data_crc', bad);
    const control = buf[off + 3]!;
    this.slice.unit(control & 0x80 ? le16(buf, off + 4) : le16(buf, off + 6));
    if (control & 0x80) {
      this.master = le16(buf, off + 6);
      this.outstation = le16(buf, off + 4);
      this.masterIsInit = fromInit;
      this.addrTs = ts;
    }
    const primary = (control & 0x40) !== 0;
    const fc = control & 0x0f;
    if (!(primary && (fc === 3 || fc === 4))) {
      this.slice.op(fromInit, linkFunctionName(primary, fc));
      return;
    }
    this.segment(fromInit, buf, off + 10, buf[off + 2]! - 5, ts);
  }

  /**
   * One transport segment: the frame's user data, `userLen` octets from `u` with a CRC after every 16.
   * Only its first 5 octets are read, all in the first block.
   */
  private segment(fromInit: boolean, buf: Buffer, u: number, userLen: number, ts: number): void {
    if (userLen < 1) { this.slice.violation('dnp3_short_fragment'); return; }
    const th = buf[u]!;
    const fin = (th & 0x80) !== 0;
    const fir = (th & 0x40) !== 0;
    const seq = th & 0x3f;
    const side = fromInit ? this.init : this.resp;
    if (fir) {
      if (side.nextSeq >= 0) this.slice.violation('dnp3_transport_sequence');
      if (userLen < 3) { this.slice.violation('dnp3_short_fragment'); side.nextSeq = -1; return; }
      const func = buf[u + 2]!;
      this.slice.op(fromInit, functionName(func));
      // Confirms (function 0) answer the outstation; they do not pace the flow.
      if (fromInit && func !== 0) this.slice.request(ts);
      if (isResponse(func)) {
        if (userLen < 5) this.slice.violation('dnp3_short_fragment');
        else this.iin((buf[u + 3]! << 8) | buf[u + 4]!);
      }
    } else if (side.nextSeq !== seq) {
      this.slice.violation('dnp3_transport_sequence');
    }
    side.nextSeq = fin ? -1 : (seq + 1) & 0x3f;
  }

  /** The error bits of a response's IIN (IIN1 << 8 | IIN2), as codes.ts iinErrors names them, in its order. */
  private iin(iin: number): void {
    for (let i = 0; i < DNP3_IIN_ERRORS.length; i++) {
      const [bit, name] = DNP3_IIN_ERRORS[i]!;
      if ((iin & bit) !== 0) this.slice.error(name);
    }
  }

  onGap(fromInitiator: boolean): void {
    if (this.framer.gap(fromInitiator)) this.slice.violation('dnp3_stream_gap');
    (fromInitiator ? this.init : this.resp).nextSeq = -1;
  }

  flush(rec: FlowRecord, final: boolean): void {
    if (final) {
      if (this.framer.gap(true)) this.slice.violation('dnp3_truncated');
      if (this.framer.gap(false)) this.slice.violation('dnp3_truncated');
    }
    const key = this.master * 65536 + this.outstation;
    if (this.master >= 0 && key !== this.reported) {
      this.reported = key;
      const m = this.masterIsInit ? 'src' : 'dst';
      this.slice.identity({ side: m, via: 'dnp3_link', ts: this.addrTs, address: String(this.master) });
      // 0xFFF0–0xFFFF are broadcast and reserved addresses (IEEE 1815 §9.2.5.3), not the outstation's own.
      if (this.outstation < 0xfff0) this.slice.identity({ side: m === 'src' ? 'dst' : 'src', via: 'dnp3_link', ts: this.addrTs, address: String(this.outstation) });
    }
    this.slice.flushInto(rec, this.everValid ? 'dnp3' : undefined);
  }
}

const onPort = (srcPort: number, dstPort: number): boolean => srcPort === DNP3_PORT || dstPort === DNP3_PORT;

/** DNP3 over TCP port 20000 (either side); labelled 'dnp3' once a frame with a valid header CRC is seen. */
export const dnp3Analyzer: L7Analyzer = {
  name: 'dnp3',
  matches: (proto, srcPort, dstPort) => proto === 6 && onPort(srcPort, dstPort),
  create: () => new Dnp3Session(false),
};

/** DNP3 over UDP port 20000: the same dissector, one datagram = whole frames. */
export const dnp3UdpAnalyzer: L7Analyzer = {
  name: 'dnp3',
  matches: (proto, srcPort, dstPort) => proto === 17 && onPort(srcPort, dstPort),
  create: () => new Dnp3Session(true),
};
