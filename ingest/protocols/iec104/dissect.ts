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
import type { FlowRecord } from '../../../core/records.ts';
import type { L7Analyzer, L7Session } from '../../pcap/l7.ts';
import { S_FRAME, asduTypeName, causeError, uFunctionName } from './codes.ts';
import { Framer, type Framing } from '../framer.ts';
import { L7Slice } from '../slice.ts';

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

/** Total APDU length from its first two octets, or a violation. */
export const apduSize = (buf: Buffer, off: number): number | Iec104Violation => {
  if (buf[off] !== 0x68) return 'iec104_start';
  const l = buf[off + 1]!;
  if (l < 4 || l > 253) return 'iec104_length';
  return l + 2;
};

/** The next start octet in `buf[from, end)`, or -1: the resync point after a bad APCI. */
export const nextStart = (buf: Buffer, from: number, end: number): number => {
  const i = buf.indexOf(0x68, from);
  return i >= 0 && i < end ? i : -1;
};

/** Little-endian 16-bit read as byte arithmetic: Buffer#readUInt16LE validates its offset on every call. */
const le16 = (b: Buffer, p: number): number => b[p]! | (b[p + 1]! << 8);

/** APDUs are at most {@link MAX_APDU} bytes, so every one is kept whole. */
const FRAMING: Framing<Iec104Violation> = { headerLen: 2, keep: MAX_APDU, length: apduSize, resync: nextStart, handOver: 'whole' };

/** Per-flow IEC 104 state: framing of both directions and the counters of the current slice. */
export class Iec104Session implements L7Session {
  private readonly slice = new L7Slice(true);
  private readonly framer = new Framer(FRAMING, (req, buf, off, _kept, total, ts) => this.apdu(req, buf, off, total, ts), (v) => this.slice.violation(v));
  private everValid = false;

  onPayload(fromInitiator: boolean, buf: Buffer, off: number, len: number, ts: number): void {
    this.framer.push(fromInitiator, buf, off, len, ts);
  }

  /**
   * One complete APDU `buf[off, off + total)` (start and length already checked by {@link apduSize}),
   * classified in place: no object per APDU.
   */
  private apdu(fromInit: boolean, buf: Buffer, off: number, total: number, ts: number): void {
    const c1 = buf[off + 2]!;
    const l = total - 2;
    let name: string;
    if ((c1 & 0x01) === 0) {
      if (l < 5) { this.slice.violation('iec104_short_asdu'); return; }
      const full = l >= 10;
      if (!full) this.slice.violation('iec104_short_asdu');
      this.everValid = true;
      name = asduTypeName(buf[off + 6]!);
      if (full) {
        this.slice.unit(le16(buf, off + 10));
        const err = causeError(buf[off + 8]!);
        if (err) this.slice.error(err);
      }
      this.slice.op(fromInit, name);
      if (fromInit) this.slice.request(ts);
      return;
    }
    if ((c1 & 0x03) === 0x01) {
      if (l !== 4) this.slice.violation('iec104_bad_length');
      this.everValid = true;
      // S-frames are acknowledgements paced by the peer's I-frames (w, t2), not the initiator's cadence.
      this.slice.op(fromInit, S_FRAME);
      return;
    }
    const u = c1 >>> 2;
    if (l !== 4) this.slice.violation('iec104_bad_length');
    // Exactly one function bit (a power of two within 6 bits).
    else if (u === 0 || (u & (u - 1)) !== 0) this.slice.violation('iec104_u_function');
    this.everValid = true;
    this.slice.op(fromInit, uFunctionName(u));
    if (fromInit) this.slice.request(ts);
  }

  onGap(fromInitiator: boolean): void {
    if (this.framer.gap(fromInitiator)) this.slice.violation('iec104_stream_gap');
  }

  flush(rec: FlowRecord, final: boolean): void {
    if (final) {
      if (this.framer.gap(true)) this.slice.violation('iec104_truncated');
      if (this.framer.gap(false)) this.slice.violation('iec104_truncated');
    }
    this.slice.flushInto(rec, this.everValid ? 'iec104' : undefined);
  }
}

/** IEC 60870-5-104 on TCP port 2404 (either side); labelled 'iec104' once a valid APDU is seen. */
export const iec104Analyzer: L7Analyzer = {
  name: 'iec104',
  matches: (proto, srcPort, dstPort) => proto === 6 && (srcPort === IEC104_PORT || dstPort === IEC104_PORT),
  create: () => new Iec104Session(),
};
