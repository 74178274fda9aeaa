import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FlowRecord } from '../../../../../core/records.ts';
import {
  ASDU_TYPES, IEC104_SECURITY_TYPES, asduTypeCode, asduTypeName, causeError, uFunctionName,
} from '../../../../../ingest/protocols/iec104/codes.ts';
import { Iec104Session, iec104Analyzer } from '../../../../../ingest/protocols/iec104/dissect.ts';

const blank = (): FlowRecord => ({
  id: '', tsStart: 0, tsEnd: 0, srcIp: 'a', srcPort: 40000, dstIp: 'b', dstPort: 2404, proto: 6, packets: 0, bytes: 0,
  packetsRev: 0, bytesRev: 0, tcpFlags: 0, exporter: 'x', observationDomain: 0, source: 'pcap',
});

const run = (segments: Array<[boolean, Buffer, number?]>, final = true): FlowRecord => {
  const s = new Iec104Session();
  for (const [init, b, ts] of segments) s.onPayload(init, b, 0, b.length, ts ?? 0);
  const rec = blank();
  s.flush(rec, final);
  return rec;
};

/** An I-format APDU: type, cause octet, common address, one IOA with `obj` octets. */
const iFrame = (type: number, cot = 6, ca = 1, obj: number[] = [0]): Buffer => {
  const asdu = [type, 1, cot, 0, ca & 0xff, ca >> 8, 1, 0, 0, ...obj];
  return Buffer.from([0x68, 4 + asdu.length, 0, 0, 0, 0, ...asdu]);
};
const sFrame = (): Buffer => Buffer.from([0x68, 4, 0x01, 0, 0x02, 0]);
const uFrame = (c1: number): Buffer => Buffer.from([0x68, 4, c1, 0, 0, 0]);

for (const [type, name] of Object.entries(ASDU_TYPES)) {
  test(`counts an I-format ${name} (${type}) with its common address`, () => {
    const rec = run([[true, iFrame(Number(type), 6, 0x1234)]]);
    assert.equal(rec.l7, 'iec104');
    assert.deepEqual(rec.l7Ops, { [name]: 1 });
    assert.deepEqual(rec.l7Units, [0x1234]);
    assert.equal(rec.l7Violations, undefined);
    assert.equal(asduTypeCode(name), Number(type));
  });
}

for (const [c1, name] of [[0x07, 'STARTDT_act'], [0x0b, 'STARTDT_con'], [0x13, 'STOPDT_act'], [0x23, 'STOPDT_con'], [0x43, 'TESTFR_act'], [0x83, 'TESTFR_con']] as const) {
  test(`counts the U-format ${name}`, () => {
    assert.deepEqual(run([[false, uFrame(c1)]]).l7OpsRev, { [name]: 1 });
  });
}

test('counts S-format acknowledgements as S_frame and names unknown types asdu_<n>', () => {
  assert.deepEqual(run([[true, sFrame()]]).l7Ops, { S_frame: 1 });
  assert.equal(asduTypeName(200), 'asdu_200');
  assert.equal(asduTypeCode('asdu_200'), 200);
  assert.equal(uFunctionName(0x05), 'U_0x05');
});

test('negative confirmations and unknown-type/cause/address/IOA causes go to l7Errors', () => {
  const rec = run([
    [false, iFrame(45, 0x47)], // actcon with P/N
    [false, iFrame(45, 44)], [false, iFrame(45, 45)], [false, iFrame(45, 46)], [false, iFrame(45, 47)],
    [false, iFrame(45, 7)], // positive actcon: no error
  ]);
  assert.deepEqual(rec.l7Errors, { negative_confirm: 1, unknown_type_id: 1, unknown_cause: 1, unknown_common_address: 1, unknown_ioa: 1 });
  assert.equal(causeError(0x03), undefined);
  assert.equal(causeError(50), 'cot_50');
});

test('commands, clock sync, reset process and file transfer are security-relevant; interrogation is not', () => {
  for (const n of ['C_SC_NA_1', 'C_CS_NA_1', 'C_RP_NA_1', 'F_FR_NA_1', 'F_SC_NB_1']) assert.ok(IEC104_SECURITY_TYPES.has(n), n);
  assert.ok(!IEC104_SECURITY_TYPES.has('C_IC_NA_1'));
  assert.ok(!IEC104_SECURITY_TYPES.has('M_ME_NC_1'));
});

test('several APDUs in one segment are all counted, per direction', () => {
  const rec = run([[true, Buffer.concat([iFrame(100, 6, 3), uFrame(0x43), sFrame()])], [false, Buffer.concat([iFrame(13, 3, 3), iFrame(13, 3, 3)])]]);
  assert.deepEqual(rec.l7Ops, { C_IC_NA_1: 1, TESTFR_act: 1, S_frame: 1 });
  assert.deepEqual(rec.l7OpsRev, { M_ME_NC_1: 2 });
  assert.deepEqual(rec.l7Units, [3]);
});

test('an APDU split across segments (inside the APCI too) is counted once', () => {
  const both = Buffer.concat([iFrame(45, 6, 9, [0x81]), iFrame(103, 6, 9, [0, 0, 0, 0, 0, 0, 0])]);
  const rec = run([[true, both.subarray(0, 1)], [true, both.subarray(1, 8)], [true, both.subarray(8, 20)], [true, both.subarray(20)]]);
  assert.deepEqual(rec.l7Ops, { C_SC_NA_1: 1, C_CS_NA_1: 1 });
  assert.equal(rec.l7Violations, undefined);
});

test('junk before a start octet is one iec104_start violation and parsing resumes at the next 0x68', () => {
  const rec = run([[true, Buffer.concat([Buffer.from([1, 2, 3]), uFrame(0x07)])]]);
  assert.deepEqual(rec.l7Ops, { STARTDT_act: 1 });
  assert.deepEqual(rec.l7Violations, { iec104_start: 1 });
});

test('a length below 4 is iec104_length; never a crash, never labelled without a valid APDU', () => {
  const rec = run([[true, Buffer.from([0x68, 2, 0, 0])]]);
  assert.deepEqual(rec.l7Violations, { iec104_length: 1 });
  assert.equal(rec.l7, undefined);
});

test('a short ASDU counts its type id when present (as tshark) and is iec104_short_asdu', () => {
  const rec = run([[true, Buffer.from([0x68, 6, 0, 0, 0, 0, 45, 1])], [true, Buffer.from([0x68, 4, 0, 0, 0, 0])]]);
  assert.deepEqual(rec.l7Ops, { C_SC_NA_1: 1 });
  assert.deepEqual(rec.l7Violations, { iec104_short_asdu: 2 });
  assert.deepEqual(rec.l7Units, [], 'no common address in a 2-octet ASDU');
});

test('S/U frames with L ≠ 4 and U frames with two function bits are violations but still counted', () => {
  const rec = run([[true, Buffer.from([0x68, 5, 0x17, 0, 0, 0, 0])], [true, uFrame(0x0f)]]);
  assert.deepEqual(rec.l7Ops, { U_0x05: 1, U_0x03: 1 });
  assert.deepEqual(rec.l7Violations, { iec104_bad_length: 1, iec104_u_function: 1 });
});

test('an APDU incomplete at the end of the flow is iec104_truncated; mid-flow it may still complete', () => {
  const part = iFrame(45).subarray(0, 9);
  assert.deepEqual(run([[true, part]]).l7Violations, { iec104_truncated: 1 });
  assert.equal(run([[true, part]], false).l7Violations, undefined);
});

test('a TCP gap inside an APDU drops it as iec104_stream_gap and the next APDU parses', () => {
  const s = new Iec104Session();
  const a = iFrame(45);
  s.onPayload(true, a, 0, 8, 0);
  s.onGap(true);
  const b = uFrame(0x43);
  s.onPayload(true, b, 0, b.length, 1);
  const rec = blank();
  s.flush(rec, true);
  assert.deepEqual(rec.l7Ops, { TESTFR_act: 1 });
  assert.deepEqual(rec.l7Violations, { iec104_stream_gap: 1 });
});

test('requestIntervalsMs counts the initiator’s I and U frames, not its S acknowledgements', () => {
  const rec = run([[true, uFrame(0x43), 1000], [true, sFrame(), 1500], [true, iFrame(100), 3000], [false, iFrame(13), 3100]]);
  assert.equal(rec.requestIntervalsMs?.count, 1);
  assert.equal(rec.requestIntervalsMs?.mean, 2000);
});

test('the analyzer matches TCP port 2404 on either side only', () => {
  assert.ok(iec104Analyzer.matches(6, 40000, 2404));
  assert.ok(iec104Analyzer.matches(6, 2404, 40000));
  assert.ok(!iec104Analyzer.matches(17, 40000, 2404));
  assert.ok(!iec104Analyzer.matches(6, 40000, 502));
});
