/**
 * DNP3 names (IEEE 1815-2012): application-layer function codes (§4.2.2.5, Table 4-2), internal
 * indications (§4.2.2.7) and data-link functions (§9.2.4.1.3), as the snake_case names used in
 * `FlowRecord.l7Ops`, `l7OpsRev` and `l7Errors`.
 */

/** Application function code ↔ name. Unlisted codes are named `func_<n>`. */
export const DNP3_FUNCTIONS: Readonly<Record<number, string>> = {
  0: 'confirm',
  1: 'read',
  2: 'write',
  3: 'select',
  4: 'operate',
  5: 'direct_operate',
  6: 'direct_operate_nr',
  7: 'immediate_freeze',
  8: 'immediate_freeze_nr',
  9: 'freeze_clear',
  10: 'freeze_clear_nr',
  11: 'freeze_at_time',
  12: 'freeze_at_time_nr',
  13: 'cold_restart',
  14: 'warm_restart',
  15: 'initialize_data',
  16: 'initialize_application',
  17: 'start_application',
  18: 'stop_application',
  19: 'save_configuration',
  20: 'enable_unsolicited',
  21: 'disable_unsolicited',
  22: 'assign_class',
  23: 'delay_measure',
  24: 'record_current_time',
  25: 'open_file',
  26: 'close_file',
  27: 'delete_file',
  28: 'get_file_info',
  29: 'authenticate_file',
  30: 'abort_file',
  31: 'activate_config',
  32: 'authenticate_request',
  33: 'authenticate_request_no_ack',
  129: 'response',
  130: 'unsolicited_response',
  131: 'authenticate_response',
};

const CODE_BY_NAME: ReadonlyMap<string, number> = new Map(Object.entries(DNP3_FUNCTIONS).map(([c, n]) => [n, Number(c)]));

/** Name of an application function code: `direct_operate`, or `func_<n>`. */
export const functionName = (code: number): string => DNP3_FUNCTIONS[code] ?? `func_${code}`;

/** Inverse of {@link functionName}; undefined for a name that is not an application function. */
export const functionCode = (name: string): number | undefined => {
  const known = CODE_BY_NAME.get(name);
  if (known !== undefined) return known;
  const m = /^func_(\d{1,3})$/.exec(name);
  return m ? Number(m[1]) : undefined;
};

/** Responses carry the internal indications (IIN) after the function code. */
export const isResponse = (code: number): boolean => code === 129 || code === 130 || code === 131;

/**
 * IIN bits that report an error or a fault, as `l7Errors` names: IIN2.0–2.5 and IIN1.6 (bit index in
 * the 16-bit value IIN1 << 8 | IIN2). The other bits (class data available, need time, restart,
 * local control, broadcast) are state, not errors.
 */
export const DNP3_IIN_ERRORS: ReadonlyArray<readonly [number, string]> = [
  [0x4000, 'device_trouble'],
  [0x0001, 'function_code_not_supported'],
  [0x0002, 'object_unknown'],
  [0x0004, 'parameter_error'],
  [0x0008, 'event_buffer_overflow'],
  [0x0010, 'already_executing'],
  [0x0020, 'config_corrupt'],
];

/** The error names set in an IIN value (IIN1 << 8 | IIN2). */
export const iinErrors = (iin: number): string[] => DNP3_IIN_ERRORS.filter(([bit]) => (iin & bit) !== 0).map(([, n]) => n);

/** Data-link functions from a primary station (PRM = 1), named `link_<name>` in `l7Ops`. */
export const LINK_PRIMARY: Readonly<Record<number, string>> = {
  0: 'link_reset_link_states',
  1: 'link_reset_user_process',
  2: 'link_test_link_states',
  3: 'link_confirmed_user_data',
  4: 'link_unconfirmed_user_data',
  9: 'link_request_link_status',
};

/** Data-link functions from a secondary station (PRM = 0). */
export const LINK_SECONDARY: Readonly<Record<number, string>> = {
  0: 'link_ack',
  1: 'link_nack',
  11: 'link_status',
  14: 'link_not_functioning',
  15: 'link_not_supported',
};

/** `l7Ops` name of a data-link frame without user data. */
export const linkFunctionName = (primary: boolean, fc: number): string =>
  (primary ? LINK_PRIMARY[fc] : LINK_SECONDARY[fc]) ?? `link_${primary ? 'primary' : 'secondary'}_${fc}`;

/**
 * Functions a detector treats as security-relevant when new on a conduit: writes, control
 * (select/operate, direct operate), restarts, application start/stop and initialisation, configuration
 * save/activation, file operations, and turning unsolicited reporting off (hides events), plus the
 * link-layer reset.
 */
export const DNP3_SECURITY_FUNCTIONS: ReadonlySet<string> = new Set([
  'write', 'select', 'operate', 'direct_operate', 'direct_operate_nr',
  'cold_restart', 'warm_restart', 'initialize_data', 'initialize_application',
  'start_application', 'stop_application', 'save_configuration', 'activate_config',
  'open_file', 'close_file', 'delete_file', 'get_file_info', 'authenticate_file', 'abort_file',
  'disable_unsolicited', 'link_reset_user_process',
]);

/**
 * CRC-16/DNP over `buf[off, off + len)` (polynomial 0x3D65, reflected, initial 0, final complement;
 * IEEE 1815-2012 §9.2.6); sent least-significant octet first.
 */
export const dnp3Crc = (buf: Buffer, off: number, len: number): number => {
  let crc = 0;
  for (let i = off; i < off + len; i++) crc = (crc >>> 8) ^ CRC_TABLE[(crc ^ buf[i]!) & 0xff]!;
  return ~crc & 0xffff;
};

const CRC_TABLE: Uint16Array = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xa6bc : c >>> 1;
    t[i] = c;
  }
  return t;
})();
