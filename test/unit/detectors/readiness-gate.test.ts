/** Alerts gated on readiness: a conduit alerts everything once its baseline covers the configured cycles and phases. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createEngine } from '../../../cli/registry.ts';
import type { Alert, FlowRecord } from '../../../core/records.ts';
import { flow, mergeFlows, polls, testSite } from '../../../detectors/testing.ts';

const T0 = Date.parse('2025-01-06T00:00:00Z');
const M = 60_000;

const run = async (flows: FlowRecord[], readiness: string, cycle = '20m', baseline = '10m') => {
  const e = await createEngine(testSite({ cycle, baseline, readiness, corp: true }));
  const alerts: Alert[] = [...e.ingest(flows).alerts, ...e.flush().alerts];
  return { alerts: alerts.map((a) => `${(a.tsStart - T0) / M} ${a.detector} ${a.src}>${a.dst}`), status: e.status() };
};

/** A 1 s poller from T0 that stops from `stopAt` to `resumeAt`, a new read at 12m, a write at 13m and at 5m on another edge, undeclared traffic at 4m. */
const plant = (stopAt: number, resumeAt: number): FlowRecord[] => mergeFlows(
  polls({ src: '10.0.1.10', dst: '10.0.2.20', everyMs: 1_000, fromMs: T0, toMs: T0 + stopAt, jitterMs: 10 }),
  polls({ src: '10.0.1.10', dst: '10.0.2.20', everyMs: 1_000, fromMs: T0 + resumeAt, toMs: T0 + 40 * M, jitterMs: 10, seed: 5 }),
  polls({ src: '10.0.1.11', dst: '10.0.2.21', everyMs: 2_000, fromMs: T0, toMs: T0 + 40 * M, seed: 3 }),
  [flow({ srcIp: '10.0.1.11', dstIp: '10.0.2.21', tsStart: T0 + 12 * M + 500, tcpFlags: 0x18, l7: 'modbus', l7Ops: { read_input_registers: 1 } })],
  [flow({ srcIp: '10.0.1.11', dstIp: '10.0.2.21', tsStart: T0 + 13 * M + 500, tcpFlags: 0x18, l7: 'modbus', l7Ops: { write_single_coil: 1 } })],
  [flow({ srcIp: '10.0.1.11', dstIp: '10.0.2.21', tsStart: T0 + 5 * M + 500, tcpFlags: 0x18, l7: 'modbus', l7Ops: { write_single_register: 1 } })],
  [flow({ srcIp: '10.0.9.5', dstIp: '10.0.2.21', tsStart: T0 + 4 * M + 500, tcpFlags: 0x1b, l7: 'modbus', l7Ops: { read_coils: 1 } })],
);

test('past its minimum baseline but before its cycle is covered a conduit alerts only security-relevant novelty; undeclared traffic alerts at once', async () => {
  const { alerts, status } = await run(plant(15 * M, 17 * M), '{ cycles: 1, phases: 1 }');
  // 4m: undeclared, at once. 5m: a write inside the 10 min minimum: learned, not alerted.
  // 12m: a new read, not security-relevant: learned, not alerted. 13m: a new write: alerted.
  // 15m-17m: the poll stops while the conduit is not ready (its 20 min cycle not covered): not alerted.
  assert.deepEqual(alerts.filter((a) => Number(a.split(' ')[0]) < 20), ['4 novelty 10.0.9.5>10.0.2.21', '13 novelty 10.0.1.11>10.0.2.21']);
  const scada = status.find((c) => c.conduit === 'scada->field')!;
  assert.equal(scada.readyAt, T0 + 20 * M, 'ready when one whole cycle is covered');
  assert.equal(scada.state, 'ready');
  // The undeclared conduit learns like any other (it was first seen inside the site's baseline) but alerted at once.
  assert.match(status.find((c) => c.conduit === 'corp->field')!.state, /^learning/);
});

test('once ready, a stop alerts; without readiness the same stop inside the cycle alerts at the baseline\'s end', async () => {
  const gated = await run(plant(25 * M, 28 * M), '{ cycles: 1, phases: 1 }');
  assert.ok(gated.alerts.some((a) => a.startsWith('25 rate 10.0.1.10')), gated.alerts.join(' | '));
  const early = await run(plant(15 * M, 17 * M), '{ cycles: 0, phases: 0 }');
  assert.ok(early.alerts.some((a) => a.startsWith('15 rate 10.0.1.10')), early.alerts.join(' | '));
  assert.ok(early.alerts.includes('12 novelty 10.0.1.11>10.0.2.21'), 'a new read alerts once ready');
  assert.equal(early.status.find((c) => c.conduit === 'scada->field')!.readyAt, T0 + 10 * M);
});

test('a conduit whose traffic never covered the phases stays learning and says which phases are missing', async () => {
  // Traffic only in the first half of each 20 min cycle: 6 of 12 cells.
  const halves = mergeFlows(...[0, 1, 2].map((c) => polls({ src: '10.0.1.10', dst: '10.0.2.20', everyMs: 1_000, fromMs: T0 + c * 20 * M, toMs: T0 + c * 20 * M + 10 * M, seed: c + 1 })),
    polls({ src: '10.0.1.11', dst: '10.0.2.30', everyMs: 5_000, fromMs: T0, toMs: T0 + 60 * M, seed: 9 }));
  const { status } = await run(halves, '{ cycles: 1, phases: 1 }', '20m', '20m');
  const c = status.find((x) => x.conduit === 'scada->field')!;
  assert.equal(c.readyAt, T0 + 20 * M, 'the other edge covers every phase of the conduit');
  const only = await run(halves.filter((f) => f.dstIp === '10.0.2.20'), '{ cycles: 1, phases: 1 }', '20m', '20m');
  const o = only.status.find((x) => x.conduit === 'scada->field')!;
  assert.equal(o.readyAt, null);
  assert.match(o.state, /^learning, 100% coverage, 6 of 12 cycle phases seen$/);
  const half = await run(halves.filter((f) => f.dstIp === '10.0.2.20'), '{ cycles: 1, phases: 0.5 }', '20m', '20m');
  assert.equal(half.status.find((x) => x.conduit === 'scada->field')!.readyAt, T0 + 20 * M);
});
