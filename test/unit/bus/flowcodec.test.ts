/** The columnar flows codec (bus/flowcodec.ts, flows-col/2): exact round trips, absent fields, damaged values. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FlowRecord } from '../../../core/records.ts';
import { decodeFlowColumns, decodeFlowRecords, encodeFlowColumns } from '../../../bus/flowcodec.ts';

const full: FlowRecord = {
  id: 'a1b2c3d4e5f6a7b8c9d0e1f2',
  tsStart: 1_736_150_400_123.5, tsEnd: 1_736_150_401_000, srcIp: '10.0.0.1', srcPort: 50123, dstIp: 'fe80::1', dstPort: 502,
  proto: 6, packets: 12, bytes: 960, packetsRev: 11, bytesRev: 1024, tcpFlags: 0x1b, exporter: '192.0.2.9',
  observationDomain: 4_000_000_000, source: 'pcap', l7: 'modbus',
  l7Ops: { read_holding_registers: 120, write_single_register: 2 }, l7OpsRev: { read_holding_registers: 118 },
  l7Errors: { illegal_data_address: 2 }, l7Units: [1, 247, 4_000_000_000], l7Violations: { modbus_short_pdu: 1 },
  requestIntervalsMs: { count: 119, mean: 1000.25, m2: 12.5, min: 990, max: 1011 },
};
const bare: FlowRecord = {
  id: 'bare-1', tsStart: 1, tsEnd: 2, srcIp: '10.0.0.2', srcPort: 0, dstIp: '10.0.0.3', dstPort: 0, proto: 1, packets: 1, bytes: 64,
  packetsRev: 0, bytesRev: 0, tcpFlags: 0, exporter: 'x.pcap', observationDomain: 0, source: 'netflow9',
};
const emptyish: FlowRecord = { ...bare, l7: '', l7Ops: {}, l7Units: [], requestIntervalsMs: { count: 0, mean: 0, m2: 0, min: Infinity, max: -Infinity } };
const unicode: FlowRecord = { ...bare, exporter: 'café-plant.pcap', l7: 'iec104', l7Ops: { 'C_SC_NA_1 ✓': 3 }, fidelity: ['direction_port', 'direction_flipped'] };

test('flows round-trip with every field, maps, units, intervals, ids, fidelity notes and absent fields left absent', () => {
  const flows = [full, bare, emptyish, unicode, full, bare];
  const back = decodeFlowRecords(encodeFlowColumns(flows));
  assert.ok(back.ok, back.ok ? '' : back.reason);
  assert.deepEqual(back.value, flows);
  assert.deepEqual(Object.keys(back.value[1]!).sort(), Object.keys(bare).sort());
});

test('an empty batch and a large one round-trip; repeated strings share the dictionary', () => {
  const none = decodeFlowRecords(encodeFlowColumns([]));
  assert.ok(none.ok);
  assert.deepEqual(none.value, []);
  const many = Array.from({ length: 5000 }, (_, i) => ({ ...full, id: `id-${i}`, srcPort: i % 65536, tsStart: full.tsStart + i }));
  const buf = encodeFlowColumns(many);
  const cols = decodeFlowColumns(buf);
  assert.ok(cols.ok);
  assert.equal(cols.value.rows, 5000);
  assert.equal(cols.value.dict.length, 5000 + 5 + 4, 'one entry per id, plus 5 shared strings and 4 map keys');
  const back = decodeFlowRecords(buf);
  assert.ok(back.ok);
  assert.deepEqual(back.value, many);
});

test('a value read at an unaligned offset (inside a larger fetch buffer) decodes the same', () => {
  const buf = encodeFlowColumns([full, bare]);
  const shifted = Buffer.alloc(buf.length + 3);
  buf.copy(shifted, 3);
  const back = decodeFlowRecords(shifted.subarray(3));
  assert.ok(back.ok);
  assert.deepEqual(back.value, [full, bare]);
});

test('damaged values give a reason, never a throw', () => {
  const buf = encodeFlowColumns([full, bare]);
  const cases: [string, Buffer, RegExp][] = [
    ['empty', Buffer.alloc(0), /bad magic/],
    ['another format', Buffer.from('not a flows value at all'), /bad magic/],
    ['truncated', buf.subarray(0, buf.length - 9), /ends inside/],
    ['cut in the dictionary', buf.subarray(0, 40), /dictionary|ends inside/],
  ];
  const wild = Buffer.from(buf);
  wild.writeUInt32LE(1_000_000, 4); // a row count far past the columns
  cases.push(['row count past the data', wild, /ends inside/]);
  assert.ok(cases.length > 0);
  for (const [what, value, why] of cases) {
    const d = decodeFlowRecords(value);
    assert.equal(d.ok, false, what);
    assert.match((d as { reason: string }).reason, why, what);
  }
});

test('MACs and identity reports travel in the link section, only in batches that have them', () => {
  const linked: FlowRecord = {
    ...full, id: 'linked', srcMac: '00:80:f4:01:02:03', dstMac: '00:1d:9c:aa:bb:cc',
    identity: [{ side: 'dst', via: 'modbus_device_id', ts: 1_736_150_400_500, vendor: 'Schneider Electric', model: 'BMX P34 2020', firmware: 'v2.70' }],
  };
  const macOnly: FlowRecord = { ...bare, id: 'mac-only', srcMac: '00:80:f4:01:02:04' };
  const flows = [linked, bare, macOnly];
  const buf = encodeFlowColumns(flows);
  assert.equal(buf.readUInt32LE(12), 1, 'the link flag is set');
  const back = decodeFlowRecords(buf);
  assert.ok(back.ok, back.ok ? '' : back.reason);
  assert.deepEqual(back.value, flows);
  assert.deepEqual(Object.keys(back.value[1]!).sort(), Object.keys(bare).sort(), 'a row without them gains no fields');
  const plain = encodeFlowColumns([full, bare]);
  assert.equal(plain.readUInt32LE(12), 0, 'no link section without MACs or identity');
  assert.ok(plain.length < encodeFlowColumns([{ ...full, srcMac: '00:80:f4:01:02:03' }, bare]).length);
  const cut = decodeFlowRecords(buf.subarray(0, buf.length - 8));
  assert.equal(cut.ok, false);
  assert.match((cut as { reason: string }).reason, /ends inside identity/);
});
