/**
 * Device identity from EtherNet/IP and CIP (ODVA CIP Networks Library Vol. 1 §5-2 Identity Object,
 * Vol. 2 §2-4.3 ListIdentity). Little-endian throughout.
 *
 * ListIdentity reply (encapsulation command 0x63), command data: item count (2), then items of type
 * (2), length (2), data. The CIP Identity item (type 0x0C):
 *
 *   off len field
 *   0   2   encapsulation protocol version
 *   2   16  socket address (sin_family, sin_port, sin_addr big-endian, 8 zero octets)
 *   18  2   vendor id
 *   20  2   device type
 *   22  2   product code
 *   24  1   major revision
 *   25  1   minor revision
 *   26  2   status
 *   28  4   serial number
 *   32  1   product name length, then the name (SHORT_STRING)
 *   …   1   state
 *
 * Identity object Get_Attributes_All reply (service 0x81 to a request for class 0x01): the same fields
 * from vendor id on (vendor, device type, product code, revision, status, serial, product name).
 *
 * Reported as: vendorId (decimal), deviceType (`plc (14)`: the name of the common device profiles,
 * else the number), productCode (decimal), firmware `major.minor`, serial `0x%08x` (as tshark prints
 * it), model = product name.
 */
import type { DeviceIdentity } from '../../../core/records.ts';
import { identityText, nonEmpty } from '../identity.ts';

/** CPF item type of a ListIdentity CIP Identity item. */
export const CPF_CIP_IDENTITY = 0x0c;

/** Names of common CIP device profiles (Vol. 1 Table 6-7.1), by device type code. */
const DEVICE_TYPES: Record<number, string> = {
  0x00: 'generic', 0x02: 'ac_drive', 0x03: 'motor_overload', 0x07: 'discrete_io', 0x0c: 'communications_adapter',
  0x0e: 'plc', 0x10: 'position_controller', 0x13: 'dc_drive', 0x16: 'motor_starter', 0x18: 'hmi', 0x2b: 'generic_keyable',
};

const le16 = (b: Buffer, p: number): number => b[p]! | (b[p + 1]! << 8);
const le32 = (b: Buffer, p: number): number => (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16)) + b[p + 3]! * 0x1000000;

export const deviceTypeName = (t: number): string => (DEVICE_TYPES[t] ? `${DEVICE_TYPES[t]} (${t})` : `device type ${t}`);

/** Identity attributes laid out from vendor id on at `buf[p, end)` (ListIdentity item offset 18, or Get_Attributes_All data). */
export const identityAttributes = (buf: Buffer, p: number, end: number): DeviceIdentity | undefined => {
  if (end - p < 15) return undefined;
  const nameLen = buf[p + 14]!;
  const name = p + 15 + nameLen <= end ? identityText(buf, p + 15, p + 15 + nameLen) : '';
  return nonEmpty({
    vendorId: String(le16(buf, p)),
    deviceType: deviceTypeName(le16(buf, p + 2)),
    productCode: String(le16(buf, p + 4)),
    firmware: `${buf[p + 6]!}.${buf[p + 7]!}`,
    serial: `0x${le32(buf, p + 10).toString(16).padStart(8, '0')}`,
    model: name,
  });
};

/** The identity items of a ListIdentity reply's command data `buf[p, end)` (usually one). */
export const listIdentityReply = (buf: Buffer, p: number, end: number): DeviceIdentity[] => {
  const out: DeviceIdentity[] = [];
  if (end - p < 2) return out;
  const count = le16(buf, p);
  let q = p + 2;
  for (let i = 0; i < count && q + 4 <= end; i++) {
    const type = le16(buf, q);
    const len = le16(buf, q + 2);
    const data = q + 4;
    if (data + len > end) break;
    if (type === CPF_CIP_IDENTITY && len >= 18) {
      const id = identityAttributes(buf, data + 18, data + len);
      if (id) out.push(id);
    }
    q = data + len;
  }
  return out;
};
