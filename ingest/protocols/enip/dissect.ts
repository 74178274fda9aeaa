/**
 * EtherNet/IP encapsulation + CIP explicit messaging (ODVA CIP Networks Library Vol. 2 §2 "Encapsulation
 * Protocol", Vol. 1 §2-4 "Message Router Request/Response Formats", §3-5.5 Connection Manager,
 * Appendix C "Data Management" for paths).
 *
 * Encapsulation header (little-endian), then `length` bytes of command data:
 *
 *   off len field            notes
 *   0   2   command          list_identity 0x63, register_session 0x65, send_rr_data 0x6f …; an
 *                            unknown command is 'enip_unknown_command' (rest of the segment dropped)
 *   2   2   length           bytes after the 24-byte header
 *   4   4   session handle
 *   8   4   status           non-zero → l7Errors (invalid_session_handle …)
 *   12  8   sender context   echoed by the target
 *   20  4   options          0
 *
 * send_rr_data (unconnected, 0x6f) and send_unit_data (connected, 0x70) data:
 *
 *   0   4   interface handle   0 = CIP
 *   4   2   timeout
 *   6   2   item count         Common Packet Format; each item: type (2), length (2), data
 *           address item       0x0000 null (unconnected) or 0x00a1 connection id (connected)
 *           data item          0x00b2 unconnected data = CIP message; 0x00b1 connected data =
 *                              sequence count (2) + CIP message. Items overrunning the data are
 *                              'enip_bad_cpf'.
 *
 * CIP request:   service (1, bit 7 clear), path size in 16-bit words (1), EPATH, request data.
 * CIP response:  service | 0x80 (1), reserved (1), general status (1; non-zero → l7Errors), additional
 *                status size in words (1), additional status, response data. Short ones: 'enip_short_cip'.
 *
 * The EPATH is read for its logical class/instance segments (8- and 16-bit) and ANSI symbolic segments
 * (tag names); other segment kinds end the walk. Object-specific service codes are named by class (see
 * `codes.ts`); a response carries no path, so it takes the name of the last request with the same code.
 * Embedded requests are opened and counted too: unconnected_send (0x52 to the Connection Manager: its
 * message request) and multiple_service_packet (0x0a: each request or reply of its offset table).
 *
 * Counted: every non-carrier encapsulation command by name, and every CIP service (outer and embedded)
 * by name; send_rr_data and send_unit_data themselves are framing and not counted. Initiator PDUs go to
 * `l7Ops`, responder PDUs to `l7OpsRev`. TCP 44818 is a byte stream (several messages per segment,
 * messages across segments); UDP 44818 (list_identity broadcasts) holds whole messages per datagram.
 */
import type { FlowRecord } from '../../../core/records.ts';
import type { L7Analyzer, L7Session } from '../../pcap/l7.ts';
import {
  CARRIER_COMMANDS, CIP_CLASSES, CPF_ITEMS, ENIP_COMMANDS, commandName, generalStatusName, serviceName, statusName,
} from './codes.ts';
import { Framer, type Framing } from '../framer.ts';
import { identityAttributes, listIdentityReply } from './identity.ts';
import { L7Slice } from '../slice.ts';

/** The registered EtherNet/IP port (TCP explicit messaging and UDP list_identity). */
export const ENIP_PORT = 44818;
/** Encapsulation header length. */
export const ENIP_HEADER = 24;
/** Largest encapsulation message: header + 16-bit length. */
export const MAX_ENIP_MESSAGE = ENIP_HEADER + 0xffff;
/** How deep embedded requests (unconnected_send in multiple_service_packet …) are opened. */
const MAX_EMBED_DEPTH = 3;

/** Violation codes (snake_case, closed set). */
export type EnipViolation =
  | 'enip_unknown_command' // encapsulation command not in the spec's list: not an ENIP stream here
  | 'enip_bad_cpf' // CPF item count / item lengths overrun the command data, or no data item
  | 'enip_short_cip' // CIP message shorter than its header, or its path overruns it
  | 'enip_bad_embedded' // unconnected_send / multiple_service_packet offsets or sizes overrun
  | 'enip_truncated' // a message still incomplete when the flow ended, or cut short in a datagram
  | 'enip_stream_gap'; // TCP bytes missing while a message was partial; it was dropped

/** The class/instance a CIP path names (undefined when it names none). */
export interface CipPath {
  cls?: number;
  instance?: number;
  /** An ANSI extended symbolic segment (a tag name) was present. */
  symbolic: boolean;
}

/** Little-endian reads as byte arithmetic: Buffer#readUInt*LE validates its offset on every call. */
const le16 = (b: Buffer, p: number): number => b[p]! | (b[p + 1]! << 8);
const le32 = (b: Buffer, p: number): number => (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16)) + b[p + 3]! * 0x1000000;

/** What {@link walkPath} read, reused between calls (no object per request). */
interface PathScratch { cls: number; hasCls: boolean; instance: number; hasInstance: boolean; symbolic: boolean }

const PATH: PathScratch = { cls: 0, hasCls: false, instance: 0, hasInstance: false, symbolic: false };

/** Walks the path `buf[p, end)` into {@link PATH}; false when a segment overruns it. */
const walkPath = (buf: Buffer, p: number, end: number): boolean => {
  const out = PATH;
  out.hasCls = false;
  out.hasInstance = false;
  out.symbolic = false;
  while (p < end) {
    const seg = buf[p]!;
    if (seg === 0x91) {
      if (p + 2 > end) return false;
      const n = buf[p + 1]!;
      p += 2 + n + (n & 1);
      if (p > end) return false;
      out.symbolic = true;
      continue;
    }
    if ((seg & 0xe0) !== 0x20) break; // not a logical segment
    const type = (seg >> 2) & 0x07; // 0 class, 1 instance, 2 member, 3 connection point, 4 attribute
    const format = seg & 0x03; // 0 8-bit, 1 16-bit (padded), 2 32-bit (padded)
    let value: number;
    if (format === 0) {
      if (p + 2 > end) return false;
      value = buf[p + 1]!;
      p += 2;
    } else if (format === 1) {
      if (p + 4 > end) return false;
      value = le16(buf, p + 2);
      p += 4;
    } else if (format === 2) {
      if (p + 6 > end) return false;
      value = le32(buf, p + 2);
      p += 6;
    } else break;
    if (type === 0) { out.cls = value; out.hasCls = true; } else if (type === 1) { out.instance = value; out.hasInstance = true; }
  }
  return true;
};

/**
 * Reads an EPATH `buf[p, end)`: logical class / instance / member / attribute / connection-point
 * segments and symbolic segments; stops at the first other segment kind. Undefined when a segment
 * overruns the path.
 */
export const parsePath = (buf: Buffer, p: number, end: number): CipPath | undefined => {
  if (!walkPath(buf, p, end)) return undefined;
  const out: CipPath = { symbolic: PATH.symbolic };
  if (PATH.hasCls) out.cls = PATH.cls;
  if (PATH.hasInstance) out.instance = PATH.instance;
  return out;
};

/** Per-flow EtherNet/IP state. */
export class EnipSession implements L7Session {
  private readonly framer: Framer<EnipViolation> | undefined;
  private readonly slice = new L7Slice();
  /** Name of the last request per CIP service code (the index, 0–127), to name responses (which carry no path). */
  private readonly lastRequest: Array<string | undefined> = new Array<string | undefined>(0x80).fill(undefined);
  private everValid = false;
  /** The last get_attributes_all request asked the Identity object (class 1): its reply is the device's identity. */
  private identityAsked = false;
  /** Event time of the message being read (identity reports carry it). */
  private now = 0;

  /** `datagram`: UDP, one or more whole messages per payload, nothing carried over. */
  constructor(private readonly datagram = false) {
    if (!datagram) {
      const framing: Framing<EnipViolation> = {
        headerLen: ENIP_HEADER,
        keep: MAX_ENIP_MESSAGE,
        length: (buf, off) => (ENIP_COMMANDS[le16(buf, off)] === undefined ? 'enip_unknown_command' : ENIP_HEADER + le16(buf, off + 2)),
        handOver: 'kept', // every message fits MAX_ENIP_MESSAGE: handed over whole
      };
      this.framer = new Framer(framing, (req, buf, off, kept, _total, ts) => this.message(req, buf, off, kept, ts), (v) => this.violation(v));
    }
  }

  onPayload(fromInitiator: boolean, buf: Buffer, off: number, len: number, ts: number): void {
    if (this.framer) {
      this.framer.push(fromInitiator, buf, off, len, ts);
      return;
    }
    let p = off;
    const end = off + len;
    while (p < end) {
      if (end - p < ENIP_HEADER) { this.violation('enip_truncated'); return; }
      if (ENIP_COMMANDS[le16(buf, p)] === undefined) { this.violation('enip_unknown_command'); return; }
      const total = ENIP_HEADER + le16(buf, p + 2);
      if (end - p < total) { this.violation('enip_truncated'); return; }
      this.message(fromInitiator, buf, p, total, ts);
      p += total;
    }
  }

  /** One whole encapsulation message at `buf[p, p + n)`. */
  private message(req: boolean, buf: Buffer, p: number, n: number, ts: number): void {
    this.everValid = true;
    const command = le16(buf, p);
    const status = le32(buf, p + 8);
    if (req) this.slice.request(ts);
    if (status !== 0) this.slice.error(statusName(status));
    if (!CARRIER_COMMANDS.has(command)) {
      this.slice.op(req, commandName(command));
      // A reply has the identity item; the request has none. Either side may be the device (UDP replies).
      if (command === 0x63 && status === 0) {
        for (const id of listIdentityReply(buf, p + ENIP_HEADER, p + n)) this.slice.identity({ side: req ? 'src' : 'dst', via: 'enip_list_identity', ts, ...id });
      }
      return;
    }
    this.now = ts;
    // An error reply to a carrier may come without command data.
    if (status !== 0 && n === ENIP_HEADER) return;
    this.cpf(req, buf, p + ENIP_HEADER, p + n);
  }

  /** Interface handle, timeout and CPF items of send_rr_data / send_unit_data at `buf[p, end)`. */
  private cpf(req: boolean, buf: Buffer, p: number, end: number): void {
    if (end - p < 8) { this.violation('enip_bad_cpf'); return; }
    const count = le16(buf, p + 6);
    p += 8;
    let sawData = false;
    for (let i = 0; i < count; i++) {
      if (end - p < 4) { this.violation('enip_bad_cpf'); return; }
      const type = le16(buf, p);
      const len = le16(buf, p + 2);
      const data = p + 4;
      if (data + len > end) { this.violation('enip_bad_cpf'); return; }
      if (type === CPF_ITEMS.unconnectedData) {
        sawData = true;
        this.cip(req, buf, data, data + len, 0);
      } else if (type === CPF_ITEMS.connectedData) {
        sawData = true;
        if (len < 2) this.violation('enip_short_cip');
        else this.cip(req, buf, data + 2, data + len, 0);
      }
      p = data + len;
    }
    if (!sawData) this.violation('enip_bad_cpf');
  }

  /** One CIP message `buf[p, end)`, request or response by bit 7 of its service byte. */
  private cip(fromInit: boolean, buf: Buffer, p: number, end: number, depth: number): void {
    if (end - p < 2) { this.violation('enip_short_cip'); return; }
    const sc = buf[p]! & 0x7f;
    if (buf[p]! & 0x80) {
      if (end - p < 4) { this.violation('enip_short_cip'); return; }
      const name = this.lastRequest[sc] ?? serviceName(sc, undefined);
      this.slice.op(fromInit, name);
      const status = buf[p + 2]!;
      if (status !== 0) this.slice.error(generalStatusName(status));
      const data = p + 4 + 2 * buf[p + 3]!;
      if (data > end) { this.violation('enip_short_cip'); return; }
      if (sc === 0x01 && this.identityAsked && status === 0) {
        this.identityAsked = false;
        const id = identityAttributes(buf, data, end);
        if (id) this.slice.identity({ side: fromInit ? 'src' : 'dst', via: 'cip_identity', ts: this.now, ...id });
      }
      if (sc === 0x0a && depth < MAX_EMBED_DEPTH && data < end) this.multiple(fromInit, buf, data, end, depth);
      return;
    }
    const pathEnd = p + 2 + 2 * buf[p + 1]!;
    if (pathEnd > end) { this.violation('enip_short_cip'); return; }
    if (!walkPath(buf, p + 2, pathEnd)) { this.violation('enip_short_cip'); return; }
    const cls = PATH.hasCls ? PATH.cls : -1;
    const name = serviceName(sc, PATH.symbolic && !PATH.hasCls ? undefined : cls);
    this.lastRequest[sc] = name;
    this.slice.op(fromInit, name);
    if (sc === 0x01) this.identityAsked = cls === CIP_CLASSES.identity;
    if (depth >= MAX_EMBED_DEPTH) return;
    if (sc === 0x0a) this.multiple(fromInit, buf, pathEnd, end, depth);
    else if (sc === 0x52 && cls === CIP_CLASSES.connectionManager) this.unconnectedSend(fromInit, buf, pathEnd, end, depth);
  }

  /**
   * unconnected_send request data: priority/tick (1), timeout ticks (1), message request size (2), the
   * message request, a pad byte when its size is odd, route path size (1), reserved (1), route path.
   */
  private unconnectedSend(fromInit: boolean, buf: Buffer, p: number, end: number, depth: number): void {
    if (end - p < 4) { this.violation('enip_bad_embedded'); return; }
    const size = le16(buf, p + 2);
    if (p + 4 + size > end) { this.violation('enip_bad_embedded'); return; }
    this.cip(fromInit, buf, p + 4, p + 4 + size, depth + 1);
  }

  /**
   * multiple_service_packet data (request, or response after its status): service count (2), one
   * offset (2) per service from the start of the count, then the services back to back.
   */
  private multiple(fromInit: boolean, buf: Buffer, p: number, end: number, depth: number): void {
    if (end - p < 2) { this.violation('enip_bad_embedded'); return; }
    const count = le16(buf, p);
    if (p + 2 + 2 * count > end) { this.violation('enip_bad_embedded'); return; }
    for (let i = 0; i < count; i++) {
      const start = p + le16(buf, p + 2 + 2 * i);
      const stop = i + 1 < count ? p + le16(buf, p + 4 + 2 * i) : end;
      if (start < p + 2 + 2 * count || stop > end || stop < start) { this.violation('enip_bad_embedded'); return; }
      this.cip(fromInit, buf, start, stop, depth + 1);
    }
  }

  private violation(code: EnipViolation): void {
    this.slice.violation(code);
  }

  onGap(fromInitiator: boolean): void {
    if (this.framer?.gap(fromInitiator)) this.violation('enip_stream_gap');
  }

  flush(rec: FlowRecord, final: boolean): void {
    if (final && this.framer) {
      if (this.framer.gap(true)) this.violation('enip_truncated');
      if (this.framer.gap(false)) this.violation('enip_truncated');
    }
    this.slice.flushInto(rec, this.everValid ? 'enip' : undefined);
  }
}

/** EtherNet/IP over TCP 44818 (either side); labelled 'enip' once a known encapsulation command is read. */
export const enipAnalyzer: L7Analyzer = {
  name: 'enip',
  matches: (proto, srcPort, dstPort) => proto === 6 && (srcPort === ENIP_PORT || dstPort === ENIP_PORT),
  create: () => new EnipSession(false),
};

/** EtherNet/IP over UDP 44818 (list_identity, list_services discovery); class-1 I/O on UDP 2222 is not read. */
export const enipUdpAnalyzer: L7Analyzer = {
  name: 'enip',
  matches: (proto, srcPort, dstPort) => proto === 17 && (srcPort === ENIP_PORT || dstPort === ENIP_PORT),
  create: () => new EnipSession(true),
};
