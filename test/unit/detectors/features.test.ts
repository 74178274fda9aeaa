import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FlowRecord } from '../../../core/records.ts';
import { EdgeTable } from '../../../detectors/edges.ts';
import { insideGapMs, isConnectionStart, opsRecord, startsBySig, unitsOf, WindowAcc } from '../../../detectors/features.ts';
import { flow } from '../../../detectors/testing.ts';

/** A window [0, 60 s) holding `flows`, with the edge index it resolved them in. */
const window = (flows: FlowRecord[]) => {
  const edges = new EdgeTable(() => 'scada->field');
  const acc = new WindowAcc();
  acc.reset(0, 60_000);
  for (const f of flows) acc.addFlow(edges.edgeOf(edges.pairOf(f.srcIp, f.dstIp), f.proto, f.dstPort, f.l7 === undefined ? 0 : edges.l7s.id(f.l7)), f, edges);
  acc.group(edges);
  const slot = (id: string): number => {
    for (let s = 0; s < acc.n; s += 1) if (edges.idOf(acc.edge[s]!) === id) return s;
    throw new Error(`no slot for ${id}`);
  };
  return { edges, acc, slot };
};

test('sums flows, packets and bytes of both directions, and requests from l7Ops, per edge', () => {
  const { acc, edges, slot } = window([
    flow({ srcIp: 'a', dstIp: 'b', tsStart: 10, tsEnd: 900, l7: 'modbus', packets: 3, bytes: 300, packetsRev: 2, bytesRev: 150, l7Ops: { read_coils: 4, write_single_coil: 1 } }),
    flow({ srcIp: 'a', dstIp: 'b', tsStart: 20, l7: 'modbus', packets: 1, bytes: 60, packetsRev: 1, bytesRev: 60, l7Ops: { read_coils: 2 }, l7Errors: { illegal_data_address: 1 }, l7Units: [3, 1] }),
  ]);
  const s = slot('a>b/6/502/modbus');
  assert.deepEqual({ flows: acc.flows[s], packets: acc.packets[s], bytes: acc.bytes[s], requests: acc.requests[s] }, { flows: 2, packets: 7, bytes: 570, requests: 7 });
  assert.deepEqual(opsRecord(acc, s, edges), { read_coils: 6, write_single_coil: 1 });
  assert.deepEqual(unitsOf(acc, s), [1, 3]);
  assert.deepEqual([acc.firstTs[s], acc.lastTs[s]], [10, 900]);
});

test('keeps edges apart by src, dst, proto, dst port and l7', () => {
  const { acc, edges } = window([
    { srcIp: 'a', dstIp: 'b', tsStart: 1 }, { srcIp: 'a', dstIp: 'b', tsStart: 2, dstPort: 503 }, { srcIp: 'a', dstIp: 'b', tsStart: 3, proto: 17 },
    { srcIp: 'a', dstIp: 'b', tsStart: 4, l7: 'modbus' }, { srcIp: 'a', dstIp: 'c', tsStart: 5 }, { srcIp: 'a', dstIp: 'b', tsStart: 6, srcPort: 1 },
  ].map((f) => flow(f)));
  assert.deepEqual(Array.from({ length: acc.n }, (_, s) => edges.idOf(acc.edge[s]!)).sort(), ['a>b/17/502/-', 'a>b/6/502/-', 'a>b/6/502/modbus', 'a>b/6/503/-', 'a>c/6/502/-']);
  assert.equal(edges.count, 5);
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

test('collects connection starts per op set in order and merges request intervals over the window', () => {
  const { acc, edges, slot } = window([
    flow({ srcIp: 'a', dstIp: 'b', tsStart: 20_000, tcpFlags: 0x1b, l7Ops: { read_coils: 1 } }),
    flow({ srcIp: 'a', dstIp: 'b', tsStart: 10_000, tcpFlags: 0x1b, l7Ops: { read_coils: 1 }, requestIntervalsMs: { count: 2, mean: 1000, m2: 200, min: 990, max: 1010 } }),
    flow({ srcIp: 'a', dstIp: 'b', tsStart: 15_000, tcpFlags: 0x1b, l7Ops: { write_single_coil: 1, read_coils: 1 } }),
    flow({ srcIp: 'a', dstIp: 'b', tsStart: 30_000, tcpFlags: 0x18, requestIntervalsMs: { count: 2, mean: 1000, m2: 0, min: 1000, max: 1000 } }),
  ]);
  const s = slot('a>b/6/502/-');
  assert.equal(acc.synStarts[s], 3);
  assert.deepEqual(startsBySig(acc, s, edges).map(([sig, ts]) => [edges.sigs.list[sig], ts]), [['read_coils', [10_000, 20_000]], ['read_coils+write_single_coil', [15_000]]]);
  assert.deepEqual([acc.riCount[s], acc.riMean[s], acc.riM2[s], acc.riMax[s]], [4, 1000, 200, 1010]);
});

test('finds the longest silence inside a window between overlapping flows and inside a flow', () => {
  const { acc, slot } = window([
    flow({ srcIp: 'a', dstIp: 'b', tsStart: 30_000, tsEnd: 31_000 }),
    flow({ srcIp: 'a', dstIp: 'b', tsStart: 1_000, tsEnd: 9_000, requestIntervalsMs: { count: 3, mean: 2000, m2: 0, min: 2000, max: 4000 } }),
    flow({ srcIp: 'a', dstIp: 'b', tsStart: 5_000, tsEnd: 12_000 }),
  ]);
  assert.equal(insideGapMs(acc, slot('a>b/6/502/-')), 18_000);
});

test('survives a JSON round trip unchanged', () => {
  const { acc } = window([flow({ srcIp: 'a', dstIp: 'b', tsStart: 5, l7: 'modbus', l7Ops: { read_coils: 2 }, l7Units: [1], tcpFlags: 0x02 })]);
  const back = new WindowAcc();
  back.load(JSON.parse(JSON.stringify(acc.toJSON())), 60_000);
  assert.deepEqual(back.toJSON(), acc.toJSON());
  assert.ok(acc.toJSON().slots[0]!.starts.length === 1);
});
