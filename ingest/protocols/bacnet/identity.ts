/**
 * Device identity from BACnet APDUs (ANSI/ASHRAE 135-2020 §20.2 encoding, §16.10 Who-Is/I-Am,
 * §15.5 ReadProperty, §12.11 Device object):
 *
 * - I-Am (unconfirmed service 0): application-tagged iAmDeviceIdentifier (ObjectIdentifier),
 *   maxAPDULengthAccepted (Unsigned), segmentationSupported (Enumerated), vendorID (Unsigned) →
 *   address = device instance, vendorId.
 * - ReadProperty Complex-ACK (service 12) of a Device object: [0] objectIdentifier, [1]
 *   propertyIdentifier, optional [2] arrayIndex, [3] { value } →
 *     vendor-name (121) → vendor, vendor-identifier (120) → vendorId, model-name (70) → model,
 *     firmware-revision (44) → firmware, application-software-version (12) → software,
 *     object-name (77) → name, object-identifier (75) → address (the instance a wildcard request found).
 *
 * Tags: octet = tag number (4 bits; 15 = next octet) | class (1 = context) | LVT (3 bits: length 0–4,
 * 5 = extended length in the next octet (254: 2 octets, 255: 4 octets), 6/7 = opening/closing context
 * tag). Character strings start with a character set octet: 0 UTF-8, 4 UCS-2 (big-endian), 5 ISO 8859-1;
 * other sets are skipped. Anything that overruns the APDU yields nothing.
 */
import type { DeviceIdentity } from '../../../core/records.ts';
import { identityText, identityTextUcs2, identityTextUtf8 } from '../identity.ts';

const OBJECT_TYPE_DEVICE = 8;

/** Property identifier → identity field (and how to read the value). */
const DEVICE_PROPERTIES: Record<number, keyof DeviceIdentity> = {
  121: 'vendor', 120: 'vendorId', 70: 'model', 44: 'firmware', 12: 'software', 77: 'name', 75: 'address',
};

interface Tag {
  number: number;
  context: boolean;
  /** Value length, or -1 for an opening tag and -2 for a closing tag. */
  len: number;
  /** First octet of the value. */
  value: number;
}

/** The tag at `buf[p, end)`, or undefined when it overruns. */
const tagAt = (buf: Buffer, p: number, end: number): Tag | undefined => {
  if (p >= end) return undefined;
  const b = buf[p]!;
  let q = p + 1;
  let number = b >> 4;
  if (number === 15) { if (q >= end) return undefined; number = buf[q++]!; }
  const context = (b & 0x08) !== 0;
  let len = b & 0x07;
  if (context && len === 6) return { number, context, len: -1, value: q };
  if (context && len === 7) return { number, context, len: -2, value: q };
  if (len === 5) {
    if (q >= end) return undefined;
    len = buf[q++]!;
    if (len === 254) { if (q + 2 > end) return undefined; len = (buf[q]! << 8) | buf[q + 1]!; q += 2; }
    else if (len === 255) { if (q + 4 > end) return undefined; len = buf.readUInt32BE(q); q += 4; }
  }
  if (q + len > end) return undefined;
  return { number, context, len, value: q };
};

const unsigned = (buf: Buffer, t: Tag): number => {
  let v = 0;
  for (let i = 0; i < Math.min(t.len, 4); i++) v = v * 256 + buf[t.value + i]!;
  return v;
};

/** An application-tagged value as text: character string (7), unsigned (2), ObjectIdentifier (12 → instance). */
const valueText = (buf: Buffer, t: Tag): string | undefined => {
  if (t.context || t.len < 0) return undefined;
  if (t.number === 2 && t.len >= 1 && t.len <= 4) return String(unsigned(buf, t));
  if (t.number === 12 && t.len === 4) return String(buf.readUInt32BE(t.value) & 0x3fffff);
  if (t.number === 7 && t.len >= 1) {
    const set = buf[t.value]!;
    const s = t.value + 1;
    const e = t.value + t.len;
    if (set === 0) return identityTextUtf8(buf, s, e);
    if (set === 4) return identityTextUcs2(buf, s, e);
    if (set === 5) return identityText(buf, s, e);
  }
  return undefined;
};

/** Identity of an I-Am request whose service parameters start at `buf[p…end)`. */
export const iAm = (buf: Buffer, p: number, end: number): DeviceIdentity | undefined => {
  const oid = tagAt(buf, p, end);
  if (!oid || oid.context || oid.number !== 12 || oid.len !== 4) return undefined;
  const word = buf.readUInt32BE(oid.value);
  if (word >>> 22 !== OBJECT_TYPE_DEVICE) return undefined;
  const maxApdu = tagAt(buf, oid.value + 4, end);
  const seg = maxApdu && tagAt(buf, maxApdu.value + maxApdu.len, end);
  const vendor = seg && tagAt(buf, seg.value + seg.len, end);
  const out: DeviceIdentity = { address: String(word & 0x3fffff) };
  if (vendor && !vendor.context && vendor.number === 2 && vendor.len >= 1 && vendor.len <= 4) out.vendorId = String(unsigned(buf, vendor));
  return out;
};

/** Identity of a ReadProperty Complex-ACK whose service parameters start at `buf[p…end)`; undefined unless a Device object's identity property. */
export const readPropertyAck = (buf: Buffer, p: number, end: number): DeviceIdentity | undefined => {
  const oid = tagAt(buf, p, end);
  if (!oid || !oid.context || oid.number !== 0 || oid.len !== 4) return undefined;
  if (buf.readUInt32BE(oid.value) >>> 22 !== OBJECT_TYPE_DEVICE) return undefined;
  const prop = tagAt(buf, oid.value + 4, end);
  if (!prop || !prop.context || prop.number !== 1 || prop.len < 1 || prop.len > 2) return undefined;
  const field = DEVICE_PROPERTIES[unsigned(buf, prop)];
  if (!field) return undefined;
  let t = tagAt(buf, prop.value + prop.len, end);
  if (t && t.context && t.number === 2 && t.len >= 0) t = tagAt(buf, t.value + t.len, end);
  if (!t || !t.context || t.number !== 3 || t.len !== -1) return undefined;
  const v = tagAt(buf, t.value, end);
  if (!v) return undefined;
  const text = valueText(buf, v);
  return text ? { [field]: text } : undefined;
};
