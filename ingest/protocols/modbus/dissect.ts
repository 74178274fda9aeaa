/**
 * Modbus/TCP ADU: MBAP header + PDU (Modbus Messaging on TCP/IP Implementation Guide v1.0b, §3.1.3;
 * Modbus Application Protocol Specification v1.1b3).
 *
 *   off len field        notes
 *   0   2   transaction  echoed by the server
 *   2   2   protocol     must be 0, else violation 'modbus_protocol_id' (the rest of the segment is dropped)
 *   4   2   length       bytes after this field (unit + PDU): 2 … 254, else 'modbus_short_pdu' /
 *                        'modbus_length_too_long' (the rest of the segment is dropped)
 *   6   1   unit         unit id of the PLC or gateway
 *   7   1   function     high bit set = exception response; the next byte is then the exception code
 *   8   …   data         function-specific; checked against the minimum size of its function
 *
 * Stream handling: a TCP segment may hold several ADUs, and an ADU may span segments. Each direction has
 * a reassembly buffer of at most one ADU ({@link MAX_ADU} bytes), so memory per flow is bounded. An ADU
 * still incomplete when the peer starts talking, or when the flow ends, had a length field larger than
 * its payload: 'modbus_length_mismatch' (a Modbus server answers only a complete request).
 *
 * Direction: the initiator (client) sends requests, the responder sends responses. Violations are
 * counted in `l7Violations`, never thrown.
 */
import type { FlowRecord } from '../../../core/records.ts';
import type { L7Analyzer, L7Session } from '../../pcap/l7.ts';
import { L7Slice } from '../slice.ts';
import { exceptionName, functionName } from './codes.ts';
import { readDeviceIdentification } from './identity.ts';

/** MBAP header (7) + largest PDU (253). */
export const MAX_ADU = 260;
/** The registered Modbus/TCP port. */
export const MODBUS_PORT = 502;

/** Violation codes (snake_case, closed set). */
export type ModbusViolation =
  | 'modbus_protocol_id' // MBAP protocol id ≠ 0
  | 'modbus_short_pdu' // MBAP length < 2, or a PDU shorter than its function needs
  | 'modbus_length_too_long' // MBAP length > 254
  | 'modbus_length_mismatch' // MBAP length larger than the payload that came, or a byte count that disagrees
  | 'modbus_stream_gap'; // TCP bytes missing mid-stream; a partial ADU was dropped

/** A lookup table of 128 function codes from a sparse listing (absent = 0). */
function table(entries: Readonly<Record<number, number>>): Uint8Array {
  const t = new Uint8Array(128);
  for (const [k, v] of Object.entries(entries)) t[Number(k)] = v;
  return t;
}

/** One ADU header as parsed. */
export interface MbapHeader {
  transaction: number;
  protocol: number;
  length: number;
  unit: number;
  /** Function code with the exception bit removed. */
  functionCode: number;
  exception: boolean;
}

export type Dissected<T> =
  | { ok: true; pdu: T }
  | { ok: false; violation: ModbusViolation; offset: number }
  | { ok: false; violation: 'need_more'; offset: number };

/**
 * Parses the MBAP header at `buf[off, off + avail)`. `need_more` when fewer than 8 bytes (header +
 * function code) or fewer than the whole ADU are there.
 */
export const parseMbap = (buf: Buffer, off: number, avail: number): Dissected<MbapHeader> => {
  if (avail < 8) return { ok: false, violation: 'need_more', offset: off };
  const protocol = buf.readUInt16BE(off + 2);
  if (protocol !== 0) return { ok: false, violation: 'modbus_protocol_id', offset: off + 2 };
  const length = buf.readUInt16BE(off + 4);
  if (length < 2) return { ok: false, violation: 'modbus_short_pdu', offset: off + 4 };
  if (length > 254) return { ok: false, violation: 'modbus_length_too_long', offset: off + 4 };
  if (avail < 6 + length) return { ok: false, violation: 'need_more', offset: off };
  const fc = buf[off + 7]!;
  return {
    ok: true,
    pdu: { transaction: buf.readUInt16BE(off), protocol, length, unit: buf[off + 6]!, functionCode: fc & 0x7f, exception: fc >= 0x80 },
  };
};

/** Smallest request PDU (function code included) per function (§6); 0 = no minimum known. */
const MIN_REQUEST = table({
  1: 5, 2: 5, 3: 5, 4: 5, 5: 5, 6: 5, 7: 1, 8: 3, 11: 1, 12: 1, 15: 6, 16: 6, 17: 1,
  20: 2, 21: 2, 22: 7, 23: 10, 24: 3, 43: 2,
});
/** Smallest normal-response PDU per function (§6); 0 = no minimum known. */
const MIN_RESPONSE = table({
  1: 2, 2: 2, 3: 2, 4: 2, 5: 5, 6: 5, 7: 2, 8: 3, 11: 5, 12: 2, 15: 5, 16: 5, 17: 2,
  20: 2, 21: 2, 22: 7, 23: 2, 24: 3, 43: 2,
});

/**
 * Checks a PDU `buf[p, p + n)` (function code first) against its function's layout; returns a violation
 * or undefined. Byte counts are checked where the spec fixes them.
 */
export const checkPdu = (fc: number, request: boolean, buf: Buffer, p: number, n: number): ModbusViolation | undefined => {
  const min = (request ? MIN_REQUEST : MIN_RESPONSE)[fc & 0x7f]!;
  if (n < min) return 'modbus_short_pdu';
  if (!request && fc >= 1 && fc <= 4 && buf[p + 1] !== n - 2) return 'modbus_length_mismatch';
  if (request && (fc === 15 || fc === 16) && buf[p + 5] !== n - 6) return 'modbus_length_mismatch';
  return undefined;
};

const EMPTY = Buffer.alloc(0);

interface Direction {
  pending: Buffer;
  pendingLen: number;
}

/** Per-flow Modbus state: reassembly per direction and the counters of the current slice. */
export class ModbusSession implements L7Session {
  // Reassembly buffers are allocated on first use: most ADUs arrive whole in one segment.
  private readonly req: Direction = { pending: EMPTY, pendingLen: 0 };
  private readonly rsp: Direction = { pending: EMPTY, pendingLen: 0 };
  private readonly slice = new L7Slice(true);
  /** Valid ADUs seen over the whole flow: the flow is Modbus once this is > 0. */
  private everValid = false;

  onPayload(fromInitiator: boolean, buf: Buffer, off: number, len: number, ts: number): void {
    const dir = fromInitiator ? this.req : this.rsp;
    const peer = fromInitiator ? this.rsp : this.req;
    if (peer.pendingLen > 0) {
      // The peer answered (or asked again) before its partner's ADU was complete.
      this.violation('modbus_length_mismatch');
      peer.pendingLen = 0;
    }
    let p = off;
    const end = off + len;
    if (dir.pendingLen > 0) {
      p = this.completePending(dir, fromInitiator, buf, p, end, ts);
      if (p < 0) return;
    }
    this.parseRun(dir, fromInitiator, buf, p, end, ts);
  }

  /** Tops up the pending ADU from `buf[p, end)`; returns where the rest starts, or -1 if still pending. */
  private completePending(dir: Direction, req: boolean, buf: Buffer, p: number, end: number, ts: number): number {
    const pend = dir.pending;
    if (dir.pendingLen < 8) {
      const take = Math.min(8 - dir.pendingLen, end - p);
      buf.copy(pend, dir.pendingLen, p, p + take);
      dir.pendingLen += take;
      p += take;
      if (dir.pendingLen < 8) return -1;
    }
    const h = parseMbap(pend, 0, 8);
    if (!h.ok && h.violation !== 'need_more') {
      this.violation(h.violation);
      dir.pendingLen = 0;
      return -1;
    }
    const total = 6 + pend.readUInt16BE(4);
    const take = Math.min(total - dir.pendingLen, end - p);
    buf.copy(pend, dir.pendingLen, p, p + take);
    dir.pendingLen += take;
    p += take;
    if (dir.pendingLen < total) return -1;
    dir.pendingLen = 0;
    this.adu(req, pend, 0, total, ts);
    return p;
  }

  /**
   * Parses whole ADUs from `buf[p, end)`; keeps a trailing partial one. The MBAP checks of
   * {@link parseMbap} are inlined: this loop runs once per ADU and must not allocate.
   */
  private parseRun(dir: Direction, req: boolean, buf: Buffer, p: number, end: number, ts: number): void {
    while (p < end) {
      const avail = end - p;
      // Only a plausible header is worth waiting for: check what is there of it.
      if (avail >= 4 && ((buf[p + 2]! << 8) | buf[p + 3]!) !== 0) { this.violation('modbus_protocol_id'); return; }
      if (avail >= 6) {
        const length = (buf[p + 4]! << 8) | buf[p + 5]!;
        if (length < 2) { this.violation('modbus_short_pdu'); return; }
        if (length > 254) { this.violation('modbus_length_too_long'); return; }
        if (avail >= 8 && avail >= 6 + length) {
          this.adu(req, buf, p, 6 + length, ts);
          p += 6 + length;
          continue;
        }
      }
      if (dir.pending.length === 0) dir.pending = Buffer.alloc(MAX_ADU);
      buf.copy(dir.pending, 0, p, end);
      dir.pendingLen = avail;
      return;
    }
  }

  /** One complete ADU at `buf[p, p + total)`. */
  private adu(req: boolean, buf: Buffer, p: number, total: number, ts: number): void {
    this.everValid = true;
    const fcByte = buf[p + 7]!;
    const fc = fcByte & 0x7f;
    const name = functionName(fc);
    const pduLen = total - 7;
    this.slice.op(req, name);
    if (req) {
      this.slice.unit(buf[p + 6]!);
      this.slice.request(ts);
    }
    if (fcByte >= 0x80) {
      if (pduLen < 2) { this.violation('modbus_short_pdu'); return; }
      this.slice.error(exceptionName(buf[p + 8]!));
      return;
    }
    const v = checkPdu(fc, req, buf, p + 7, pduLen);
    if (v) this.violation(v);
    if (fc === 43 && !req) {
      const id = readDeviceIdentification(buf, p + 7, pduLen);
      if (id) this.slice.identity({ side: 'dst', via: 'modbus_device_id', ts, ...id });
    }
  }

  private violation(code: ModbusViolation): void {
    this.slice.violation(code);
  }

  onGap(fromInitiator: boolean): void {
    const dir = fromInitiator ? this.req : this.rsp;
    if (dir.pendingLen > 0) this.violation('modbus_stream_gap');
    dir.pendingLen = 0;
  }

  flush(rec: FlowRecord, final: boolean): void {
    if (final) {
      if (this.req.pendingLen > 0) this.violation('modbus_length_mismatch');
      if (this.rsp.pendingLen > 0) this.violation('modbus_length_mismatch');
      this.req.pendingLen = 0;
      this.rsp.pendingLen = 0;
    }
    this.slice.flushInto(rec, this.everValid ? 'modbus' : undefined);
  }

  reuse(): void {
    this.req.pendingLen = 0;
    this.rsp.pendingLen = 0;
    this.slice.reset();
    this.everValid = false;
  }
}

/** Modbus/TCP on port 502 (either side); the flow is labelled 'modbus' once a valid MBAP header is seen. */
export const modbusAnalyzer: L7Analyzer = {
  name: 'modbus',
  matches: (proto, srcPort, dstPort) => proto === 6 && (srcPort === MODBUS_PORT || dstPort === MODBUS_PORT),
  create: () => new ModbusSession(),
};
