/**
 * Which operations are security-relevant (writes, program download, restarts, PLC stop …): the
 * sets each dissector exports in ingest/protocols/<proto>/codes.ts, by the edge's `l7`, plus
 * configurable name substrings for protocols and vendors those sets do not cover. Used by novelty
 * (a never-seen security op scores 1.0 and alerts inside maintenance windows) and by rate (a burst
 * of security ops — a program download — alerts inside maintenance windows).
 */
import { BACNET_SECURITY_SERVICES } from '../ingest/protocols/bacnet/codes.ts';
import { DNP3_SECURITY_FUNCTIONS } from '../ingest/protocols/dnp3/codes.ts';
import { ENIP_SECURITY_SERVICES } from '../ingest/protocols/enip/codes.ts';
import { IEC104_SECURITY_TYPES, IEC104_SECURITY_U } from '../ingest/protocols/iec104/codes.ts';
import { isSecurityOp as mmsSecurityOp } from '../ingest/protocols/mms/codes.ts';
import { MODBUS_SECURITY_FUNCTIONS } from '../ingest/protocols/modbus/codes.ts';
import { OPCUA_SECURITY_SERVICES } from '../ingest/protocols/opcua/codes.ts';
import { S7_SECURITY_OPS } from '../ingest/protocols/s7comm/codes.ts';

/** Default name substrings that mark an operation security-relevant in any protocol. */
export const DEFAULT_SECURITY_PATTERNS: readonly string[] = [
  'write', 'download', 'upload', 'program', 'firmware', 'delete', 'reset', 'restart', 'reboot', 'plc_stop', 'plc_start',
  'force', 'operate', 'command', 'setpoint',
];

const iec104 = new Set([...IEC104_SECURITY_TYPES, ...IEC104_SECURITY_U]);

/** Security op sets by `FlowRecord.l7`. */
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

/** Last segment of a qualified op name: 'job.download_block' → 'download_block'. */
const bare = (op: string): string => {
  const i = Math.max(op.lastIndexOf('.'), op.lastIndexOf(':'), op.lastIndexOf('/'));
  return i >= 0 ? op.slice(i + 1) : op;
};

/** `(l7, op) → security-relevant?`, from the protocol sets and `patterns` (case-insensitive substrings). Memoised. */
export const securityMatcher = (patterns: readonly string[] = DEFAULT_SECURITY_PATTERNS): ((l7: string, op: string) => boolean) => {
  const lower = patterns.map((p) => p.toLowerCase());
  const memo = new Map<string, boolean>();
  return (l7, op) => {
    const key = `${l7}\n${op}`;
    let hit = memo.get(key);
    if (hit === undefined) {
      const set = BY_L7[l7];
      const o = op.toLowerCase();
      hit = (set !== undefined && (set(op) || set(bare(op)))) || lower.some((p) => o.includes(p));
      if (memo.size < 10_000) memo.set(key, hit);
    }
    return hit;
  };
};
