/**
 * Which operation names each L7 protocol has, for checking a rule file: an op the protocol has not
 * got is a typo (or a rule written for another protocol), and a rule that names it would silently
 * allow or block nothing. The names are the dissectors' `l7Ops` names (ingest/protocols/<proto>/codes.ts);
 * each check uses the protocol's own name → code inverse, so the two cannot drift apart.
 *
 * Strict (every name the dissector can emit, and nothing else): modbus, dnp3, iec104, enip, mms.
 * Lenient (a well-formed identifier; the dissector's name families are many): s7comm, opcua, bacnet.
 * A protocol not listed here is refused in a rule file: add it here when a dissector for it lands.
 */
import { functionCode as dnp3Code } from '../ingest/protocols/dnp3/codes.ts';
import { commandCode, serviceCode } from '../ingest/protocols/enip/codes.ts';
import { asduTypeCode, S_FRAME, U_FUNCTIONS } from '../ingest/protocols/iec104/codes.ts';
import { parseOpName } from '../ingest/protocols/mms/codes.ts';
import { functionCode as modbusCode, MODBUS_FUNCTIONS } from '../ingest/protocols/modbus/codes.ts';

const IDENT = /^[A-Za-z][A-Za-z0-9_.:-]{0,79}$/;
const U_NAMES = new Set(Object.values(U_FUNCTIONS));

const CHECKS: Readonly<Record<string, (op: string) => boolean>> = {
  modbus: (op) => { const c = modbusCode(op); return c !== undefined && c >= 0 && c <= 127; },
  dnp3: (op) => { const c = dnp3Code(op); return c !== undefined && c >= 0 && c <= 255; },
  iec104: (op) => op === S_FRAME || U_NAMES.has(op) || /^U_0x[0-9a-f]{2}$/.test(op) || (asduTypeCode(op) ?? -1) >= 0,
  enip: (op) => serviceCode(op) !== undefined || commandCode(op) !== undefined,
  mms: (op) => parseOpName(op) !== undefined,
  s7comm: (op) => IDENT.test(op),
  opcua: (op) => IDENT.test(op),
  bacnet: (op) => IDENT.test(op),
};

/** L7 protocols a rule may name ops for. */
export const RULE_PROTOCOLS: readonly string[] = Object.keys(CHECKS).sort();

/** True when `l7` is a protocol whose ops a rule may list. */
export const knownProtocol = (l7: string): boolean => l7 in CHECKS;

/** True when `op` is an operation name of protocol `l7` (false for an unknown protocol). */
export const isOpOf = (l7: string, op: string): boolean => CHECKS[l7]?.(op) ?? false;

/** Modbus function code of an op name (`read_coils` → 1, `fc_90` → 90), for payload matching. */
export const modbusFunctionCode = (op: string): number | undefined => modbusCode(op);

/** A hint for a mistyped op: the known op names of the protocol that share the most leading characters. */
export const opHint = (l7: string, op: string): string => {
  if (l7 === 'modbus') {
    const names = Object.values(MODBUS_FUNCTIONS);
    const score = (n: string) => { let i = 0; while (i < n.length && i < op.length && n[i] === op[i]) i++; return i; };
    const best = [...names].sort((a, b) => score(b) - score(a) || a.localeCompare(b)).slice(0, 3);
    return `Modbus ops are function names such as ${best.join(', ')} (or fc_<n> for a code without a name)`;
  }
  return `see ingest/protocols/${l7}/codes.ts for the names the ${l7} dissector gives`;
};
