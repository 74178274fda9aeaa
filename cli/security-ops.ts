/**
 * The dissectors' sets of security-relevant operations by `FlowRecord.l7`, handed to the detectors
 * by the wiring (detectors/ and ingest/ are peers and do not import each other).
 */
import { BACNET_SECURITY_SERVICES } from '../ingest/protocols/bacnet/codes.ts';
import { DNP3_SECURITY_FUNCTIONS } from '../ingest/protocols/dnp3/codes.ts';
import { ENIP_SECURITY_SERVICES } from '../ingest/protocols/enip/codes.ts';
import { IEC104_SECURITY_TYPES, IEC104_SECURITY_U } from '../ingest/protocols/iec104/codes.ts';
import { isSecurityOp as mmsSecurityOp } from '../ingest/protocols/mms/codes.ts';
import { MODBUS_SECURITY_FUNCTIONS } from '../ingest/protocols/modbus/codes.ts';
import { OPCUA_SECURITY_SERVICES } from '../ingest/protocols/opcua/codes.ts';
import { S7_SECURITY_OPS } from '../ingest/protocols/s7comm/codes.ts';
import type { ProtocolSecurity } from '../detectors/security.ts';

const iec104 = new Set([...IEC104_SECURITY_TYPES, ...IEC104_SECURITY_U]);

const BY_L7: Record<string, (op: string) => boolean> = {
  modbus: (op) => MODBUS_SECURITY_FUNCTIONS.has(op),
  s7comm: (op) => S7_SECURITY_OPS.has(op),
  's7comm-plus': (op) => S7_SECURITY_OPS.has(op),
  dnp3: (op) => DNP3_SECURITY_FUNCTIONS.has(op),
  iec104: (op) => iec104.has(op),
  enip: (op) => ENIP_SECURITY_SERVICES.has(op),
  bacnet: (op) => BACNET_SECURITY_SERVICES.has(op),
  opcua: (op) => OPCUA_SECURITY_SERVICES.has(op),
  mms: mmsSecurityOp,
};

/** Is `op` in the dissector's own security set for protocol `l7`? */
export const protocolSecurityOp: ProtocolSecurity = (l7, op) => BY_L7[l7]?.(op) ?? false;
