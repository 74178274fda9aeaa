/**
 * BACnet/IP (ANSI/ASHRAE 135-2020): BVLL (Annex J.2), NPDU (§6.2), APDU (§20.1). One BVLL message per
 * UDP datagram; nothing is carried between datagrams.
 *
 * BVLL:
 *   off len field      notes
 *   0   1   type       0x81 = BACnet/IPv4, else 'bacnet_bad_bvlc_type' (datagram dropped)
 *   1   1   function   0x0a original-unicast-NPDU, 0x0b original-broadcast-NPDU, 0x04 forwarded-NPDU
 *                      (6-byte original B/IP address first), 0x09 distribute-broadcast; the others
 *                      (bvlc_result, register_foreign_device, read_broadcast_distribution_table …) are
 *                      counted by name; a non-zero BVLC-Result code → l7Errors
 *   2   2   length     whole BVLL message, big-endian; must equal the datagram: 'bacnet_length_mismatch'
 *
 * NPDU:
 *   0   1   version    1, else 'bacnet_bad_npdu'
 *   1   1   control    bit 7 network-layer message; bit 5 DNET present; bit 3 SNET present
 *   …       DNET (2) DLEN (1) DADR; SNET (2) SLEN (1) SADR; hop count (1) when DNET present
 *   …   1   message type (network-layer message; ≥ 0x80 is followed by a vendor id (2)), else the APDU
 *
 * APDU, first byte's high nibble = type:
 *   0 confirmed request   flags, max segs/APDU, invoke id, [sequence no, window when segmented], service
 *   1 unconfirmed request service
 *   2 simple ack          invoke id, service
 *   3 complex ack         flags, invoke id, [sequence no, window when segmented], service
 *   4 segment ack         invoke id, sequence no, window                       (counted as segment_ack)
 *   5 error               invoke id, service, error class + code (application-tagged enumerated, maybe
 *                         inside an opening context tag) → l7Errors by error code
 *   6 reject              invoke id, reason → l7Errors (reject_…), counted as op 'reject'
 *   7 abort               invoke id, reason → l7Errors (abort_…), counted as op 'abort'
 * An APDU shorter than its type needs is 'bacnet_short_apdu'; types 8–15 are 'bacnet_bad_apdu_type'.
 *
 * Counted: each APDU by service name (acks and errors under the service they answer, as Modbus counts
 * responses) and each network-layer message by name. Initiator datagrams go to `l7Ops`, responder ones
 * to `l7OpsRev`; with both sides on 47808 the initiator is the first sender (flow assembly's rule).
 */
import type { DeviceIdentity, FlowRecord } from '../../../core/records.ts';
import type { L7Analyzer, L7Session } from '../../pcap/l7.ts';
import { L7Slice } from '../slice.ts';
import { iAm, readPropertyAck } from './identity.ts';
import {
  APDU_TYPES, BVLC_FUNCTIONS, BVLC_RESULTS, NETWORK_MESSAGES, NPDU_FUNCTIONS, abortName, confirmedName, errorCodeName,
  rejectName, unconfirmedName,
} from './codes.ts';

/** BACnet/IP UDP ports: 47808 (0xBAC0) and the 0xBAC1–0xBACF range used for further B/IP networks. */
export const BACNET_PORT_FIRST = 47808;
export const BACNET_PORT_LAST = 47823;

/** Violation codes (snake_case, closed set). */
export type BacnetViolation =
  | 'bacnet_bad_bvlc_type' // BVLL type ≠ 0x81 (BACnet/IPv6 0x82 and others are not read)
  | 'bacnet_length_mismatch' // BVLL length < 4 or ≠ the datagram's length
  | 'bacnet_bad_npdu' // NPDU version ≠ 1, or its addresses overrun the datagram
  | 'bacnet_short_apdu' // APDU shorter than its type's fixed part
  | 'bacnet_bad_apdu_type'; // APDU type 8–15

const isBacnetPort = (p: number): boolean => p >= BACNET_PORT_FIRST && p <= BACNET_PORT_LAST;

/** Big-endian 16-bit read as byte arithmetic: Buffer#readUInt16BE validates its offset on every call. */
const be16 = (b: Buffer, p: number): number => (b[p]! << 8) | b[p + 1]!;

/**
 * Error class and code of an Error-PDU's body `buf[p, end)`: two application-tagged enumerated values
 * (tag 9), possibly after opening context tags (complex errors such as write_property_multiple's).
 */
export const readError = (buf: Buffer, p: number, end: number): { cls: number; code: number } | undefined => {
  const vals: number[] = [];
  while (p < end && vals.length < 2) {
    const t = buf[p]!;
    if ((t & 0x0f) === 0x0e) { p++; continue; } // opening tag
    if ((t & 0xf8) !== 0x90) return undefined; // not application tag 9 (enumerated)
    const n = t & 0x07;
    if (n < 1 || n > 4 || p + 1 + n > end) return undefined;
    vals.push(buf.readUIntBE(p + 1, n));
    p += 1 + n;
  }
  return vals.length === 2 ? { cls: vals[0]!, code: vals[1]! } : undefined;
};

/** Per-flow BACnet/IP state. */
export class BacnetSession implements L7Session {
  private readonly slice = new L7Slice();
  private everValid = false;
  /**
   * The APDU being read came from the datagram's IP sender itself (not forwarded by a BBMD, not routed
   * from another network), so identity in it describes that address; and its event time.
   */
  private direct = false;
  private now = 0;

  onPayload(fromInitiator: boolean, buf: Buffer, off: number, len: number, ts: number): void {
    if (len < 4) { this.violation('bacnet_length_mismatch'); return; }
    if (buf[off] !== 0x81) { this.violation('bacnet_bad_bvlc_type'); return; }
    const length = be16(buf, off + 2);
    if (length < 4 || length !== len) { this.violation('bacnet_length_mismatch'); return; }
    this.everValid = true;
    if (fromInitiator) this.slice.request(ts);
    const fn = buf[off + 1]!;
    const end = off + len;
    if (!NPDU_FUNCTIONS.has(fn)) {
      this.slice.op(fromInitiator, BVLC_FUNCTIONS[fn] ?? `bvlc_0x${fn.toString(16).padStart(2, '0')}`);
      if (fn === 0x00 && len >= 6) {
        const result = be16(buf, off + 4);
        if (result !== 0) this.slice.error(BVLC_RESULTS[result] ?? `bvlc_nak_0x${result.toString(16).padStart(4, '0')}`);
      }
      return;
    }
    this.direct = fn !== 0x04;
    this.now = ts;
    const npdu = off + 4 + (fn === 0x04 ? 6 : 0);
    if (npdu >= end) { this.violation('bacnet_bad_npdu'); return; }
    this.npdu(fromInitiator, buf, npdu, end);
  }

  /** NPDU at `buf[p, end)`. */
  private npdu(fromInit: boolean, buf: Buffer, p: number, end: number): void {
    if (end - p < 2 || buf[p] !== 0x01) { this.violation('bacnet_bad_npdu'); return; }
    const control = buf[p + 1]!;
    p += 2;
    if (control & 0x20) {
      if (end - p < 3) { this.violation('bacnet_bad_npdu'); return; }
      if (fromInit) this.slice.unit(be16(buf, p));
      p += 3 + buf[p + 2]!;
    }
    if (control & 0x08) {
      this.direct = false;
      if (end - p < 3) { this.violation('bacnet_bad_npdu'); return; }
      p += 3 + buf[p + 2]!;
    }
    if (control & 0x20) p += 1; // hop count
    if (p >= end) { this.violation('bacnet_bad_npdu'); return; }
    if (control & 0x80) {
      const type = buf[p]!;
      this.slice.op(fromInit, NETWORK_MESSAGES[type] ?? `network_message_0x${type.toString(16).padStart(2, '0')}`);
      return;
    }
    this.apdu(fromInit, buf, p, end);
  }

  /** APDU at `buf[p, end)` (at least one byte). */
  private apdu(fromInit: boolean, buf: Buffer, p: number, end: number): void {
    const first = buf[p]!;
    const type = first >> 4;
    const n = end - p;
    const segmented = (first & 0x08) !== 0;
    switch (type) {
      case APDU_TYPES.confirmedRequest: {
        const at = p + (segmented ? 5 : 3);
        if (at >= end) { this.violation('bacnet_short_apdu'); return; }
        this.slice.op(fromInit, confirmedName(buf[at]!));
        return;
      }
      case APDU_TYPES.unconfirmedRequest:
        if (n < 2) { this.violation('bacnet_short_apdu'); return; }
        this.slice.op(fromInit, unconfirmedName(buf[p + 1]!));
        if (buf[p + 1] === 0 && this.direct) this.identity(fromInit, 'bacnet_i_am', iAm(buf, p + 2, end));
        return;
      case APDU_TYPES.simpleAck:
        if (n < 3) { this.violation('bacnet_short_apdu'); return; }
        this.slice.op(fromInit, confirmedName(buf[p + 2]!));
        return;
      case APDU_TYPES.complexAck: {
        const at = p + (segmented ? 4 : 2);
        if (at >= end) { this.violation('bacnet_short_apdu'); return; }
        this.slice.op(fromInit, confirmedName(buf[at]!));
        if (buf[at] === 12 && !segmented && this.direct) this.identity(fromInit, 'bacnet_read_property', readPropertyAck(buf, at + 1, end));
        return;
      }
      case APDU_TYPES.segmentAck:
        if (n < 4) { this.violation('bacnet_short_apdu'); return; }
        this.slice.op(fromInit, 'segment_ack');
        return;
      case APDU_TYPES.error: {
        if (n < 3) { this.violation('bacnet_short_apdu'); return; }
        this.slice.op(fromInit, confirmedName(buf[p + 2]!));
        const e = readError(buf, p + 3, end);
        this.slice.error(e ? errorCodeName(e.code) : 'error_unreadable');
        return;
      }
      case APDU_TYPES.reject:
      case APDU_TYPES.abort:
        if (n < 3) { this.violation('bacnet_short_apdu'); return; }
        this.slice.op(fromInit, type === APDU_TYPES.reject ? 'reject' : 'abort');
        this.slice.error(type === APDU_TYPES.reject ? rejectName(buf[p + 2]!) : abortName(buf[p + 2]!));
        return;
      default:
        this.violation('bacnet_bad_apdu_type');
    }
  }

  private identity(fromInit: boolean, via: string, id: DeviceIdentity | undefined): void {
    if (id) this.slice.identity({ side: fromInit ? 'src' : 'dst', via, ts: this.now, ...id });
  }

  private violation(code: BacnetViolation): void {
    this.slice.violation(code);
  }

  onGap(): void {
    // Datagrams are self-contained: nothing partial to drop.
  }

  flush(rec: FlowRecord): void {
    this.slice.flushInto(rec, this.everValid ? 'bacnet' : undefined);
  }
}

/** BACnet/IP on UDP 47808–47823 (either side); labelled 'bacnet' once a valid BVLL header is read. */
export const bacnetAnalyzer: L7Analyzer = {
  name: 'bacnet',
  matches: (proto, srcPort, dstPort) => proto === 17 && (isBacnetPort(srcPort) || isBacnetPort(dstPort)),
  create: () => new BacnetSession(),
};
