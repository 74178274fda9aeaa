/**
 * Siemens S7 names: S7comm (protocol id 0x32) ROSCTR message types, job functions, userdata function
 * groups and subfunctions, header error classes; S7comm-plus (protocol id 0x72) opcodes and functions;
 * ISO 8073 COTP TPDU types. There is no public specification: the names follow the field names of the
 * Wireshark S7comm dissector documentation and Siemens' own terms (SZL, PI service), in snake_case.
 */

/** ROSCTR (remote operating service control) values. */
export const S7_ROSCTR: Readonly<Record<number, string>> = {
  1: 'job',
  2: 'ack',
  3: 'ack_data',
  7: 'userdata',
};

/** Job / ack_data function codes (first parameter octet). Unlisted codes are named `func_<n>`. */
export const S7_FUNCTIONS: Readonly<Record<number, string>> = {
  0x00: 'cpu_services',
  0x04: 'read_var',
  0x05: 'write_var',
  0x1a: 'request_download',
  0x1b: 'download_block',
  0x1c: 'download_ended',
  0x1d: 'start_upload',
  0x1e: 'upload',
  0x1f: 'end_upload',
  0x28: 'pi_service',
  0x29: 'plc_stop',
  0xf0: 'setup_communication',
};

const FUNCTION_BY_NAME: ReadonlyMap<string, number> = new Map(Object.entries(S7_FUNCTIONS).map(([c, n]) => [n, Number(c)]));

/** Name of a job function code: `read_var`, or `func_<n>`. */
export const functionName = (code: number): string => S7_FUNCTIONS[code] ?? `func_${code}`;

/** Inverse of {@link functionName}; undefined for a name that is not a job function. */
export const functionCode = (name: string): number | undefined => {
  const known = FUNCTION_BY_NAME.get(name);
  if (known !== undefined) return known;
  const m = /^func_(\d{1,3})$/.exec(name);
  return m ? Number(m[1]) : undefined;
};

/** Userdata function groups (low nibble of the type/group octet): the prefix of the op name. */
export const S7_UD_GROUPS: Readonly<Record<number, string>> = {
  0x0: 'mode',
  0x1: 'prog',
  0x2: 'cyclic',
  0x3: 'block',
  0x4: 'cpu',
  0x5: 'sec',
  0x6: 'pbc',
  0x7: 'time',
  0xf: 'ncprg',
};

/** Userdata subfunctions per group, where the names are well established. */
export const S7_UD_SUBFUNCTIONS: Readonly<Record<number, Readonly<Record<number, string>>>> = {
  // Mode transition: the subfunction is the new operating mode (a push from the CPU).
  0x0: { 0: 'stop', 1: 'warm_restart', 2: 'run', 3: 'hot_restart', 4: 'hold', 6: 'cold_restart', 9: 'run_r', 11: 'link_up', 12: 'update' },
  0x1: { 0x01: 'request_diag_data', 0x02: 'var_tab', 0x0c: 'erase', 0x0e: 'read_diag_data', 0x0f: 'remove_diag_data', 0x10: 'forces', 0x13: 'request_diag_data_2' },
  0x2: { 0x01: 'memory', 0x04: 'unsubscribe', 0x05: 'change_driven' },
  0x3: { 0x01: 'list_blocks', 0x02: 'list_blocks_of_type', 0x03: 'get_block_info' },
  0x4: {
    0x01: 'read_szl', 0x02: 'message_service', 0x03: 'diagnostic_message', 0x05: 'alarm8_indication',
    0x06: 'notify_indication', 0x07: 'alarm8_lock', 0x08: 'alarm8_unlock', 0x0b: 'alarm_ack',
    0x0c: 'alarm_ack_indication', 0x0d: 'alarm8_lock_indication', 0x0e: 'alarm8_unlock_indication',
    0x11: 'alarm_sq_indication', 0x12: 'alarm_s_indication', 0x13: 'alarm_query', 0x16: 'notify8_indication',
  },
  0x5: { 0x01: 'plc_password', 0x02: 'clean_session' },
  0x7: { 0x01: 'read_clock', 0x02: 'set_clock', 0x03: 'read_clock_following', 0x04: 'set_clock_2' },
};

/** {@link userdataName} results by (group << 8 | sub), built on first use. */
const UD_NAMES: Array<string | undefined> = new Array<string | undefined>(16 * 256).fill(undefined);

/** Op name of a userdata PDU: `cpu_read_szl`, `block_list_blocks`, or `ud_<group>_<subfunction>`. */
export const userdataName = (group: number, sub: number): string => {
  // Built once per (group, sub) and kept: 16 × 256 names at most, not a string per PDU.
  const key = ((group & 0x0f) << 8) | (sub & 0xff);
  if (key === group * 256 + sub) {
    const known = UD_NAMES[key];
    if (known !== undefined) return known;
  }
  const g = S7_UD_GROUPS[group];
  const s = S7_UD_SUBFUNCTIONS[group]?.[sub];
  const name = g && s ? `${g}_${s}` : `ud_${group}_${sub}`;
  if (key === group * 256 + sub) UD_NAMES[key] = name;
  return name;
};

/** Userdata group of an op name produced by {@link userdataName}; undefined for other names. */
export const userdataGroup = (name: string): number | undefined => {
  const m = /^ud_(\d+)_\d+$/.exec(name);
  if (m) return Number(m[1]);
  for (const [g, prefix] of Object.entries(S7_UD_GROUPS)) {
    const subs = S7_UD_SUBFUNCTIONS[Number(g)];
    if (subs && name.startsWith(`${prefix}_`) && Object.values(subs).includes(name.slice(prefix.length + 1))) return Number(g);
  }
  return undefined;
};

/** Header error classes of ack / ack_data (octet 10). */
export const S7_ERROR_CLASSES: Readonly<Record<number, string>> = {
  0x81: 'application_relationship_error',
  0x82: 'object_definition_error',
  0x83: 'no_resources_error',
  0x84: 'service_processing_error',
  0x85: 'supplies_error',
  0x87: 'access_error',
};

/** `l7Errors` name of a header error: `object_definition_error_0x04`, or `error_class_0x<cc>_0x<ee>`. */
export const headerErrorName = (cls: number, code: number): string => {
  const hex = (n: number): string => `0x${n.toString(16).padStart(2, '0')}`;
  const c = S7_ERROR_CLASSES[cls];
  return c ? `${c}_${hex(code)}` : `error_class_${hex(cls)}_${hex(code)}`;
};

/** `l7Errors` name of a userdata parameter error code (e.g. 0xd209 block not found): `param_error_0xd209`. */
export const paramErrorName = (code: number): string => `param_error_0x${code.toString(16).padStart(4, '0')}`;

/** COTP TPDU types (high nibble of the type octet, ISO 8073 §13) that count as ops. */
export const COTP_TPDUS: Readonly<Record<number, string>> = {
  0xe0: 'cotp_cr',
  0xd0: 'cotp_cc',
  0x80: 'cotp_dr',
  0xc0: 'cotp_dc',
  0x70: 'cotp_er',
};

/** S7comm-plus opcodes (octet after the 4-octet header). */
export const S7P_OPCODES: Readonly<Record<number, string>> = {
  0x31: 'request',
  0x32: 'response',
  0x33: 'notification',
  0x02: 'response2',
};

/** S7comm-plus function codes of requests and responses. Unlisted codes are `function_0x<hex>`. */
export const S7P_FUNCTIONS: Readonly<Record<number, string>> = {
  0x04b1: 'error',
  0x04bb: 'explore',
  0x04ca: 'create_object',
  0x04d4: 'delete_object',
  0x04f2: 'set_variable',
  0x04fc: 'get_variable',
  0x0506: 'add_link',
  0x051a: 'remove_link',
  0x0524: 'get_link',
  0x0542: 'set_multi_variables',
  0x054c: 'get_multi_variables',
  0x0556: 'begin_sequence',
  0x0560: 'end_sequence',
  0x056b: 'invoke',
  0x057c: 'set_var_sub_streamed',
  0x0586: 'get_var_sub_streamed',
  0x0590: 'get_variables_address',
  0x059a: 'abort',
  0x05a9: 'error2',
  0x05b3: 'init_ssl',
};

/** Op name of an S7comm-plus function. */
export const plusFunctionName = (code: number): string => S7P_FUNCTIONS[code] ?? plusUnknownName(code);

/** `function_0x<hex>` names of unlisted codes, kept once built (16-bit codes: 65,536 at most). */
const PLUS_UNKNOWN = new Map<number, string>();
const plusUnknownName = (code: number): string => {
  let n = PLUS_UNKNOWN.get(code);
  if (n === undefined) {
    n = `function_0x${code.toString(16).padStart(4, '0')}`;
    if (code >= 0 && code <= 0xffff && Number.isInteger(code)) PLUS_UNKNOWN.set(code, n);
  }
  return n;
};

/**
 * Ops a detector treats as security-relevant when new on a conduit: S7comm writes, block download and
 * upload, PI services (PLC start, compress, copy RAM to ROM …), PLC stop; userdata that sets the clock,
 * forces or erases, or handles the PLC password; S7comm-plus writes, object deletion and invocations.
 */
export const S7_SECURITY_OPS: ReadonlySet<string> = new Set([
  'write_var', 'request_download', 'download_block', 'download_ended',
  'start_upload', 'upload', 'end_upload', 'pi_service', 'plc_stop',
  'prog_forces', 'prog_erase', 'sec_plc_password', 'sec_clean_session', 'time_set_clock', 'time_set_clock_2',
  'set_variable', 'set_multi_variables', 'delete_object', 'invoke', 'add_link', 'remove_link',
]);
