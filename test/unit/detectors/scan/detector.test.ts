import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FlowRecord } from '../../../../core/records.ts';
import { createEngine } from '../../../../cli/registry.ts';
import { createScan } from '../../../../detectors/scan/detector.ts';
import { flow, mergeFlows, polls, testSite } from '../../../../detectors/testing.ts';
import { conduitWindow, ctxFor, Harness } from '../helpers.ts';

const T0 = Date.parse('2025-01-06T00:00:00Z');
const M = 60_000;
const PORTS = [502, 102, 44818, 20000, 2404, 4840];
/** A SYN probe of every host × port, one every 200 ms from `fromMs`. */
const scan = (src: string, fromMs: number): FlowRecord[] =>
  Array.from({ length: 8 }, (_, h) => PORTS.map((p, i) => flow({
    srcIp: src, dstIp: `10.0.2.${101 + h}`, dstPort: p, tsStart: fromMs + (h * PORTS.length + i) * 200, tcpFlags: 0x02, packets: 1, bytes: 60, packetsRev: 1, bytesRev: 54,
  }))).flat();

test('scan reports a source reaching 48 destinations as one finding that lists them, and a narrow source not at all', async () => {
  const w = conduitWindow(0, [...scan('10.0.9.50', 1_000), flow({ srcIp: '10.0.1.10', dstIp: '10.0.2.101', tsStart: 5_000 })], 60_000, 'corp->field');
  const findings = new Harness(createScan()).score(w, ctxFor(w, { declared: false }));
  assert.equal(findings.length, 1);
  const f = findings[0]!;
  assert.equal(f.edge, '10.0.9.50>*/6/0/scan');
  assert.equal(f.score, 1);
  assert.deepEqual([f.features.destinations, f.features.new_destinations, f.features.hosts, f.features.ports], [48, 48, 8, 6]);
  assert.match(f.explanation, /^scan\/fan-out: 10\.0\.9\.50 reached 48 destinations \(8 hosts × 6 ports: 102, 502, 2404, 4840, 20000, 44818\) this window, 48 never reached before; no fan-out learned for this source \(z 30\); undeclared conduit corp->field/);
  assert.equal(f.alertWhileLearning, true);
});

test('scan judges a learned wide source against its own fan-out: steady is quiet, three times wider alerts', async () => {
  const h = new Harness(createScan());
  const hmi = (i: number, hosts: number) => conduitWindow(i * M, Array.from({ length: hosts }, (_, h) => flow({ srcIp: '10.0.1.10', dstIp: `10.0.2.${h + 1}`, tsStart: i * M + h })));
  for (let i = 0; i < 10; i += 1) h.score(hmi(i, 8), ctxFor(hmi(i, 8), { learning: true }));
  const quiet = h.score(hmi(10, 8));
  assert.equal(quiet[0]!.score, 0);
  const wide = h.score(hmi(11, 24));
  assert.ok(wide[0]!.score >= 0.99, wide[0]!.explanation);
  assert.match(wide[0]!.explanation, /reached 24 destinations .* 16 never reached before; expected 8 ± 0 per window/);
});

test('the engine raises one alert for a scan of an undeclared conduit, not one per probed edge', async () => {
  const site = testSite({ cycle: '1h' });
  const e = await createEngine(site);
  const flows = mergeFlows(polls({ src: '10.0.1.10', dst: '10.0.2.101', everyMs: 1_000, fromMs: T0, toMs: T0 + 20 * M }), scan('10.0.9.50', T0 + 15 * M + 1_000));
  const alerts = [...e.ingest(flows).alerts, ...e.flush().alerts];
  assert.deepEqual(alerts.map((a) => `${a.detector} ${a.src}>${a.dst} ${(a.tsStart - T0) / M}`), ['scan 10.0.9.50>* 15']);
  assert.match(alerts[0]!.explanation, /undeclared conduit corp->field/);
});
