/**
 * Device identity from S7comm "read SZL" userdata responses (system status lists; Siemens "System
 * Software for S7-300/400 System and Standard Functions", SZL-ID W#16#xy11 and W#16#xy1C).
 *
 * Userdata response (ROSCTR 7), parameter after the 10-octet header:
 *   0   3   head            00 01 12
 *   3   1   length          4 (request) or 8 (response)
 *   4   1   method          0x12
 *   5   1   type | group    high nibble 8 = response, low nibble 4 = CPU functions
 *   6   1   subfunction     1 = read SZL
 *   7   1   sequence number
 *   8   1   data unit reference
 *   9   1   last data unit  0x00 = last, 0x01 = more follows (the client asks for the next fragment)
 *   10  2   error code
 * Data: return code (1; 0xFF success), transport size (1), length (2), then the SZL bytes; a fragmented
 * answer continues them in the next response's data. SZL: ID (2), index (2), record length (2), record
 * count (2), records.
 *
 *   SZL-ID 0x0011 / 0x0111 (module identification), records of 28 octets: index (2), MLFB order number
 *     (20), BGTyp (2), Ausbg (2), Ausbe (2). Index 1 (module) → productCode = MLFB; index 7 (basic
 *     firmware) → firmware `V<Ausbg low>.<Ausbe high>.<Ausbe low>` when Ausbg's high octet is 'V'.
 *   SZL-ID 0x001C / 0x011C (component identification), records of 34 octets: index (2), text (32).
 *     Index 1 automation system name → name, 2 module name and 7 module type name → model (7 wins),
 *     5 serial number → serial, 4 copyright → vendor 'Siemens' when it names Siemens.
 *
 * The SZL bytes of one answer are gathered across fragments up to {@link MAX_SZL} octets per flow.
 */
import type { DeviceIdentity } from '../../../core/records.ts';
import { identityText, nonEmpty } from '../identity.ts';

/** Largest SZL answer gathered (bytes); longer lists are read as far as this. */
export const MAX_SZL = 2048;

const be16 = (b: Buffer, p: number): number => (b[p]! << 8) | b[p + 1]!;

/** The identity in SZL bytes `buf[p, end)` (ID, index, record length, count, records), or undefined. */
export const szlIdentity = (buf: Buffer, p: number, end: number): { id: number; identity: DeviceIdentity } | undefined => {
  if (end - p < 8) return undefined;
  const id = be16(buf, p);
  const recLen = be16(buf, p + 4);
  const count = be16(buf, p + 6);
  const base = id & 0x00ff;
  const out: Record<string, string | undefined> = {};
  let q = p + 8;
  for (let i = 0; i < count && recLen >= 2 && q + recLen <= end; i++, q += recLen) {
    const index = be16(buf, q);
    if (base === 0x11 && recLen >= 28) {
      if (index === 0x0001) out.productCode = identityText(buf, q + 2, q + 22);
      if (index === 0x0007 && buf[q + 24] === 0x56) out.firmware = `V${buf[q + 25]!}.${buf[q + 26]!}.${buf[q + 27]!}`;
    } else if (base === 0x1c && recLen >= 34) {
      const text = identityText(buf, q + 2, q + 34);
      if (index === 0x0001) out.name = text;
      else if (index === 0x0002) out.model ??= text;
      else if (index === 0x0007 && text) out.model = text;
      else if (index === 0x0005) out.serial = text;
      else if (index === 0x0004 && /siemens/i.test(text)) out.vendor = 'Siemens';
    }
  }
  const identity = nonEmpty(out);
  return Object.keys(identity).length > 0 ? { id, identity } : undefined;
};

/** Gathers the SZL bytes of read-SZL responses of one flow's responder, fragment by fragment. */
export class SzlGatherer {
  private buf: Buffer | undefined;
  private len = 0;

  /**
   * One userdata PDU (the TSDU at `buf[off, off + kept)`, ROSCTR 7); returns the identity once the last
   * fragment of a read-SZL answer is in.
   */
  pdu(buf: Buffer, off: number, kept: number): { id: number; identity: DeviceIdentity } | undefined {
    if (kept < 22) return undefined;
    const parlg = be16(buf, off + 6);
    const par = off + 10;
    if (parlg < 12 || buf[par + 3]! < 8) return undefined;
    // Response, CPU functions group, read SZL.
    if ((buf[par + 5]! & 0xf0) !== 0x80 || (buf[par + 5]! & 0x0f) !== 4 || buf[par + 6] !== 1) return undefined;
    const more = buf[par + 9] === 0x01;
    const data = par + parlg;
    const end = off + kept;
    if (be16(buf, par + 10) !== 0 || data + 4 > end || buf[data] !== 0xff) { this.len = 0; return undefined; }
    const n = Math.min(be16(buf, data + 2), end - data - 4);
    const room = MAX_SZL - this.len;
    if (n > 0 && room > 0) {
      this.buf ??= Buffer.alloc(MAX_SZL);
      buf.copy(this.buf, this.len, data + 4, data + 4 + Math.min(n, room));
      this.len += Math.min(n, room);
    }
    if (more) return undefined;
    const len = this.len;
    this.len = 0;
    return this.buf ? szlIdentity(this.buf, 0, len) : undefined;
  }
}
