import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  addFlow, conduitFeaturesFromJSON, conduitFeaturesToJSON, finalizeConduit, isConnectionStart, newConduitFeatures, sortedRecord,
} from '../../../detectors/features.ts';
import { flow } from '../../../detectors/testing.ts';

const window = () => newConduitFeatures('scada->field', 0, 60_000);

test('sums flows, packets and bytes of both directions, and requests from l7Ops, per edge', () => {
  const cw = window();
  addFlow(cw, flow({ srcIp: 'a', dstIp: 'b', tsStart: 10, tsEnd: 900, l7: 'modbus', packets: 3, bytes: 300, packetsRev: 2, bytesRev: 150, l7Ops: { read_coils: 4, write_single_coil: 1 } }));
  addFlow(cw, flow({ srcIp: 'a', dstIp: 'b', tsStart: 20, l7: 'modbus', packets: 1, bytes: 60, packetsRev: 1, bytesRev: 60, l7Ops: { read_coils: 2 }, l7Errors: { illegal_data_address: 1 }, l7Units: [3, 1] }));
  const e = cw.edges.get('a>b/6/502/modbus')!;
  assert.deepEqual({ flows: e.flows, packets: e.packets, bytes: e.bytes, requests: e.requests }, { flows: 2, packets: 7, bytes: 570, requests: 7 });
  assert.deepEqual(sortedRecord(e.ops), { read_coils: 6, write_single_coil: 1 });
  assert.deepEqual(sortedRecord(e.errors), { illegal_data_address: 1 });
  assert.deepEqual([...e.units].sort(), [1, 3]);
  assert.deepEqual([e.firstTs, e.lastTs], [10, 900]);
});

test('keeps edges apart by src, dst, proto, dst port and l7', () => {
  const cw = window();
  for (const f of [
    { srcIp: 'a', dstIp: 'b', tsStart: 1 }, { srcIp: 'a', dstIp: 'b', tsStart: 2, dstPort: 503 }, { srcIp: 'a', dstIp: 'b', tsStart: 3, proto: 17 },
    { srcIp: 'a', dstIp: 'b', tsStart: 4, l7: 'modbus' }, { srcIp: 'a', dstIp: 'c', tsStart: 5 }, { srcIp: 'a', dstIp: 'b', tsStart: 6, srcPort: 1 },
  ]) addFlow(cw, flow(f));
  assert.deepEqual([...cw.edges.keys()].sort(), ['a>b/17/502/-', 'a>b/6/502/-', 'a>b/6/502/modbus', 'a>b/6/503/-', 'a>c/6/502/-']);
  assert.deepEqual([cw.fanout.get('a')!.dstPorts.size, cw.fanout.get('a')!.dstHosts.size], [2, 2]);
});

const startCases: [string, Parameters<typeof flow>[0], boolean][] = [
  ['a TCP flow with SYN', { srcIp: 'a', dstIp: 'b', tsStart: 0, tcpFlags: 0x02 }, true],
  ['a later slice of a TCP connection (ACK|PSH only)', { srcIp: 'a', dstIp: 'b', tsStart: 0, tcpFlags: 0x18 }, false],
  ['a TCP flow from a source that reports no flags', { srcIp: 'a', dstIp: 'b', tsStart: 0, tcpFlags: 0 }, true],
  ['a UDP flow', { srcIp: 'a', dstIp: 'b', tsStart: 0, proto: 17, tcpFlags: 0 }, true],
];
for (const [name, f, want] of startCases) {
  test(`counts ${name} as a connection start: ${want}`, () => assert.equal(isConnectionStart(flow(f)), want));
}

test('collects connection start times in order and merges request intervals over the window', () => {
  const cw = window();
  addFlow(cw, flow({ srcIp: 'a', dstIp: 'b', tsStart: 20_000, tcpFlags: 0x1b }));
  addFlow(cw, flow({ srcIp: 'a', dstIp: 'b', tsStart: 10_000, tcpFlags: 0x1b, requestIntervalsMs: { count: 2, mean: 1000, m2: 200, min: 990, max: 1010 } }));
  addFlow(cw, flow({ srcIp: 'a', dstIp: 'b', tsStart: 30_000, tcpFlags: 0x18, requestIntervalsMs: { count: 2, mean: 1000, m2: 0, min: 1000, max: 1000 } }));
  finalizeConduit(cw);
  const e = cw.edges.get('a>b/6/502/-')!;
  assert.deepEqual(e.flowStarts, [10_000, 20_000]);
  assert.deepEqual([e.starts, e.synStarts], [2, 2]);
  assert.deepEqual(e.requestIntervals, { count: 4, mean: 1000, m2: 200, min: 990, max: 1010 });
});

test('survives a JSON round trip unchanged', () => {
  const cw = window();
  addFlow(cw, flow({ srcIp: 'a', dstIp: 'b', tsStart: 5, l7: 'modbus', l7Ops: { read_coils: 2 }, l7Units: [1] }));
  const back = conduitFeaturesFromJSON(JSON.parse(JSON.stringify(conduitFeaturesToJSON(cw))));
  assert.deepEqual(back, cw);
});
