import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FlowRecord } from '../../../../../core/records.ts';
import {
  S7P_FUNCTIONS, S7_FUNCTIONS, S7_SECURITY_OPS, functionCode, userdataGroup, userdataName,
} from '../../../../../ingest/protocols/s7comm/codes.ts';
import { S7Session, s7commAnalyzer } from '../../../../../ingest/protocols/s7comm/dissect.ts';

const blank = (): FlowRecord => ({
  id: '', tsStart: 0, tsEnd: 0, srcIp: 'a', srcPort: 40000, dstIp: 'b', dstPort: 102, proto: 6, packets: 0, bytes: 0,
  packetsRev: 0, bytesRev: 0, tcpFlags: 0, exporter: 'x', observationDomain: 0, source: 'pcap',
});

const feed = (s: S7Session, segments: Array<[boolean, Buffer, number?]>): void => {
  for (const [init, b, ts] of segments) s.onPayload(init, b, 0, b.length, ts ?? 0);
};
const run = (segments: Array<[boolean, Buffer, number?]>, final = true): FlowRecord => {
  const s = new S7Session();
  feed(s, segments);
  const rec = blank();
  s.flush(rec, final);
  return rec;
};

const tpkt = (cotp: number[], data: Buffer = Buffer.alloc(0)): Buffer => {
  const len = 4 + cotp.length + data.length;
  return Buffer.concat([Buffer.from([3, 0, len >> 8, len & 0xff]), Buffer.from(cotp), data]);
};
const cr = (): Buffer => tpkt([17, 0xe0, 0, 0, 0, 1, 0, 0xc1, 2, 1, 0, 0xc2, 2, 1, 2, 0xc0, 1, 0x0a]);
const cc = (): Buffer => tpkt([17, 0xd0, 0, 1, 0, 1, 0, 0xc1, 2, 1, 0, 0xc2, 2, 1, 2, 0xc0, 1, 0x0a]);
const dt = (data: Buffer, eot = true): Buffer => tpkt([2, 0xf0, eot ? 0x80 : 0], data);

/** An S7comm PDU; `err` = [class, code] for ack / ack_data. */
const s7 = (rosctr: number, param: number[], data: number[] = [], err?: [number, number]): Buffer => {
  const h = [0x32, rosctr, 0, 0, 0, 1, param.length >> 8, param.length & 0xff, data.length >> 8, data.length & 0xff];
  if (rosctr === 2 || rosctr === 3) h.push(...(err ?? [0, 0]));
  return Buffer.from([...h, ...param, ...data]);
};
const job = (fn: number): Buffer => s7(1, [fn, 0]);
const ackData = (fn: number, err?: [number, number]): Buffer => s7(3, [fn, 0], [], err);
/** Userdata request: group, subfunction. */
const ud = (group: number, sub: number): Buffer => s7(7, [0, 1, 0x12, 4, 0x11, 0x40 | group, sub, 0]);
/** Userdata response with a parameter error code. */
const udRsp = (group: number, sub: number, code: number): Buffer => s7(7, [0, 1, 0x12, 8, 0x12, 0x80 | group, sub, 1, 0, 0, code >> 8, code & 0xff]);
/** An S7comm-plus PDU with trailer: version 2, opcode, function. */
const plus = (opcode: number, fn: number, body: number[] = [], trailer = true): Buffer => {
  const inner = [opcode, 0, 0, fn >> 8, fn & 0xff, ...body];
  return Buffer.from([0x72, 2, inner.length >> 8, inner.length & 0xff, ...inner, ...(trailer ? [0x72, 2, 0, 0] : [])]);
};

for (const [code, name] of Object.entries(S7_FUNCTIONS)) {
  test(`counts a job ${name} (0x${Number(code).toString(16)}) and its ack_data`, () => {
    const rec = run([[true, cr()], [false, cc()], [true, dt(job(Number(code)))], [false, dt(ackData(Number(code)))]]);
    assert.equal(rec.l7, 's7comm');
    assert.deepEqual(rec.l7Ops, { cotp_cr: 1, [name]: 1 });
    assert.deepEqual(rec.l7OpsRev, { cotp_cc: 1, [name]: 1 });
    assert.equal(rec.l7Violations, undefined);
    assert.equal(functionCode(name), Number(code));
  });
}

for (const [group, sub, name] of [[4, 1, 'cpu_read_szl'], [3, 1, 'block_list_blocks'], [3, 3, 'block_get_block_info'], [7, 2, 'time_set_clock'], [5, 1, 'sec_plc_password'], [1, 0x10, 'prog_forces'], [0, 0, 'mode_stop']] as const) {
  test(`names userdata group ${group} subfunction ${sub} ${name}`, () => {
    assert.deepEqual(run([[true, dt(ud(group, sub))]]).l7Ops, { [name]: 1 });
    assert.equal(userdataGroup(name), group);
  });
}

test('unknown userdata subfunctions are ud_<group>_<sub>; security ops are marked', () => {
  assert.equal(userdataName(4, 0x99), 'ud_4_153');
  assert.equal(userdataGroup('ud_4_153'), 4);
  assert.equal(userdataGroup('read_var'), undefined);
  for (const n of ['write_var', 'request_download', 'download_block', 'start_upload', 'pi_service', 'plc_stop']) assert.ok(S7_SECURITY_OPS.has(n), n);
  assert.ok(!S7_SECURITY_OPS.has('read_var'));
});

test('ack_data header errors and userdata parameter errors go to l7Errors; ack counts as ack', () => {
  const rec = run([
    [true, dt(job(0x04))], [false, dt(ackData(0x04, [0x85, 0x00]))],
    [false, dt(s7(2, [], [], [0x81, 0x04]))],
    [false, dt(udRsp(3, 3, 0xd209))],
  ]);
  assert.deepEqual(rec.l7OpsRev, { read_var: 1, ack: 1, block_get_block_info: 1 });
  assert.deepEqual(rec.l7Errors, { supplies_error_0x00: 1, application_relationship_error_0x04: 1, param_error_0xd209: 1 });
});

for (const [code, name] of Object.entries(S7P_FUNCTIONS)) {
  test(`counts an S7comm-plus ${name} request and response`, () => {
    const rec = run([[true, cr()], [false, cc()], [true, dt(plus(0x31, Number(code)))], [false, dt(plus(0x32, Number(code)))]]);
    assert.equal(rec.l7, 's7comm-plus');
    assert.deepEqual(rec.l7Ops, { cotp_cr: 1, [name]: 1 });
    assert.deepEqual(rec.l7OpsRev, { cotp_cc: 1, [name]: 1 });
    assert.equal(rec.l7Violations, undefined);
  });
}

test('S7comm-plus notifications count as notification; a PDU continued in the next TSDU counts once', () => {
  const rec = run([
    [false, dt(Buffer.from([0x72, 2, 0, 5, 0x33, 0, 0, 0, 1, 0x72, 2, 0, 0]))],
    [true, dt(plus(0x31, 0x04ca, [1, 2, 3], false))],
    [true, dt(Buffer.from([0x72, 2, 0, 3, 9, 9, 9, 0x72, 2, 0, 0]))],
  ]);
  assert.deepEqual(rec.l7OpsRev, { notification: 1 });
  assert.deepEqual(rec.l7Ops, { create_object: 1 });
  assert.equal(rec.l7Violations, undefined);
});

test('a TSDU split over COTP DT TPDUs (EOT only on the last) and TPKTs split over segments count once', () => {
  const pdu = ackData(0x05);
  const stream = Buffer.concat([dt(pdu.subarray(0, 5), false), dt(pdu.subarray(5), true), dt(ud(4, 1))]);
  const rec = run([[false, stream.subarray(0, 3)], [false, stream.subarray(3, 14)], [false, stream.subarray(14)]]);
  assert.deepEqual(rec.l7OpsRev, { write_var: 1, cpu_read_szl: 1 });
  assert.equal(rec.l7Violations, undefined);
});

test('several TPKTs in one segment are all counted', () => {
  const rec = run([[true, Buffer.concat([dt(job(4)), dt(job(4)), dt(job(5))])]]);
  assert.deepEqual(rec.l7Ops, { read_var: 2, write_var: 1 });
});

test('a non-S7 payload (MMS) after the COTP connection makes the session give up quietly', () => {
  const s = new S7Session();
  // ISO session CONNECT SPDU (0x0d), as MMS starts; then bytes that would be violations for S7.
  feed(s, [[true, cr()], [false, cc()], [true, dt(Buffer.from([0x0d, 0xb2, 0x05, 0x06]))], [true, Buffer.from([9, 9, 9, 9, 9])], [true, dt(job(4))]]);
  assert.equal(s.verdict, 'foreign');
  const rec = blank();
  s.flush(rec, true);
  assert.equal(rec.l7, undefined);
  assert.equal(rec.l7Ops, undefined);
  assert.equal(rec.l7Violations, undefined);
});

test('COTP connection ops are held while undecided and reported in the slice that decides', () => {
  const s = new S7Session();
  feed(s, [[true, cr()], [false, cc()]]);
  const first = blank();
  s.flush(first, false);
  assert.equal(first.l7, undefined);
  feed(s, [[true, dt(job(0xf0))]]);
  const second = blank();
  s.flush(second, false);
  assert.deepEqual(second.l7Ops, { cotp_cr: 1, setup_communication: 1 });
  assert.deepEqual(second.l7OpsRev, { cotp_cc: 1 });
});

test('a bad TPKT version is s7comm_tpkt; a COTP header longer than the TPKT is s7comm_cotp', () => {
  assert.deepEqual(run([[true, dt(job(4))], [true, Buffer.from([4, 0, 0, 7, 2, 0xf0, 0x80])]]).l7Violations, { s7comm_tpkt: 1 });
  assert.deepEqual(run([[true, dt(job(4))], [true, Buffer.from([3, 0, 0, 7, 9, 0xf0, 0x80])]]).l7Violations, { s7comm_cotp: 1 });
});

test('an S7 header whose lengths disagree with the TSDU is s7comm_length_mismatch; too short is s7comm_short_pdu', () => {
  const bad = job(4);
  bad[7] = 9;
  const rec = run([[true, dt(bad)], [true, dt(Buffer.from([0x32, 1, 0, 0]))]]);
  assert.deepEqual(rec.l7Ops, { read_var: 1 });
  assert.deepEqual(rec.l7Violations, { s7comm_length_mismatch: 1, s7comm_short_pdu: 1 });
});

test('an unknown protocol id after the flow is S7 is s7comm_protocol_id', () => {
  assert.deepEqual(run([[true, dt(job(4))], [true, dt(Buffer.from([0x99, 1, 2]))]]).l7Violations, { s7comm_protocol_id: 1 });
});

test('a TPKT or TSDU incomplete at the end is s7comm_truncated; a gap inside one is s7comm_stream_gap', () => {
  assert.deepEqual(run([[true, dt(job(4))], [true, dt(job(4)).subarray(0, 9)]]).l7Violations, { s7comm_truncated: 1 });
  assert.deepEqual(run([[true, dt(job(4))], [true, dt(job(4), false)]]).l7Violations, { s7comm_truncated: 1 });
  const s = new S7Session();
  feed(s, [[true, dt(job(4))], [true, dt(job(4)).subarray(0, 9)]]);
  s.onGap(true);
  feed(s, [[true, dt(job(5))]]);
  const rec = blank();
  s.flush(rec, true);
  assert.deepEqual(rec.l7Ops, { read_var: 1, write_var: 1 });
  assert.deepEqual(rec.l7Violations, { s7comm_stream_gap: 1 });
});

test('a TPKT longer than the kept prefix is counted from its header and skipped', () => {
  const big = Buffer.concat([s7(3, [0x05, 1], [], [0, 0]), Buffer.alloc(0)]);
  big.writeUInt16BE(2000, 8); // data length
  const pdu = Buffer.concat([big, Buffer.alloc(2000, 0xff)]);
  const rec = run([[false, Buffer.concat([dt(pdu), dt(ackData(4))])]]);
  assert.deepEqual(rec.l7OpsRev, { write_var: 1, read_var: 1 });
  assert.equal(rec.l7Violations, undefined);
});

test('requestIntervalsMs covers the initiator’s S7 PDUs, not COTP connection TPDUs', () => {
  const rec = run([[true, cr(), 0], [true, dt(job(4)), 1000], [true, dt(job(4)), 3000]]);
  assert.equal(rec.requestIntervalsMs?.count, 1);
  assert.equal(rec.requestIntervalsMs?.mean, 2000);
});

test('the analyzer matches TCP port 102 on either side only', () => {
  assert.ok(s7commAnalyzer.matches(6, 40000, 102));
  assert.ok(s7commAnalyzer.matches(6, 102, 40000));
  assert.ok(!s7commAnalyzer.matches(17, 40000, 102));
});
