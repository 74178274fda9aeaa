/**
 * The identity hooks of the dissectors (`FlowRecord.identity`) and the Ethernet addresses of flow
 * assembly (`srcMac` / `dstMac`), on hand-built PDUs. The real captures are compared with tshark in
 * test/real/inventory-identity-tshark.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FlowRecord, IdentityReport } from '../../../../core/records.ts';
import { newPcapStats, readPcapFlows } from '../../../../ingest/pcap/index.ts';
import { BacnetSession } from '../../../../ingest/protocols/bacnet/dissect.ts';
import { Dnp3Session } from '../../../../ingest/protocols/dnp3/dissect.ts';
import { EnipSession } from '../../../../ingest/protocols/enip/dissect.ts';
import { identityText, identityTextUcs2 } from '../../../../ingest/protocols/identity.ts';
import { readDeviceIdentification } from '../../../../ingest/protocols/modbus/identity.ts';
import { ModbusSession } from '../../../../ingest/protocols/modbus/dissect.ts';
import { getEndpointsServer } from '../../../../ingest/protocols/opcua/identity.ts';
import { S7Session } from '../../../../ingest/protocols/s7comm/dissect.ts';
import { L7Slice, MAX_IDENTITY_REPORTS } from '../../../../ingest/protocols/slice.ts';
import type { L7Session } from '../../../../ingest/pcap/l7.ts';
import { ipv4, mbap, pcapFile, tcpSegment, tempFile, udpDatagram, TCP } from '../pcap/frames.ts';

const blank = (): FlowRecord => ({
  id: 'f', tsStart: 0, tsEnd: 0, srcIp: 'a', srcPort: 1, dstIp: 'b', dstPort: 2, proto: 6, packets: 0, bytes: 0,
  packetsRev: 0, bytesRev: 0, tcpFlags: 0, exporter: 'x', observationDomain: 0, source: 'pcap',
});

const run = (s: L7Session, segments: Array<[boolean, Buffer, number?]>): FlowRecord => {
  for (const [req, b, ts] of segments) s.onPayload(req, b, 0, b.length, ts ?? 0);
  const rec = blank();
  s.flush(rec, true);
  return rec;
};

const strip = (ids: IdentityReport[] | undefined) => (ids ?? []).map(({ ts: _ts, ...r }) => r);

test('identity text drops control characters, folds spaces and stays bounded', () => {
  assert.equal(identityText(Buffer.from('  ACME\u0000\u0001  PLC  \n'), 0, 20), 'ACME PLC');
  assert.equal(identityText(Buffer.alloc(300, 0x41), 0, 300).length, 96);
  assert.equal(identityTextUcs2(Buffer.from('004a00430049', 'hex'), 0, 6), 'JCI');
});

test('a slice keeps distinct identity reports, drops repeats, and caps them', () => {
  const s = new L7Slice();
  for (let i = 0; i < 3; i++) s.identity({ side: 'dst', via: 'x', ts: i, vendor: 'A' });
  s.identity({ side: 'dst', via: 'x', ts: 9, vendor: 'B' });
  const rec = blank();
  s.flushInto(rec, 'modbus');
  assert.deepEqual(rec.identity?.map((r) => [r.vendor, r.ts]), [['A', 0], ['B', 9]]);
  for (let i = 0; i < 20; i++) s.identity({ side: 'dst', via: 'x', ts: i, serial: String(i) });
  const rec2 = blank();
  s.flushInto(rec2, 'modbus');
  assert.equal(rec2.identity?.length, MAX_IDENTITY_REPORTS);
  const rec3 = blank();
  s.flushInto(rec3, 'modbus');
  assert.equal(rec3.identity, undefined, 'a new slice starts without reports');
});

// FC 43 / MEI 14 response: code 1, conformity 0x81, no more, next 0, 4 objects.
const obj = (id: number, s: string): number[] => [id, s.length, ...Buffer.from(s)];
const deviceIdPdu = [0x2b, 0x0e, 0x01, 0x81, 0x00, 0x00, 4, ...obj(0, 'Schneider Electric'), ...obj(1, 'BMX P34 2020'), ...obj(2, 'v2.70'), ...obj(5, 'M340')];

test('Modbus read device identification: vendor, product code, revision and model of the responder', () => {
  assert.deepEqual(readDeviceIdentification(Buffer.from(deviceIdPdu), 0, deviceIdPdu.length),
    { vendor: 'Schneider Electric', productCode: 'BMX P34 2020', firmware: 'v2.70', model: 'M340' });
  const rec = run(new ModbusSession(), [[true, mbap(1, 1, [0x2b, 0x0e, 1, 0]), 5], [false, mbap(1, 1, deviceIdPdu), 7]]);
  assert.deepEqual(rec.identity, [{ side: 'dst', via: 'modbus_device_id', ts: 7, vendor: 'Schneider Electric', productCode: 'BMX P34 2020', firmware: 'v2.70', model: 'M340' }]);
});

test('Modbus: an object overrunning the PDU ends the walk and keeps what came before; a request reports nothing', () => {
  const cut = [...deviceIdPdu.slice(0, 7 + 20), 1, 200, 0x41];
  assert.deepEqual(readDeviceIdentification(Buffer.from(cut), 0, cut.length), { vendor: 'Schneider Electric' });
  const rec = run(new ModbusSession(), [[true, mbap(1, 1, deviceIdPdu)]]);
  assert.equal(rec.identity, undefined);
  assert.equal(readDeviceIdentification(Buffer.from([0x2b, 0x0d, 0, 0, 0, 0, 0]), 0, 7), undefined, 'MEI 13 (CANopen) is not identity');
});

/** An EtherNet/IP encapsulation message. */
const encap = (command: number, data: Buffer, status = 0): Buffer => {
  const h = Buffer.alloc(24);
  h.writeUInt16LE(command, 0);
  h.writeUInt16LE(data.length, 2);
  h.writeUInt32LE(status, 8);
  return Buffer.concat([h, data]);
};

const identityAttrs = (): Buffer => {
  const name = Buffer.from('1756-L61/B LOGIX5561');
  const b = Buffer.alloc(15 + name.length);
  b.writeUInt16LE(1, 0); b.writeUInt16LE(0x0e, 2); b.writeUInt16LE(54, 4); b[6] = 16; b[7] = 20;
  b.writeUInt16LE(0x3060, 8); b.writeUInt32LE(0x0051823f, 10); b[14] = name.length; name.copy(b, 15);
  return b;
};

test('EtherNet/IP ListIdentity reply: vendor id, device type, product code, revision, serial, product name', () => {
  const attrs = identityAttrs();
  const item = Buffer.concat([Buffer.alloc(18), attrs, Buffer.from([3])]);
  item.writeUInt16LE(1, 0);
  const data = Buffer.concat([Buffer.from([1, 0, 0x0c, 0, item.length & 0xff, item.length >> 8]), item]);
  const rec = run(new EnipSession(false), [[true, encap(0x63, Buffer.alloc(0)), 1], [false, encap(0x63, data), 2]]);
  assert.deepEqual(strip(rec.identity), [{
    side: 'dst', via: 'enip_list_identity', vendorId: '1', deviceType: 'plc (14)', productCode: '54', firmware: '16.20',
    serial: '0x0051823f', model: '1756-L61/B LOGIX5561',
  }]);
});

/** send_rr_data carrying one unconnected CIP message. */
const rr = (cip: Buffer): Buffer => {
  const cpf = Buffer.alloc(16);
  cpf.writeUInt16LE(2, 6); // two items
  cpf.writeUInt16LE(0x0000, 8); cpf.writeUInt16LE(0, 10); // null address
  cpf.writeUInt16LE(0x00b2, 12); cpf.writeUInt16LE(cip.length, 14);
  return encap(0x6f, Buffer.concat([cpf, cip]));
};

test('CIP get_attributes_all of the Identity object gives the device identity; of another class it does not', () => {
  const ask = (cls: number) => rr(Buffer.from([0x01, 0x02, 0x20, cls, 0x24, 0x01]));
  const reply = rr(Buffer.concat([Buffer.from([0x81, 0x00, 0x00, 0x00]), identityAttrs()]));
  const rec = run(new EnipSession(false), [[true, ask(0x01), 1], [false, reply, 3]]);
  assert.deepEqual(rec.identity?.map((r) => [r.via, r.side, r.model, r.ts]), [['cip_identity', 'dst', '1756-L61/B LOGIX5561', 3]]);
  const other = run(new EnipSession(false), [[true, ask(0x02), 1], [false, reply, 3]]);
  assert.equal(other.identity, undefined);
});

const bvll = (npdu: Buffer, fn = 0x0a): Buffer => {
  const h = Buffer.from([0x81, fn, 0, 0]);
  h.writeUInt16BE(4 + npdu.length, 2);
  return Buffer.concat([h, npdu]);
};

test('BACnet I-Am: device instance and vendor id of the sender', () => {
  // NPDU v1, no addresses; unconfirmed I-Am: device,500 max-APDU 1476 segmentation 0 vendor 5.
  const iam = bvll(Buffer.from([0x01, 0x00, 0x10, 0x00, 0xc4, 0x02, 0x00, 0x01, 0xf4, 0x22, 0x05, 0xc4, 0x91, 0x00, 0x21, 0x05]), 0x0b);
  const rec = run(new BacnetSession(), [[true, iam, 4]]);
  assert.deepEqual(rec.identity, [{ side: 'src', via: 'bacnet_i_am', ts: 4, address: '500', vendorId: '5' }]);
});

const rpAck = (prop: number, value: number[]): Buffer =>
  bvll(Buffer.from([0x01, 0x00, 0x30, 0x01, 0x0c, 0x0c, 0x02, 0x3f, 0xff, 0xff, 0x19, prop, 0x3e, ...value, 0x3f]));

test('BACnet ReadProperty ack of a device object: UCS-2 and UTF-8 strings, unsigned vendor id, object identifier', () => {
  const ucs2 = [0x75, 7, 4, 0x00, 0x4a, 0x00, 0x43, 0x00, 0x49];
  const recs = [
    run(new BacnetSession(), [[false, rpAck(121, ucs2)]]),
    run(new BacnetSession(), [[false, rpAck(70, [0x75, 5, 0, ...Buffer.from('NAE4')])]]),
    run(new BacnetSession(), [[false, rpAck(120, [0x21, 5])]]),
    run(new BacnetSession(), [[false, rpAck(75, [0xc4, 0x02, 0x00, 0x01, 0xf4])]]),
  ];
  assert.deepEqual(recs.map((r) => strip(r.identity)), [
    [{ side: 'dst', via: 'bacnet_read_property', vendor: 'JCI' }],
    [{ side: 'dst', via: 'bacnet_read_property', model: 'NAE4' }],
    [{ side: 'dst', via: 'bacnet_read_property', vendorId: '5' }],
    [{ side: 'dst', via: 'bacnet_read_property', address: '500' }],
  ]);
});

test('BACnet: a forwarded or routed APDU describes another device, and an unknown property nothing', () => {
  const iam = [0x10, 0x00, 0xc4, 0x02, 0x00, 0x01, 0xf4, 0x22, 0x05, 0xc4, 0x91, 0x00, 0x21, 0x05];
  const forwarded = bvll(Buffer.concat([Buffer.from([10, 0, 0, 9, 0xba, 0xc0]), Buffer.from([0x01, 0x00, ...iam])]), 0x04);
  const routed = bvll(Buffer.from([0x01, 0x08, 0x00, 0x05, 0x01, 0x07, ...iam]));
  assert.equal(run(new BacnetSession(), [[true, forwarded]]).identity, undefined);
  assert.equal(run(new BacnetSession(), [[true, routed]]).identity, undefined);
  assert.equal(run(new BacnetSession(), [[false, rpAck(85, [0x44, 0, 0, 0, 0])]]).identity, undefined);
});

/** TPKT + COTP DT (EOT unless `more`) around an S7 PDU. */
const tpkt = (s7: Buffer): Buffer => {
  const h = Buffer.from([3, 0, 0, 0, 2, 0xf0, 0x80]);
  h.writeUInt16BE(7 + s7.length, 2);
  return Buffer.concat([h, s7]);
};

/** A userdata read-SZL response carrying `szl` bytes; `more` = more data follows. */
const szlResponse = (szl: Buffer, more: boolean): Buffer => {
  const par = Buffer.from([0x00, 0x01, 0x12, 0x08, 0x12, 0x84, 0x01, 0x01, 0x00, more ? 0x01 : 0x00, 0x00, 0x00]);
  const data = Buffer.concat([Buffer.from([0xff, 0x09, szl.length >> 8, szl.length & 0xff]), szl]);
  const hdr = Buffer.from([0x32, 0x07, 0, 0, 0, 1, 0, par.length, data.length >> 8, data.length & 0xff]);
  return tpkt(Buffer.concat([hdr, par, data]));
};

const text = (s: string, n: number): Buffer => Buffer.concat([Buffer.from(s), Buffer.alloc(Math.max(0, n - s.length), 0x20)]).subarray(0, n);

test('S7 SZL 0x0011: order number and firmware version', () => {
  const rec28 = (index: number, mlfb: string, ausbg: number[], ausbe: number[]) =>
    Buffer.concat([Buffer.from([index >> 8, index & 0xff]), text(mlfb, 20), Buffer.from([0, 0xc0, ...ausbg, ...ausbe])]);
  const szl = Buffer.concat([Buffer.from([0x00, 0x11, 0, 0, 0, 28, 0, 2]), rec28(1, '6ES7 151-8AB01-0AB0', [0, 3], [0, 1]), rec28(7, '', [0x56, 3], [2, 6])]);
  const rec = run(new S7Session(), [[false, szlResponse(szl, false), 8]]);
  assert.deepEqual(rec.identity, [{ side: 'dst', via: 's7_szl_0x0011', ts: 8, productCode: '6ES7 151-8AB01-0AB0', firmware: 'V3.2.6' }]);
});

test('S7 SZL 0x001c answered in two fragments: PLC name, module type, serial and vendor once the last is in', () => {
  const rec34 = (index: number, s: string) => Buffer.concat([Buffer.from([0, index]), text(s, 32)]);
  const szl = Buffer.concat([Buffer.from([0x00, 0x1c, 0, 0, 0, 34, 0, 4]), rec34(1, 'IM151-8-CPU'), rec34(4, 'Original Siemens Equipment'),
    rec34(5, 'S C-C6TW74882012'), rec34(7, 'IM151-8 PN/DP CPU')]);
  const s = new S7Session();
  const first = run(s, [[false, szlResponse(szl.subarray(0, 60), true), 1]]);
  assert.equal(first.identity, undefined, 'nothing before the last fragment');
  const rec = run(s, [[false, szlResponse(szl.subarray(60), false), 2]]);
  assert.deepEqual(strip(rec.identity), [{ side: 'dst', via: 's7_szl_0x001c', name: 'IM151-8-CPU', vendor: 'Siemens', serial: 'S C-C6TW74882012', model: 'IM151-8 PN/DP CPU' }]);
});

const uaString = (s: string | null): Buffer => {
  if (s === null) return Buffer.from([0xff, 0xff, 0xff, 0xff]);
  const b = Buffer.alloc(4);
  b.writeInt32LE(Buffer.byteLength(s));
  return Buffer.concat([b, Buffer.from(s)]);
};

test('OPC UA GetEndpointsResponse: the server application description of the first endpoint', () => {
  const header = Buffer.concat([Buffer.alloc(16), Buffer.from([0x00]), Buffer.from([0, 0, 0, 0]), Buffer.from([0x00, 0x00, 0x00])]);
  const app = Buffer.concat([uaString('urn:plant:ua-server'), uaString(null), Buffer.from([0x02]), uaString('Line 3 Server'), Buffer.from([0, 0, 0, 0])]);
  const body = Buffer.concat([header, Buffer.from([1, 0, 0, 0]), uaString('opc.tcp://10.0.0.5:4840'), app]);
  assert.deepEqual(getEndpointsServer(body, 0, body.length), { uri: 'urn:plant:ua-server', name: 'Line 3 Server', deviceType: 'server' });
  assert.equal(getEndpointsServer(body, 0, 30), undefined, 'a cut body gives nothing');
});

test('DNP3 link addresses: the master and the outstation, reported once per flow until they change', () => {
  // A master request (DIR=1, PRM=1, unconfirmed user data) dst 4 src 3, with CRCs computed by the session's framing check.
  const s = new Dnp3Session();
  const frame = dnp3Frame(0xc4, 4, 3, Buffer.from([0xc0, 0xc1, 0x01, 0x3c, 0x02, 0x06]));
  const rec = run(s, [[true, frame, 5]]);
  assert.deepEqual(rec.identity, [{ side: 'src', via: 'dnp3_link', ts: 5, address: '3' }, { side: 'dst', via: 'dnp3_link', ts: 5, address: '4' }]);
  assert.equal(run(s, [[true, frame, 6]]).identity, undefined, 'the same addresses are not reported again');
});

/** DNP3 CRC (polynomial 0x3D65, reflected 0xA6BC), low octet first. */
const crc = (b: Buffer): Buffer => {
  let c = 0;
  for (const x of b) {
    c ^= x;
    for (let i = 0; i < 8; i++) c = c & 1 ? (c >>> 1) ^ 0xa6bc : c >>> 1;
  }
  c = ~c & 0xffff;
  return Buffer.from([c & 0xff, c >> 8]);
};

const dnp3Frame = (control: number, dst: number, src: number, user: Buffer): Buffer => {
  const h = Buffer.from([0x05, 0x64, 5 + user.length, control, dst & 0xff, dst >> 8, src & 0xff, src >> 8]);
  return Buffer.concat([h, crc(h), user, crc(user)]);
};

test('flow records carry the Ethernet addresses of initiator and responder, not a broadcast one', async () => {
  const eth = (dst: string, src: string, ip: Buffer) => Buffer.concat([Buffer.from(dst + src + '0800', 'hex'), ip]);
  const plc = '001d9c000001';
  const hmi = '0000bc000002';
  const syn = ipv4({ src: '10.0.0.2', dst: '10.0.0.1', proto: 6 }, tcpSegment({ sport: 40000, dport: 502, flags: TCP.SYN }));
  const synAck = ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 6 }, tcpSegment({ sport: 502, dport: 40000, flags: TCP.SYN | TCP.ACK }));
  const bcast = ipv4({ src: '10.0.0.2', dst: '10.0.0.255', proto: 17 }, udpDatagram(47808, 47808, Buffer.from([0x81, 0x0b, 0, 4])));
  const file = tempFile('macs.pcap', pcapFile([
    // The responder's SYN+ACK comes first (the SYN is captured late): the addresses still land on the right side.
    { tsMs: 1000, frame: eth(hmi, plc, synAck) }, { tsMs: 1001, frame: eth(plc, hmi, syn) },
    { tsMs: 1002, frame: eth('ffffffffffff', hmi, bcast) },
  ]));
  const recs: FlowRecord[] = [];
  for await (const b of readPcapFlows(file, {}, newPcapStats(file))) recs.push(...b);
  const tcp = recs.find((r) => r.proto === 6)!;
  assert.deepEqual([tcp.srcIp, tcp.srcMac, tcp.dstIp, tcp.dstMac], ['10.0.0.2', '00:00:bc:00:00:02', '10.0.0.1', '00:1d:9c:00:00:01']);
  const udp = recs.find((r) => r.proto === 17)!;
  assert.deepEqual([udp.srcMac, udp.dstMac], ['00:00:bc:00:00:02', undefined]);
});
