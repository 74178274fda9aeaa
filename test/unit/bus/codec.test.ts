import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tableFromIPC } from 'apache-arrow';
import type { FlowRecord } from '../../../core/records.ts';
import { decodeAlert, decodeFlows, decodeScore, encodeFlows, encodeJson, SCHEMAS } from '../../../bus/codec.ts';
import { murmur2, partitionFor } from '../../../bus/bus.ts';

const full: FlowRecord = {
  id: 'full', tsStart: 1_736_150_400_123.5, tsEnd: 1_736_150_401_000, srcIp: '10.0.0.1', srcPort: 50123, dstIp: 'fe80::1', dstPort: 502,
  proto: 6, packets: 12, bytes: 960, packetsRev: 11, bytesRev: 1024, tcpFlags: 0x1b, exporter: '192.0.2.9',
  observationDomain: 4_000_000_000, source: 'pcap', l7: 'modbus',
  l7Ops: { read_holding_registers: 120, write_single_register: 2 }, l7OpsRev: { read_holding_registers: 118 },
  l7Errors: { illegal_data_address: 2 }, l7Units: [1, 247, 4_000_000_000], l7Violations: { modbus_short_pdu: 1 },
  requestIntervalsMs: { count: 119, mean: 1000.25, m2: 12.5, min: 990, max: 1011 }, fidelity: ['direction_port'],
};
const bare: FlowRecord = {
  id: 'bare', tsStart: 1, tsEnd: 2, srcIp: '10.0.0.2', srcPort: 0, dstIp: '10.0.0.3', dstPort: 0, proto: 1, packets: 1, bytes: 64,
  packetsRev: 0, bytesRev: 0, tcpFlags: 0, exporter: 'x.pcap', observationDomain: 0, source: 'netflow9',
};
const emptyish: FlowRecord = { ...bare, l7: '', l7Ops: {}, l7Units: [], requestIntervalsMs: { count: 0, mean: 0, m2: 0, min: Infinity, max: -Infinity } };

test('flows round-trip through Arrow IPC with every field, maps, units and the interval summary', () => {
  const buf = encodeFlows([full, bare, emptyish]);
  const back = decodeFlows(buf);
  assert.ok(back.ok);
  assert.deepEqual(back.value, [full, bare, emptyish]);
});

test('absent optional fields stay absent, not undefined-valued keys', () => {
  const back = decodeFlows(encodeFlows([bare]));
  assert.ok(back.ok);
  assert.deepEqual(Object.keys(back.value[0]!).sort(), Object.keys(bare).sort());
});

test('an encoded flows value is a plain Arrow stream carrying the schema version', () => {
  const t = tableFromIPC(encodeFlows([full]));
  assert.equal(t.schema.metadata.get('cw-schema'), SCHEMAS.flows);
  assert.equal(t.numRows, 1);
  assert.equal(String(t.schema.fields.find((f) => f.name === 'l7Ops')?.type), 'Map<{key:Utf8, value:Float64}>');
});

test('corrupt bytes and foreign schemas decode to a reason, never a throw', () => {
  const good = encodeFlows([full]);
  const cut = decodeFlows(good.subarray(0, 40));
  assert.equal(cut.ok, false);
  const junk = decodeFlows(Buffer.from('{"not":"arrow"}'));
  assert.equal(junk.ok, false);
  assert.match((junk as { reason: string }).reason, /Arrow|schema/);
});

test('scores and alerts round-trip as JSON with non-finite numbers spelt out', () => {
  const score = { conduit: 'a->b', edge: '', windowStart: 0, windowEnd: 60_000, detector: 'rate', score: 0.5, learning: false, explanation: 'x', features: { z: Infinity, n: -Infinity } };
  const s = decodeScore(encodeJson(score));
  assert.ok(s.ok);
  assert.deepEqual(s.value, score);
  assert.match(encodeJson(score).toString(), /"inf"/);
  const a = decodeAlert(encodeJson({ id: 'x' }));
  assert.deepEqual(a, { ok: false, reason: 'field "conduit" is not a string' });
});

test('partitioning matches Kafka murmur2 reference values', () => {
  // Reference values from Kafka's UtilsTest (murmur2 of these ASCII strings).
  assert.equal(murmur2(Buffer.from('21')), -973932308);
  assert.equal(murmur2(Buffer.from('foobar')), -790332482);
  assert.equal(murmur2(Buffer.from('a-little-bit-long-string')), -985981536);
  assert.equal(murmur2(Buffer.from('a-little-bit-longer-string')), -1486304829);
  assert.equal(murmur2(Buffer.from('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8')), -58897971);
  assert.equal(partitionFor('scada->field', 12), partitionFor('scada->field', 12));
});
