/**
 * IEC 60870-5-104 APDU: APCI + optional ASDU (IEC 60870-5-104 §5; ASDU per IEC 60870-5-101 §7 with the
 * 104 field sizes of §8: two-octet cause, two-octet common address, three-octet IOA).
 *
 *   off len field        notes
 *   0   1   start        0x68, else violation 'iec104_start'; parsing resumes at the next 0x68 of the segment
 *                        (as Wireshark does), once per skipped run
 *   1   1   length L     octets after this field: 4 … 253, else 'iec104_length'; resumes at the next 0x68
 *   2   4   control      format by the first octet's low bits:
 *                          xxxxxxx0 I-format: send/receive sequence numbers, an ASDU follows (L ≥ 10)
 *                          xxxxxx01 S-format: receive sequence number only (L = 4)
 *                          xxxxxx11 U-format: exactly one of STARTDT/STOPDT/TESTFR act/con (L = 4)
 *   6   1   type id      I-format only: ASDU type identification → op name (`M_ME_NC_1` …)
 *   7   1   vsq          SQ bit + number of information objects
 *   8   1   cot          T (0x80), P/N (0x40), cause (6 bits); causes 44–47 and P/N → `l7Errors`
 *   9   1   originator   originator address
 *   10  2   common addr  little-endian → `l7Units`
 *   12  …   objects      not decoded
 *
 * Violations besides the two above: 'iec104_short_asdu' (an I-format APDU with L < 10: counted
 * under its type id when L ≥ 5, as tshark does; not counted when even the type id is missing),
 * 'iec104_bad_length' (an S- or U-format APDU with L ≠ 4), 'iec104_u_function' (a U-format control
 * octet without exactly one function bit), 'iec104_stream_gap' (TCP bytes missing mid-APDU),
 * 'iec104_truncated' (an APDU still incomplete when the flow ends). The APDU is counted in all of
 * these except the start/length/gap/truncated cases.
 *
 * Stream handling: a segment may hold several APDUs and an APDU may span segments; each direction keeps
 * at most one APDU (255 bytes). Both stations send I-frames (monitor and control direction), so ops are
 * counted per direction: `l7Ops` for the initiator (controlling station), `l7OpsRev` for the responder.
 */
import { bump, intervals, type FlowRecord, type IntervalSummary } from '../../../core/records.ts';
import type { L7Analyzer, L7Session } from '../../pcap/l7.ts';
import { S_FRAME, asduTypeName, causeError, uFunctionName } from './codes.ts';
import { Framer } from '../framer.ts';

/** The registered IEC 60870-5-104 port (§10.2). */
export const IEC104_PORT = 2404;
/** Start octet + length octet + largest L. */
export const MAX_APDU = 255;

/** Violation codes (snake_case, closed set). */
export type Iec104Violation =
  | 'iec104_start'
  | 'iec104_length'
  | 'iec104_short_asdu'
  | 'iec104_bad_length'
  | 'iec104_u_function'
  | 'iec104_stream_gap'
  | 'iec104_truncated';

/** One APDU as parsed. */
export type Apdu =
  /** `cot` and `commonAddress` are -1 when the ASDU is too short to hold them. */
  | { format: 'I'; typeId: number; cot: number; commonAddress: number; sendSeq: number; recvSeq: number }
  | { format: 'S'; recvSeq: number }
  | { format: 'U'; u: number };

/** Total APDU length from its first two octets, or a violation. */
export const apduSize = (buf: Buffer, off: number): number | Iec104Violation => {
  if (buf[off] !== 0x68) return 'iec104_start';
  const l = buf[off + 1]!;
  if (l < 4 || l > 253) return 'iec104_length';
  return l + 2;
};

/**
 * Parses one complete APDU `buf[off, off + total)` (start and length already checked by
 * {@link apduSize}). Returns the APDU and, when its body is malformed, the violation too.
 */
/** The next start octet in `buf[from, end)`, or -1: the resync point after a bad APCI. */
export const nextStart = (buf: Buffer, from: number, end: number): number => {
  const i = buf.indexOf(0x68, from);
  return i >= 0 && i < end ? i : -1;
};

export const parseApdu = (buf: Buffer, off: number, total: number): { apdu?: Apdu; violation?: Iec104Violation } => {
  const c1 = buf[off + 2]!;
  const l = total - 2;
  if ((c1 & 0x01) === 0) {
    if (l < 5) return { violation: 'iec104_short_asdu' };
    const full = l >= 10;
    return {
      ...(full ? {} : { violation: 'iec104_short_asdu' as const }),
      apdu: {
        format: 'I',
        typeId: buf[off + 6]!,
        cot: full ? buf[off + 8]! : -1,
        commonAddress: full ? buf.readUInt16LE(off + 10) : -1,
        sendSeq: buf.readUInt16LE(off + 2) >>> 1,
        recvSeq: buf.readUInt16LE(off + 4) >>> 1,
      },
    };
  }
  if ((c1 & 0x03) === 0x01) {
    const apdu: Apdu = { format: 'S', recvSeq: buf.readUInt16LE(off + 4) >>> 1 };
    return l === 4 ? { apdu } : { apdu, violation: 'iec104_bad_length' };
  }
  const u = c1 >>> 2;
  const apdu: Apdu = { format: 'U', u };
  if (l !== 4) return { apdu, violation: 'iec104_bad_length' };
  // Exactly one function bit (a power of two within 6 bits).
  if (u === 0 || (u & (u - 1)) !== 0) return { apdu, violation: 'iec104_u_function' };
  return { apdu };
};

/** Per-flow IEC 104 state: a framer per direction and the counters of the current slice. */
export class Iec104Session implements L7Session {
  private readonly init = new Framer(MAX_APDU, 2, apduSize, nextStart);
  private readonly resp = new Framer(MAX_APDU, 2, apduSize, nextStart);
  private ops: Record<string, number> = {};
  private opsRev: Record<string, number> = {};
  private errors: Record<string, number> = {};
  private violations: Record<string, number> = {};
  private units = new Set<number>();
  private gaps: IntervalSummary = intervals.empty();
  private lastRequestTs = -1;
  private everValid = false;
  private fromInit = true;
  private ts = 0;
  private readonly onFrame = (buf: Buffer, off: number, _kept: number, total: number): void => this.apdu(buf, off, total);
  private readonly onViolation = (code: string): void => { bump(this.violations, code); };

  onPayload(fromInitiator: boolean, buf: Buffer, off: number, len: number, ts: number): void {
    this.fromInit = fromInitiator;
    this.ts = ts;
    (fromInitiator ? this.init : this.resp).push(buf, off, len, this.onFrame, this.onViolation);
  }

  private apdu(buf: Buffer, off: number, total: number): void {
    const { apdu, violation } = parseApdu(buf, off, total);
    if (violation) bump(this.violations, violation);
    if (!apdu) return;
    this.everValid = true;
    let name: string;
    if (apdu.format === 'I') {
      name = asduTypeName(apdu.typeId);
      if (apdu.commonAddress >= 0) this.units.add(apdu.commonAddress);
      const err = apdu.cot >= 0 ? causeError(apdu.cot) : undefined;
      if (err) bump(this.errors, err);
    } else if (apdu.format === 'S') {
      name = S_FRAME;
    } else {
      name = uFunctionName(apdu.u);
    }
    if (this.fromInit) {
      bump(this.ops, name);
      // S-frames are acknowledgements paced by the peer's I-frames (w, t2), not the initiator's cadence.
      if (apdu.format !== 'S') {
        if (this.lastRequestTs >= 0) intervals.add(this.gaps, Math.max(0, this.ts - this.lastRequestTs));
        this.lastRequestTs = this.ts;
      }
    } else {
      bump(this.opsRev, name);
    }
  }

  onGap(fromInitiator: boolean): void {
    const f = fromInitiator ? this.init : this.resp;
    if (f.pending > 0) bump(this.violations, 'iec104_stream_gap');
    f.reset();
  }

  flush(rec: FlowRecord, final: boolean): void {
    if (final) {
      for (const f of [this.init, this.resp]) {
        if (f.pending > 0) bump(this.violations, 'iec104_truncated');
        f.reset();
      }
    }
    if (this.everValid) {
      rec.l7 = 'iec104';
      rec.l7Ops = this.ops;
      rec.l7OpsRev = this.opsRev;
      rec.l7Units = [...this.units].sort((a, b) => a - b);
      if (Object.keys(this.errors).length > 0) rec.l7Errors = this.errors;
      if (this.gaps.count > 0) rec.requestIntervalsMs = this.gaps;
    }
    if (Object.keys(this.violations).length > 0) rec.l7Violations = this.violations;
    this.ops = {};
    this.opsRev = {};
    this.errors = {};
    this.violations = {};
    this.units = new Set();
    this.gaps = intervals.empty();
    this.lastRequestTs = -1;
  }
}

/** IEC 60870-5-104 on TCP port 2404 (either side); labelled 'iec104' once a valid APDU is seen. */
export const iec104Analyzer: L7Analyzer = {
  name: 'iec104',
  matches: (proto, srcPort, dstPort) => proto === 6 && (srcPort === IEC104_PORT || dstPort === IEC104_PORT),
  create: () => new Iec104Session(),
};
