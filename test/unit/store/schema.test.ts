import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FlowRecord } from '../../../core/records.ts';
import { f64, flowRow, formatChTime, parseChTime, tables, windowRow } from '../../../store/schema.ts';

const flow: FlowRecord = {
  id: 'f', tsStart: 1_000, tsEnd: 2_000, srcIp: '10.0.0.1', srcPort: 1234, dstIp: '10.0.0.2', dstPort: 502, proto: 6,
  packets: 3, bytes: 180, packetsRev: 2, bytesRev: 120, tcpFlags: 0x18, exporter: 'x.pcap', observationDomain: 0,
  source: 'pcap',
};
const extra = { conduit: 'a->b', srcZone: 'a', dstZone: 'b', runId: 'r1', observedAt: 5_000 };

test('a flow without L7 fields maps to empty maps, an empty array, empty l7 and zeroed intervals', () => {
  const row = flowRow(flow, extra);
  assert.deepEqual(
    [row.l7, row.l7_ops, row.l7_ops_rev, row.l7_errors, row.l7_units, row.l7_violations],
    ['', {}, {}, {}, [], {}],
  );
  assert.deepEqual([row.req_count, row.req_mean, row.req_m2, row.req_min, row.req_max], [0, 0, 0, 0, 0]);
  assert.deepEqual([row.ts_start, row.ts_end, row.observed_at, row.conduit, row.run_id], [1_000, 2_000, 5_000, 'a->b', 'r1']);
});

test('a flow with request intervals maps them to the flattened req_* columns', () => {
  const row = flowRow({ ...flow, requestIntervalsMs: { count: 4, mean: 250.5, m2: 12, min: 240, max: 260 } }, extra);
  assert.deepEqual([row.req_count, row.req_mean, row.req_m2, row.req_min, row.req_max], [4, 250.5, 12, 240, 260]);
});

test('every flow row key is a flows column, all but stored_at (the engine fills it)', () => {
  assert.deepEqual(Object.keys(flowRow(flow, extra)).sort(), Object.values(tables.flows.columns).filter((c) => c !== 'stored_at').sort());
});

test('non-finite Float64 values are spelled as ClickHouse parses them, finite ones pass through', () => {
  assert.deepEqual([f64(0.5), f64(Number.NaN), f64(Infinity), f64(-Infinity)], [0.5, 'nan', 'inf', '-inf']);
  const row = windowRow({ conduit: 'a->b', edge: '', windowStart: 0, windowEnd: 60_000, detector: 'd', score: Number.NaN,
    learning: true, explanation: '', features: { a: 1, b: -Infinity } }, 'r');
  assert.deepEqual([row.score, row.learning, row.features], ['nan', 1, { a: 1, b: '-inf' }]);
});

test('ClickHouse DateTime64(3) text converts to epoch ms and back', () => {
  const ms = Date.parse('2025-03-04T05:06:07.089Z');
  assert.equal(formatChTime(ms), '2025-03-04 05:06:07.089');
  assert.equal(parseChTime('2025-03-04 05:06:07.089'), ms);
  assert.throws(() => parseChTime('yesterday'), RangeError);
});
