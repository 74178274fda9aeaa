import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FlowRecord } from '../../../../core/records.ts';
import { createNovelty } from '../../../../detectors/novelty/detector.ts';
import { flow } from '../../../../detectors/testing.ts';
import { conduitWindow, ctxFor } from '../helpers.ts';

const A = '192.168.1.100';
const B = '192.168.1.102';
const read = (tsStart: number, over: Partial<FlowRecord> = {}): FlowRecord =>
  flow({ srcIp: A, dstIp: B, tsStart, l7: 'modbus', l7Ops: { read_coils: 1, read_holding_registers: 2 }, l7Units: [1], ...over });

/** Learns `baseline` in window 0, then scores `probe` in window 1. */
const probe = (baseline: FlowRecord[], probeFlows: FlowRecord[], declared = true) => {
  const d = createNovelty();
  let state = d.init();
  const w0 = conduitWindow(0, baseline);
  state = d.scoreWindow(w0, state, ctxFor(w0, { learning: true, declared })).state;
  const w1 = conduitWindow(60_000, probeFlows);
  return { d, state, out: d.scoreWindow(w1, state, ctxFor(w1, { declared })).findings };
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
  const { d, state } = probe([read(1_000)], [read(61_000, { l7Ops: { write_single_coil: 1 } })]);
  const w2 = conduitWindow(120_000, [read(121_000, { l7Ops: { write_single_coil: 1 } })]);
  assert.equal(d.scoreWindow(w2, state, ctxFor(w2)).findings[0]!.score, 0);
});

test('novelty state survives save → JSON → load', () => {
  const { d, state } = probe([read(1_000)], [read(61_000, { l7Ops: { write_single_coil: 1 } })]);
  const back = d.load(JSON.parse(JSON.stringify(d.save(state))));
  assert.deepEqual(back, state);
});
