import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FlowRecord } from '../../../../../core/records.ts';
import { ENIP_SECURITY_SERVICES, serviceCode, serviceName } from '../../../../../ingest/protocols/enip/codes.ts';
import { EnipSession, parsePath } from '../../../../../ingest/protocols/enip/dissect.ts';

const blank = (): FlowRecord => ({
  id: '', tsStart: 0, tsEnd: 0, srcIp: 'a', srcPort: 1, dstIp: 'b', dstPort: 44818, proto: 6, packets: 0, bytes: 0,
  packetsRev: 0, bytesRev: 0, tcpFlags: 0, exporter: 'x', observationDomain: 0, source: 'pcap',
});

const run = (segments: Array<[boolean, Buffer, number?]>, datagram = false, final = true): FlowRecord => {
  const s = new EnipSession(datagram);
  for (const [req, b, ts] of segments) s.onPayload(req, b, 0, b.length, ts ?? 0);
  const rec = blank();
  s.flush(rec, final);
  return rec;
};

/** Encapsulation message: command, status, data. */
const encap = (command: number, data: Buffer = Buffer.alloc(0), status = 0): Buffer => {
  const h = Buffer.alloc(24);
  h.writeUInt16LE(command, 0);
  h.writeUInt16LE(data.length, 2);
  h.writeUInt32LE(0x11223344, 4);
  h.writeUInt32LE(status, 8);
  return Buffer.concat([h, data]);
};

/** send_rr_data carrying one unconnected CIP message. */
const rr = (cip: number[], status = 0): Buffer => {
  const d = Buffer.alloc(16);
  d.writeUInt16LE(2, 6); // two items
  d.writeUInt16LE(0x0000, 8); // null address
  d.writeUInt16LE(0x00b2, 12);
  d.writeUInt16LE(cip.length, 14);
  return encap(0x6f, Buffer.concat([d, Buffer.from(cip)]), status);
};

/** send_unit_data carrying one connected CIP message (sequence count first). */
const unit = (cip: number[]): Buffer => {
  const d = Buffer.alloc(22);
  d.writeUInt16LE(2, 6);
  d.writeUInt16LE(0x00a1, 8);
  d.writeUInt16LE(4, 10);
  d.writeUInt16LE(0x00b1, 16);
  d.writeUInt16LE(cip.length + 2, 18);
  d.writeUInt16LE(7, 20);
  return encap(0x70, Buffer.concat([d, Buffer.from(cip)]));
};

test('names encapsulation commands and CIP services of requests and responses', () => {
  const rec = run([
    [true, encap(0x65, Buffer.from([1, 0, 0, 0]))],
    [false, encap(0x65, Buffer.from([1, 0, 0, 0]))],
    [true, rr([0x0e, 3, 0x20, 0x01, 0x24, 0x01, 0x30, 0x07])], // get_attribute_single identity/1/7
    [false, rr([0x8e, 0, 0, 0, 0x41])],
    [true, unit([0x07, 2, 0x20, 0x8e, 0x24, 0x01])], // stop
    [false, unit([0x87, 0, 0, 0])],
  ]);
  assert.equal(rec.l7, 'enip');
  assert.deepEqual(rec.l7Ops, { register_session: 1, get_attribute_single: 1, stop: 1 });
  assert.deepEqual(rec.l7OpsRev, { register_session: 1, get_attribute_single: 1, stop: 1 });
  assert.equal(rec.l7Errors, undefined);
  assert.equal(rec.l7Violations, undefined);
});

test('object-specific codes are named by class: connection manager, file object, tags', () => {
  assert.equal(serviceName(0x54, 0x06), 'forward_open');
  assert.equal(serviceName(0x4e, 0x06), 'forward_close');
  assert.equal(serviceName(0x4e, 0x37), 'initiate_partial_write');
  assert.equal(serviceName(0x4d, undefined), 'write_tag');
  assert.equal(serviceName(0x4c, 0x99), 'service_0x4c');
  assert.equal(serviceCode('service_0x4c'), 0x4c);
  assert.equal(serviceCode('write_tag'), 0x4d);
  assert.ok(ENIP_SECURITY_SERVICES.has('write_tag') && !ENIP_SECURITY_SERVICES.has('read_tag'));
  // write_tag to a symbolic path "Tag1"; the response takes the request's name.
  const rec = run([
    [true, rr([0x4d, 4, 0x91, 4, 0x54, 0x61, 0x67, 0x31, 0xc3, 0, 1, 0, 5, 0])],
    [false, rr([0xcd, 0, 0, 0])],
  ]);
  assert.deepEqual(rec.l7Ops, { write_tag: 1 });
  assert.deepEqual(rec.l7OpsRev, { write_tag: 1 });
});

test('unconnected_send and multiple_service_packet count their embedded requests too', () => {
  const inner = [0x01, 2, 0x20, 0x01, 0x24, 0x01]; // get_attribute_all identity/1
  const ucs = [0x52, 2, 0x20, 0x06, 0x24, 0x01, 0x0a, 0xf0, inner.length, 0, ...inner, 1, 0, 0x01, 0x00];
  const a = [0x0e, 3, 0x20, 0x01, 0x24, 0x01, 0x30, 0x01];
  const b = [0x4c, 2, 0x91, 0, 1, 0];
  const msp = [0x0a, 2, 0x20, 0x02, 0x24, 0x01, 2, 0, 6, 0, 6 + a.length, 0, ...a, ...b];
  const rsp = [0x8a, 0, 0, 0, 2, 0, 6, 0, 10, 0, 0x8e, 0, 0, 0, 0xcc, 0, 0x05, 0];
  const rec = run([[true, rr(ucs)], [true, unit(msp)], [false, unit(rsp)]]);
  assert.deepEqual(rec.l7Ops, { unconnected_send: 1, get_attribute_all: 1, multiple_service_packet: 1, get_attribute_single: 1, read_tag: 1 });
  assert.deepEqual(rec.l7OpsRev, { multiple_service_packet: 1, get_attribute_single: 1, read_tag: 1 });
  assert.deepEqual(rec.l7Errors, { path_destination_unknown: 1 });
});

test('a non-zero encapsulation status and a CIP general status are both errors', () => {
  const rec = run([[false, encap(0x65, Buffer.alloc(0), 0x64)], [false, rr([0x90, 0, 0x08, 0])]]);
  assert.deepEqual(rec.l7Errors, { invalid_session_handle: 1, service_not_supported: 1 });
});

test('several messages in one segment and one split inside its header are all counted once', () => {
  const two = Buffer.concat([encap(0x63), encap(0x04), rr([0x01, 2, 0x20, 0x01, 0x24, 0x01])]);
  const rec = run([[true, two.subarray(0, 10)], [true, two.subarray(10, 55)], [true, two.subarray(55)]]);
  assert.deepEqual(rec.l7Ops, { list_identity: 1, list_services: 1, get_attribute_all: 1 });
  assert.equal(rec.l7Violations, undefined);
  assert.equal(rec.requestIntervalsMs?.count, 2);
});

test('malformed input is counted as enip_* violations, never thrown', () => {
  assert.deepEqual(run([[true, Buffer.from('GET / HTTP/1.1\r\nHost: plc\r\n\r\n')]]).l7Violations, { enip_unknown_command: 1 });
  const badCpf = encap(0x6f, Buffer.from([0, 0, 0, 0, 0, 0, 1, 0, 0xb2, 0, 50, 0]));
  assert.deepEqual(run([[true, badCpf]]).l7Violations, { enip_bad_cpf: 1 });
  assert.deepEqual(run([[true, rr([0x0e, 9, 0x20])]]).l7Violations, { enip_short_cip: 1 });
  const cut = rr([0x01, 2, 0x20, 0x01, 0x24, 0x01]).subarray(0, 30);
  assert.deepEqual(run([[true, cut]]).l7Violations, { enip_truncated: 1 });
  assert.equal(run([[true, cut]], false, false).l7Violations, undefined, 'mid-flow it may still complete');
  assert.deepEqual(run([[true, cut]], true).l7Violations, { enip_truncated: 1 }, 'a datagram is whole or truncated');
});

test('UDP list_identity: one message per datagram', () => {
  const rec = run([[true, encap(0x63)], [false, encap(0x63, Buffer.alloc(40))]], true);
  assert.deepEqual(rec.l7Ops, { list_identity: 1 });
  assert.deepEqual(rec.l7OpsRev, { list_identity: 1 });
});

test('parsePath reads 8- and 16-bit logical segments and stops at an overrun', () => {
  assert.deepEqual(parsePath(Buffer.from([0x21, 0, 0x34, 0x12, 0x25, 0, 2, 0]), 0, 8), { symbolic: false, cls: 0x1234, instance: 2 });
  assert.equal(parsePath(Buffer.from([0x21, 0, 0x34]), 0, 3), undefined);
});
