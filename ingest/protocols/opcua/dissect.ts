/**
 * OPC UA binary over TCP: UA TCP and UA Secure Conversation (OPC 10000-6 §7.1 and §6.7), service
 * encoding ids from OPC 10000-6 §5.2.2.9 (the body's leading NodeId) and NodeIds.csv.
 *
 * Every chunk starts with an 8-byte header (little-endian):
 *
 *   off len field          notes
 *   0   3   message type   HEL ACK ERR RHE (UA TCP), OPN MSG CLO (Secure Conversation); else
 *                          'opcua_bad_message_type' (rest of the segment dropped)
 *   3   1   chunk type     F final, C intermediate, A abort; else 'opcua_bad_chunk_type'
 *   4   4   message size   whole chunk incl. header; < 8 or > 64 MiB is 'opcua_bad_length'
 *
 * HEL  protocol version, buffer sizes, max message size, max chunk count (5 × 4), endpoint URL (String)
 * ACK  protocol version, buffer sizes, max message size, max chunk count (5 × 4)
 * ERR  error (StatusCode, 4) → l7Errors, reason (String)
 * OPN  secure channel id (4), asymmetric security header: SecurityPolicyUri (String), sender certificate
 *      (ByteString), receiver thumbprint (ByteString); sequence number (4), request id (4); body
 * MSG, CLO  secure channel id (4), token id (4), sequence number (4), request id (4); body
 *
 * Body (first chunk of a message only): the type's encoding NodeId (0x01 four-byte: namespace (1) +
 * id (2); 0x00 two-byte: id (1); 0x02 numeric: namespace (2) + id (4)) → the service name; a request
 * then has its RequestHeader, a response its ResponseHeader: timestamp (8), request handle (4),
 * ServiceResult (StatusCode, 4) — a Bad result (ServiceFault's always) → l7Errors. An
 * OpenSecureChannel request is read on to its MessageSecurityMode: None (1) counts as
 * `open_secure_channel_none`.
 *
 * Secured channels: the SecurityPolicyUri of the client's OPN decides. With a policy other than
 * `…#None`, OPN is counted as `open_secure_channel`, CLO as `close_secure_channel`, and each MSG
 * message as `secured_chunk`; their bodies are not read. A channel whose OPN was not seen is read when
 * its first body starts with a known service id, else treated as secured.
 *
 * Chunks: an intermediate chunk (C) opens a multi-chunk message for its request id; later chunks of the
 * same request id carry no NodeId and are not counted; F closes it, A aborts it (abort error code →
 * l7Errors).
 *
 * Detection: any TCP port. The first payload byte run of the flow (either side) must start with a
 * valid chunk header; otherwise the session stays silent for the whole flow (no ops, no violations).
 * Each direction keeps at most {@link KEEP} bytes of a chunk; the rest is skipped (bounded memory).
 */
import type { DeviceIdentity, FlowRecord } from '../../../core/records.ts';
import type { L7Analyzer, L7Session } from '../../pcap/l7.ts';
import { Framer, type Framing } from '../framer.ts';
import { L7Slice } from '../slice.ts';
import { CREATE_SESSION_REQUEST, GET_ENDPOINTS_RESPONSE, createSessionClient, getEndpointsServer } from './identity.ts';
import {
  MESSAGE_TYPES, OPEN_SECURE_CHANNEL_NONE, SECURED_CHUNK, SERVICE_REQUESTS, SERVICE_RESPONSES, serviceName,
  statusName,
} from './codes.ts';

/** The registered OPC UA binary port (detection does not depend on it). */
export const OPCUA_PORT = 4840;
/** Bytes of each chunk kept for parsing: headers, certificates and the start of the body. */
export const KEEP = 8192;
/** Largest chunk size accepted as plausible. */
export const MAX_CHUNK = 64 * 1024 * 1024;

/** Violation codes (snake_case, closed set). */
export type OpcuaViolation =
  | 'opcua_bad_message_type' // header's message type is none of HEL ACK ERR RHE OPN MSG CLO
  | 'opcua_bad_chunk_type' // chunk type not F, C or A
  | 'opcua_bad_length' // message size < 8 or > 64 MiB
  | 'opcua_short_message' // a message shorter than its fixed fields, or a String/ByteString overruns it
  | 'opcua_bad_node_id' // a plaintext body whose type NodeId cannot be read
  | 'opcua_truncated' // a chunk still incomplete when the flow ended
  | 'opcua_stream_gap'; // TCP bytes missing while a chunk was partial; it was dropped

/** Little-endian reads as byte arithmetic: Buffer#readUInt32LE validates its offset on every call. */
const le16 = (b: Buffer, p: number): number => b[p]! | (b[p + 1]! << 8);
const le32 = (b: Buffer, p: number): number => (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16)) + b[p + 3]! * 0x1000000;
const leI32 = (b: Buffer, p: number): number => b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24);

/** The three type octets as one number, for lookups without decoding a string. */
const code3 = (b: Buffer, p: number): number => (b[p]! << 16) | (b[p + 1]! << 8) | b[p + 2]!;

/** Message type strings by {@link code3} of their octets: the same string objects every time. */
const TYPE_BY_CODE: ReadonlyMap<number, string> = new Map(
  Object.keys(MESSAGE_TYPES).map((t) => [(t.charCodeAt(0) << 16) | (t.charCodeAt(1) << 8) | t.charCodeAt(2), t]),
);

/** The message type at `buf[off, off + 3)`: a known type without allocating, anything else decoded. */
const typeOf = (buf: Buffer, off: number): string => TYPE_BY_CODE.get(code3(buf, off)) ?? buf.toString('latin1', off, off + 3);

/** Chunk type octets F, C, A (codes.ts CHUNK_TYPES), compared as numbers. */
const CHUNK_F = 0x46;
const CHUNK_C = 0x43;
const CHUNK_A = 0x41;
const isChunkType = (c: number | undefined): boolean => c === CHUNK_F || c === CHUNK_C || c === CHUNK_A;

/**
 * Whether `buf[off, off + len)` starts like a chunk header (used to detect OPC UA on any port). A first
 * segment shorter than the 8-byte header is judged on the bytes it has.
 */
export const looksLikeOpcua = (buf: Buffer, off: number, len: number): boolean => {
  if (len >= 3) {
    if (!TYPE_BY_CODE.has(code3(buf, off))) return false;
  } else {
    const head = buf.toString('latin1', off, off + len);
    if (!Object.keys(MESSAGE_TYPES).some((t) => t.startsWith(head))) return false;
  }
  if (len >= 4 && !isChunkType(buf[off + 3])) return false;
  if (len < 8) return len > 0;
  const size = le32(buf, off + 4);
  return size >= 8 && size <= MAX_CHUNK;
};

const framing: Framing<OpcuaViolation> = {
  headerLen: 8,
  keep: KEEP,
  length(buf, off) {
    if (!TYPE_BY_CODE.has(code3(buf, off))) return 'opcua_bad_message_type';
    if (!isChunkType(buf[off + 3])) return 'opcua_bad_chunk_type';
    const size = le32(buf, off + 4);
    return size < 8 || size > MAX_CHUNK ? 'opcua_bad_length' : size;
  },
  // A chunk's headers are in its first KEEP bytes: count it then, skip the rest as it comes.
  handOver: 'kept',
};

/** Offset just past a String / ByteString at `p` (Int32 length, -1 = null), or -1 when it overruns `end`. */
export const skipString = (buf: Buffer, p: number, end: number): number => {
  if (p + 4 > end) return -1;
  const n = leI32(buf, p);
  if (n < 0) return p + 4;
  return p + 4 + n > end ? -1 : p + 4 + n;
};

/** The id and end of the NodeId {@link nodeIdAt} read last (reused: no object per message). */
const NODE = { id: 0, next: 0 };

/** Reads the NodeId at `buf[p, end)` into {@link NODE}; false when it overruns `end` or its encoding is unknown. */
const nodeIdAt = (buf: Buffer, p: number, end: number): boolean => {
  if (p >= end) return false;
  const enc = buf[p]! & 0x3f;
  let next: number;
  let id = -1;
  if (enc === 0x00) {
    next = p + 2;
    if (next > end) return false;
    id = buf[p + 1]!;
  } else if (enc === 0x01) {
    next = p + 4;
    if (next > end) return false;
    if (buf[p + 1] === 0) id = le16(buf, p + 2);
  } else if (enc === 0x02) {
    next = p + 7;
    if (next > end) return false;
    if (le16(buf, p + 1) === 0) id = le32(buf, p + 3);
  } else if (enc === 0x03 || enc === 0x05) {
    next = skipString(buf, p + 3, end);
    if (next < 0) return false;
  } else if (enc === 0x04) {
    next = p + 19;
    if (next > end) return false;
  } else return false;
  NODE.id = id;
  NODE.next = next;
  return true;
};

/** A NodeId at `p`: its numeric id (ns 0 only; else -1) and where it ends, or undefined when unreadable. */
export const readNodeId = (buf: Buffer, p: number, end: number): { id: number; next: number } | undefined =>
  nodeIdAt(buf, p, end) ? { id: NODE.id, next: NODE.next } : undefined;

/** Channel security as learnt from the client's OPN: unknown until then. */
type Security = 'unknown' | 'none' | 'secured';

/** Per-flow OPC UA state. */
export class OpcuaSession implements L7Session {
  private readonly framer: Framer<OpcuaViolation>;
  /** undefined: not decided yet; false: not OPC UA (silent); true: OPC UA. */
  private isOpcua: boolean | undefined;
  private security: Security = 'unknown';
  /** Request ids of multi-chunk messages in progress, per direction. */
  private readonly openInit = new Set<number>();
  private readonly openResp = new Set<number>();
  private readonly slice = new L7Slice();
  /** Event time of the chunk being read (identity reports carry it). */
  private now = 0;

  constructor() {
    this.framer = new Framer(framing, (req, buf, off, kept, total, ts) => this.chunk(req, buf, off, kept, ts), (v) => this.violation(v));
  }

  onPayload(fromInitiator: boolean, buf: Buffer, off: number, len: number, ts: number): void {
    if (this.isOpcua === undefined) this.isOpcua = looksLikeOpcua(buf, off, len);
    if (this.isOpcua) this.framer.push(fromInitiator, buf, off, len, ts);
  }

  /** One chunk; its first `n` bytes are at `buf[p, p + n)`. */
  private chunk(req: boolean, buf: Buffer, p: number, n: number, ts: number): void {
    const type = typeOf(buf, p);
    const chunkType = buf[p + 3]!;
    const end = p + n;
    this.now = ts;
    if (req && chunkType === CHUNK_F) this.slice.request(ts);
    switch (type) {
      case 'HEL':
        if (n < 32) this.violation('opcua_short_message');
        this.slice.op(req, MESSAGE_TYPES.HEL!);
        return;
      case 'ACK':
      case 'RHE':
        if (n < 28 && type === 'ACK') this.violation('opcua_short_message');
        this.slice.op(req, MESSAGE_TYPES[type]!);
        return;
      case 'ERR':
        this.slice.op(req, MESSAGE_TYPES.ERR!);
        if (n < 16) { this.violation('opcua_short_message'); return; }
        this.slice.error(statusName(le32(buf, p + 8)));
        return;
      case 'OPN':
        this.opn(req, buf, p, end, chunkType);
        return;
      default: // MSG, CLO
        if (n < 24) { this.violation('opcua_short_message'); return; }
        this.secureConversation(req, type, buf, p + 16, p + 24, end, chunkType);
    }
  }

  /** OPN: reads the policy URI (the client's sets the channel's security), then the body when plaintext. */
  private opn(req: boolean, buf: Buffer, p: number, end: number, chunkType: number): void {
    const uriAt = p + 12;
    const afterUri = skipString(buf, uriAt, end);
    if (afterUri < 0) { this.violation('opcua_short_message'); this.slice.op(req, MESSAGE_TYPES.OPN!); return; }
    const uriLen = leI32(buf, uriAt);
    const uri = uriLen > 0 ? buf.toString('latin1', uriAt + 4, afterUri) : '';
    const plain = uri.endsWith('#None');
    if (req) this.security = plain ? 'none' : 'secured';
    const afterCert = skipString(buf, afterUri, end);
    const afterThumb = afterCert < 0 ? -1 : skipString(buf, afterCert, end);
    if (!plain || afterThumb < 0 || afterThumb + 8 > end) {
      if (plain) this.violation('opcua_short_message');
      this.slice.op(req, MESSAGE_TYPES.OPN!);
      return;
    }
    this.secureConversation(req, 'OPN', buf, afterThumb, afterThumb + 8, end, chunkType);
  }

  /**
   * The sequence header at `seqAt` (sequence number, request id) and the body at `body` of an OPN, MSG
   * or CLO chunk.
   */
  private secureConversation(
    req: boolean, type: string, buf: Buffer, seqAt: number, body: number, end: number, chunkType: number,
  ): void {
    const requestId = le32(buf, seqAt + 4);
    const open = req ? this.openInit : this.openResp;
    if (chunkType === CHUNK_A) {
      open.delete(requestId);
      if (this.security !== 'secured' && body + 4 <= end) this.slice.error(statusName(le32(buf, body)));
      return;
    }
    const continued = open.has(requestId);
    if (chunkType === CHUNK_C) open.add(requestId);
    else open.delete(requestId);
    if (continued) return;
    if (type === 'MSG' && this.security === 'secured') { this.slice.op(req, SECURED_CHUNK); return; }
    if (type !== 'MSG' && this.security === 'secured') { this.slice.op(req, MESSAGE_TYPES[type]!); return; }
    const table = req ? SERVICE_REQUESTS : SERVICE_RESPONSES;
    if (!nodeIdAt(buf, body, end) || NODE.id < 0) {
      if (this.security === 'none') this.violation('opcua_bad_node_id');
      this.slice.op(req, type === 'MSG' ? SECURED_CHUNK : MESSAGE_TYPES[type]!);
      return;
    }
    const id = NODE.id;
    const next = NODE.next;
    if (this.security === 'unknown' && table[id] === undefined) { this.slice.op(req, SECURED_CHUNK); return; }
    const name = serviceName(id, req);
    if (req) {
      this.slice.op(req, id === 446 && this.securityModeNone(buf, next, end) ? OPEN_SECURE_CHANNEL_NONE : name);
      if (id === CREATE_SESSION_REQUEST) this.identity('src', createSessionClient(buf, next, end));
      return;
    }
    this.slice.op(req, name);
    if (id === GET_ENDPOINTS_RESPONSE) this.identity('dst', getEndpointsServer(buf, next, end));
    // ResponseHeader: timestamp (8), request handle (4), ServiceResult (4).
    if (next + 16 <= end) {
      const result = le32(buf, next + 12);
      if (result & 0x80000000) this.slice.error(statusName(result));
    } else if (id === 397) this.violation('opcua_short_message');
  }

  /**
   * Whether an OpenSecureChannelRequest body (after its NodeId, at `p`) asks for MessageSecurityMode
   * None. RequestHeader: authentication token (NodeId), timestamp (8), request handle (4), return
   * diagnostics (4), audit entry id (String), timeout hint (4), additional header (ExtensionObject:
   * NodeId, encoding byte, [Int32 length + body]); then client protocol version (4), request type (4),
   * security mode (4).
   */
  private securityModeNone(buf: Buffer, p: number, end: number): boolean {
    if (!nodeIdAt(buf, p, end)) return false;
    let q = skipString(buf, NODE.next + 16, end);
    if (q < 0) return false;
    if (!nodeIdAt(buf, q + 4, end)) return false;
    const extNext = NODE.next;
    if (extNext >= end) return false;
    q = extNext + 1;
    if (buf[extNext]! & 0x03) {
      q = skipString(buf, q, end);
      if (q < 0) return false;
    }
    return q + 12 <= end && le32(buf, q + 8) === 1;
  }

  private identity(side: 'src' | 'dst', id: DeviceIdentity | undefined): void {
    if (id) this.slice.identity({ side, via: 'opcua_application', ts: this.now, ...id });
  }

  private violation(code: OpcuaViolation): void {
    this.slice.violation(code);
  }

  onGap(fromInitiator: boolean): void {
    if (this.isOpcua && this.framer.gap(fromInitiator)) this.violation('opcua_stream_gap');
  }

  flush(rec: FlowRecord, final: boolean): void {
    if (!this.isOpcua) return;
    if (final) {
      if (this.framer.gap(true)) this.violation('opcua_truncated');
      if (this.framer.gap(false)) this.violation('opcua_truncated');
    }
    this.slice.flushInto(rec, 'opcua');
  }
}

/**
 * OPC UA binary on any TCP port, decided on the flow's first payload. It matches every TCP flow, so
 * it must come last in the analyzer list (flow assembly gives a flow to the first match).
 */
export const opcuaAnalyzer: L7Analyzer = {
  name: 'opcua',
  matches: (proto) => proto === 6,
  create: () => new OpcuaSession(),
};
