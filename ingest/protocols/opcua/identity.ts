/**
 * Application identity from OPC UA service messages (OPC 10000-4 §5.4.4 GetEndpoints, §5.6.2
 * CreateSession, §7.1 ApplicationDescription; encodings OPC 10000-6 §5.2). Little-endian.
 *
 * - GetEndpointsResponse (encoding id 431): ResponseHeader, then Endpoints[] (Int32 count); the first
 *   EndpointDescription's EndpointUrl (String) and Server (ApplicationDescription) → the server (the
 *   responder).
 * - CreateSessionRequest (461): RequestHeader, then ClientDescription (ApplicationDescription) → the
 *   client (the initiator).
 *
 * ApplicationDescription: ApplicationUri (String) → uri, ProductUri (String) → productUri,
 * ApplicationName (LocalizedText: mask, [locale String], [text String]) → name, ApplicationType
 * (Int32: 0 Server, 1 Client, 2 ClientAndServer, 3 DiscoveryServer) → deviceType.
 *
 * ResponseHeader: timestamp (8), request handle (4), service result (4), service diagnostics
 * (DiagnosticInfo), string table (String[]), additional header (ExtensionObject).
 * RequestHeader: authentication token (NodeId), timestamp (8), request handle (4), return diagnostics
 * (4), audit entry id (String), timeout hint (4), additional header (ExtensionObject).
 */
import type { DeviceIdentity } from '../../../core/records.ts';
import { identityTextUtf8, nonEmpty } from '../identity.ts';

export const GET_ENDPOINTS_RESPONSE = 431;
export const CREATE_SESSION_REQUEST = 461;

const APPLICATION_TYPES = ['server', 'client', 'client_and_server', 'discovery_server'];

const leI32 = (b: Buffer, p: number): number => b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24);

/** A cursor over `buf[p, end)`; every read returns false / -1 once the data runs out. */
class Reader {
  constructor(readonly buf: Buffer, public p: number, readonly end: number) {}

  ok(n: number): boolean {
    return this.p + n <= this.end;
  }

  skip(n: number): boolean {
    if (!this.ok(n)) return false;
    this.p += n;
    return true;
  }

  int32(): number | undefined {
    if (!this.ok(4)) return undefined;
    const v = leI32(this.buf, this.p);
    this.p += 4;
    return v;
  }

  /** A String: its text, '' for null / empty, undefined when it overruns. */
  string(): string | undefined {
    const n = this.int32();
    if (n === undefined) return undefined;
    if (n <= 0) return '';
    if (!this.ok(n)) return undefined;
    const s = identityTextUtf8(this.buf, this.p, this.p + n);
    this.p += n;
    return s;
  }

  skipString(): boolean {
    const n = this.int32();
    if (n === undefined) return false;
    return n <= 0 || this.skip(n);
  }

  nodeId(): boolean {
    if (!this.ok(1)) return false;
    const enc = this.buf[this.p++]! & 0x3f;
    if (enc === 0x00) return this.skip(1);
    if (enc === 0x01) return this.skip(3);
    if (enc === 0x02) return this.skip(6);
    if (enc === 0x03 || enc === 0x05) return this.skip(2) && this.skipString();
    if (enc === 0x04) return this.skip(18);
    return false;
  }

  diagnosticInfo(depth = 0): boolean {
    if (!this.ok(1) || depth > 4) return false;
    const mask = this.buf[this.p++]!;
    for (const bit of [0x01, 0x02, 0x08, 0x04]) if (mask & bit && !this.skip(4)) return false;
    if (mask & 0x10 && !this.skipString()) return false;
    if (mask & 0x20 && !this.skip(4)) return false;
    if (mask & 0x40) return this.diagnosticInfo(depth + 1);
    return true;
  }

  extensionObject(): boolean {
    if (!this.nodeId() || !this.ok(1)) return false;
    const enc = this.buf[this.p++]!;
    return (enc & 0x03) === 0 || this.skipString();
  }

  stringArray(): boolean {
    const n = this.int32();
    if (n === undefined) return false;
    for (let i = 0; i < n; i++) if (!this.skipString()) return false;
    return true;
  }
}

const applicationDescription = (r: Reader): DeviceIdentity | undefined => {
  const uri = r.string();
  const productUri = r.string();
  if (uri === undefined || productUri === undefined || !r.ok(1)) return undefined;
  const mask = r.buf[r.p++]!;
  if (mask & 0x01 && !r.skipString()) return undefined;
  const name = mask & 0x02 ? r.string() : '';
  if (name === undefined) return undefined;
  const type = r.int32();
  const id = nonEmpty({ uri, productUri, name, deviceType: type === undefined ? undefined : APPLICATION_TYPES[type] });
  return Object.keys(id).length > 0 ? id : undefined;
};

/** The server's ApplicationDescription in a GetEndpointsResponse body after its type NodeId, at `buf[p, end)`. */
export const getEndpointsServer = (buf: Buffer, p: number, end: number): DeviceIdentity | undefined => {
  const r = new Reader(buf, p, end);
  if (!r.skip(16) || !r.diagnosticInfo() || !r.stringArray() || !r.extensionObject()) return undefined;
  const count = r.int32();
  if (count === undefined || count < 1 || !r.skipString()) return undefined;
  return applicationDescription(r);
};

/** The client's ApplicationDescription in a CreateSessionRequest body after its type NodeId, at `buf[p, end)`. */
export const createSessionClient = (buf: Buffer, p: number, end: number): DeviceIdentity | undefined => {
  const r = new Reader(buf, p, end);
  if (!r.nodeId() || !r.skip(16) || !r.skipString() || !r.skip(4) || !r.extensionObject()) return undefined;
  return applicationDescription(r);
};
