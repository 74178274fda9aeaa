import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FlowRecord } from '../../../../../core/records.ts';
import { readPcapFlows } from '../../../../../ingest/pcap/index.ts';
import { BACNET_SECURITY_SERVICES, serviceChoice } from '../../../../../ingest/protocols/bacnet/codes.ts';
import { bacnetAnalyzer, BacnetSession } from '../../../../../ingest/protocols/bacnet/dissect.ts';
import { ipv4, pcapFile, tempFile, udpDatagram } from '../../pcap/frames.ts';

const blank = (): FlowRecord => ({
  id: '', tsStart: 0, tsEnd: 0, srcIp: 'a', srcPort: 47808, dstIp: 'b', dstPort: 47808, proto: 17, packets: 0, bytes: 0,
  packetsRev: 0, bytesRev: 0, tcpFlags: 0, exporter: 'x', observationDomain: 0, source: 'pcap',
});

const run = (datagrams: Array<[boolean, Buffer]>): FlowRecord => {
  const s = new BacnetSession();
  for (const [req, b] of datagrams) s.onPayload(req, b, 0, b.length, 0);
  const rec = blank();
  s.flush(rec);
  return rec;
};

/** BVLL original-unicast-NPDU (or `fn`) around an NPDU. */
const bvll = (npdu: number[], fn = 0x0a): Buffer => {
  const b = Buffer.from([0x81, fn, 0, 0, ...npdu]);
  b.writeUInt16BE(b.length, 2);
  return b;
};
const apdu = (a: number[]): Buffer => bvll([0x01, 0x04, ...a]);

test('names confirmed requests and their acks, unconfirmed requests and BVLC functions', () => {
  const rec = run([
    [true, apdu([0x00, 0x05, 0x01, 0x0c, 0x0c, 0x02, 0x00, 0x00, 0x01, 0x19, 0x4d])], // readProperty
    [false, apdu([0x30, 0x01, 0x0c, 0x0c, 0x02, 0x00, 0x00, 0x01])], // complex ack
    [true, apdu([0x00, 0x05, 0x02, 0x0f])], // writeProperty
    [false, apdu([0x20, 0x02, 0x0f])], // simple ack
    [true, bvll([0x01, 0x20, 0xff, 0xff, 0x00, 0xff, 0x10, 0x08], 0x0b)], // global whoIs
    [true, bvll([0x00, 0x05, 0x00, 0x3c], 0x05)], // register foreign device, TTL 60
    [false, bvll([0x00, 0x30], 0x00)], // BVLC-Result NAK
  ]);
  assert.equal(rec.l7, 'bacnet');
  assert.deepEqual(rec.l7Ops, { read_property: 1, write_property: 1, who_is: 1, register_foreign_device: 1 });
  assert.deepEqual(rec.l7OpsRev, { read_property: 1, write_property: 1, bvlc_result: 1 });
  assert.deepEqual(rec.l7Errors, { register_foreign_device_nak: 1 });
  assert.deepEqual(rec.l7Units, [0xffff], 'DNET of the global broadcast');
  assert.equal(rec.l7Violations, undefined);
});

test('errors, rejects and aborts are named in l7Errors', () => {
  const rec = run([
    [false, apdu([0x50, 0x07, 0x0f, 0x91, 0x02, 0x91, 0x28])], // writeProperty error: property / write-access-denied
    [false, apdu([0x60, 0x08, 0x09])], // reject: unrecognized service
    [false, apdu([0x70, 0x09, 0x04])], // abort: segmentation not supported
  ]);
  assert.deepEqual(rec.l7OpsRev, { write_property: 1, reject: 1, abort: 1 });
  assert.deepEqual(rec.l7Errors, { write_access_denied: 1, reject_unrecognized_service: 1, abort_segmentation_not_supported: 1 });
});

test('network-layer messages and forwarded NPDUs are read', () => {
  const rec = run([[true, bvll([0x01, 0x80, 0x00])], [true, bvll([1, 2, 3, 4, 0xba, 0xc0, 0x01, 0x00, 0x10, 0x00], 0x04)]]);
  assert.deepEqual(rec.l7Ops, { who_is_router_to_network: 1, i_am: 1 });
});

test('security markings and service names map back to their choices', () => {
  for (const s of ['write_property', 'reinitialize_device', 'device_communication_control', 'atomic_write_file']) assert.ok(BACNET_SECURITY_SERVICES.has(s), s);
  assert.ok(!BACNET_SECURITY_SERVICES.has('read_property'));
  assert.deepEqual(serviceChoice('reinitialize_device'), { confirmed: true, choice: 20 });
  assert.deepEqual(serviceChoice('who_is'), { confirmed: false, choice: 8 });
});

test('malformed datagrams are bacnet_* violations, never thrown', () => {
  const short = apdu([0x00, 0x05]);
  const wrongLen = apdu([0x10, 0x08]);
  wrongLen.writeUInt16BE(99, 2);
  const rec = run([
    [true, Buffer.from([0x82, 0x0a, 0x00, 0x04])],
    [true, wrongLen],
    [true, bvll([0x02, 0x00, 0x10, 0x08])],
    [true, short],
    [true, apdu([0x90])],
  ]);
  assert.deepEqual(rec.l7Violations, {
    bacnet_bad_bvlc_type: 1, bacnet_length_mismatch: 1, bacnet_bad_npdu: 1, bacnet_short_apdu: 1, bacnet_bad_apdu_type: 1,
  });
  assert.equal(rec.l7, 'bacnet', 'valid BVLL headers (with a bad NPDU or APDU inside) make the flow BACnet');
  assert.deepEqual(rec.l7Ops, {});
  assert.equal(run([[true, Buffer.from([0x82, 0x0a, 0x00, 0x04])]]).l7, undefined, 'never a valid BVLL: not BACnet');
});

test('flow assembly hands UDP payloads to the session: one op per datagram', async () => {
  const A = '10.0.0.1';
  const B = '10.0.0.2';
  const frame = (ts: number, fromA: boolean, payload: Buffer) => ({
    tsMs: ts, frame: ipv4({ src: fromA ? A : B, dst: fromA ? B : A, proto: 17 }, udpDatagram(47808, 47808, Buffer.from(payload))),
  });
  const req = apdu([0x00, 0x05, 0x01, 0x0c, 0x0c, 0x02, 0x00, 0x00, 0x01, 0x19, 0x4d]);
  const path = tempFile('bacnet.pcap', pcapFile([frame(1000, true, req), frame(1001, false, apdu([0x30, 0x01, 0x0c])), frame(2000, true, req)], { linkType: 101 }));
  const out: FlowRecord[] = [];
  for await (const b of readPcapFlows(path, {}, undefined, [bacnetAnalyzer])) out.push(...b);
  assert.equal(out.length, 1);
  assert.equal(out[0]!.srcIp, A, 'equal ports: the first sender is the initiator');
  assert.deepEqual(out[0]!.l7Ops, { read_property: 2 });
  assert.deepEqual(out[0]!.l7OpsRev, { read_property: 1 });
  assert.equal(out[0]!.requestIntervalsMs?.mean, 1000);
});
