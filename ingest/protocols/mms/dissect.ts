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

/** The element {@link tlvAt} read last: reused, so reading an element allocates nothing. */
const T = { id: 0, num: 0, start: 0, end: 0 };

/** {@link readTlv} into {@link T}; false where readTlv gives undefined. */
const tlvAt = (buf: Buffer, p: number, limit: number, clamp: boolean): boolean => {
  if (p + 2 > limit) return false;
  const id = buf[p]!;
  let q = p + 1;
  let num = id & 0x1f;
  if (num === 0x1f) {
    num = 0;
    for (let i = 0; ; i++) {
      if (q >= limit || i > 3) return false;
      const b = buf[q++]!;
      num = num * 128 + (b & 0x7f);
      if (!(b & 0x80)) break;
    }
  }
  if (q >= limit) return false;
  const l0 = buf[q++]!;
  let len: number;
  if (l0 < 0x80) len = l0;
  else if (l0 === 0x80) len = limit - q;
  else {
    const n = l0 & 0x7f;
    if (n > 4 || q + n > limit) return false;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[q + i]!;
    q += n;
  }
  let end = q + len;
  if (end > limit) {
    if (!clamp) return false;
    end = limit;
  }
  T.id = id;
  T.num = num;
  T.start = q;
  T.end = end;
  return true;
};

/**
 * Reads the BER element at `buf[p, limit)`. When `clamp` is true (the container was cut at a keep
 * limit), a length past `limit` is cut to it instead of failing. Indefinite lengths run to `limit`.
 */
export const readTlv = (buf: Buffer, p: number, limit: number, clamp = false): Tlv | undefined =>
  tlvAt(buf, p, limit, clamp) ? { id: T.id, num: T.num, start: T.start, end: T.end, next: T.end } : undefined;

/** Finds the first child of `[p, end)` whose identifier byte is `id`: true with it in {@link T}. */
const child = (buf: Buffer, p: number, end: number, id: number, clamp: boolean): boolean => {
  while (p < end) {
    if (!tlvAt(buf, p, end, clamp)) return false;
    if (T.id === id) return true;
    p = T.end;
  }
  return false;
};

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
  const service = mmsService(buf, t.id, t.num, t.start, t.end, clamp);
  if (service === NOT_MMS) return undefined;
  return service === NO_SERVICE ? { type: t.num } : { type: t.num, service };
};

/** {@link mmsService}: the element is not an MMSpdu alternative. */
const NOT_MMS = -2;
/** {@link mmsService}: an MMSpdu that names no service (or whose service cannot be read). */
const NO_SERVICE = -1;

/** {@link readMmsPdu} of the element (`id`, `num`, `[start, end)`) without objects: the service tag, or NO_SERVICE / NOT_MMS. */
const mmsService = (buf: Buffer, id: number, num: number, start: number, end: number, clamp: boolean): number => {
  if ((id & 0xc0) !== 0x80 || num > 13) return NOT_MMS;
  const type = num;
  if (type === MMS_PDU.unconfirmed) return tlvAt(buf, start, end, clamp) ? T.num : NO_SERVICE;
  if (type !== MMS_PDU.confirmedRequest && type !== MMS_PDU.confirmedResponse) return NO_SERVICE;
  const invokeId = tlvAt(buf, start, end, clamp) ? T.id : -1;
  if (invokeId !== 0x02) return NO_SERVICE;
  let found = tlvAt(buf, T.end, end, clamp);
  if (found && T.id === 0x30 && type === MMS_PDU.confirmedRequest) found = tlvAt(buf, T.end, end, clamp); // listOfModifier
  return found && (T.id & 0xc0) === 0x80 ? T.num : NO_SERVICE;
};

/** Op names by PDU kind and service (< 256), built once: {@link mmsOpName} builds a new string per call. */
const OP_NAMES = new Map<number, string>();
const opName = (type: number, service: number): string => {
  if (service >= 256) return mmsOpName(type, service);
  const key = type * 512 + service + 1; // service NO_SERVICE (-1) → key type * 512
  let name = OP_NAMES.get(key);
  if (name === undefined) {
    name = mmsOpName(type, service === NO_SERVICE ? undefined : service);
    OP_NAMES.set(key, name);
  }
  return name;
};

interface Tsdu {
  buf: Buffer;
  have: number;
  total: number;
}

/** Per-flow MMS state. */
/** TPKT framing; every TPKT fits MAX_TPKT, so 'kept' hands each over whole. */
const FRAMING: Framing<MmsViolation> = {
  headerLen: 4,
  keep: MAX_TPKT,
  length: (buf, off) => {
    const len = (buf[off + 2]! << 8) | buf[off + 3]!;
    return buf[off] !== 3 || len < 7 ? 'mms_bad_tpkt' : len;
  },
  handOver: 'kept',
};

/** The TSDU buffer of a direction that has not needed one yet (replaced, never written, when one grows). */
const EMPTY = Buffer.alloc(0);

/** Where {@link MmsSession.spduHeader} found an SPDU's parameters and its end (reused between calls). */
const SPDU = { params: 0, next: 0 };
/** The user data parameter {@link MmsSession.userDataParam} found (reused between calls). */
const USER_DATA = { start: 0, end: 0 };

export class MmsSession implements L7Session {
  private readonly framer: Framer<MmsViolation>;
  /** undefined: not decided; true: ISO session (MMS); false: something else on port 102 (silent). */
  private isMms: boolean | undefined;
  private readonly tsduInit: Tsdu = { buf: EMPTY, have: 0, total: 0 };
  private readonly tsduResp: Tsdu = { buf: EMPTY, have: 0, total: 0 };
  private readonly slice = new L7Slice();
  private everValid = false;

  constructor() {
    this.framer = new Framer(FRAMING, (req, buf, off, kept, total, ts) => this.tpkt(req, buf, off, kept, ts), (v) => this.violation(v));
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
    if (!this.spduHeader(buf, p, end)) { this.violation('mms_bad_session'); return; }
    const type = buf[p]!;
    if (type === 0x01) {
      // Give-Tokens (empty), then Data-Transfer; its user information follows its header.
      const dtAt = SPDU.next;
      if (!this.spduHeader(buf, dtAt, end) || buf[dtAt] !== 0x01) { this.violation('mms_bad_session'); return; }
      this.presentationData(req, buf, SPDU.next, end, clamp, ts);
      return;
    }
    if (type !== 0x0d && type !== 0x0e) return; // release / abort / refuse: no MMS
    if (!this.userDataParam(buf, SPDU.params, SPDU.next)) { this.violation('mms_bad_session'); return; }
    // CP-type / CPA-PPDU: SET { …, normal-mode-parameters [2] { …, user-data 0x61 } }
    const ud = tlvAt(buf, USER_DATA.start, USER_DATA.end, clamp) && T.id === 0x31
      && child(buf, T.start, T.end, 0xa2, clamp) && child(buf, T.start, T.end, 0x61, clamp);
    if (!ud) { this.violation('mms_bad_presentation'); return; }
    this.pdvList(req, buf, T.start, T.end, clamp, ts);
  }

  /** SPDU header at `p`: where its parameters start and where the SPDU ends, in {@link SPDU}; false when it overruns `end`. */
  private spduHeader(buf: Buffer, p: number, end: number): boolean {
    if (p + 2 > end) return false;
    let len = buf[p + 1]!;
    let params = p + 2;
    if (len === 0xff) {
      if (p + 4 > end) return false;
      len = (buf[p + 2]! << 8) | buf[p + 3]!;
      params = p + 4;
    }
    if (params + len > end) return false;
    SPDU.params = params;
    SPDU.next = params + len;
    return true;
  }

  /** The User Data (0xc1) or Extended User Data (0xc2) parameter among the SPDU's `[p, end)`, in {@link USER_DATA}. */
  private userDataParam(buf: Buffer, p: number, end: number): boolean {
    while (p + 2 <= end) {
      if (!this.spduHeader(buf, p, end)) return false;
      if (buf[p] === 0xc1 || buf[p] === 0xc2) {
        USER_DATA.start = SPDU.params;
        USER_DATA.end = SPDU.next;
        return true;
      }
      p = SPDU.next;
    }
    return false;
  }

  /** Presentation fully-encoded-data at `p` (after a session Data-Transfer). */
  private presentationData(req: boolean, buf: Buffer, p: number, end: number, clamp: boolean, ts: number): void {
    if (!tlvAt(buf, p, end, clamp)) { this.violation('mms_bad_ber'); return; }
    if (T.id !== 0x61) { this.violation('mms_bad_presentation'); return; }
    this.pdvList(req, buf, T.start, T.end, clamp, ts);
  }

  /** Each PDV-list of the fully-encoded-data content `[start, end)`: its single-ASN1-type content (ACSE or MMS). */
  private pdvList(req: boolean, buf: Buffer, start: number, end: number, clamp: boolean, ts: number): void {
    let p = start;
    let found = false;
    while (p < end) {
      if (!tlvAt(buf, p, end, clamp)) { this.violation('mms_bad_ber'); return; }
      p = T.end;
      if (T.id !== 0x30) continue;
      if (!child(buf, T.start, T.end, 0xa0, clamp)) continue;
      if (!tlvAt(buf, T.start, T.end, clamp)) { this.violation('mms_bad_ber'); return; }
      found = true;
      if ((T.id & 0xc0) === 0x40) this.acse(req, buf, T.id, T.start, T.end, clamp, ts);
      else this.mms(req, buf, T.id, T.num, T.start, T.end, clamp, ts);
    }
    if (!found) this.violation('mms_bad_presentation');
  }

  /** ACSE APDU `id` at `[start, end)`: the MMS PDU inside AARQ / AARE user-information; release and abort APDUs carry none. */
  private acse(req: boolean, buf: Buffer, id: number, start: number, end: number, clamp: boolean, ts: number): void {
    if (id !== 0x60 && id !== 0x61) return;
    const pdu = child(buf, start, end, 0xbe, clamp) && child(buf, T.start, T.end, 0x28, clamp)
      && child(buf, T.start, T.end, 0xa0, clamp) && tlvAt(buf, T.start, T.end, clamp);
    if (!pdu) { this.violation('mms_bad_presentation'); return; }
    this.mms(req, buf, T.id, T.num, T.start, T.end, clamp, ts);
  }

  /** One MMS PDU element (`id`, tag `num`, content `[start, end)`). */
  private mms(req: boolean, buf: Buffer, id: number, num: number, start: number, end: number, clamp: boolean, ts: number): void {
    const service = mmsService(buf, id, num, start, end, clamp);
    if (service === NOT_MMS) { this.violation('mms_unknown_pdu'); return; }
    this.everValid = true;
    this.slice.op(req, opName(num, service));
    const error = PDU_ERRORS[num];
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
