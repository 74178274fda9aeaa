/**
 * Just enough of the Kafka wire protocol to ask a broker which API versions it speaks, with no client
 * library: the launcher's readiness probe and the kafkajs compatibility check both use it.
 *
 * Framing (Kafka protocol guide, "Network": every message is size-delimited):
 *
 *   off len field           notes
 *   0   4   size            bytes after this field
 *   4   2   api_key         18 = ApiVersions
 *   6   2   api_version     0..4 on Kafka 4.x
 *   8   4   correlation_id  echoed in the response
 *   12  2+n client_id       NULLABLE_STRING (int16 length)
 *   ..      tagged fields   request header v2 only (api_version >= 3): UNSIGNED_VARINT count, 0 here
 *   ..      body            v0-2: empty; v3+: client_software_name, client_software_version
 *                           (COMPACT_STRING = UNSIGNED_VARINT length+1, bytes), tagged fields
 *
 * The ApiVersions response always uses response header v0 (KIP-511): int32 correlation_id, then
 *
 *   v0:   error_code int16, api_keys ARRAY(int32 count) of {api_key, min_version, max_version} int16
 *   v1-2: as v0, then throttle_time_ms int32
 *   v3+:  error_code int16, api_keys COMPACT_ARRAY(UNSIGNED_VARINT count+1) of
 *         {api_key, min_version, max_version int16, tagged fields}, throttle_time_ms int32, tagged fields
 *
 * A broker that does not speak the requested version answers UNSUPPORTED_VERSION (35) in the v0 body
 * layout, with its own ranges, so the client can retry with a version it knows.
 */
import { connect } from 'node:net';

/** Error code a broker returns for an ApiVersions request version it does not speak. */
export const UNSUPPORTED_VERSION = 35;

/** Supported version range of one API, as the broker advertises it. */
export interface VersionRange {
  min: number;
  max: number;
}

/** Decoded ApiVersions response. */
export interface ApiVersions {
  correlationId: number;
  errorCode: number;
  /** api_key → advertised range. */
  apis: Map<number, VersionRange>;
}

/** A decode result; bad bytes are a violation value, never a throw (STYLE.md §4). */
export type Decoded<T> =
  | { ok: true; value: T }
  | { ok: false; violation: 'kafka_short_frame' | 'kafka_bad_count' | 'kafka_bad_varint'; offset: number };

const writeUvarint = (n: number): Buffer => {
  const bytes: number[] = [];
  let v = n >>> 0;
  while (v >= 0x80) {
    bytes.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  bytes.push(v);
  return Buffer.from(bytes);
};

const compactString = (s: string): Buffer => {
  const b = Buffer.from(s, 'utf8');
  return Buffer.concat([writeUvarint(b.length + 1), b]);
};

/** A complete size-prefixed ApiVersions request frame. */
export const encodeApiVersionsRequest = (version: number, correlationId: number, clientId = 'conduitwatch-probe'): Buffer => {
  const id = Buffer.from(clientId, 'utf8');
  const header = Buffer.alloc(10 + id.length);
  header.writeInt16BE(18, 0);
  header.writeInt16BE(version, 2);
  header.writeInt32BE(correlationId, 4);
  header.writeInt16BE(id.length, 8);
  id.copy(header, 10);
  const parts: Buffer[] = [header];
  if (version >= 3) {
    parts.push(writeUvarint(0), compactString('conduitwatch'), compactString('0'), writeUvarint(0));
  }
  const payload = Buffer.concat(parts);
  const size = Buffer.alloc(4);
  size.writeInt32BE(payload.length, 0);
  return Buffer.concat([size, payload]);
};

/** A bounds-checked reader over one response frame. */
class Reader {
  offset = 0;
  constructor(private readonly buf: Buffer) {}
  has(n: number): boolean {
    return this.offset + n <= this.buf.length;
  }
  int16(): number {
    const v = this.buf.readInt16BE(this.offset);
    this.offset += 2;
    return v;
  }
  int32(): number {
    const v = this.buf.readInt32BE(this.offset);
    this.offset += 4;
    return v;
  }
  /** UNSIGNED_VARINT, or -1 when it runs past the end or past 5 bytes. */
  uvarint(): number {
    let v = 0;
    for (let shift = 0; shift <= 28; shift += 7) {
      if (!this.has(1)) return -1;
      const b = this.buf[this.offset++]!;
      v |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return v >>> 0;
    }
    return -1;
  }
}

/**
 * Decodes an ApiVersions response body (the frame without its 4-byte size) sent for request `version`.
 * Tagged fields inside entries are skipped by their declared sizes; trailing fields are not needed.
 */
export const decodeApiVersionsResponse = (frame: Buffer, version: number): Decoded<ApiVersions> => {
  const r = new Reader(frame);
  if (!r.has(6)) return { ok: false, violation: 'kafka_short_frame', offset: r.offset };
  const correlationId = r.int32();
  const errorCode = r.int16();
  // An unsupported request version is answered in the v0 layout (see the header comment).
  const flexible = version >= 3 && errorCode !== UNSUPPORTED_VERSION;
  let count: number;
  if (flexible) {
    const n = r.uvarint();
    if (n < 0) return { ok: false, violation: 'kafka_bad_varint', offset: r.offset };
    count = n - 1;
  } else {
    if (!r.has(4)) return { ok: false, violation: 'kafka_short_frame', offset: r.offset };
    count = r.int32();
  }
  if (count < 0 || count > 10_000) return { ok: false, violation: 'kafka_bad_count', offset: r.offset };
  const apis = new Map<number, VersionRange>();
  for (let i = 0; i < count; i++) {
    if (!r.has(6)) return { ok: false, violation: 'kafka_short_frame', offset: r.offset };
    const key = r.int16();
    const min = r.int16();
    const max = r.int16();
    if (flexible) {
      const tags = r.uvarint();
      if (tags < 0) return { ok: false, violation: 'kafka_bad_varint', offset: r.offset };
      for (let t = 0; t < tags; t++) {
        const tag = r.uvarint();
        const size = r.uvarint();
        if (tag < 0 || size < 0) return { ok: false, violation: 'kafka_bad_varint', offset: r.offset };
        if (!r.has(size)) return { ok: false, violation: 'kafka_short_frame', offset: r.offset };
        r.offset += size;
      }
    }
    apis.set(key, { min, max });
  }
  return { ok: true, value: { correlationId, errorCode, apis } };
};

/**
 * Sends one ApiVersions request to 127.0.0.1:`port` over a fresh TCP connection and decodes the answer.
 * Rejects on connection errors, a malformed frame, a wrong correlation id or after `timeoutMs`.
 */
export const requestApiVersions = (port: number, version = 0, timeoutMs = 3_000, host = '127.0.0.1'): Promise<ApiVersions> =>
  new Promise((resolvePromise, reject) => {
    const correlationId = 1 + Math.floor(Math.random() * 1_000_000);
    const socket = connect({ port, host });
    let buf = Buffer.alloc(0);
    const finish = (err: Error | undefined, value?: ApiVersions): void => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolvePromise(value!);
    };
    const timer = setTimeout(() => finish(new Error(`no ApiVersions answer from ${host}:${port} within ${timeoutMs} ms`)), timeoutMs);
    socket.on('connect', () => socket.write(encodeApiVersionsRequest(version, correlationId)));
    socket.on('error', (e) => finish(e));
    socket.on('close', () => finish(new Error(`${host}:${port} closed the connection before answering ApiVersions`)));
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length < 4) return;
      const size = buf.readInt32BE(0);
      if (size < 0 || size > 1_000_000) return finish(new Error(`ApiVersions frame size ${size} from ${host}:${port} is not plausible`));
      if (buf.length < 4 + size) return;
      const decoded = decodeApiVersionsResponse(buf.subarray(4, 4 + size), version);
      if (!decoded.ok) return finish(new Error(`malformed ApiVersions response: ${decoded.violation} at byte ${decoded.offset}`));
      if (decoded.value.correlationId !== correlationId) {
        return finish(new Error(`ApiVersions correlation id ${decoded.value.correlationId}, expected ${correlationId}`));
      }
      finish(undefined, decoded.value);
    });
  });

/**
 * The newest version of each API that kafkajs 2.2.4 implements: the keys of `versions` in
 * tulios/kafkajs src/protocol/requests/<api>/index.js at tag v2.2.4. kafkajs sends
 * min(its newest, the broker's max) and never looks at the broker's min
 * (src/protocol/requests/index.js, `lookup`), so a broker is usable iff that version is >= its min.
 */
export const KAFKAJS_2_2_4_MAX_VERSIONS: ReadonlyMap<number, { name: string; max: number }> = new Map([
  [0, { name: 'Produce', max: 7 }],
  [1, { name: 'Fetch', max: 11 }],
  [2, { name: 'ListOffsets', max: 3 }],
  [3, { name: 'Metadata', max: 6 }],
  [8, { name: 'OffsetCommit', max: 5 }],
  [9, { name: 'OffsetFetch', max: 4 }],
  [10, { name: 'FindCoordinator', max: 2 }],
  [11, { name: 'JoinGroup', max: 5 }],
  [12, { name: 'Heartbeat', max: 3 }],
  [13, { name: 'LeaveGroup', max: 3 }],
  [14, { name: 'SyncGroup', max: 3 }],
  [15, { name: 'DescribeGroups', max: 2 }],
  [16, { name: 'ListGroups', max: 2 }],
  [18, { name: 'ApiVersions', max: 2 }],
  [19, { name: 'CreateTopics', max: 3 }],
  [20, { name: 'DeleteTopics', max: 1 }],
  [22, { name: 'InitProducerId', max: 1 }],
  [24, { name: 'AddPartitionsToTxn', max: 1 }],
  [25, { name: 'AddOffsetsToTxn', max: 1 }],
  [26, { name: 'EndTxn', max: 1 }],
  [28, { name: 'TxnOffsetCommit', max: 1 }],
  [32, { name: 'DescribeConfigs', max: 2 }],
  [37, { name: 'CreatePartitions', max: 1 }],
]);

/** What kafkajs would send for one API against a broker, and whether the broker accepts it. */
export interface NegotiatedApi {
  apiKey: number;
  name: string;
  kafkajsMax: number;
  broker: VersionRange | undefined;
  /** min(kafkajsMax, broker max), or undefined when the broker lacks the API. */
  chosen: number | undefined;
  ok: boolean;
}

/** Replays kafkajs 2.2.4's version choice against advertised ranges, one row per API it uses. */
export const kafkajsCompatibility = (apis: ReadonlyMap<number, VersionRange>): NegotiatedApi[] =>
  [...KAFKAJS_2_2_4_MAX_VERSIONS].map(([apiKey, { name, max }]) => {
    const broker = apis.get(apiKey);
    const chosen = broker ? Math.min(max, broker.max) : undefined;
    return { apiKey, name, kafkajsMax: max, broker, chosen, ok: chosen !== undefined && chosen >= broker!.min };
  });
