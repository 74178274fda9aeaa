import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FlowRecord } from '../../../../../core/records.ts';
import { isSecurityOp, mmsOpName, parseOpName } from '../../../../../ingest/protocols/mms/codes.ts';
import { MmsSession, readTlv } from '../../../../../ingest/protocols/mms/dissect.ts';

const blank = (): FlowRecord => ({
  id: '', tsStart: 0, tsEnd: 0, srcIp: 'a', srcPort: 1, dstIp: 'b', dstPort: 102, proto: 6, packets: 0, bytes: 0,
  packetsRev: 0, bytesRev: 0, tcpFlags: 0, exporter: 'x', observationDomain: 0, source: 'pcap',
});

const run = (segments: Array<[boolean, Buffer]>, final = true): FlowRecord => {
  const s = new MmsSession();
  for (const [req, b] of segments) s.onPayload(req, b, 0, b.length, 0);
  const rec = blank();
  s.flush(rec, final);
  return rec;
};

/** BER element with a definite length. */
const tlv = (id: number | number[], ...content: Buffer[]): Buffer => {
  const c = Buffer.concat(content);
  const len = c.length < 0x80 ? [c.length] : c.length < 0x100 ? [0x81, c.length] : [0x82, c.length >> 8, c.length & 0xff];
  return Buffer.concat([Buffer.from(Array.isArray(id) ? id : [id]), Buffer.from(len), c]);
};
const int = (n: number): Buffer => tlv(0x02, Buffer.from([n]));
/** TPKT + COTP DT (EOT unless `more`) around user data. */
const dt = (data: Buffer, more = false): Buffer => {
  const h = Buffer.from([3, 0, 0, 0, 2, 0xf0, more ? 0x00 : 0x80]);
  h.writeUInt16BE(h.length + data.length, 2);
  return Buffer.concat([h, data]);
};
/** Session Give-Tokens + Data-Transfer, presentation fully-encoded data with context 3. */
const data = (mmsPdu: Buffer): Buffer => Buffer.concat([Buffer.from([1, 0, 1, 0]), tlv(0x61, tlv(0x30, int(3), tlv(0xa0, mmsPdu)))]);
/** confirmed-RequestPDU with invoke id and a service element. */
const confirmedReq = (invoke: number, service: Buffer): Buffer => tlv(0xa0, int(invoke), service);
const confirmedRsp = (invoke: number, service: Buffer): Buffer => tlv(0xa1, int(invoke), service);

/** Session CONNECT carrying presentation CP → ACSE AARQ → MMS initiate-request. */
const connect = (): Buffer => {
  const initiate = tlv(0xa8, tlv(0x80, Buffer.from([0x7d, 0])), tlv(0x81, Buffer.from([5])));
  const aarq = tlv(0x60, tlv(0xa1, tlv(0x06, Buffer.from([0x28, 0xca, 0x22, 0x02, 0x03]))),
    tlv(0xbe, tlv(0x28, tlv(0x06, Buffer.from([0x51, 0x01])), int(3), tlv(0xa0, initiate))));
  const cp = tlv(0x31, tlv(0xa0, tlv(0x80, Buffer.from([1]))), tlv(0xa2, tlv(0x81, Buffer.from([0, 0, 0, 1])), tlv(0x61, tlv(0x30, int(1), tlv(0xa0, aarq)))));
  const userData = Buffer.concat([Buffer.from([0xc1, cp.length]), cp]);
  const params = Buffer.concat([Buffer.from([0x05, 0x06, 0x13, 0x01, 0x00, 0x16, 0x01, 0x02]), userData]);
  return Buffer.concat([Buffer.from([0x0d, params.length]), params]);
};

test('reads initiate through session, presentation and ACSE, then confirmed and unconfirmed services', () => {
  const rec = run([
    [true, dt(connect())],
    [true, dt(data(confirmedReq(1, tlv(0xa1, tlv(0x80, Buffer.from([0])), tlv(0xa1, tlv(0x80, Buffer.from([9])))))))], // getNameList
    [false, dt(data(confirmedRsp(1, tlv(0xa1, tlv(0xa0)))))],
    [true, dt(data(confirmedReq(2, tlv(0xa5, tlv(0xa0)))))], // write
    [false, dt(data(tlv(0xa3, tlv(0xa0, tlv(0xa0)))))], // informationReport
    [true, dt(data(tlv(0x8b)))], // conclude-request
  ]);
  assert.equal(rec.l7, 'mms');
  assert.deepEqual(rec.l7Ops, { initiate_request: 1, 'getNameList.request': 1, 'write.request': 1, conclude_request: 1 });
  assert.deepEqual(rec.l7OpsRev, { 'getNameList.response': 1, 'informationReport.unconfirmed': 1 });
  assert.equal(rec.l7Violations, undefined);
});

test('services with high tag numbers (fileOpen = 72) are read from the multi-byte tag', () => {
  const rec = run([[true, dt(data(confirmedReq(7, tlv([0xbf, 0x48], tlv(0xa0)))))]]);
  assert.deepEqual(rec.l7Ops, { 'fileOpen.request': 1 });
  assert.ok(isSecurityOp('fileOpen.request') && isSecurityOp('write.request') && !isSecurityOp('read.request'));
});

test('confirmed-error and reject PDUs are errors under the CSV reader’s names', () => {
  const rec = run([[false, dt(data(tlv(0xa2, tlv(0x80, Buffer.from([1])), tlv(0xa2, tlv(0xa0, tlv(0x80, Buffer.from([2])))))))], [false, dt(data(tlv(0xa4, tlv(0x80, Buffer.from([1])), tlv(0x81, Buffer.from([1])))))]]);
  assert.deepEqual(rec.l7OpsRev, { error: 1, reject: 1 });
  assert.deepEqual(rec.l7Errors, { confirmed_error: 1, reject: 1 });
});

test('a TSDU split over two DTs and TPKTs split across segments are read once', () => {
  const tsdu = data(confirmedReq(3, tlv(0xa4, tlv(0xa1, Buffer.alloc(40)))));
  const stream = Buffer.concat([dt(tsdu.subarray(0, 20), true), dt(tsdu.subarray(20)), dt(data(tlv(0x8b)))]);
  const rec = run([[true, stream.subarray(0, 2)], [true, stream.subarray(2, 30)], [true, stream.subarray(30)]]);
  assert.deepEqual(rec.l7Ops, { 'read.request': 1, conclude_request: 1 });
  assert.equal(rec.l7Violations, undefined);
});

test('an S7comm flow on port 102 gets no ops and no violations', () => {
  const cr = Buffer.from('0300001611e00000000100c0010ac1020100c2020102', 'hex');
  const s7 = dt(Buffer.from('32010000000000080000f0000001000101e0', 'hex'));
  const rec = run([[true, cr], [true, s7], [true, Buffer.from('garbage!')], [false, dt(Buffer.from([0x32, 3, 0, 0]))]]);
  assert.equal(rec.l7, undefined);
  assert.equal(rec.l7Ops, undefined);
  assert.equal(rec.l7Violations, undefined);
});

test('malformed MMS is counted as mms_* violations, never thrown', () => {
  const rec = run([
    [true, dt(data(tlv(0xae, int(1))))], // MMSpdu tag 14
    [true, dt(data(tlv(0xbf, Buffer.from([1]))))], // high tag number, then a length past the end
    [true, dt(Buffer.concat([Buffer.from([1, 0, 1, 0]), Buffer.from([0x61, 0x20, 0x30])]))],
    [true, Buffer.from([4, 0, 0, 9, 0, 0, 0, 0, 0])],
    [true, dt(Buffer.from([0x01, 0x05, 0x01]))], // SPDU length past the TSDU
  ]);
  assert.deepEqual(rec.l7Violations, { mms_unknown_pdu: 1, mms_bad_ber: 2, mms_bad_tpkt: 1, mms_bad_session: 1 });
  const cut = run([[true, dt(data(tlv(0x8b)))], [true, dt(data(tlv(0x8b))).subarray(0, 10)]]);
  assert.deepEqual(cut.l7Violations, { mms_truncated: 1 });
});

test('op names are the BUT CSV reader’s and parse back', () => {
  assert.equal(mmsOpName(0, 4), 'read.request');
  assert.deepEqual(parseOpName('read.request'), { type: 0, service: 4 });
  assert.deepEqual(parseOpName('informationReport.unconfirmed'), { type: 3, service: 0 });
  assert.deepEqual(parseOpName('initiate_request'), { type: 8 });
  assert.equal(parseOpName('nonsense'), undefined);
  assert.equal(readTlv(Buffer.from([0x30, 0x05, 1]), 0, 3), undefined);
  assert.deepEqual(readTlv(Buffer.from([0x30, 0x05, 1]), 0, 3, true)?.end, 3);
});
