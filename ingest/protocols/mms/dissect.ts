/**
 * IEC 61850 / ISO 9506 MMS over ISO-on-TCP: TPKT (RFC 1006 §6) → COTP class 0 (ISO 8073 / X.224 §13)
 * → ISO session (X.225 §8.3) → presentation (X.226 §8.2, fully-encoded data) → ACSE (X.227) on
 * association → MMS PDU (ISO 9506-2 §7, BER).
 *
 * TPKT:  version 3 (1), reserved (1), length incl. this header (2, big-endian); else 'mms_bad_tpkt'
 * COTP:  length indicator LI (1, header bytes after it), code (high nibble: 0xE CR, 0xD CC, 0xF DT,
 *        0x8 DR …); DT: LI = 2, then EOT bit 0x80 | TPDU number. User data after 1 + LI bytes. DT user
 *        data is joined until a DT with EOT: one TSDU (kept up to {@link TSDU_KEEP} bytes).
 * TSDU = ISO session SPDUs: type (1), length (1, or 0xff + 2), parameters:
 *        0x01 0x00 0x01 0x00   Give-Tokens + Data-Transfer; the presentation PPDU follows
 *        0x0d CONNECT / 0x0e ACCEPT   parameters; PGI 0xc1 (User Data) / 0xc2 (Extended User Data)
 *                              holds the CP / CPA presentation PPDU
 *        0x09 FINISH, 0x0a DISCONNECT, 0x0c REFUSE, 0x19 ABORT   (release; carry no MMS)
 * Presentation: fully-encoded-data [APPLICATION 1] (0x61) = SEQUENCE OF PDV-list (0x30: optional
 *        transfer syntax OID, context id INTEGER, single-ASN1-type [0] (0xa0)); CP/CPA-PPDU (0x31 SET)
 *        holds it in normal-mode-parameters [2] (0xa2).
 * ACSE:  AARQ [APPLICATION 0] (0x60) / AARE (0x61) → user-information [30] (0xbe) → EXTERNAL (0x28)
 *        → single-ASN1-type [0] (0xa0) → MMS initiate-request / initiate-response.
 * MMS:   MMSpdu CHOICE, context tag 0–13 (confirmed-request 0xa0, -response 0xa1, -error 0xa2,
 *        unconfirmed 0xa3, reject 0xa4, initiate 0xa8/0xa9/0xaa, conclude 0x8b/0x8c/0xad …).
 *        confirmed-request: invokeID, [listOfModifier], service (its context tag = the service);
 *        confirmed-response: invokeID, service; unconfirmed: service.
 *
 * The PDV content is told apart by its tag, not by presentation context ids: an application-class tag
 * is ACSE, a context-class one is MMS. So a connection whose association was not captured is still read
 * (tshark needs the context id → abstract syntax mapping for that).
 *
 * Port 102 is shared with S7comm: a flow is taken as MMS only when its first COTP DT TSDU starts
 * with an ISO session SPDU type. A TSDU starting with S7comm's 0x32 / S7comm-plus's 0x72 (or anything
 * else) makes the session silent for the whole flow: no ops, no violations. Framing violations before
 * that decision are not counted (the flow may not be ours).
 *
 * Counted: each MMS PDU by its op name (`codes.ts`), initiator PDUs in `l7Ops`, responder PDUs in
 * `l7OpsRev`; error, reject and the *-error PDUs in `l7Errors` under the BUT CSV reader's names.
 */
import type { FlowRecord } from '../../../core/records.ts';
import type { L7Analyzer, L7Session } from '../../pcap/l7.ts';
import { Framer, type Framing } from '../framer.ts';
import { L7Slice } from '../slice.ts';
import { MMS_PDU, PDU_ERRORS, mmsOpName } from './codes.ts';

/** ISO-TSAP port (RFC 1006). */
export const MMS_PORT = 102;
/** Largest TPKT (16-bit length). */
export const MAX_TPKT = 0xffff;
/** Bytes of one TSDU (joined COTP DT user data) kept for parsing; the rest is not needed for the op. */
export const TSDU_KEEP = 16384;

/** Violation codes (snake_case, closed set). */
export type MmsViolation =
  | 'mms_bad_tpkt' // TPKT version ≠ 3 or length < 7
  | 'mms_bad_cotp' // COTP length indicator overruns the TPKT, or a DT with LI ≠ 2
  | 'mms_bad_session' // SPDU header/parameters overrun the TSDU, or CONNECT/ACCEPT without user data
  | 'mms_bad_presentation' // no PDV with single-ASN1-type content where one must be
  | 'mms_bad_ber' // a BER length overruns its container
  | 'mms_unknown_pdu' // MMSpdu tag not 0–13 / not context class
  | 'mms_truncated' // a TPKT still incomplete when the flow ended
  | 'mms_stream_gap'; // TCP bytes missing while a TPKT or TSDU was partial; it was dropped

/** One BER element. */
export interface Tlv {
  /** First identifier byte (class, constructed bit, low tag bits). */
  id: number;
  /** Tag number (high-tag-number form decoded). */
  num: number;
  start: number;
  end: number;
  /** Offset just past the element (= end). */
  next: number;
}

/**
 * Reads the BER element at `buf[p, limit)`. When `clamp` is true (the container was cut at a keep
 * limit), a length past `limit` is cut to it instead of failing. Indefinite lengths run to `limit`.
 */
export const readTlv = (buf: Buffer, p: number, limit: number, clamp = false): Tlv | undefined => {
  if (p + 2 > limit) return undefined;
  const id = buf[p]!;
  let q = p + 1;
  let num = id & 0x1f;
  if (num === 0x1f) {
    num = 0;
    for (let i = 0; ; i++) {
      if (q >= limit || i > 3) return undefined;
      const b = buf[q++]!;
      num = num * 128 + (b & 0x7f);
      if (!(b & 0x80)) break;
    }
  }
  if (q >= limit) return undefined;
  const l0 = buf[q++]!;
  let len: number;
  if (l0 < 0x80) len = l0;
  else if (l0 === 0x80) len = limit - q;
  else {
    const n = l0 & 0x7f;
    if (n > 4 || q + n > limit) return undefined;
    len = buf.readUIntBE(q, n);
    q += n;
  }
  let end = q + len;
  if (end > limit) {
    if (!clamp) return undefined;
    end = limit;
  }
  return { id, num, start: q, end, next: end };
};

/** The first child of `[p, end)` whose identifier byte is `id`. */
const child = (buf: Buffer, p: number, end: number, id: number, clamp: boolean): Tlv | undefined => {
  while (p < end) {
    const t = readTlv(buf, p, end, clamp);
    if (!t) return undefined;
    if (t.id === id) return t;
    p = t.next;
  }
  return undefined;
};

/** Session SPDU types that start an ISO session TSDU. */
const SPDU_TYPES: ReadonlySet<number> = new Set([0x01, 0x05, 0x09, 0x0a, 0x0c, 0x0d, 0x0e, 0x19]);

/** One MMS PDU as read: its op name and PDU kind. */
export interface MmsPdu {
  type: number;
  service?: number;
}

/**
 * Reads the MMSpdu element at `t`: its kind and, where the PDU names one, the service tag.
 * Undefined when the tag is not an MMSpdu alternative.
 */
export const readMmsPdu = (buf: Buffer, t: Tlv, clamp: boolean): MmsPdu | undefined => {
  if ((t.id & 0xc0) !== 0x80 || t.num > 13) return undefined;
  const type = t.num;
  if (type === MMS_PDU.unconfirmed) {
    const s = readTlv(buf, t.start, t.end, clamp);
    return s ? { type, service: s.num } : { type };
  }
  if (type !== MMS_PDU.confirmedRequest && type !== MMS_PDU.confirmedResponse) return { type };
  let p = t.start;
  const invoke = readTlv(buf, p, t.end, clamp);
  if (!invoke || invoke.id !== 0x02) return { type };
  p = invoke.next;
  let s = readTlv(buf, p, t.end, clamp);
  if (s && s.id === 0x30 && type === MMS_PDU.confirmedRequest) s = readTlv(buf, s.next, t.end, clamp); // listOfModifier
  return s && (s.id & 0xc0) === 0x80 ? { type, service: s.num } : { type };
};

interface Tsdu {
  buf: Buffer;
  have: number;
  total: number;
}

/** Per-flow MMS state. */
export class MmsSession implements L7Session {
  private readonly framer: Framer<MmsViolation>;
  /** undefined: not decided; true: ISO session (MMS); false: something else on port 102 (silent). */
  private isMms: boolean | undefined;
  private readonly tsduInit: Tsdu = { buf: Buffer.alloc(0), have: 0, total: 0 };
  private readonly tsduResp: Tsdu = { buf: Buffer.alloc(0), have: 0, total: 0 };
  private readonly slice = new L7Slice();
  private everValid = false;

  constructor() {
    const framing: Framing<MmsViolation> = {
      headerLen: 4,
      keep: MAX_TPKT,
      length: (buf, off) => {
        const len = buf.readUInt16BE(off + 2);
        return buf[off] !== 3 || len < 7 ? 'mms_bad_tpkt' : len;
      },
      handOver: 'kept', // every TPKT fits MAX_TPKT: handed over whole
    };
    this.framer = new Framer(framing, (req, buf, off, kept, total, ts) => this.tpkt(req, buf, off, kept, ts), (v) => this.violation(v));
  }

  onPayload(fromInitiator: boolean, buf: Buffer, off: number, len: number, ts: number): void {
    if (this.isMms === false) return;
    this.framer.push(fromInitiator, buf, off, len, ts);
  }

  /** One TPKT `buf[p, p + n)`: its COTP TPDU. */
  private tpkt(req: boolean, buf: Buffer, p: number, n: number, ts: number): void {
    if (this.isMms === false) return;
    const end = p + n;
    const li = buf[p + 4]!;
    if (p + 5 + li > end || li < 1) { this.violation('mms_bad_cotp'); return; }
    const code = buf[p + 5]! & 0xf0;
    if (code !== 0xf0) return; // CR, CC, DR, ER …: connection management, no user data for MMS
    if (li !== 2) { this.violation('mms_bad_cotp'); return; }
    const eot = (buf[p + 6]! & 0x80) !== 0;
    const data = p + 5 + li;
    const t = req ? this.tsduInit : this.tsduResp;
    if (eot && t.total === 0) {
      this.tsdu(req, buf, data, end, false, ts);
      return;
    }
    const take = Math.min(end - data, TSDU_KEEP - t.have);
    if (take > 0) {
      if (t.buf.length < t.have + take) {
        const grown = Buffer.alloc(Math.min(TSDU_KEEP, Math.max(1024, 2 * (t.have + take))));
        t.buf.copy(grown, 0, 0, t.have);
        t.buf = grown;
      }
      buf.copy(t.buf, t.have, data, data + take);
      t.have += take;
    }
    t.total += end - data;
    if (!eot) return;
    const truncated = t.total > t.have;
    const have = t.have;
    t.have = 0;
    t.total = 0;
    this.tsdu(req, t.buf, 0, have, truncated, ts);
  }

  /** One TSDU `buf[p, end)`; `clamp` when it was cut at {@link TSDU_KEEP}. */
  private tsdu(req: boolean, buf: Buffer, p: number, end: number, clamp: boolean, ts: number): void {
    if (p >= end) return;
    if (this.isMms === undefined) this.isMms = SPDU_TYPES.has(buf[p]!);
    if (!this.isMms) return;
    const spdu = this.spduHeader(buf, p, end);
    if (!spdu) { this.violation('mms_bad_session'); return; }
    const type = buf[p]!;
    if (type === 0x01) {
      // Give-Tokens (empty), then Data-Transfer; its user information follows its header.
      const dt = this.spduHeader(buf, spdu.next, end);
      if (!dt || buf[spdu.next] !== 0x01) { this.violation('mms_bad_session'); return; }
      this.presentationData(req, buf, dt.next, end, clamp, ts);
      return;
    }
    if (type !== 0x0d && type !== 0x0e) return; // release / abort / refuse: no MMS
    const userData = this.userDataParam(buf, spdu.params, spdu.next);
    if (!userData) { this.violation('mms_bad_session'); return; }
    // CP-type / CPA-PPDU: SET { …, normal-mode-parameters [2] { …, user-data 0x61 } }
    const cp = readTlv(buf, userData.start, userData.end, clamp);
    const normal = cp && cp.id === 0x31 ? child(buf, cp.start, cp.end, 0xa2, clamp) : undefined;
    const ud = normal ? child(buf, normal.start, normal.end, 0x61, clamp) : undefined;
    if (!ud) { this.violation('mms_bad_presentation'); return; }
    this.pdvList(req, buf, ud, clamp, ts);
  }

  /** SPDU header at `p`: where its parameters start and where the SPDU ends. */
  private spduHeader(buf: Buffer, p: number, end: number): { params: number; next: number } | undefined {
    if (p + 2 > end) return undefined;
    let len = buf[p + 1]!;
    let params = p + 2;
    if (len === 0xff) {
      if (p + 4 > end) return undefined;
      len = buf.readUInt16BE(p + 2);
      params = p + 4;
    }
    return params + len > end ? undefined : { params, next: params + len };
  }

  /** The User Data (0xc1) or Extended User Data (0xc2) parameter among the SPDU's `[p, end)`. */
  private userDataParam(buf: Buffer, p: number, end: number): { start: number; end: number } | undefined {
    while (p + 2 <= end) {
      const h = this.spduHeader(buf, p, end);
      if (!h) return undefined;
      if (buf[p] === 0xc1 || buf[p] === 0xc2) return { start: h.params, end: h.next };
      p = h.next;
    }
    return undefined;
  }

  /** Presentation fully-encoded-data at `p` (after a session Data-Transfer). */
  private presentationData(req: boolean, buf: Buffer, p: number, end: number, clamp: boolean, ts: number): void {
    const ud = readTlv(buf, p, end, clamp);
    if (!ud) { this.violation('mms_bad_ber'); return; }
    if (ud.id !== 0x61) { this.violation('mms_bad_presentation'); return; }
    this.pdvList(req, buf, ud, clamp, ts);
  }

  /** Each PDV-list of a fully-encoded-data element: its single-ASN1-type content (ACSE or MMS). */
  private pdvList(req: boolean, buf: Buffer, ud: Tlv, clamp: boolean, ts: number): void {
    let p = ud.start;
    let found = false;
    while (p < ud.end) {
      const pdv = readTlv(buf, p, ud.end, clamp);
      if (!pdv) { this.violation('mms_bad_ber'); return; }
      p = pdv.next;
      if (pdv.id !== 0x30) continue;
      const single = child(buf, pdv.start, pdv.end, 0xa0, clamp);
      if (!single) continue;
      const content = readTlv(buf, single.start, single.end, clamp);
      if (!content) { this.violation('mms_bad_ber'); return; }
      found = true;
      if ((content.id & 0xc0) === 0x40) this.acse(req, buf, content, clamp, ts);
      else this.mms(req, buf, content, clamp, ts);
    }
    if (!found) this.violation('mms_bad_presentation');
  }

  /** ACSE APDU: the MMS PDU inside AARQ / AARE user-information; release and abort APDUs carry none. */
  private acse(req: boolean, buf: Buffer, t: Tlv, clamp: boolean, ts: number): void {
    if (t.id !== 0x60 && t.id !== 0x61) return;
    const info = child(buf, t.start, t.end, 0xbe, clamp);
    const ext = info ? child(buf, info.start, info.end, 0x28, clamp) : undefined;
    const single = ext ? child(buf, ext.start, ext.end, 0xa0, clamp) : undefined;
    const pdu = single ? readTlv(buf, single.start, single.end, clamp) : undefined;
    if (!pdu) { this.violation('mms_bad_presentation'); return; }
    this.mms(req, buf, pdu, clamp, ts);
  }

  /** One MMS PDU element. */
  private mms(req: boolean, buf: Buffer, t: Tlv, clamp: boolean, ts: number): void {
    const pdu = readMmsPdu(buf, t, clamp);
    if (!pdu) { this.violation('mms_unknown_pdu'); return; }
    this.everValid = true;
    this.slice.op(req, mmsOpName(pdu.type, pdu.service));
    const error = PDU_ERRORS[pdu.type];
    if (error) this.slice.error(error);
    if (req) this.slice.request(ts);
  }

  private violation(code: MmsViolation): void {
    // Before the flow is known to be MMS its framing violations are not ours to report.
    if (this.isMms) this.slice.violation(code);
  }

  onGap(fromInitiator: boolean): void {
    if (this.isMms === false) return;
    const t = fromInitiator ? this.tsduInit : this.tsduResp;
    const partial = this.framer.gap(fromInitiator) || t.total > 0;
    t.have = 0;
    t.total = 0;
    if (partial) this.violation('mms_stream_gap');
  }

  flush(rec: FlowRecord, final: boolean): void {
    if (this.isMms === false) return;
    if (final) {
      if (this.framer.gap(true)) this.violation('mms_truncated');
      if (this.framer.gap(false)) this.violation('mms_truncated');
    }
    this.slice.flushInto(rec, this.everValid ? 'mms' : undefined);
  }
}

/** MMS over ISO-on-TCP, port 102 (either side); silent on flows that are not ISO session (S7comm). */
export const mmsAnalyzer: L7Analyzer = {
  name: 'mms',
  matches: (proto, srcPort, dstPort) => proto === 6 && (srcPort === MMS_PORT || dstPort === MMS_PORT),
  create: () => new MmsSession(),
};
