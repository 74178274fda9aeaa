import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FlowRecord } from '../../../../../core/records.ts';
import { OPCUA_SECURITY_SERVICES, serviceId, statusName } from '../../../../../ingest/protocols/opcua/codes.ts';
import { OpcuaSession } from '../../../../../ingest/protocols/opcua/dissect.ts';

const blank = (): FlowRecord => ({
  id: '', tsStart: 0, tsEnd: 0, srcIp: 'a', srcPort: 1, dstIp: 'b', dstPort: 4840, proto: 6, packets: 0, bytes: 0,
  packetsRev: 0, bytesRev: 0, tcpFlags: 0, exporter: 'x', observationDomain: 0, source: 'pcap',
});

const run = (segments: Array<[boolean, Buffer]>, final = true): FlowRecord => {
  const s = new OpcuaSession();
  for (const [req, b] of segments) s.onPayload(req, b, 0, b.length, 0);
  const rec = blank();
  s.flush(rec, final);
  return rec;
};

const u32 = (n: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32LE(n >>> 0); return b; };
const str = (s: string | null): Buffer => (s === null ? u32(0xffffffff) : Buffer.concat([u32(s.length), Buffer.from(s, 'latin1')]));
const chunk = (type: string, body: Buffer, chunkType = 'F'): Buffer => Buffer.concat([Buffer.from(type + chunkType, 'latin1'), u32(8 + body.length), body]);
/** Four-byte NodeId of a namespace-0 id. */
const nodeId = (id: number): Buffer => { const b = Buffer.from([0x01, 0, 0, 0]); b.writeUInt16LE(id, 2); return b; };
/** RequestHeader: null token, timestamp, handle, diagnostics, null audit id, timeout, empty additional header. */
const requestHeader = (): Buffer => Buffer.concat([Buffer.from([0, 0]), Buffer.alloc(16), str(null), u32(0), Buffer.from([0, 0, 0])]);
/** ResponseHeader up to ServiceResult. */
const responseHeader = (result = 0): Buffer => Buffer.concat([Buffer.alloc(12), u32(result)]);

const hel = chunk('HEL', Buffer.concat([u32(0), u32(65536), u32(65536), u32(0), u32(0), str('opc.tcp://plc:4840')]));
const ack = chunk('ACK', Buffer.concat([u32(0), u32(65536), u32(65536), u32(0), u32(0)]));
const opn = (policy: string, mode: number): Buffer => chunk('OPN', Buffer.concat([
  u32(0), str(`http://opcfoundation.org/UA/SecurityPolicy#${policy}`), str(null), str(null), u32(1), u32(1),
  nodeId(446), requestHeader(), u32(0), u32(0), u32(mode), str(null), u32(3_600_000),
]));
const opnRsp = chunk('OPN', Buffer.concat([u32(5), str('http://opcfoundation.org/UA/SecurityPolicy#None'), str(null), str(null), u32(1), u32(1), nodeId(449), responseHeader()]));
const msg = (id: number, requestId: number, rest: Buffer, chunkType = 'F'): Buffer =>
  chunk('MSG', Buffer.concat([u32(5), u32(1), u32(requestId + 1), u32(requestId), nodeId(id), rest]), chunkType);

test('names HEL/ACK, OpenSecureChannel (mode None noted) and MSG services both ways', () => {
  const rec = run([
    [true, hel], [false, ack], [true, opn('None', 1)], [false, opnRsp],
    [true, msg(631, 2, requestHeader())], [false, msg(634, 2, responseHeader())],
    [true, msg(673, 3, requestHeader())], [false, msg(676, 3, responseHeader())],
  ]);
  assert.equal(rec.l7, 'opcua');
  assert.deepEqual(rec.l7Ops, { hello: 1, open_secure_channel_none: 1, read: 1, write: 1 });
  assert.deepEqual(rec.l7OpsRev, { acknowledge: 1, open_secure_channel: 1, read: 1, write: 1 });
  assert.equal(rec.l7Violations, undefined);
});

test('ServiceFault, Bad service results and ERR messages are errors', () => {
  const rec = run([
    [true, hel], [false, ack], [true, opn('None', 1)],
    [false, msg(397, 2, responseHeader(0x801f0000))],
    [false, chunk('ERR', Buffer.concat([u32(0x807e0000), str('bad type')]))],
  ]);
  assert.deepEqual(rec.l7OpsRev, { acknowledge: 1, service_fault: 1, error: 1 });
  assert.deepEqual(rec.l7Errors, { bad_user_access_denied: 1, bad_tcp_message_type_invalid: 1 });
  assert.equal(statusName(0x80990001), 'status_0x80990001');
});

test('a secured channel: MSG bodies are counted as secured_chunk, not read', () => {
  const secured = chunk('OPN', Buffer.concat([u32(0), str('http://opcfoundation.org/UA/SecurityPolicy#Basic256Sha256'), str('CERT'), str('THUMB'), Buffer.alloc(64, 0xa5)]));
  const rec = run([[true, hel], [true, secured], [true, msg(631, 2, Buffer.alloc(32, 0x5a))]]);
  assert.deepEqual(rec.l7Ops, { hello: 1, open_secure_channel: 1, secured_chunk: 1 });
});

test('a multi-chunk message is counted once; chunks split across segments are joined', () => {
  const first = msg(673, 9, Buffer.concat([requestHeader(), Buffer.alloc(100)]), 'C');
  const cont = chunk('MSG', Buffer.concat([u32(5), u32(1), u32(11), u32(9), Buffer.alloc(50)]), 'F');
  const all = Buffer.concat([hel, opn('None', 1), first, cont]);
  const rec = run([[true, all.subarray(0, 5)], [true, all.subarray(5, 90)], [true, all.subarray(90, 200)], [true, all.subarray(200)]]);
  assert.deepEqual(rec.l7Ops, { hello: 1, open_secure_channel_none: 1, write: 1 });
  assert.equal(rec.l7Violations, undefined);
});

test('a flow not starting like OPC UA stays silent; malformed OPC UA is counted', () => {
  const http = run([[true, Buffer.from('GET / HTTP/1.1\r\n\r\n')], [false, Buffer.from('HTTP/1.1 200 OK\r\n\r\n')]]);
  assert.equal(http.l7, undefined);
  assert.equal(http.l7Violations, undefined);
  const bad = run([[true, hel], [true, Buffer.from('XYZF\x10\x00\x00\x00abcdefgh', 'latin1')], [true, chunk('MSG', u32(5), 'Q')]]);
  assert.deepEqual(bad.l7Violations, { opcua_bad_message_type: 1, opcua_bad_chunk_type: 1 });
  const cut = run([[true, hel.subarray(0, 20)]]);
  assert.deepEqual(cut.l7Violations, { opcua_truncated: 1 });
  assert.deepEqual(run([[true, hel], [true, msg(631, 2, Buffer.alloc(0)).subarray(0, 20)]], false).l7Violations, undefined);
});

test('security markings and ids map back for tshark comparison', () => {
  for (const s of ['write', 'call', 'add_nodes', 'delete_nodes', 'open_secure_channel_none']) assert.ok(OPCUA_SECURITY_SERVICES.has(s), s);
  assert.equal(serviceId('read', true), 631);
  assert.equal(serviceId('read', false), 634);
  assert.equal(serviceId('open_secure_channel_none', true), 446);
  assert.equal(serviceId('service_12345', true), 12345);
});
