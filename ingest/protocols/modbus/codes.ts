/**
 * Modbus function and exception codes (Modbus Application Protocol Specification v1.1b3, §5–§7), as the
 * snake_case names used in `FlowRecord.l7Ops`, `l7OpsRev` and `l7Errors`.
 */

/** Function code ↔ name for the public function codes (§5.1, §6). Unlisted codes are named `fc_<n>`. */
export const MODBUS_FUNCTIONS: Readonly<Record<number, string>> = {
  1: 'read_coils',
  2: 'read_discrete_inputs',
  3: 'read_holding_registers',
  4: 'read_input_registers',
  5: 'write_single_coil',
  6: 'write_single_register',
  7: 'read_exception_status',
  8: 'diagnostics',
  11: 'get_comm_event_counter',
  12: 'get_comm_event_log',
  15: 'write_multiple_coils',
  16: 'write_multiple_registers',
  17: 'report_server_id',
  20: 'read_file_record',
  21: 'write_file_record',
  22: 'mask_write_register',
  23: 'read_write_multiple_registers',
  24: 'read_fifo_queue',
  43: 'encapsulated_interface',
};

const CODE_BY_NAME: ReadonlyMap<string, number> = new Map(
  Object.entries(MODBUS_FUNCTIONS).map(([code, name]) => [name, Number(code)]),
);

/** Every function code's name, built once: the dissector names millions of PDUs. */
const FUNCTION_NAMES: readonly string[] = Array.from({ length: 128 }, (_, c) => MODBUS_FUNCTIONS[c] ?? `fc_${c}`);

/** Name of a function code (the exception bit already removed, 0–127): `read_coils`, or `fc_90`. */
export const functionName = (code: number): string => FUNCTION_NAMES[code] ?? `fc_${code}`;

/** Inverse of {@link functionName}: `read_coils` → 1, `fc_90` → 90; undefined for anything else. */
export const functionCode = (name: string): number | undefined => {
  const known = CODE_BY_NAME.get(name);
  if (known !== undefined) return known;
  const m = /^fc_(\d{1,3})$/.exec(name);
  return m ? Number(m[1]) : undefined;
};

/** MEI types carried by function 43 (§6.19–§6.21). */
export const MODBUS_MEI_TYPES: Readonly<Record<number, string>> = {
  13: 'canopen_general_reference',
  14: 'read_device_identification',
};

/** Exception codes (§7). Unlisted codes are named `exception_<n>`. */
export const MODBUS_EXCEPTIONS: Readonly<Record<number, string>> = {
  1: 'illegal_function',
  2: 'illegal_data_address',
  3: 'illegal_data_value',
  4: 'server_device_failure',
  5: 'acknowledge',
  6: 'server_device_busy',
  8: 'memory_parity_error',
  10: 'gateway_path_unavailable',
  11: 'gateway_target_device_failed_to_respond',
};

export const exceptionName = (code: number): string => MODBUS_EXCEPTIONS[code] ?? `exception_${code}`;

/** Diagnostics (function 8) sub-functions (§6.8). */
export const MODBUS_DIAGNOSTICS: Readonly<Record<number, string>> = {
  0: 'return_query_data',
  1: 'restart_communications_option',
  2: 'return_diagnostic_register',
  3: 'change_ascii_input_delimiter',
  4: 'force_listen_only_mode',
  10: 'clear_counters_and_diagnostic_register',
  11: 'return_bus_message_count',
  12: 'return_bus_communication_error_count',
  13: 'return_bus_exception_error_count',
  14: 'return_server_message_count',
  15: 'return_server_no_response_count',
  16: 'return_server_nak_count',
  17: 'return_server_busy_count',
  18: 'return_bus_character_overrun_count',
  20: 'clear_overrun_counter_and_flag',
};

/**
 * Functions that change process state or device behaviour, or fingerprint the device: a detector treats
 * them as security-relevant when new on a conduit. Writes change outputs and setpoints; diagnostics can
 * restart the communications stack or force the device into listen-only mode (sub-functions 1 and 4,
 * a denial of service); device identification and report-server-id are reconnaissance; `fc_90` is
 * Schneider Electric's UMAS (program upload/download, PLC start/stop) on the same port.
 */
export const MODBUS_SECURITY_FUNCTIONS: ReadonlySet<string> = new Set([
  'write_single_coil',
  'write_single_register',
  'diagnostics',
  'write_multiple_coils',
  'write_multiple_registers',
  'report_server_id',
  'write_file_record',
  'mask_write_register',
  'read_write_multiple_registers',
  'encapsulated_interface',
  'fc_90',
]);

/** Diagnostics sub-functions that disrupt the device (restart, listen-only, counter wipe). */
export const MODBUS_SECURITY_DIAGNOSTICS: ReadonlySet<number> = new Set([1, 4, 10, 20]);
