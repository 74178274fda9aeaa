/**
 * Device identity from a Modbus Read Device Identification response (function 43, MEI type 14;
 * Modbus Application Protocol Specification v1.1b3 §6.21):
 *
 *   off len field
 *   0   1   function code      0x2B
 *   1   1   MEI type           0x0E
 *   2   1   read device id code 1 basic, 2 regular, 3 extended, 4 one object
 *   3   1   conformity level
 *   4   1   more follows       0xFF when the server needs another request for the rest
 *   5   1   next object id
 *   6   1   number of objects
 *   7   …   objects: id (1), length (1), value (length octets, ASCII)
 *
 * Objects read: 0x00 VendorName → vendor, 0x01 ProductCode → productCode, 0x02 MajorMinorRevision →
 * firmware, 0x04 ProductName and 0x05 ModelName → model (ModelName wins), 0x06 UserApplicationName →
 * name. VendorUrl (0x03) and private objects (0x80–0xFF) are skipped. An object that overruns the PDU
 * ends the walk; what was read before it is kept.
 */
import type { DeviceIdentity } from '../../../core/records.ts';
import { identityText, nonEmpty } from '../identity.ts';

export const MEI_READ_DEVICE_ID = 0x0e;

/** The identity in a read-device-identification response PDU `buf[p, p + n)` (function code first), or undefined. */
export const readDeviceIdentification = (buf: Buffer, p: number, n: number): DeviceIdentity | undefined => {
  if (n < 7 || buf[p] !== 0x2b || buf[p + 1] !== MEI_READ_DEVICE_ID) return undefined;
  const count = buf[p + 6]!;
  const end = p + n;
  const obj: Record<number, string> = {};
  let q = p + 7;
  for (let i = 0; i < count && q + 2 <= end; i++) {
    const id = buf[q]!;
    const len = buf[q + 1]!;
    if (q + 2 + len > end) break;
    if (id <= 0x06) obj[id] = identityText(buf, q + 2, q + 2 + len);
    q += 2 + len;
  }
  const id = nonEmpty({ vendor: obj[0], productCode: obj[1], firmware: obj[2], model: obj[5] || obj[4], name: obj[6] });
  return Object.keys(id).length > 0 ? id : undefined;
};
