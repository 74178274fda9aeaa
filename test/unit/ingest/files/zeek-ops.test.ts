import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PROTOCOL_LOGS, modbusException, modbusOp, dnp3Op, serviceL7, type OpEvent } from '../../../../ingest/files/zeek-ops.ts';

const decode = (name: string, rows: Array<Record<string, string>>): OpEvent[] => {
  const spec = PROTOCOL_LOGS.find((p) => p.name === name)!;
  const state = new Map<string, string>();
  return rows.flatMap((r) => spec.decode(r, state));
};

test('names Zeek Modbus functions and exceptions like the pcap dissector', () => {
  assert.deepEqual(modbusOp('READ_HOLDING_REGISTERS'), { op: 'read_holding_registers', exception: false });
  assert.deepEqual(modbusOp('WRITE_MULTIPLE_COILS_EXCEPTION'), { op: 'write_multiple_coils', exception: true });
  assert.deepEqual(modbusOp('REPORT_SLAVE_ID'), { op: 'report_server_id', exception: false });
  assert.deepEqual(modbusOp('PROGRAM_UNITY'), { op: 'fc_90', exception: false });
  assert.deepEqual(modbusOp('unknown-100'), { op: 'fc_100', exception: false });
  assert.equal(modbusException('SLAVE_DEVICE_BUSY'), 'server_device_busy');
  assert.equal(modbusException('unknown-12'), 'exception_12');
  assert.equal(dnp3Op('DIRECT_OPERATE'), 'direct_operate');
  assert.equal(dnp3Op('INITIALIZE_APPL'), 'initialize_application');
  assert.equal(dnp3Op('SOMETHING_NEW'), 'dnp3_something_new');
});

test('counts old-Zeek modbus.log lines (no pdu_type) as one request and one response', () => {
  assert.deepEqual(decode('modbus', [{ func: 'READ_COILS' }]), [{ orig: true, op: 'read_coils' }, { orig: false, op: 'read_coils' }]);
});

test('reads ICSNPP modbus_detailed, s7comm_plus, cip and enip rows', () => {
  assert.deepEqual(decode('modbus_detailed', [{ func: 'WRITE_SINGLE_COIL', request_response: 'REQUEST', unit: '3' }, { func: 'WRITE_SINGLE_COIL', request_response: 'RESPONSE', unit: '3' }]),
    [{ orig: true, op: 'write_single_coil', unit: 3 }, { orig: false, op: 'write_single_coil' }]);
  assert.deepEqual(decode('s7comm_plus', [{ opcode: '0x31', function_code: '0x04f2', is_orig: 'T' }, { opcode: '0x32', function_code: '0x04f2', is_orig: 'F' }]),
    [{ orig: true, op: 'set_variable' }, { orig: false, op: 'set_variable' }]);
  assert.deepEqual(decode('cip', [
    { is_orig: 'T', direction: 'request', cip_service_code: '0x4c' },
    { is_orig: 'F', direction: 'response', cip_service_code: '0x4c', cip_status_code: '0x05' },
    { is_orig: 'T', direction: 'request', cip_service_code: '0x54', class_id: '0x06' },
  ]), [{ orig: true, op: 'read_tag' }, { orig: false, op: 'read_tag', error: 'path_destination_unknown' }, { orig: true, op: 'forward_open' }]);
  assert.deepEqual(decode('enip', [{ enip_command_code: '0x65' }, { enip_command_code: '0x6f' }]), [{ orig: true, op: 'register_session' }]);
});

test('reads ICSNPP bacnet rows with error, reject and abort reasons', () => {
  assert.deepEqual(decode('bacnet', [
    { is_orig: 'T', bvlc_function: 'Original_Unicast_NPDU', pdu_type: 'CONFIRMED_REQUEST', pdu_service: 'read_property' },
    { is_orig: 'F', bvlc_function: 'Original_Unicast_NPDU', pdu_type: 'ERROR_PDU', pdu_service: 'reinitialize_device', result_code: 'password-failure' },
    { is_orig: 'F', bvlc_function: 'Original_Unicast_NPDU', pdu_type: 'REJECT_PDU', pdu_service: 'reject', result_code: 'unrecognized-service' },
    { is_orig: 'T', bvlc_function: 'Register_Foreign_Device' },
    { is_orig: 'T', bvlc_function: 'Original_Broadcast_NPDU' },
  ]), [
    { orig: true, op: 'read_property' },
    { orig: false, op: 'reinitialize_device', error: 'password_failure' },
    { orig: false, op: 'reject', error: 'reject_unrecognized_service' },
    { orig: true, op: 'register_foreign_device' },
  ]);
});

test('reads iec104.log rows: I by type number or mnemonic, S, U by name, causes as errors', () => {
  assert.deepEqual(decode('iec104', [
    { is_orig: 'T', apci_type: 'I', info_obj_type: 'C_IC_NA_1', cause_tx: '6', common_addr: '1' },
    { is_orig: 'F', apci_type: 'I', info_obj_type: '36', cause_tx: '47' },
    { is_orig: 'F', apci_type: 'S' },
    { is_orig: 'T', apci_type: 'U', u_function: 'STARTDT act' },
  ]), [
    { orig: true, op: 'C_IC_NA_1', unit: 1 },
    { orig: false, op: 'M_ME_TF_1', error: 'unknown_ioa' },
    { orig: false, op: 'S_frame' },
    { orig: true, op: 'STARTDT_act' },
  ]);
});

test('maps Zeek service lists to our l7 names', () => {
  assert.equal(serviceL7('cotp,s7comm'), 's7comm');
  assert.equal(serviceL7('dnp3_tcp'), 'dnp3');
  assert.equal(serviceL7('spicy_modbus'), 'modbus');
  assert.equal(serviceL7('ssl,http'), 'ssl');
  assert.equal(serviceL7(''), undefined);
});
