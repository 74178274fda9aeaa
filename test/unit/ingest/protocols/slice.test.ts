import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FlowRecord } from '../../../../core/records.ts';
import { L7Slice } from '../../../../ingest/protocols/slice.ts';

const blank = (): FlowRecord => ({
  id: '', tsStart: 0, tsEnd: 0, srcIp: 'a', srcPort: 40000, dstIp: 'b', dstPort: 502, proto: 6, packets: 0, bytes: 0,
  packetsRev: 0, bytesRev: 0, tcpFlags: 0, exporter: 'x', observationDomain: 0, source: 'pcap',
});
const l7Fields = (rec: FlowRecord): Partial<FlowRecord> => {
  const { l7, l7Ops, l7OpsRev, l7Units, l7Errors, l7Violations, requestIntervalsMs } = rec;
  return Object.fromEntries(Object.entries({ l7, l7Ops, l7OpsRev, l7Units, l7Errors, l7Violations, requestIntervalsMs }).filter(([, v]) => v !== undefined));
};

test('writes ops per direction, sorted units, errors, violations and the request cadence, in that key order', () => {
  const s = new L7Slice();
  s.op(true, 'read'); s.op(true, 'read'); s.op(false, 'read'); s.op(true, 'write');
  s.unit(7); s.unit(2); s.unit(7);
  s.error('illegal_data_address');
  s.violation('x_short'); s.violation('x_short', 3);
  s.request(1_000); s.request(1_250); s.request(1_350);
  const rec = blank();
  s.flushInto(rec, 'modbus');
  assert.deepEqual(l7Fields(rec), {
    l7: 'modbus', l7Ops: { read: 2, write: 1 }, l7OpsRev: { read: 1 }, l7Units: [2, 7],
    l7Errors: { illegal_data_address: 1 }, l7Violations: { x_short: 4 },
    requestIntervalsMs: { count: 2, mean: 175, m2: 11_250, min: 100, max: 250 },
  });
  assert.deepEqual(Object.keys(rec).slice(-7), ['l7', 'l7Ops', 'l7OpsRev', 'l7Units', 'l7Errors', 'requestIntervalsMs', 'l7Violations']);
});

test('without an l7 name only the violations are written', () => {
  const s = new L7Slice(true);
  s.op(true, 'read'); s.unit(1); s.request(5); s.request(9); s.error('e'); s.violation('bad');
  const rec = blank();
  s.flushInto(rec, undefined);
  assert.deepEqual(l7Fields(rec), { l7Violations: { bad: 1 } });
});

test('leaves out empty errors, units, violations and cadence, but writes empty op maps; unitsWhenEmpty writes []', () => {
  const plain = blank();
  new L7Slice().flushInto(plain, 'enip');
  assert.deepEqual(l7Fields(plain), { l7: 'enip', l7Ops: {}, l7OpsRev: {} });
  const units = blank();
  new L7Slice(true).flushInto(units, 'dnp3');
  assert.deepEqual(l7Fields(units), { l7: 'dnp3', l7Ops: {}, l7OpsRev: {}, l7Units: [] });
});

test('each flush starts a new slice: counts restart and the first request of a slice adds no interval', () => {
  const s = new L7Slice();
  s.op(true, 'read'); s.unit(3); s.request(100); s.request(200);
  const first = blank();
  s.flushInto(first, 'bacnet');
  s.request(900);
  s.op(false, 'ack');
  const second = blank();
  s.flushInto(second, 'bacnet');
  assert.deepEqual(first.requestIntervalsMs?.count, 1);
  assert.deepEqual(l7Fields(second), { l7: 'bacnet', l7Ops: {}, l7OpsRev: { ack: 1 } });
  assert.notEqual(first.l7Ops, second.l7Ops);
});

test('reset drops the slice without writing it', () => {
  const s = new L7Slice();
  s.op(true, 'read'); s.violation('bad'); s.request(1); s.request(2);
  s.reset();
  const rec = blank();
  s.flushInto(rec, 's7comm');
  assert.deepEqual(l7Fields(rec), { l7: 's7comm', l7Ops: {}, l7OpsRev: {} });
});
