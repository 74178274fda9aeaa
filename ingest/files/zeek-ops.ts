/**
 * Zeek / ICSNPP protocol logs → the operation names our pcap dissectors count, per connection
 * `uid`. Each protocol log row becomes zero or more `OpEvent`s (who sent it, what it was); names
 * come from `ingest/protocols/<proto>/codes.ts`, so a conduit learned from a capture is scored
 * against Zeek logs of the same traffic with the same vocabulary.
 *
 *   log file             writer         fields read                                   l7
 *   modbus.log           Zeek           func, pdu_type (Zeek ≥ 6), exception, unit    modbus
 *   modbus_detailed.log  ICSNPP         func, request_response / is_orig, unit        modbus (only when no modbus.log)
 *   dnp3.log             Zeek           fc_request, fc_reply, iin                     dnp3
 *   s7comm.log           ICSNPP         rosctr_code, function_code, subfunction_code,  s7comm
 *                                       error_code, is_orig (newer)
 *   s7comm_plus.log      ICSNPP         opcode, function_code, is_orig                s7comm
 *   cip.log              ICSNPP enip    cip_service_code, class_id, cip_status_code,  enip
 *                                       is_orig / direction
 *   enip.log             ICSNPP enip    enip_command_code (non-CIP commands only)     enip
 *   bacnet.log           ICSNPP         pdu_type, pdu_service, bvlc_function,         bacnet
 *                                       result_code, is_orig
 *   iec104.log           zeek-iec104    apci_type, info_obj_type / type_id, u type,   iec104
 *                                       cause_tx, common address, is_orig
 *
 * A value our tables do not know becomes `<proto>_<value>` (lower case), so it still counts and
 * is visibly foreign.
 */
import { bump, intervals, type IntervalSummary } from '../../core/records.ts';
import { exceptionName, functionCode as modbusCode, functionName as modbusName, MODBUS_EXCEPTIONS } from '../protocols/modbus/codes.ts';
import { DNP3_FUNCTIONS, functionName as dnp3Name, iinErrors } from '../protocols/dnp3/codes.ts';
import { functionName as s7Name, headerErrorName, paramErrorName, plusFunctionName, S7P_OPCODES, userdataName } from '../protocols/s7comm/codes.ts';
import { CARRIER_COMMANDS, commandName, generalStatusName, serviceName } from '../protocols/enip/codes.ts';
import { ABORT_REASONS, BVLC_FUNCTIONS, ERROR_CODES, NPDU_FUNCTIONS, REJECT_REASONS } from '../protocols/bacnet/codes.ts';
import { ASDU_TYPES, asduTypeCode, asduTypeName, causeError, S_FRAME, U_FUNCTIONS, uFunctionName } from '../protocols/iec104/codes.ts';
import type { ZeekRow } from './zeek-log.ts';

/** One operation seen in a protocol log row. */
export interface OpEvent {
  /** True when the connection's originator (initiator) sent it. */
  orig: boolean;
  op: string;
  error?: string;
  unit?: number;
}

/** How one protocol log is read. */
export interface ProtocolLog {
  /** Log stream name: the file is `<name>.log`, `<name>.<rotation>.log.gz` …; also the TSV `#path`. */
  name: string;
  l7: string;
  /** Read only when no log named this is present (a richer log of the same messages). */
  unlessPresent?: string;
  /** Needs state across rows of one connection (CIP responses are named after their request). */
  decode(row: ZeekRow, state: Map<string, string>): OpEvent[];
}

/** `T`/`F` → boolean; undefined when absent or anything else. */
const bool = (s: string | undefined): boolean | undefined => (s === 'T' || s === 'true' ? true : s === 'F' || s === 'false' ? false : undefined);

/** `0x1f` or `31` → 31; undefined otherwise. */
const num = (s: string | undefined): number | undefined => {
  if (s === undefined) return undefined;
  if (/^0x[0-9a-fA-F]+$/.test(s)) return parseInt(s.slice(2), 16);
  if (/^\d+$/.test(s)) return Number(s);
  return undefined;
};

/** `Password-Failure`, `STARTDT act` → `password_failure`, `startdt_act`. */
const snake = (s: string): string => s.trim().toLowerCase().replace(/[\s-]+/g, '_');

const foreign = (proto: string, value: string): string => `${proto}_${snake(value)}`;

// ── Modbus ───────────────────────────────────────────────────────────────────────────────────────

/** Zeek's names that are not our names upper-cased (Zeek `base/protocols/modbus/consts.zeek`). */
const ZEEK_MODBUS_FUNCTIONS: Readonly<Record<string, number>> = {
  REPORT_SLAVE_ID: 17, ENCAP_INTERFACE_TRANSPORT: 43, OBJECT_MESSAGING: 91,
  PROGRAM_484: 9, POLL_484: 10, PROGRAM_584_984: 13, POLL_584_984: 14, PROGRAM_884_U84: 18,
  RESET_COMM_LINK_884_U84: 19, PROGRAM_CONCEPT: 40, MULTIPLE_FUNCTION_CODES: 41, PROGRAM_UNITY: 90,
  FIRMWARE_REPLACEMENT: 125, PROGRAM_584_984_2: 126, REPORT_LOCAL_ADDRESS: 127,
};
const ZEEK_MODBUS_EXCEPTIONS: Readonly<Record<string, number>> = { SLAVE_DEVICE_FAILURE: 4, SLAVE_DEVICE_BUSY: 6 };
const MODBUS_EXCEPTION_NAMES: ReadonlySet<string> = new Set(Object.values(MODBUS_EXCEPTIONS));

/** Zeek `func` (`READ_COILS`, `READ_COILS_EXCEPTION`, `unknown-90`) → our name and whether it was an exception. */
export const modbusOp = (func: string): { op: string; exception: boolean } => {
  const exception = func.endsWith('_EXCEPTION');
  const f = exception ? func.slice(0, -'_EXCEPTION'.length) : func;
  const unknown = /^unknown-(\d+)$/.exec(f);
  const code = unknown ? Number(unknown[1]) : modbusCode(f.toLowerCase()) ?? ZEEK_MODBUS_FUNCTIONS[f];
  return { op: code !== undefined ? modbusName(code) : foreign('modbus', f), exception };
};

/** Zeek `exception` (`ILLEGAL_DATA_ADDRESS`, `unknown-12`) → our `l7Errors` name. */
export const modbusException = (s: string): string => {
  const unknown = /^unknown-(\d+)$/.exec(s);
  if (unknown) return exceptionName(Number(unknown[1]));
  const alias = ZEEK_MODBUS_EXCEPTIONS[s];
  if (alias !== undefined) return exceptionName(alias);
  const lower = s.toLowerCase();
  return MODBUS_EXCEPTION_NAMES.has(lower) ? lower : foreign('modbus', s);
};

const modbusLog: ProtocolLog = {
  name: 'modbus', l7: 'modbus',
  decode(row) {
    const func = row.func;
    if (func === undefined) return [];
    const { op, exception } = modbusOp(func);
    const unit = num(row.unit);
    const error = row.exception !== undefined ? modbusException(row.exception) : exception ? 'exception' : undefined;
    const req: OpEvent = { orig: true, op, ...(unit !== undefined ? { unit } : {}) };
    const rsp: OpEvent = { orig: false, op, ...(error ? { error } : {}) };
    // Zeek ≥ 6 logs each PDU with pdu_type; older Zeek logs one line per transaction at the response.
    if (row.pdu_type === 'REQ') return [req];
    if (row.pdu_type === 'RESP') return [rsp];
    return [req, rsp];
  },
};

const modbusDetailedLog: ProtocolLog = {
  name: 'modbus_detailed', l7: 'modbus', unlessPresent: 'modbus',
  decode(row) {
    if (row.func === undefined) return [];
    const { op, exception } = modbusOp(row.func);
    const orig = row.request_response !== undefined ? row.request_response === 'REQUEST' : bool(row.is_orig) ?? true;
    const unit = num(row.unit ?? row.unit_id);
    return [{ orig, op, ...(orig && unit !== undefined ? { unit } : {}), ...(exception ? { error: 'exception' } : {}) }];
  },
};

// ── DNP3 ─────────────────────────────────────────────────────────────────────────────────────────

/** Zeek's DNP3 names (`base/protocols/dnp3/consts.zeek`) where they differ from ours upper-cased. */
const ZEEK_DNP3_ALIASES: Readonly<Record<string, number>> = {
  IMMED_FREEZE: 7, IMMED_FREEZE_NR: 8, INITIALIZE_APPL: 16, START_APPL: 17, STOP_APPL: 18, SAVE_CONFIG: 19,
  AUTHENTICATE_REQ: 32, AUTHENTICATE_ERR: 33, AUTHENTICATE_REQ_NR: 33, AUTHENTICATE_RESP: 131,
};
const DNP3_BY_UPPER: ReadonlyMap<string, number> = new Map(Object.entries(DNP3_FUNCTIONS).map(([c, n]) => [n.toUpperCase(), Number(c)]));

export const dnp3Op = (fc: string): string => {
  const unknown = /^unknown-(\d+)$/.exec(fc);
  const code = unknown ? Number(unknown[1]) : DNP3_BY_UPPER.get(fc) ?? ZEEK_DNP3_ALIASES[fc];
  return code !== undefined ? dnp3Name(code) : foreign('dnp3', fc);
};

const dnp3Log: ProtocolLog = {
  name: 'dnp3', l7: 'dnp3',
  decode(row) {
    const out: OpEvent[] = [];
    if (row.fc_request !== undefined) out.push({ orig: true, op: dnp3Op(row.fc_request) });
    if (row.fc_reply !== undefined) {
      const iin = num(row.iin);
      const errors = iin !== undefined ? iinErrors(iin) : [];
      out.push({ orig: false, op: dnp3Op(row.fc_reply), ...(errors[0] ? { error: errors[0] } : {}) });
      for (const e of errors.slice(1)) out.push({ orig: false, op: '', error: e });
    }
    return out;
  },
};

// ── S7comm ───────────────────────────────────────────────────────────────────────────────────────

const ROSCTR_BY_NAME: Readonly<Record<string, number>> = { 'Job-Request': 1, ACK: 2, 'ACK-Data': 3, 'User-Data': 7 };

const s7commLog: ProtocolLog = {
  name: 's7comm', l7: 's7comm',
  decode(row) {
    const rosctr = num(row.rosctr_code) ?? (row.rosctr_name !== undefined ? ROSCTR_BY_NAME[row.rosctr_name] : undefined);
    if (rosctr === undefined) return [];
    const fc = num(row.function_code);
    let op: string;
    let origGuess: boolean;
    if (rosctr === 1 || rosctr === 3) {
      op = fc !== undefined ? s7Name(fc) : foreign('s7comm', row.function_name ?? 'function');
      origGuess = rosctr === 1;
    } else if (rosctr === 2) {
      op = 'ack';
      origGuess = false;
    } else if (rosctr === 7) {
      const sub = num(row.subfunction_code);
      op = fc !== undefined && sub !== undefined ? userdataName(fc & 0x0f, sub) : foreign('s7comm', row.subfunction_name ?? 'userdata');
      // Type nibble: 4 request, 8 response, 0 push (from the CPU).
      origGuess = fc !== undefined && fc >> 4 === 4;
    } else {
      op = `rosctr_${rosctr}`;
      origGuess = true;
    }
    const orig = bool(row.is_orig) ?? origGuess;
    const code = num(row.error_code);
    let error: string | undefined;
    if (code !== undefined && code !== 0) {
      if (rosctr === 7) error = paramErrorName(code);
      else error = headerErrorName(code >> 8, code & 0xff);
    }
    return [{ orig, op, ...(error ? { error } : {}) }];
  },
};

const s7commPlusLog: ProtocolLog = {
  name: 's7comm_plus', l7: 's7comm',
  decode(row) {
    const opcode = num(row.opcode);
    if (opcode === undefined) return [];
    const fc = num(row.function_code);
    const op = (opcode === 0x31 || opcode === 0x32 || opcode === 0x02) && fc !== undefined
      ? plusFunctionName(fc) : S7P_OPCODES[opcode] ?? `opcode_0x${opcode.toString(16).padStart(2, '0')}`;
    return [{ orig: bool(row.is_orig) ?? opcode === 0x31, op }];
  },
};

// ── EtherNet/IP + CIP ────────────────────────────────────────────────────────────────────────────

const cipLog: ProtocolLog = {
  name: 'cip', l7: 'enip',
  decode(row, state) {
    const raw = num(row.cip_service_code);
    if (raw === undefined) return [];
    const sc = raw & 0x7f;
    const response = row.direction !== undefined ? row.direction === 'response' : (raw & 0x80) !== 0 || bool(row.is_orig) === false;
    const orig = bool(row.is_orig) ?? !response;
    let op: string;
    if (response) op = state.get(`cip|${sc}`) ?? serviceName(sc, undefined);
    else {
      op = serviceName(sc, num(row.class_id));
      state.set(`cip|${sc}`, op);
    }
    const status = num(row.cip_status_code);
    return [{ orig, op, ...(status ? { error: generalStatusName(status) } : {}) }];
  },
};

const enipLog: ProtocolLog = {
  name: 'enip', l7: 'enip',
  decode(row) {
    const code = num(row.enip_command_code);
    // send_rr_data / send_unit_data only carry CIP, counted from cip.log like the pcap dissector does.
    if (code === undefined || CARRIER_COMMANDS.has(code)) return [];
    return [{ orig: bool(row.is_orig) ?? true, op: commandName(code) }];
  },
};

// ── BACnet ───────────────────────────────────────────────────────────────────────────────────────

const BACNET_ERRORS: ReadonlySet<string> = new Set(Object.values(ERROR_CODES));
const BVLC_NAMES: ReadonlySet<string> = new Set(Object.values(BVLC_FUNCTIONS));
const NPDU_NAMES: ReadonlySet<string> = new Set([...NPDU_FUNCTIONS].map((f) => BVLC_FUNCTIONS[f]!));

const bacnetLog: ProtocolLog = {
  name: 'bacnet', l7: 'bacnet',
  decode(row) {
    const orig = bool(row.is_orig) ?? true;
    const pdu = row.pdu_type;
    const result = row.result_code !== undefined && row.result_code !== '' ? snake(row.result_code) : undefined;
    let op: string | undefined;
    let error: string | undefined;
    if (pdu === 'SEGMENT_ACK') op = 'segment_ack';
    else if (row.pdu_service !== undefined && row.pdu_service !== '') op = snake(row.pdu_service);
    else if (row.bvlc_function !== undefined) {
      const fn = snake(row.bvlc_function);
      if (!NPDU_NAMES.has(fn)) op = BVLC_NAMES.has(fn) ? fn : foreign('bacnet', fn);
    }
    if (pdu === 'ERROR_PDU' && result) error = BACNET_ERRORS.has(result) ? result : foreign('bacnet', result);
    else if (pdu === 'REJECT_PDU' && result) error = REJECT_REASONS.includes(`reject_${result}`) ? `reject_${result}` : foreign('bacnet_reject', result);
    else if (pdu === 'ABORT_PDU' && result) error = ABORT_REASONS.includes(`abort_${result}`) ? `abort_${result}` : foreign('bacnet_abort', result);
    if (op === undefined && error === undefined) return [];
    return [{ orig, op: op ?? '', ...(error ? { error } : {}) }];
  },
};

// ── IEC 60870-5-104 ──────────────────────────────────────────────────────────────────────────────

const U_BY_NAME: ReadonlyMap<string, string> = new Map(Object.values(U_FUNCTIONS).map((n) => [n.toLowerCase(), n]));
const ASDU_NAMES: ReadonlySet<string> = new Set(Object.values(ASDU_TYPES));

/** ASDU type as a number (`36`) or a mnemonic (`M_ME_TF_1`) → our name. */
const asduOp = (s: string): string => {
  const n = num(s);
  if (n !== undefined) return asduTypeName(n);
  const upper = s.toUpperCase();
  if (ASDU_NAMES.has(upper)) return upper;
  return asduTypeCode(s) !== undefined ? s : foreign('iec104', s);
};

/** U function as `STARTDT act`, `STARTDT_act`, `startdt-act` or the shifted control octet → our name. */
const uOp = (s: string): string => {
  const n = num(s);
  if (n !== undefined) return uFunctionName(n);
  return U_BY_NAME.get(snake(s)) ?? foreign('iec104', s);
};

const iec104Log: ProtocolLog = {
  name: 'iec104', l7: 'iec104',
  decode(row) {
    const apci = (row.apci_type ?? row.apdu_type ?? row.apci ?? '').charAt(0).toUpperCase();
    const orig = bool(row.is_orig) ?? true;
    if (apci === 'S') return [{ orig, op: S_FRAME }];
    if (apci === 'U') {
      const u = row.u_function ?? row.apci_u ?? row.u_type ?? row.u_format;
      return [{ orig, op: u !== undefined ? uOp(u) : 'iec104_u_frame' }];
    }
    const type = row.info_obj_type ?? row.type_id ?? row.asdu_type;
    if (apci !== 'I' && type === undefined) return [];
    const cot = num(row.cause_tx ?? row.cot);
    const error = cot !== undefined ? causeError(cot) : undefined;
    const unit = num(row.common_addr ?? row.asdu_addr ?? row.ca);
    return [{
      orig, op: type !== undefined ? asduOp(type) : 'iec104_i_frame',
      ...(error ? { error } : {}), ...(unit !== undefined ? { unit } : {}),
    }];
  },
};

/** Every protocol log we join, in the order they are read. */
export const PROTOCOL_LOGS: readonly ProtocolLog[] = [
  modbusLog, modbusDetailedLog, dnp3Log, s7commLog, s7commPlusLog, cipLog, enipLog, bacnetLog, iec104Log,
];

/** What the protocol logs said about one connection. */
export interface ConnL7 {
  l7: string;
  ops: Record<string, number>;
  opsRev: Record<string, number>;
  errors: Record<string, number>;
  units: Set<number>;
  /** Gaps between the originator's consecutive operations (by protocol-log `ts`). */
  gaps: IntervalSummary;
  lastOrigTs: number;
  /** The same for the responder's operations (the initiator's when the record is swapped). */
  gapsRev: IntervalSummary;
  lastRespTs: number;
  /**
   * Whether the operations' sides come from `is_orig` (Zeek's originator) rather than from request /
   * response semantics: only then do they swap with a record whose sides were swapped.
   */
  directional: boolean;
  /** Per-connection decoder state (CIP request names by service). */
  state: Map<string, string>;
}

export const newConnL7 = (l7: string): ConnL7 => ({
  l7, ops: {}, opsRev: {}, errors: {}, units: new Set(), gaps: intervals.empty(), lastOrigTs: -1,
  gapsRev: intervals.empty(), lastRespTs: -1, directional: false, state: new Map(),
});

/** Adds one row's events; `ts` (epoch ms) feeds the originator's cadence. */
export const addEvents = (c: ConnL7, events: readonly OpEvent[], ts: number | undefined): void => {
  let timed = false;
  let timedRev = false;
  for (const e of events) {
    if (e.op !== '') bump(e.orig ? c.ops : c.opsRev, e.op);
    if (e.error) bump(c.errors, e.error);
    if (e.unit !== undefined) c.units.add(e.unit);
    if (e.op === '' || ts === undefined) continue;
    if (e.orig && !timed) {
      timed = true;
      if (c.lastOrigTs >= 0) intervals.add(c.gaps, Math.max(0, Math.round((ts - c.lastOrigTs) * 1000) / 1000));
      c.lastOrigTs = ts;
    } else if (!e.orig && !timedRev) {
      timedRev = true;
      if (c.lastRespTs >= 0) intervals.add(c.gapsRev, Math.max(0, Math.round((ts - c.lastRespTs) * 1000) / 1000));
      c.lastRespTs = ts;
    }
  }
};

/** Zeek `service` values (possibly comma-separated, possibly `spicy_`-prefixed) → our `l7`. */
const SERVICE_L7: Readonly<Record<string, string>> = {
  modbus: 'modbus', dnp3: 'dnp3', dnp3_tcp: 'dnp3', dnp3_udp: 'dnp3',
  s7comm: 's7comm', s7comm_plus: 's7comm', 's7comm-plus': 's7comm',
  enip: 'enip', cip: 'enip', cip_io: 'enip', enip_tcp: 'enip', enip_udp: 'enip',
  bacnet: 'bacnet', iec104: 'iec104', iec60870_5_104: 'iec104', iec_104: 'iec104',
  mms: 'mms', iec61850_mms: 'mms', opcua_binary: 'opcua', 'opcua-binary': 'opcua', opcua: 'opcua',
};

/** The `l7` a `service` field names: the first OT protocol in it, else its first entry as written; undefined when empty. */
export const serviceL7 = (service: string | undefined): string | undefined => {
  if (service === undefined || service === '') return undefined;
  const names = service.split(',').map((s) => s.trim().toLowerCase().replace(/^spicy_/, '')).filter((s) => s !== '');
  for (const n of names) {
    const l7 = SERVICE_L7[n];
    if (l7) return l7;
  }
  return names[0];
};
