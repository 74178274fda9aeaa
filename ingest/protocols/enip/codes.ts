/**
 * EtherNet/IP encapsulation commands and status codes (ODVA CIP Networks Library Vol. 2, §2-3 and
 * Table 2-3.3), CPF item types (§2-6), and CIP service codes and general status codes (Vol. 1, Appendix
 * A and B), as the snake_case names used in `FlowRecord.l7Ops`, `l7OpsRev` and `l7Errors`.
 */

/** Encapsulation commands. Unlisted ones are named `command_0x<hex>`. */
export const ENIP_COMMANDS: Readonly<Record<number, string>> = {
  0x0000: 'nop',
  0x0004: 'list_services',
  0x0063: 'list_identity',
  0x0064: 'list_interfaces',
  0x0065: 'register_session',
  0x0066: 'unregister_session',
  0x006f: 'send_rr_data',
  0x0070: 'send_unit_data',
  0x0072: 'indicate_status',
  0x0073: 'cancel',
};

/** The two commands that only carry CIP: counted by the CIP service inside, not by themselves. */
export const CARRIER_COMMANDS: ReadonlySet<number> = new Set([0x006f, 0x0070]);

const hex = (n: number, width: number): string => `0x${n.toString(16).padStart(width, '0')}`;

export const commandName = (code: number): string => ENIP_COMMANDS[code] ?? `command_${hex(code, 4)}`;

/** Encapsulation status codes (non-zero = error). Unlisted ones are `encap_status_0x<hex>`. */
export const ENIP_STATUS: Readonly<Record<number, string>> = {
  0x0001: 'invalid_or_unsupported_command',
  0x0002: 'insufficient_memory',
  0x0003: 'incorrect_data',
  0x0064: 'invalid_session_handle',
  0x0065: 'invalid_length',
  0x0069: 'unsupported_protocol_revision',
};

export const statusName = (code: number): string => ENIP_STATUS[code] ?? `encap_status_${hex(code, 4)}`;

/** Common Packet Format item type ids. */
export const CPF_ITEMS = {
  nullAddress: 0x0000,
  connectedAddress: 0x00a1,
  connectedData: 0x00b1,
  unconnectedData: 0x00b2,
  sequencedAddress: 0x8002,
} as const;

/** CIP common services (Vol. 1, Table ), valid for every object class. */
export const CIP_COMMON_SERVICES: Readonly<Record<number, string>> = {
  0x01: 'get_attribute_all',
  0x02: 'set_attribute_all',
  0x03: 'get_attribute_list',
  0x04: 'set_attribute_list',
  0x05: 'reset',
  0x06: 'start',
  0x07: 'stop',
  0x08: 'create',
  0x09: 'delete',
  0x0a: 'multiple_service_packet',
  0x0d: 'apply_attributes',
  0x0e: 'get_attribute_single',
  0x10: 'set_attribute_single',
  0x11: 'find_next_object_instance',
  0x14: 'error_response',
  0x15: 'restore',
  0x16: 'save',
  0x17: 'cip_nop',
  0x18: 'get_member',
  0x19: 'set_member',
  0x1a: 'insert_member',
  0x1b: 'remove_member',
  0x1c: 'group_sync',
};

/** CIP classes whose object-specific services (0x4b–0x63) we name. */
export const CIP_CLASSES = {
  identity: 0x01,
  messageRouter: 0x02,
  connectionManager: 0x06,
  file: 0x37,
  pccc: 0x67,
  symbol: 0x6b,
  template: 0x6c,
  nonVolatileStorage: 0xa1,
} as const;

/** Connection Manager (class 0x06) services (Vol. 1, §3-5.5). */
const CONNECTION_MANAGER_SERVICES: Readonly<Record<number, string>> = {
  0x4e: 'forward_close',
  0x52: 'unconnected_send',
  0x54: 'forward_open',
  0x56: 'get_connection_data',
  0x57: 'search_connection_data',
  0x5a: 'get_connection_owner',
  0x5b: 'large_forward_open',
};

/** File object (class 0x37) services (Vol. 1, §5A-42). */
const FILE_SERVICES: Readonly<Record<number, string>> = {
  0x4b: 'initiate_upload',
  0x4c: 'initiate_download',
  0x4d: 'initiate_partial_read',
  0x4e: 'initiate_partial_write',
  0x4f: 'upload_transfer',
  0x50: 'download_transfer',
  0x51: 'clear_file',
};

/**
 * Logix controller services on tags (symbolic paths, Symbol 0x6b and Template 0x6c objects), from
 * Rockwell's Logix5000 Data Access manual (1756-PM020), and Execute PCCC on class 0x67.
 */
const LOGIX_SERVICES: Readonly<Record<number, string>> = {
  0x4b: 'execute_pccc',
  0x4c: 'read_tag',
  0x4d: 'write_tag',
  0x4e: 'read_modify_write_tag',
  0x52: 'read_tag_fragmented',
  0x53: 'write_tag_fragmented',
  0x55: 'get_instance_attribute_list',
};

/** Non-volatile storage object (class 0xa1, firmware update) services. */
const NVS_SERVICES: Readonly<Record<number, string>> = {
  0x4b: 'nvs_update',
  0x4c: 'nvs_transfer',
};

/** PCCC object (class 0x67) services. */
const PCCC_SERVICES: Readonly<Record<number, string>> = { 0x4b: 'execute_pccc' };

/** `service_0x<hex>` of every service code (response bit removed), built once, not per message. */
const UNKNOWN_SERVICES: readonly string[] = Array.from({ length: 0x80 }, (_, sc) => `service_${hex(sc, 2)}`);

/**
 * Name of CIP service `sc` (response bit removed) addressed to `cls` (undefined when the path names no
 * class, e.g. a symbolic tag path). Object-specific codes mean different things per class; an unknown
 * pairing is `service_0x<hex>`.
 */
export const serviceName = (sc: number, cls: number | undefined): string => {
  const common = CIP_COMMON_SERVICES[sc];
  if (common) return common;
  const table = cls === CIP_CLASSES.connectionManager ? CONNECTION_MANAGER_SERVICES
    : cls === CIP_CLASSES.file ? FILE_SERVICES
      : cls === CIP_CLASSES.nonVolatileStorage ? NVS_SERVICES
        : cls === CIP_CLASSES.pccc ? PCCC_SERVICES
          : cls === undefined || cls === CIP_CLASSES.symbol || cls === CIP_CLASSES.template ? LOGIX_SERVICES : undefined;
  return table?.[sc] ?? UNKNOWN_SERVICES[sc] ?? `service_${hex(sc, 2)}`;
};

const CODE_BY_NAME: ReadonlyMap<string, number> = new Map(
  [CIP_COMMON_SERVICES, CONNECTION_MANAGER_SERVICES, FILE_SERVICES, LOGIX_SERVICES, NVS_SERVICES]
    .flatMap((t) => Object.entries(t).map(([c, n]) => [n, Number(c)] as [string, number])),
);

/** Inverse of {@link serviceName}: `read_tag` → 0x4c, `service_0x99` → 0x99; undefined otherwise. */
export const serviceCode = (name: string): number | undefined => {
  const known = CODE_BY_NAME.get(name);
  if (known !== undefined) return known;
  const m = /^service_0x([0-9a-f]{2})$/.exec(name);
  return m ? parseInt(m[1]!, 16) : undefined;
};

/** Inverse of {@link commandName}. */
export const commandCode = (name: string): number | undefined => {
  for (const [c, n] of Object.entries(ENIP_COMMANDS)) if (n === name) return Number(c);
  const m = /^command_0x([0-9a-f]{4})$/.exec(name);
  return m ? parseInt(m[1]!, 16) : undefined;
};

/** CIP general status codes (Vol. 1, Appendix B-1), non-zero = error. Unlisted: `cip_status_0x<hex>`. */
export const CIP_GENERAL_STATUS: Readonly<Record<number, string>> = {
  0x01: 'connection_failure',
  0x02: 'resource_unavailable',
  0x03: 'invalid_parameter_value',
  0x04: 'path_segment_error',
  0x05: 'path_destination_unknown',
  0x06: 'partial_transfer',
  0x07: 'connection_lost',
  0x08: 'service_not_supported',
  0x09: 'invalid_attribute_value',
  0x0a: 'attribute_list_error',
  0x0b: 'already_in_requested_mode',
  0x0c: 'object_state_conflict',
  0x0d: 'object_already_exists',
  0x0e: 'attribute_not_settable',
  0x0f: 'privilege_violation',
  0x10: 'device_state_conflict',
  0x11: 'reply_data_too_large',
  0x12: 'fragmentation_of_a_primitive_value',
  0x13: 'not_enough_data',
  0x14: 'attribute_not_supported',
  0x15: 'too_much_data',
  0x16: 'object_does_not_exist',
  0x17: 'service_fragmentation_sequence_not_in_progress',
  0x18: 'no_stored_attribute_data',
  0x19: 'store_operation_failure',
  0x1a: 'routing_failure_request_too_large',
  0x1b: 'routing_failure_response_too_large',
  0x1c: 'missing_attribute_list_entry_data',
  0x1d: 'invalid_attribute_value_list',
  0x1e: 'embedded_service_error',
  0x1f: 'vendor_specific_error',
  0x20: 'invalid_parameter',
  0x21: 'write_once_value_already_written',
  0x22: 'invalid_reply_received',
  0x25: 'key_failure_in_path',
  0x26: 'path_size_invalid',
  0x27: 'unexpected_attribute_in_list',
  0x28: 'invalid_member_id',
  0x29: 'member_not_settable',
  0x2a: 'group_2_only_server_general_failure',
  0x2b: 'unknown_modbus_error',
  0x2c: 'attribute_not_gettable',
};

export const generalStatusName = (code: number): string => CIP_GENERAL_STATUS[code] ?? `cip_status_${hex(code, 2)}`;

/**
 * Services that change device state, configuration, program or firmware: a detector treats them as
 * security-relevant when new on a conduit. Start/stop/reset change the controller's run mode or reboot
 * it; set_* and write_* change data and configuration; create/delete add or remove objects; file and
 * non-volatile-storage services move programs and firmware; execute_pccc tunnels legacy PLC-5/SLC
 * commands (including program downloads and mode changes).
 */
export const ENIP_SECURITY_SERVICES: ReadonlySet<string> = new Set([
  'set_attribute_all', 'set_attribute_list', 'set_attribute_single', 'set_member', 'reset', 'start', 'stop',
  'create', 'delete', 'apply_attributes', 'restore', 'write_tag', 'write_tag_fragmented', 'read_modify_write_tag',
  'initiate_download', 'initiate_partial_write', 'download_transfer', 'clear_file', 'initiate_upload',
  'upload_transfer', 'nvs_update', 'nvs_transfer', 'execute_pccc',
]);
