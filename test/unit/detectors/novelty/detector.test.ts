import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FlowRecord } from '../../../../core/records.ts';
import { createNovelty } from '../../../../detectors/novelty/detector.ts';
import { flow } from '../../../../detectors/testing.ts';
import { conduitWindow, ctxFor, Harness } from '../helpers.ts';

const A = '192.168.1.100';
const B = '192.168.1.102';
const read = (tsStart: number, over: Partial<FlowRecord> = {}): FlowRecord =>
  flow({ srcIp: A, dstIp: B, tsStart, l7: 'modbus', l7Ops: { read_coils: 1, read_holding_registers: 2 }, l7Units: [1], ...over });

/** Learns `baseline` in window 0, then scores `probe` in window 1. */
const probe = (baseline: FlowRecord[], probeFlows: FlowRecord[], declared = true) => {
  const h = new Harness(createNovelty());
  const w0 = conduitWindow(0, baseline);
  h.score(w0, ctxFor(w0, { learning: true, declared }));
  const w1 = conduitWindow(60_000, probeFlows);
  return { h, out: h.score(w1, ctxFor(w1, { declared })) };
};

const cases: { name: string; probe: FlowRecord[]; score: number; explains: RegExp; maint?: boolean; declared?: boolean }[] = [
  { name: 'scores 0 when nothing is new', probe: [read(61_000)], score: 0, explains: /^nothing new on 192\.168\.1\.100 → 192\.168\.1\.102:502 modbus$/ },
  {
    name: 'scores a never-seen write function code 1.0, names it and the baseline ops, and keeps it alertable in maintenance',
    probe: [read(61_000, { l7Ops: { write_single_coil: 1 } })], score: 1, maint: true,
    explains: /^function code write_single_coil never seen on 192\.168\.1\.100 → 192\.168\.1\.102:502 modbus in baseline \(baseline saw: read_coils, read_holding_registers\)$/,
  },
  { name: 'scores a never-seen read below a write', probe: [read(61_000, { l7Ops: { read_input_registers: 1 } })], score: 0.85, explains: /function code read_input_registers never seen/ },
  { name: 'scores a never-seen unit id', probe: [read(61_000, { l7Units: [7] })], score: 0.85, explains: /unit id 7 never addressed on .* \(baseline saw: 1\)/ },
  { name: 'scores a new talker 1.0', probe: [read(61_000, { srcIp: '192.168.1.101' })], score: 1, explains: /^new edge 192\.168\.1\.101 → 192\.168\.1\.102:502 modbus never seen in baseline \(new talker 192\.168\.1\.101\); ops: read_coils x1, read_holding_registers x2$/ },
  { name: 'scores a new service on a known host pair', probe: [read(61_000, { dstPort: 445, l7: undefined, l7Ops: undefined })], score: 0.95, explains: /^new service tcp\/445 on 192\.168\.1\.100 → 192\.168\.1\.102, never seen in baseline \(baseline saw: tcp\/502 modbus\)/ },
  { name: 'scores a new edge on an undeclared conduit 1.0 and alerts in maintenance', probe: [read(61_000, { dstIp: '192.168.1.105' })], score: 1, maint: true, declared: false, explains: /^undeclared conduit scada->field: 192\.168\.1\.100 → 192\.168\.1\.105:502 modbus/ },
];

for (const c of cases) {
  test(`novelty ${c.name}`, () => {
    const { out } = probe([read(1_000)], c.probe, c.declared ?? true);
    assert.equal(out.length, 1);
    assert.equal(out[0]!.score, c.score);
    assert.match(out[0]!.explanation, c.explains);
    assert.equal(out[0]!.alertInMaintenance === true, c.maint === true);
  });
}

test('novelty learns a novel item once: the same write in the next window scores 0', () => {
  const { h } = probe([read(1_000)], [read(61_000, { l7Ops: { write_single_coil: 1 } })]);
  const w2 = conduitWindow(120_000, [read(121_000, { l7Ops: { write_single_coil: 1 } })]);
  assert.equal(h.score(w2)[0]!.score, 0);
});

test('novelty state survives save → JSON → load', () => {
  const { h } = probe([read(1_000)], [read(61_000, { l7Ops: { write_single_coil: 1 } })]);
  const back = h.roundTrip(createNovelty());
  const next = [read(121_000, { l7Ops: { write_single_coil: 1, read_input_registers: 1 }, l7Units: [1, 9] }), read(122_000, { srcIp: '192.168.1.101' })];
  const a = h.score(conduitWindow(120_000, next));
  assert.ok(a.some((f) => f.score > 0));
  assert.deepEqual(back.score(conduitWindow(120_000, next)), a);
});

describe('novelty on unbaselined edges (first seen after the baseline)', () => {
  const C = '192.168.1.105';
  const W = 60_000;
  const CYCLE = 10 * W;
  /** A connection (SYN) or, with `syn: false`, a flag-less UDP datagram from A to C:4444. */
  const conn = (tsStart: number, syn = true): FlowRecord =>
    flow({ srcIp: A, dstIp: C, dstPort: 4444, tsStart, tsEnd: tsStart + 500, ...(syn ? { tcpFlags: 0x1b } : { proto: 17, tcpFlags: 0 }) });

  /** Window 0 learns A → B in the baseline; then each entry of `windows` is scored as window 1, 2, … */
  const runWindows = (windows: FlowRecord[][], over: Record<string, unknown> = {}) => {
    const h = new Harness(createNovelty(over));
    const w0 = conduitWindow(0, [read(1_000)]);
    h.score(w0, ctxFor(w0, { learning: true, cycleMs: CYCLE }));
    return windows.map((flows, i) => {
      const w = conduitWindow((i + 1) * W, flows);
      return h.score(w, ctxFor(w, { cycleMs: CYCLE })).find((f) => f.edge.includes('>192.168.1.105/'));
    });
  };

  test('scores each window with new connections 0.8 and counts them, after the first sight scored 1.0', () => {
    const out = runWindows([[conn(W + 1_000)], [conn(2 * W + 2_000), conn(2 * W + 9_000)], [conn(3 * W + 5_000)]]);
    assert.equal(out[0]!.score, 1);
    assert.match(out[0]!.explanation, /^new edge 192\.168\.1\.100 → 192\.168\.1\.105:4444 tcp never seen in baseline/);
    assert.equal(out[1]!.score, 0.8);
    assert.equal(out[1]!.explanation,
      'unbaselined edge 192.168.1.100 → 192.168.1.105:4444 tcp: first seen 61 s ago, after the baseline, not in it: 2 new connection attempts (SYN) this window (3rd so far)');
    assert.equal(out[1]!.features.unbaselined, 1);
    assert.equal(out[1]!.features.new_connections, 2);
    assert.equal(out[2]!.score, 0.8);
    assert.match(out[2]!.explanation, /1 new connection attempt \(SYN\) this window \(4th so far\)$/);
  });

  test('gives a later slice of the same connection (no SYN) no unbaselined score', () => {
    const out = runWindows([[conn(W + 1_000)], [conn(2 * W + 2_000, true), { ...conn(2 * W + 3_000), tcpFlags: 0x18 }], [{ ...conn(3 * W + 1_000), tcpFlags: 0x18 }]]);
    assert.equal(out[1]!.features.new_connections, 1);
    assert.equal(out[2]!.score, 0);
    assert.match(out[2]!.explanation, /^nothing new/);
  });

  test('counts a flag-less flow that comes back after a quiet window as a return, but not one in consecutive windows', () => {
    const out = runWindows([[conn(W + 1_000, false)], [conn(2 * W + 1_000, false)], [], [conn(4 * W + 1_000, false)]]);
    assert.equal(out[1]!.score, 0);
    assert.equal(out[2], undefined);
    assert.equal(out[3]!.score, 0.8);
    assert.match(out[3]!.explanation, /traffic again after a quiet window \(2nd connection or return so far\)$/);
  });

  test('stops scoring once the edge has been seen for a whole production cycle', () => {
    const windows = Array.from({ length: 12 }, (_, i) => [conn((i + 1) * W + 1_000)]);
    const out = runWindows(windows);
    // First seen at 61 s, cycle 600 s: unbaselined for windows starting before 661 s (windows 1 … 11 → out[0 … 10]).
    assert.equal(out[10]!.score, 0.8);
    assert.equal(out[11]!.score, 0);
  });

  test('never scores reconnects of an edge learned in the baseline, and unbaselinedFor "0s" turns the rule off', () => {
    const baselined = runWindows([[read(W + 1_000, { tcpFlags: 0x1b })], [read(2 * W + 1_000, { tcpFlags: 0x1b })]]);
    assert.deepEqual(baselined, [undefined, undefined]);
    const off = runWindows([[conn(W + 1_000)], [conn(2 * W + 1_000)]], { unbaselinedFor: '0s' });
    assert.equal(off[1]!.score, 0);
  });

  test('keeps its unbaselined edges through save and load', () => {
    const h = new Harness(createNovelty());
    const w0 = conduitWindow(0, [read(1_000)]);
    h.score(w0, ctxFor(w0, { learning: true, cycleMs: CYCLE }));
    const w1 = conduitWindow(W, [conn(W + 1_000)]);
    h.score(w1, ctxFor(w1, { cycleMs: CYCLE }));
    const restored = h.roundTrip(createNovelty());
    const w2 = conduitWindow(2 * W, [conn(2 * W + 1_000)]);
    const f = restored.score(w2, ctxFor(w2, { cycleMs: CYCLE })).find((x) => x.features.unbaselined === 1);
    assert.match(f!.explanation, /\(2nd so far\)$/);
  });
});
