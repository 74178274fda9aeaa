/**
 * BACnet/IP codes (ANSI/ASHRAE 135-2020): BVLL functions (Annex J.2), network-layer message types
 * (§6.2.4), APDU types (§20.1), confirmed and unconfirmed service choices (§21, BACnetConfirmedServiceChoice
 * and BACnetUnconfirmedServiceChoice), error classes and codes, reject and abort reasons (§18), as the
 * snake_case names used in `FlowRecord.l7Ops`, `l7OpsRev` and `l7Errors`.
 */

/** BVLC functions. Unlisted ones are `bvlc_0x<hex>`. */
export const BVLC_FUNCTIONS: Readonly<Record<number, string>> = {
  0x00: 'bvlc_result',
  0x01: 'write_broadcast_distribution_table',
  0x02: 'read_broadcast_distribution_table',
  0x03: 'read_broadcast_distribution_table_ack',
  0x04: 'forwarded_npdu',
  0x05: 'register_foreign_device',
  0x06: 'read_foreign_device_table',
  0x07: 'read_foreign_device_table_ack',
  0x08: 'delete_foreign_device_table_entry',
  0x09: 'distribute_broadcast_to_network',
  0x0a: 'original_unicast_npdu',
  0x0b: 'original_broadcast_npdu',
  0x0c: 'secure_bvll',
};

/** BVLC functions that carry an NPDU (counted by what the NPDU holds, not by themselves). */
export const NPDU_FUNCTIONS: ReadonlySet<number> = new Set([0x04, 0x09, 0x0a, 0x0b]);

/** BVLC-Result codes (J.2.1.1), non-zero = NAK. */
export const BVLC_RESULTS: Readonly<Record<number, string>> = {
  0x0010: 'write_broadcast_distribution_table_nak',
  0x0020: 'read_broadcast_distribution_table_nak',
  0x0030: 'register_foreign_device_nak',
  0x0040: 'read_foreign_device_table_nak',
  0x0050: 'delete_foreign_device_table_entry_nak',
  0x0060: 'distribute_broadcast_to_network_nak',
};

/** Network-layer message types (0x80–0xff are proprietary). */
export const NETWORK_MESSAGES: Readonly<Record<number, string>> = {
  0x00: 'who_is_router_to_network',
  0x01: 'i_am_router_to_network',
  0x02: 'i_could_be_router_to_network',
  0x03: 'reject_message_to_network',
  0x04: 'router_busy_to_network',
  0x05: 'router_available_to_network',
  0x06: 'initialize_routing_table',
  0x07: 'initialize_routing_table_ack',
  0x08: 'establish_connection_to_network',
  0x09: 'disconnect_connection_to_network',
  0x0a: 'challenge_request',
  0x0b: 'security_payload',
  0x0c: 'security_response',
  0x0d: 'request_key_update',
  0x0e: 'update_key_set',
  0x0f: 'update_distribution_key',
  0x10: 'request_master_key',
  0x11: 'set_master_key',
  0x12: 'what_is_network_number',
  0x13: 'network_number_is',
};

/** APDU types (high nibble of the first APDU byte). */
export const APDU_TYPES = {
  confirmedRequest: 0,
  unconfirmedRequest: 1,
  simpleAck: 2,
  complexAck: 3,
  segmentAck: 4,
  error: 5,
  reject: 6,
  abort: 7,
} as const;

/** BACnetConfirmedServiceChoice. Unlisted ones are `confirmed_<n>`. */
export const CONFIRMED_SERVICES: readonly string[] = [
  'acknowledge_alarm', 'confirmed_cov_notification', 'confirmed_event_notification', 'get_alarm_summary',
  'get_enrollment_summary', 'subscribe_cov', 'atomic_read_file', 'atomic_write_file', 'add_list_element',
  'remove_list_element', 'create_object', 'delete_object', 'read_property', 'read_property_conditional',
  'read_property_multiple', 'write_property', 'write_property_multiple', 'device_communication_control',
  'confirmed_private_transfer', 'confirmed_text_message', 'reinitialize_device', 'vt_open', 'vt_close',
  'vt_data', 'authenticate', 'request_key', 'read_range', 'life_safety_operation', 'subscribe_cov_property',
  'get_event_information', 'subscribe_cov_property_multiple', 'confirmed_cov_notification_multiple',
  'confirmed_audit_notification', 'audit_log_query',
];

/** BACnetUnconfirmedServiceChoice. Unlisted ones are `unconfirmed_<n>`. */
export const UNCONFIRMED_SERVICES: readonly string[] = [
  'i_am', 'i_have', 'unconfirmed_cov_notification', 'unconfirmed_event_notification',
  'unconfirmed_private_transfer', 'unconfirmed_text_message', 'time_synchronization', 'who_has', 'who_is',
  'utc_time_synchronization', 'write_group', 'unconfirmed_cov_notification_multiple',
  'unconfirmed_audit_notification', 'who_am_i', 'you_are',
];

export const confirmedName = (n: number): string => CONFIRMED_SERVICES[n] ?? `confirmed_${n}`;
export const unconfirmedName = (n: number): string => UNCONFIRMED_SERVICES[n] ?? `unconfirmed_${n}`;

/** Inverse of {@link confirmedName} / {@link unconfirmedName}. */
export const serviceChoice = (name: string): { confirmed: boolean; choice: number } | undefined => {
  const c = CONFIRMED_SERVICES.indexOf(name);
  if (c >= 0) return { confirmed: true, choice: c };
  const u = UNCONFIRMED_SERVICES.indexOf(name);
  if (u >= 0) return { confirmed: false, choice: u };
  const m = /^(confirmed|unconfirmed)_(\d{1,3})$/.exec(name);
  return m ? { confirmed: m[1] === 'confirmed', choice: Number(m[2]) } : undefined;
};

/** Error codes (BACnetErrorCode), the common ones. Unlisted ones are `error_<n>`. */
export const ERROR_CODES: Readonly<Record<number, string>> = {
  0: 'other',
  2: 'configuration_in_progress',
  3: 'device_busy',
  5: 'dynamic_creation_not_supported',
  9: 'inconsistent_parameters',
  10: 'inconsistent_selection_criterion',
  12: 'invalid_data_type',
  13: 'file_access_denied',
  14: 'invalid_file_start_position',
  15: 'invalid_parameter_data_type',
  16: 'invalid_time_stamp',
  19: 'missing_required_parameter',
  20: 'no_objects_of_specified_type',
  21: 'no_space_for_object',
  22: 'no_space_to_add_list_element',
  23: 'no_space_to_write_property',
  24: 'no_vt_sessions_available',
  25: 'property_is_not_a_list',
  26: 'object_deletion_not_permitted',
  27: 'object_identifier_already_exists',
  28: 'operational_problem',
  29: 'password_failure',
  30: 'read_access_denied',
  31: 'unknown_object',
  32: 'unknown_property',
  34: 'unknown_vt_class',
  35: 'unknown_vt_session',
  36: 'unsupported_object_type',
  37: 'value_out_of_range',
  38: 'vt_session_already_closed',
  39: 'vt_session_termination_failure',
  40: 'write_access_denied',
  41: 'character_set_not_supported',
  42: 'invalid_array_index',
  44: 'not_cov_property',
  45: 'optional_functionality_not_supported',
  46: 'invalid_configuration_data',
  47: 'datatype_not_supported',
  48: 'duplicate_name',
  49: 'duplicate_object_id',
  50: 'property_is_not_an_array',
  73: 'abort_buffer_overflow',
  83: 'service_request_denied',
  123: 'unknown_subscription',
  131: 'unknown_device',
};

export const errorCodeName = (n: number): string => ERROR_CODES[n] ?? `error_${n}`;

/** Reject reasons (BACnetRejectReason). Unlisted ones are `reject_<n>`. */
export const REJECT_REASONS: readonly string[] = [
  'reject_other', 'reject_buffer_overflow', 'reject_inconsistent_parameters', 'reject_invalid_parameter_data_type',
  'reject_invalid_tag', 'reject_missing_required_parameter', 'reject_parameter_out_of_range',
  'reject_too_many_arguments', 'reject_undefined_enumeration', 'reject_unrecognized_service',
];

/** Abort reasons (BACnetAbortReason). Unlisted ones are `abort_<n>`. */
export const ABORT_REASONS: readonly string[] = [
  'abort_other', 'abort_buffer_overflow', 'abort_invalid_apdu_in_this_state', 'abort_preempted_by_higher_priority_task',
  'abort_segmentation_not_supported', 'abort_security_error', 'abort_insufficient_security',
  'abort_window_size_out_of_range', 'abort_application_exceeded_reply_time', 'abort_out_of_resources',
  'abort_tsm_timeout', 'abort_apdu_too_long',
];

export const rejectName = (n: number): string => REJECT_REASONS[n] ?? `reject_${n}`;
export const abortName = (n: number): string => ABORT_REASONS[n] ?? `abort_${n}`;

/**
 * Services and BVLL functions that change state, configuration or reachability: writes change values
 * and priorities; reinitialize_device reboots a controller or starts a backup/restore;
 * device_communication_control silences a device (a denial of service); atomic_write_file changes
 * files (programs, firmware images); create/delete_object and list edits change the object database;
 * BDT writes and foreign-device registration change broadcast routing; initialize_routing_table and
 * set_master_key change the network layer.
 */
export const BACNET_SECURITY_SERVICES: ReadonlySet<string> = new Set([
  'write_property', 'write_property_multiple', 'write_group', 'reinitialize_device', 'device_communication_control',
  'atomic_write_file', 'create_object', 'delete_object', 'add_list_element', 'remove_list_element',
  'confirmed_private_transfer', 'unconfirmed_private_transfer', 'life_safety_operation',
  'write_broadcast_distribution_table', 'register_foreign_device', 'delete_foreign_device_table_entry',
  'initialize_routing_table', 'set_master_key', 'you_are',
]);
