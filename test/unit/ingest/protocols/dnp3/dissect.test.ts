import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FlowRecord } from '../../../../../core/records.ts';
import {
  DNP3_FUNCTIONS, DNP3_SECURITY_FUNCTIONS, dnp3Crc, functionCode, functionName,
} from '../../../../../ingest/protocols/dnp3/codes.ts';
import { Dnp3Session, dnp3Analyzer, dnp3UdpAnalyzer, frameSize } from '../../../../../ingest/protocols/dnp3/dissect.ts';

const blank = (): FlowRecord => ({
  id: '', tsStart: 0, tsEnd: 0, srcIp: 'a', srcPort: 40000, dstIp: 'b', dstPort: 20000, proto: 6, packets: 0, bytes: 0,
  packetsRev: 0, bytesRev: 0, tcpFlags: 0, exporter: 'x', observationDomain: 0, source: 'pcap',
});

const run = (segments: Array<[boolean, Buffer, number?]>, final = true, datagrams = false): FlowRecord => {
  const s = new Dnp3Session(datagrams);
  for (const [init, b, ts] of segments) s.onPayload(init, b, 0, b.length, ts ?? 0);
  const rec = blank();
  s.flush(rec, final);
  return rec;
};

const crc = (b: Buffer): Buffer => { const c = Buffer.alloc(2); c.writeUInt16LE(dnp3Crc(b, 0, b.length)); return c; };

/** A link frame: control, destination, source, user data split in CRC'd blocks of 16. */
const frame = (control: number, dst: number, src: number, user: number[] = []): Buffer => {
  const h = Buffer.from([0x05, 0x64, 5 + user.length, control, dst & 0xff, dst >> 8, src & 0xff, src >> 8]);
  const parts = [h, crc(h)];
  for (let i = 0; i < user.length; i += 16) {
    const b = Buffer.from(user.slice(i, i + 16));
    parts.push(b, crc(b));
  }
  return Buffer.concat(parts);
};
/** Master → outstation 10, unconfirmed user data, one segment (FIR|FIN), application function `fc`. */
const request = (fc: number, objs: number[] = [], tseq = 0): Buffer => frame(0xc4, 10, 1, [0xc0 | tseq, 0xc0, fc, ...objs]);
/** Outstation 10 → master, a response with IIN. */
const response = (fc: number, iin: number, objs: number[] = []): Buffer => frame(0x44, 1, 10, [0xc0, 0xc0, fc, iin >> 8, iin & 0xff, ...objs]);

test('CRC-16/DNP matches the standard check value and a captured header', () => {
  assert.equal(dnp3Crc(Buffer.from('123456789'), 0, 9), 0xea82);
  const hdr = Buffer.from([0x05, 0x64, 0x19, 0xc4, 0x0a, 0x00, 0x01, 0x00]);
  assert.equal(dnp3Crc(hdr, 0, 8), 0x8fda);
  assert.equal(frameSize(5), 10);
  assert.equal(frameSize(5 + 16), 28);
  assert.equal(frameSize(255), 292);
});

for (const [code, name] of Object.entries(DNP3_FUNCTIONS)) {
  const fc = Number(code);
  test(`counts a ${name} (${fc}) application fragment in its direction`, () => {
    const isRsp = fc >= 129;
    const rec = run([[!isRsp, isRsp ? response(fc, 0) : request(fc)]]);
    assert.equal(rec.l7, 'dnp3');
    assert.deepEqual(isRsp ? rec.l7OpsRev : rec.l7Ops, { [name]: 1 });
    assert.deepEqual(rec.l7Units, [10]);
    assert.equal(rec.l7Violations, undefined);
    assert.equal(functionCode(name), fc);
  });
}

test('unknown function codes are func_<n>; writes, control, restarts and file ops are security-relevant', () => {
  assert.equal(functionName(77), 'func_77');
  assert.equal(functionCode('func_77'), 77);
  for (const n of ['write', 'select', 'operate', 'direct_operate', 'cold_restart', 'warm_restart', 'stop_application', 'start_application', 'open_file', 'delete_file']) {
    assert.ok(DNP3_SECURITY_FUNCTIONS.has(n), n);
  }
  assert.ok(!DNP3_SECURITY_FUNCTIONS.has('read'));
});

test('IIN error bits of a response go to l7Errors; state bits do not', () => {
  // IIN1: device trouble (0x40) + class 1 data (0x02); IIN2: no func support, object unknown, parameter error, already executing, config corrupt.
  const rec = run([[false, response(129, 0x4200 | 0x01 | 0x02 | 0x04 | 0x10 | 0x20)], [false, response(130, 0x8000 | 0x08)]]);
  assert.deepEqual(rec.l7Errors, {
    device_trouble: 1, function_code_not_supported: 1, object_unknown: 1, parameter_error: 1, already_executing: 1, config_corrupt: 1, event_buffer_overflow: 1,
  });
  assert.deepEqual(rec.l7OpsRev, { response: 1, unsolicited_response: 1 });
});

test('link frames without user data count as link_<function>', () => {
  const rec = run([[true, frame(0xc0, 10, 1)], [true, frame(0xc9, 10, 1)], [false, frame(0x0b, 1, 10)], [false, frame(0x00, 1, 10)]]);
  assert.deepEqual(rec.l7Ops, { link_reset_link_states: 1, link_request_link_status: 1 });
  assert.deepEqual(rec.l7OpsRev, { link_status: 1, link_ack: 1 });
});

test('several frames in one segment and a frame split across segments are each counted once', () => {
  const two = Buffer.concat([request(1, [0x3c, 0x02, 0x06]), request(5, Array.from({ length: 24 }, (_, i) => i))]);
  const rec = run([[true, two.subarray(0, 2)], [true, two.subarray(2, 30)], [true, two.subarray(30)]]);
  assert.deepEqual(rec.l7Ops, { read: 1, direct_operate: 1 });
  assert.equal(rec.l7Violations, undefined);
});

test('a bad data-block CRC is dnp3_data_crc per block; the fragment still counts', () => {
  const f = request(2, Array.from({ length: 20 }, () => 7));
  f[16] = f[16]! ^ 0xff; // an object octet of block 1 (the function code at f[12] stays intact)
  f[f.length - 3] = f[f.length - 3]! ^ 0xff;
  const rec = run([[true, f]]);
  assert.deepEqual(rec.l7Ops, { write: 1 });
  assert.deepEqual(rec.l7Violations, { dnp3_data_crc: 2 });
});

test('a bad header CRC is dnp3_header_crc and the frame is not decoded', () => {
  const f = request(13);
  f[8] = f[8]! ^ 1;
  const rec = run([[true, f]]);
  assert.deepEqual(rec.l7Violations, { dnp3_header_crc: 1 });
  assert.equal(rec.l7, undefined);
});

test('bad start bytes are dnp3_start and parsing resumes at the next 0x05 0x64; length < 5 is dnp3_length', () => {
  const rec = run([[true, Buffer.concat([Buffer.from([0x05, 0x05, 0x11]), request(1)])]]);
  assert.deepEqual(rec.l7Ops, { read: 1 });
  assert.deepEqual(rec.l7Violations, { dnp3_start: 1 });
  assert.deepEqual(run([[true, Buffer.from([0x05, 0x64, 0x02, 0xc4, 0, 0, 0, 0, 0, 0])]]).l7Violations, { dnp3_length: 1 });
});

test('a multi-segment fragment counts once at its first segment; a missing segment is dnp3_transport_sequence', () => {
  const first = frame(0xc4, 10, 1, [0x40 | 5, 0xc0, 2, 1, 2, 3]);
  const mid = frame(0xc4, 10, 1, [6, 4, 5, 6]);
  const last = frame(0xc4, 10, 1, [0x80 | 7, 7, 8]);
  assert.deepEqual(run([[true, first], [true, mid], [true, last]]).l7Ops, { write: 1 });
  assert.equal(run([[true, first], [true, mid], [true, last]]).l7Violations, undefined);
  assert.deepEqual(run([[true, first], [true, last]]).l7Violations, { dnp3_transport_sequence: 1 });
  assert.deepEqual(run([[true, last]]).l7Violations, { dnp3_transport_sequence: 1 });
});

test('user data too short for the application header is dnp3_short_fragment', () => {
  assert.deepEqual(run([[true, frame(0xc4, 10, 1, [0xc0, 0xc0])]]).l7Violations, { dnp3_short_fragment: 1 });
  assert.deepEqual(run([[false, frame(0x44, 1, 10, [0xc0, 0xc0, 129, 0])]]).l7Violations, { dnp3_short_fragment: 1 });
});

test('a frame incomplete at the end is dnp3_truncated; over UDP at the end of each datagram', () => {
  const part = request(1).subarray(0, 12);
  assert.deepEqual(run([[true, part]]).l7Violations, { dnp3_truncated: 1 });
  assert.equal(run([[true, part]], false).l7Violations, undefined);
  const udp = run([[true, part], [true, request(1)]], false, true);
  assert.deepEqual(udp.l7Violations, { dnp3_truncated: 1 });
  assert.deepEqual(udp.l7Ops, { read: 1 }, 'the next datagram starts clean');
});

test('requestIntervalsMs covers the initiator’s fragments except confirms', () => {
  const rec = run([[true, request(1), 1000], [true, request(0), 1500], [true, request(1), 3000]]);
  assert.equal(rec.requestIntervalsMs?.count, 1);
  assert.equal(rec.requestIntervalsMs?.mean, 2000);
});

test('the TCP and UDP analyzers match port 20000 on their own transport', () => {
  assert.ok(dnp3Analyzer.matches(6, 40000, 20000));
  assert.ok(!dnp3Analyzer.matches(17, 40000, 20000));
  assert.ok(dnp3UdpAnalyzer.matches(17, 20000, 20000));
  assert.ok(!dnp3UdpAnalyzer.matches(6, 40000, 20000));
});
