/**
 * S7comm and S7comm-plus over ISO-on-TCP, port 102: TPKT (RFC 1006) → COTP (ISO 8073 class 0) → S7.
 *
 * TPKT:
 *   off len field        notes
 *   0   1   version      3, else violation 's7comm_tpkt' (the rest of the segment is dropped)
 *   1   1   reserved
 *   2   2   length       whole TPKT incl. this header, ≥ 7, else 's7comm_tpkt'
 * COTP (from off 4):
 *   4   1   li           header length after this octet; must fit the TPKT, else 's7comm_cotp'
 *   5   1   type         high nibble: 0xE CR, 0xD CC, 0x8 DR, 0xC DC, 0x7 ER → ops `cotp_cr` … ;
 *                        0xF DT (data) → below; anything else is not counted
 *   6   1   DT: EOT/nr   0x80 = last TPDU of the TSDU; DT data follows the COTP header
 *
 * DT data is gathered per direction until EOT into one TSDU (only its first 64 octets are kept, the rest
 * is counted; a TSDU in a single DT is read where it lies, not copied). A complete TSDU is:
 *
 * S7comm (first octet 0x32):
 *   0   1   protocol id  0x32
 *   1   1   ROSCTR       1 job, 2 ack, 3 ack_data, 7 userdata
 *   2   2   redundancy id
 *   4   2   PDU reference
 *   6   2   parameter length
 *   8   2   data length  header + parameter + data ≠ TSDU length: 's7comm_length_mismatch'
 *   10  1   error class  ack / ack_data only; non-zero class or code → `l7Errors`
 *   11  1   error code
 *   then the parameter: job / ack_data: function (1 octet) → op `read_var` …;
 *   userdata: head (3) | length (1) | method (1) | type + group (1) | subfunction (1) | sequence (1)
 *             [| data unit ref (1) | last unit (1) | error code (2), responses] → op `cpu_read_szl` …;
 *   ack: op `ack`. Too short for its header or parameter: 's7comm_short_pdu'.
 *
 * S7comm-plus (first octet 0x72):
 *   0   1   protocol id  0x72
 *   1   1   version      1, 2, 3 (3 = integrity-protected)
 *   2   2   data length  octets after this header, before the 4-octet trailer of the last fragment
 *   4   1   opcode       0x31 request, 0x32 response, 0x02 response (seen answering set_variable),
 *                        0x33 notification → op `notification`, others `opcode_0x<hh>`
 *   5   2   reserved
 *   7   2   function     requests and responses → op `create_object`, `get_multi_variables` …
 *   A TSDU of exactly 4 + data length octets has no trailer: the PDU goes on in the next TSDU, whose
 *   first octets are then not an opcode (not counted).
 *
 * Co-existence with IEC 61850 MMS on the same port: the flow is undecided until its first non-empty
 * TSDU. 0x32 makes it `s7comm`, 0x72 `s7comm-plus`; anything else (MMS starts with an ISO session SPDU)
 * makes the session give up for the rest of the flow, emitting no ops and no violations, including the
 * COTP connection ops and TPKT violations held while undecided. Once decided, a TSDU of the other kind
 * is still counted; an unknown protocol id is 's7comm_protocol_id'.
 */
import type { FlowRecord } from '../../../core/records.ts';
import type { L7Analyzer, L7Session } from '../../pcap/l7.ts';
import {
  COTP_TPDUS, S7P_OPCODES, functionName, headerErrorName, paramErrorName, plusFunctionName, userdataName,
} from './codes.ts';
import { Framer, type Framing } from '../framer.ts';
import { L7Slice } from '../slice.ts';
import { SzlGatherer } from './identity.ts';

/** ISO-on-TCP (RFC 1006). */
export const ISO_TSAP_PORT = 102;
/**
 * TPKT octets kept per frame: TPKT 4 + COTP li 1 + header ≤ 255 + the largest S7 PDU (960, a negotiated
 * PDU size), so read-SZL answers are whole for identity (`identity.ts`); other TSDUs are read for their
 * first {@link TSDU_CAP} octets.
 */
const TPKT_CAP = 4 + 1 + 255 + 960;
/** TSDU octets kept: enough for every header and parameter this dissector reads. */
const TSDU_CAP = 64;

/** Violation codes (snake_case, closed set). */
export type S7Violation =
  | 's7comm_tpkt'
  | 's7comm_cotp'
  | 's7comm_protocol_id'
  | 's7comm_short_pdu'
  | 's7comm_length_mismatch'
  | 's7comm_stream_gap'
  | 's7comm_truncated';

/** Big-endian 16-bit read as byte arithmetic: Buffer#readUInt16BE validates its offset on every call. */
const be16 = (b: Buffer, p: number): number => (b[p]! << 8) | b[p + 1]!;

/** Total TPKT length from its 4-octet header, or a violation. */
export const tpktSize = (buf: Buffer, off: number): number | S7Violation => {
  if (buf[off] !== 3) return 's7comm_tpkt';
  const len = be16(buf, off + 2);
  return len < 7 ? 's7comm_tpkt' : len;
};

/** The result of one S7 TSDU: the op name, errors, and a violation if malformed. */
export interface S7Pdu {
  protocol: 's7comm' | 's7comm-plus';
  /** Undefined for a continuation of a fragmented S7comm-plus PDU. */
  op?: string;
  errors: string[];
  violation?: S7Violation;
  /** S7comm-plus: the PDU continues in the next TSDU. */
  continues?: boolean;
}

/** `into` emptied for a new PDU of `protocol` (a session reuses one result object for every PDU). */
const reuse = (into: S7Pdu | undefined, protocol: S7Pdu['protocol']): S7Pdu => {
  if (!into) return { protocol, errors: [] };
  into.protocol = protocol;
  into.op = undefined;
  if (into.errors.length > 0) into.errors.length = 0; // a length store is a runtime call: only when needed
  into.violation = undefined;
  into.continues = undefined;
  return into;
};

/** `pdu` marked too short for its headers. */
const short = (pdu: S7Pdu): S7Pdu => {
  pdu.violation = 's7comm_short_pdu';
  return pdu;
};

/**
 * Parses an S7comm TSDU whose first `kept` octets are at `buf[off…]` and whose length is `total`, into
 * `into` when given (its previous content is dropped).
 */
export const parseS7 = (buf: Buffer, off: number, kept: number, total: number, into?: S7Pdu): S7Pdu => {
  const pdu = reuse(into, 's7comm');
  if (kept < 10) return short(pdu);
  const rosctr = buf[off + 1]!;
  const acked = rosctr === 2 || rosctr === 3;
  const hdr = acked ? 12 : 10;
  if (kept < hdr) return short(pdu);
  const parlg = be16(buf, off + 6);
  const datlg = be16(buf, off + 8);
  if (hdr + parlg + datlg !== total) pdu.violation = 's7comm_length_mismatch';
  if (acked && (buf[off + 10] !== 0 || buf[off + 11] !== 0)) pdu.errors.push(headerErrorName(buf[off + 10]!, buf[off + 11]!));
  const par = off + hdr;
  const parKept = Math.min(parlg, kept - hdr);
  if (rosctr === 2) {
    pdu.op = 'ack';
  } else if (rosctr === 1 || rosctr === 3) {
    if (parKept < 1) return short(pdu);
    pdu.op = functionName(buf[par]!);
  } else if (rosctr === 7) {
    if (parKept < 8) return short(pdu);
    pdu.op = userdataName(buf[par + 5]! & 0x0f, buf[par + 6]!);
    if (buf[par + 3]! >= 8 && parKept >= 12) {
      const code = be16(buf, par + 10);
      if (code !== 0) pdu.errors.push(paramErrorName(code));
    }
  } else {
    pdu.op = `rosctr_${rosctr}`;
  }
  return pdu;
};

/**
 * Parses an S7comm-plus TSDU; `continuation`: the previous TSDU of this direction had no trailer. Into
 * `into` when given, as {@link parseS7}.
 */
export const parseS7Plus = (buf: Buffer, off: number, kept: number, total: number, continuation: boolean, into?: S7Pdu): S7Pdu => {
  const pdu = reuse(into, 's7comm-plus');
  if (kept < 4) return short(pdu);
  const dlen = be16(buf, off + 2);
  if (total === 4 + dlen) pdu.continues = true;
  else if (total !== 8 + dlen) pdu.violation = 's7comm_length_mismatch';
  if (continuation) return pdu;
  if (kept < 5) return short(pdu);
  const opcode = buf[off + 4]!;
  if (opcode === 0x31 || opcode === 0x32 || opcode === 0x02) {
    if (kept < 9) return short(pdu);
    pdu.op = plusFunctionName(be16(buf, off + 7));
  } else {
    pdu.op = S7P_OPCODES[opcode] ?? `opcode_0x${opcode.toString(16).padStart(2, '0')}`;
  }
  return pdu;
};

/** A TPKT longer than {@link TPKT_CAP} is handed over, cut, once its last octet has arrived. */
/** The result object every session's {@link S7Session} TSDU parse fills (used before the next parse). */
const PDU: S7Pdu = { protocol: 's7comm', errors: [] };

const FRAMING: Framing<S7Violation> = { headerLen: 4, keep: TPKT_CAP, length: tpktSize, handOver: 'whole' };

interface Side {
  tsdu: Buffer;
  tsduKept: number;
  tsduLen: number;
  /** S7comm-plus: the last PDU of this direction continues in the next TSDU. */
  plusContinues: boolean;
}

/** The TSDU buffer of a direction before a TSDU spans TPKTs (replaced, never written). */
const EMPTY = Buffer.alloc(0);

const newSide = (): Side => ({
  tsdu: EMPTY,
  tsduKept: 0,
  tsduLen: 0,
  plusContinues: false,
});

/** Per-flow state on port 102: TPKT framing and COTP TSDU gathering per direction, counters of the slice. */
export class S7Session implements L7Session {
  private readonly init = newSide();
  private readonly resp = newSide();
  /** Undecided until the first TSDU; 'foreign' = not S7 (e.g. MMS): ignored from then on. */
  private kind: 'undecided' | 's7comm' | 's7comm-plus' | 'foreign' = 'undecided';
  private readonly slice = new L7Slice();
  /** Read-SZL answers of the responder, gathered for identity (created on the first userdata response). */
  private szl: SzlGatherer | undefined;
  private readonly framer = new Framer(FRAMING, (req, buf, off, kept, total, ts) => this.tpkt(req, buf, off, kept, total, ts), (v) => this.slice.violation(v));

  /** What the flow carries so far: S7comm, S7comm-plus, not S7 ('foreign'), or not known yet. */
  get verdict(): 'undecided' | 's7comm' | 's7comm-plus' | 'foreign' {
    return this.kind;
  }

  onPayload(fromInitiator: boolean, buf: Buffer, off: number, len: number, ts: number): void {
    if (this.kind === 'foreign') return;
    this.framer.push(fromInitiator, buf, off, len, ts);
  }

  /** One TPKT: `kept` of its `total` octets at `buf[off…]`. */
  private tpkt(fromInit: boolean, buf: Buffer, off: number, kept: number, total: number, ts: number): void {
    if (this.kind === 'foreign') return;
    const li = buf[off + 4]!;
    if (li < 1 || 5 + li > total || 5 + li > kept) { this.slice.violation('s7comm_cotp'); return; }
    const type = buf[off + 5]! & 0xf0;
    if (type !== 0xf0) {
      const name = COTP_TPDUS[type];
      if (name) this.slice.op(fromInit, name);
      return;
    }
    if (li < 2) { this.slice.violation('s7comm_cotp'); return; }
    const eot = (buf[off + 6]! & 0x80) !== 0;
    const side = fromInit ? this.init : this.resp;
    const dataOff = off + 5 + li;
    const dataKept = Math.max(0, kept - 5 - li);
    if (eot && side.tsduLen === 0) {
      // A TSDU in one TPKT (the common case) is parsed where it lies, without copying it.
      const lenT = total - 5 - li;
      if (lenT > 0) this.tsdu(fromInit, side, buf, dataOff, Math.min(TSDU_CAP, dataKept), lenT, ts);
      // A userdata answer from the responder (ROSCTR 7): a read-SZL answer may tell the PLC's identity.
      if (!fromInit && dataKept >= 22 && buf[dataOff] === 0x32 && buf[dataOff + 1] === 7) this.identity(buf, dataOff, dataKept, ts);
      return;
    }
    const room = TSDU_CAP - side.tsduKept;
    if (room > 0 && dataKept > 0) {
      const n = Math.min(room, dataKept);
      if (side.tsdu.length === 0) side.tsdu = Buffer.alloc(TSDU_CAP);
      buf.copy(side.tsdu, side.tsduKept, dataOff, dataOff + n);
      side.tsduKept += n;
    }
    side.tsduLen += total - 5 - li;
    if (!eot) return;
    const keptT = side.tsduKept;
    const lenT = side.tsduLen;
    side.tsduKept = 0;
    side.tsduLen = 0;
    if (lenT > 0) this.tsdu(fromInit, side, side.tsdu, 0, keptT, lenT, ts);
  }

  private identity(buf: Buffer, off: number, kept: number, ts: number): void {
    const got = (this.szl ??= new SzlGatherer()).pdu(buf, off, kept);
    if (got) this.slice.identity({ side: 'dst', via: `s7_szl_0x${got.id.toString(16).padStart(4, '0')}`, ts, ...got.identity });
  }

  /** One complete TSDU of `total` octets whose first `kept` are at `buf[off…]` (a frame, or `side.tsdu`). */
  private tsdu(fromInit: boolean, side: Side, buf: Buffer, off: number, kept: number, total: number, ts: number): void {
    const id = buf[off];
    if (id !== 0x32 && id !== 0x72) {
      if (this.kind === 'undecided') {
        this.kind = 'foreign';
        this.slice.reset();
      } else {
        this.slice.violation('s7comm_protocol_id');
      }
      return;
    }
    const pdu = PDU;
    if (id === 0x32) {
      parseS7(buf, off, kept, total, pdu);
    } else {
      parseS7Plus(buf, off, kept, total, side.plusContinues, pdu);
      side.plusContinues = pdu.continues === true;
    }
    if (this.kind === 'undecided') this.kind = pdu.protocol;
    if (pdu.violation) this.slice.violation(pdu.violation);
    for (let i = 0; i < pdu.errors.length; i++) this.slice.error(pdu.errors[i]!);
    if (!pdu.op) return;
    this.slice.op(fromInit, pdu.op);
    if (fromInit) this.slice.request(ts);
  }

  onGap(fromInitiator: boolean): void {
    const side = fromInitiator ? this.init : this.resp;
    const partial = this.framer.gap(fromInitiator) || side.tsduLen > 0;
    if (this.kind !== 'foreign' && partial) this.slice.violation('s7comm_stream_gap');
    side.tsduKept = 0;
    side.tsduLen = 0;
    side.plusContinues = false;
  }

  flush(rec: FlowRecord, final: boolean): void {
    if (final && this.kind !== 'foreign') {
      for (const fromInit of [true, false]) {
        const side = fromInit ? this.init : this.resp;
        if (this.framer.gap(fromInit) || side.tsduLen > 0) this.slice.violation('s7comm_truncated');
        side.tsduKept = 0;
        side.tsduLen = 0;
      }
    }
    // Undecided: hold the counters (COTP connection ops, TPKT violations) until the payload tells.
    if (this.kind === 'undecided' && !final) return;
    if (this.kind === 's7comm' || this.kind === 's7comm-plus') this.slice.flushInto(rec, this.kind);
    else this.slice.reset();
  }
}

/** S7comm / S7comm-plus on TCP port 102 (either side); gives up quietly on any other payload. */
export const s7commAnalyzer: L7Analyzer = {
  name: 's7comm',
  matches: (proto, srcPort, dstPort) => proto === 6 && (srcPort === ISO_TSAP_PORT || dstPort === ISO_TSAP_PORT),
  create: () => new S7Session(),
};
