/**
 * OPC UA binary names (OPC 10000-6 §7 UA TCP and UA Secure Conversation; OPC 10000-4 §5 services;
 * encoding ids from the NodeIds.csv of the OPC Foundation's UA-Nodeset, `<Service>Request_Encoding_DefaultBinary`
 * and `<Service>Response_Encoding_DefaultBinary`), as the snake_case names used in `FlowRecord.l7Ops`,
 * `l7OpsRev` and `l7Errors`.
 */

/** UA TCP / Secure Conversation message types (the first 3 header bytes), by op name. */
export const MESSAGE_TYPES: Readonly<Record<string, string>> = {
  HEL: 'hello',
  ACK: 'acknowledge',
  ERR: 'error',
  RHE: 'reverse_hello',
  OPN: 'open_secure_channel',
  MSG: 'message',
  CLO: 'close_secure_channel',
};

/** Chunk types (the 4th header byte). */
export const CHUNK_TYPES: ReadonlySet<string> = new Set(['F', 'C', 'A']);

/** Services by request encoding id; the response id of each is listed in {@link SERVICE_RESPONSES}. */
export const SERVICE_REQUESTS: Readonly<Record<number, string>> = {
  422: 'find_servers',
  12208: 'find_servers_on_network',
  428: 'get_endpoints',
  437: 'register_server',
  12211: 'register_server2',
  446: 'open_secure_channel',
  452: 'close_secure_channel',
  461: 'create_session',
  467: 'activate_session',
  473: 'close_session',
  479: 'cancel',
  488: 'add_nodes',
  494: 'add_references',
  500: 'delete_nodes',
  506: 'delete_references',
  527: 'browse',
  533: 'browse_next',
  554: 'translate_browse_paths_to_node_ids',
  560: 'register_nodes',
  566: 'unregister_nodes',
  615: 'query_first',
  621: 'query_next',
  631: 'read',
  664: 'history_read',
  673: 'write',
  700: 'history_update',
  712: 'call',
  751: 'create_monitored_items',
  763: 'modify_monitored_items',
  769: 'set_monitoring_mode',
  775: 'set_triggering',
  781: 'delete_monitored_items',
  787: 'create_subscription',
  793: 'modify_subscription',
  799: 'set_publishing_mode',
  826: 'publish',
  832: 'republish',
  841: 'transfer_subscriptions',
  847: 'delete_subscriptions',
};

/** Response encoding ids; 397 is ServiceFault, the answer to any failed request. */
export const SERVICE_RESPONSES: Readonly<Record<number, string>> = {
  397: 'service_fault',
  425: 'find_servers',
  12209: 'find_servers_on_network',
  431: 'get_endpoints',
  440: 'register_server',
  12212: 'register_server2',
  449: 'open_secure_channel',
  455: 'close_secure_channel',
  464: 'create_session',
  470: 'activate_session',
  476: 'close_session',
  482: 'cancel',
  491: 'add_nodes',
  497: 'add_references',
  503: 'delete_nodes',
  509: 'delete_references',
  530: 'browse',
  536: 'browse_next',
  557: 'translate_browse_paths_to_node_ids',
  563: 'register_nodes',
  569: 'unregister_nodes',
  618: 'query_first',
  624: 'query_next',
  634: 'read',
  667: 'history_read',
  676: 'write',
  703: 'history_update',
  715: 'call',
  754: 'create_monitored_items',
  766: 'modify_monitored_items',
  772: 'set_monitoring_mode',
  778: 'set_triggering',
  784: 'delete_monitored_items',
  790: 'create_subscription',
  796: 'modify_subscription',
  802: 'set_publishing_mode',
  829: 'publish',
  835: 'republish',
  844: 'transfer_subscriptions',
  850: 'delete_subscriptions',
};

/** ServiceFault's encoding id. */
export const SERVICE_FAULT = 397;

/** Op name of a body whose type id is `id`, in the request or response table; unknown: `service_<id>`. */
export const serviceName = (id: number, request: boolean): string =>
  (request ? SERVICE_REQUESTS : SERVICE_RESPONSES)[id] ?? `service_${id}`;

/** Op name of an OpenSecureChannel request that asks for MessageSecurityMode None (no signing, no encryption). */
export const OPEN_SECURE_CHANNEL_NONE = 'open_secure_channel_none';
/** Op name of an OPN/MSG/CLO chunk whose body is signed or encrypted and so not read. */
export const SECURED_CHUNK = 'secured_chunk';

/** Inverse of {@link serviceName} for tshark comparison: the encoding id, request or response side. */
export const serviceId = (name: string, request: boolean): number | undefined => {
  if (name === OPEN_SECURE_CHANNEL_NONE) return request ? 446 : 449;
  for (const [id, n] of Object.entries(request ? SERVICE_REQUESTS : SERVICE_RESPONSES)) if (n === name) return Number(id);
  const m = /^service_(\d+)$/.exec(name);
  return m ? Number(m[1]) : undefined;
};

/** StatusCodes seen in ERR messages and ServiceFaults (OPC 10000-4 §7.34, StatusCode.csv). */
export const STATUS_CODES: Readonly<Record<number, string>> = {
  0x80010000: 'bad_unexpected_error',
  0x80020000: 'bad_internal_error',
  0x80030000: 'bad_out_of_memory',
  0x80040000: 'bad_resource_unavailable',
  0x80050000: 'bad_communication_error',
  0x80060000: 'bad_encoding_error',
  0x80070000: 'bad_decoding_error',
  0x80080000: 'bad_encoding_limits_exceeded',
  0x80090000: 'bad_unknown_response',
  0x800a0000: 'bad_timeout',
  0x800b0000: 'bad_service_unsupported',
  0x800c0000: 'bad_shutdown',
  0x800d0000: 'bad_server_not_connected',
  0x800e0000: 'bad_server_halted',
  0x800f0000: 'bad_nothing_to_do',
  0x80100000: 'bad_too_many_operations',
  0x80120000: 'bad_certificate_invalid',
  0x80130000: 'bad_security_checks_failed',
  0x80140000: 'bad_certificate_time_invalid',
  0x801a0000: 'bad_certificate_untrusted',
  0x801f0000: 'bad_user_access_denied',
  0x80200000: 'bad_identity_token_invalid',
  0x80210000: 'bad_identity_token_rejected',
  0x80220000: 'bad_secure_channel_id_invalid',
  0x80230000: 'bad_invalid_timestamp',
  0x80240000: 'bad_nonce_invalid',
  0x80250000: 'bad_session_id_invalid',
  0x80260000: 'bad_session_closed',
  0x80270000: 'bad_session_not_activated',
  0x80280000: 'bad_subscription_id_invalid',
  0x802a0000: 'bad_request_header_invalid',
  0x80330000: 'bad_node_id_invalid',
  0x80340000: 'bad_node_id_unknown',
  0x80350000: 'bad_attribute_id_invalid',
  0x803a0000: 'bad_not_readable',
  0x803b0000: 'bad_not_writable',
  0x803c0000: 'bad_out_of_range',
  0x803d0000: 'bad_not_supported',
  0x80540000: 'bad_security_mode_rejected',
  0x80550000: 'bad_security_policy_rejected',
  0x80560000: 'bad_too_many_sessions',
  0x80730000: 'bad_write_not_supported',
  0x80740000: 'bad_type_mismatch',
  0x80750000: 'bad_method_invalid',
  0x80760000: 'bad_arguments_missing',
  0x80770000: 'bad_too_many_subscriptions',
  0x80790000: 'bad_no_subscription',
  0x807d0000: 'bad_tcp_server_too_busy',
  0x807e0000: 'bad_tcp_message_type_invalid',
  0x807f0000: 'bad_tcp_secure_channel_unknown',
  0x80800000: 'bad_tcp_message_too_large',
  0x80b80000: 'bad_request_too_large',
  0x80b90000: 'bad_response_too_large',
};

/** Name of a StatusCode (the low 16 info bits ignored); unknown: `status_0x<hex>`. */
export const statusName = (code: number): string =>
  STATUS_CODES[(code & 0xffff0000) >>> 0] ?? `status_0x${(code >>> 0).toString(16).padStart(8, '0')}`;

/**
 * Services and conditions that change the address space, process values or server state, or weaken
 * the channel: Write and HistoryUpdate change values; Call runs methods (often device commands);
 * Add/Delete Nodes and References change the address space; RegisterServer changes discovery;
 * `open_secure_channel_none` is a channel opened without signing or encryption.
 */
export const OPCUA_SECURITY_SERVICES: ReadonlySet<string> = new Set([
  'write', 'history_update', 'call', 'add_nodes', 'delete_nodes', 'add_references', 'delete_references',
  'register_server', 'register_server2', OPEN_SECURE_CHANNEL_NONE,
]);
