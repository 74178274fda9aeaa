import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { FlowRecord } from '../../../../../core/records.ts';
import { newPcapStats, readPcapFlows } from '../../../../../ingest/pcap/index.ts';
import { functionCode, functionName, MODBUS_FUNCTIONS, MODBUS_SECURITY_FUNCTIONS } from '../../../../../ingest/protocols/modbus/codes.ts';
import { ModbusSession, parseMbap } from '../../../../../ingest/protocols/modbus/dissect.ts';
import { sharedData } from '../../../../support/data.ts';
import { ipv4, mbap, pcapFile, TCP, tcpSegment, tempFile } from '../../pcap/frames.ts';

const blank = (): FlowRecord => ({
  id: '', tsStart: 0, tsEnd: 0, srcIp: 'a', srcPort: 1, dstIp: 'b', dstPort: 502, proto: 6, packets: 0, bytes: 0,
  packetsRev: 0, bytesRev: 0, tcpFlags: 0, exporter: 'x', observationDomain: 0, source: 'pcap',
});

/** Feeds [fromInitiator, bytes, ts] segments and returns the flushed record. */
const run = (segments: Array<[boolean, Buffer, number?]>, final = true): FlowRecord => {
  const s = new ModbusSession();
  for (const [req, b, ts] of segments) s.onPayload(req, b, 0, b.length, ts ?? 0);
  const rec = blank();
  s.flush(rec, final);
  return rec;
};

// A well-formed request and normal response PDU for each listed function.
const cases: Array<[number, number[], number[]]> = [
  [1, [1, 0, 0, 0, 8], [1, 1, 0xff]],
  [2, [2, 0, 0, 0, 8], [2, 1, 0x0f]],
  [3, [3, 0, 0, 0, 2], [3, 4, 0, 1, 0, 2]],
  [4, [4, 0, 0, 0, 1], [4, 2, 0, 9]],
  [5, [5, 0, 1, 0xff, 0], [5, 0, 1, 0xff, 0]],
  [6, [6, 0, 1, 0, 3], [6, 0, 1, 0, 3]],
  [7, [7], [7, 0x6d]],
  [8, [8, 0, 1, 0, 0], [8, 0, 1, 0, 0]],
  [11, [11], [11, 0, 0, 0, 5]],
  [12, [12], [12, 8, 0, 0, 0, 5, 0, 7, 0, 0]],
  [15, [15, 0, 0, 0, 10, 2, 0xff, 0x03], [15, 0, 0, 0, 10]],
  [16, [16, 0, 0, 0, 1, 2, 0, 7], [16, 0, 0, 0, 1]],
  [17, [17], [17, 2, 1, 0xff]],
  [20, [20, 7, 6, 0, 4, 0, 1, 0, 2], [20, 6, 5, 6, 0, 1, 0, 2]],
  [21, [21, 9, 6, 0, 4, 0, 1, 0, 1, 0, 9], [21, 9, 6, 0, 4, 0, 1, 0, 1, 0, 9]],
  [22, [22, 0, 4, 0, 0xf2, 0, 0x25], [22, 0, 4, 0, 0xf2, 0, 0x25]],
  [23, [23, 0, 3, 0, 1, 0, 14, 0, 1, 2, 0, 0xff], [23, 2, 0, 0xfe]],
  [24, [24, 4, 0xde], [24, 0, 6, 0, 2, 1, 0xb8, 0x12, 0x84]],
  [43, [43, 14, 1, 0], [43, 14, 1, 1, 0, 0, 1, 0, 3, 0x41, 0x42, 0x43]],
];
for (const [fc, req, rsp] of cases) {
  test(`counts a ${functionName(fc)} (${fc}) request and response with no violation`, () => {
    const rec = run([[true, mbap(1, 17, req), 10], [false, mbap(1, 17, rsp), 11]]);
    assert.equal(rec.l7, 'modbus');
    assert.deepEqual(rec.l7Ops, { [MODBUS_FUNCTIONS[fc]!]: 1 });
    assert.deepEqual(rec.l7OpsRev, { [MODBUS_FUNCTIONS[fc]!]: 1 });
    assert.deepEqual(rec.l7Units, [17]);
    assert.equal(rec.l7Violations, undefined);
    assert.equal(functionCode(MODBUS_FUNCTIONS[fc]!), fc);
  });
}

test('names unknown function codes fc_<n> and maps them back', () => {
  assert.equal(functionName(90), 'fc_90');
  assert.equal(functionCode('fc_90'), 90);
  assert.equal(functionCode('nonsense'), undefined);
  assert.ok(MODBUS_SECURITY_FUNCTIONS.has('write_single_coil'));
  assert.ok(!MODBUS_SECURITY_FUNCTIONS.has('read_coils'));
});

test('an exception response counts under its function and names the exception in l7Errors', () => {
  const rec = run([[true, mbap(1, 1, [3, 0, 0x10, 0, 1])], [false, mbap(1, 1, [0x83, 2])]]);
  assert.deepEqual(rec.l7OpsRev, { read_holding_registers: 1 });
  assert.deepEqual(rec.l7Errors, { illegal_data_address: 1 });
});

test('two ADUs in one segment are both counted, with distinct unit ids sorted', () => {
  const both = Buffer.concat([mbap(1, 9, [3, 0, 0, 0, 1]), mbap(2, 4, [1, 0, 0, 0, 1])]);
  const rec = run([[true, both]]);
  assert.deepEqual(rec.l7Ops, { read_holding_registers: 1, read_coils: 1 });
  assert.deepEqual(rec.l7Units, [4, 9]);
});

test('an ADU split across segments (even inside the MBAP header) is reassembled once', () => {
  const adu = Buffer.concat([mbap(7, 1, [16, 0, 0, 0, 2, 4, 0, 1, 0, 2]), mbap(8, 1, [6, 0, 1, 0, 3])]);
  const rec = run([[true, adu.subarray(0, 3)], [true, adu.subarray(3, 12)], [true, adu.subarray(12)]]);
  assert.deepEqual(rec.l7Ops, { write_multiple_registers: 1, write_single_register: 1 });
  assert.equal(rec.l7Violations, undefined);
});

test('a non-zero protocol id is a modbus_protocol_id violation, not a crash', () => {
  const rec = run([[true, mbap(1, 1, [3, 0, 0, 0, 1], 5)]]);
  assert.deepEqual(rec.l7Violations, { modbus_protocol_id: 1 });
  assert.equal(rec.l7, undefined, 'never a valid MBAP header: not labelled modbus');
});

test('a PDU shorter than its function needs, or an MBAP length below 2, is modbus_short_pdu', () => {
  assert.deepEqual(run([[true, mbap(1, 1, [3, 0, 0])]]).l7Violations, { modbus_short_pdu: 1 });
  assert.deepEqual(run([[true, mbap(1, 1, [3], 0, 1)]]).l7Violations, { modbus_short_pdu: 1 });
});

test('an MBAP length larger than the payload is modbus_length_mismatch once the peer answers or the flow ends', () => {
  const claimsMore = mbap(1, 1, [3, 0, 0, 0, 1], 0, 40);
  const answered = run([[true, claimsMore], [false, mbap(1, 1, [3, 2, 0, 1])]]);
  assert.equal(answered.l7Violations?.modbus_length_mismatch, 1);
  assert.deepEqual(answered.l7OpsRev, { read_holding_registers: 1 });
  assert.deepEqual(run([[true, claimsMore]]).l7Violations, { modbus_length_mismatch: 1 });
  assert.equal(run([[true, claimsMore]], false).l7Violations, undefined, 'mid-flow it may still complete');
});

test('a response byte count that disagrees with the PDU is modbus_length_mismatch', () => {
  assert.deepEqual(run([[false, mbap(1, 1, [3, 9, 0, 1])]]).l7Violations, { modbus_length_mismatch: 1 });
});

test('parseMbap waits for more bytes and rejects a length above 254', () => {
  assert.deepEqual(parseMbap(Buffer.alloc(5), 0, 5), { ok: false, violation: 'need_more', offset: 0 });
  const long = mbap(1, 1, [3], 0, 300);
  assert.equal((parseMbap(long, 0, long.length) as { violation: string }).violation, 'modbus_length_too_long');
});

test('requestIntervalsMs summarises the gaps between the initiator’s requests', () => {
  const rec = run([[true, mbap(1, 1, [3, 0, 0, 0, 1]), 1000], [true, mbap(2, 1, [3, 0, 0, 0, 1]), 2000], [true, mbap(3, 1, [3, 0, 0, 0, 1]), 4000]]);
  assert.equal(rec.requestIntervalsMs?.count, 2);
  assert.equal(rec.requestIntervalsMs?.mean, 1500);
  assert.equal(rec.requestIntervalsMs?.min, 1000);
  assert.equal(rec.requestIntervalsMs?.max, 2000);
});

test('through flow assembly: retransmitted Modbus segments are not counted twice, split ADUs are joined', async () => {
  const C = '10.0.0.1';
  const S = '10.0.0.2';
  const adu = mbap(1, 1, [3, 0, 0, 0, 1]);
  const seg = (ts: number, fromC: boolean, seq: number, payload: Buffer, flags = TCP.ACK | TCP.PSH) => ({
    tsMs: ts,
    frame: ipv4({ src: fromC ? C : S, dst: fromC ? S : C, proto: 6 },
      tcpSegment({ sport: fromC ? 40000 : 502, dport: fromC ? 502 : 40000, seq, flags, payload })),
  });
  const recs = [
    seg(1000, true, 99, Buffer.alloc(0), TCP.SYN),
    seg(1001, true, 100, adu.subarray(0, 5)),
    seg(1002, true, 105, adu.subarray(5)),
    seg(1003, true, 100, adu), // retransmission of the whole request
    seg(1004, false, 500, mbap(1, 1, [3, 2, 0, 7])),
  ];
  const path = tempFile('mb.pcap', pcapFile(recs, { linkType: 101 }));
  const out: FlowRecord[] = [];
  for await (const b of readPcapFlows(path)) out.push(...b);
  assert.equal(out.length, 1);
  assert.deepEqual(out[0]!.l7Ops, { read_holding_registers: 1 });
  assert.deepEqual(out[0]!.l7OpsRev, { read_holding_registers: 1 });
  assert.equal(out[0]!.l7Violations, undefined);
});

test('the Zeek Modbus fuzz captures are read to the end without throwing', async (t) => {
  const dir = sharedData(t, 'pcaps/bro/modbus');
  if (!dir) return;
  const expected: Record<string, number> = { 'fuzz-1011.pcap': 6, 'fuzz-72.pcap': 36, 'modbusSmall.pcap': 166 };
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.pcap')).sort()) {
    const stats = newPcapStats(f);
    let records = 0;
    for await (const b of readPcapFlows(join(dir, f), {}, stats)) records += b.length;
    assert.equal(stats.packets, expected[f], f);
    assert.equal(stats.truncated, false, f);
    assert.ok(records > 0, f);
  }
});
