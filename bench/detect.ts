/**
 * bench/detect: windows scored per second and state bytes per edge, for N edges × M windows of
 * synthetic Modbus polling, all detectors.
 *   node --import tsx bench/detect.ts                  → 10 000 edges × 30 windows, then 100 000 × 3
 *   node --import tsx bench/detect.ts <edges> <windows>
 */
import { testSite } from '../detectors/testing.ts';
import type { FlowRecord } from '../core/records.ts';
import { createEngine } from '../cli/registry.ts';

const RUNS: [number, number][] = process.argv[2] ? [[Number(process.argv[2]), Number(process.argv[3] ?? 30)]] : [[10_000, 30], [100_000, 3]];
const T0 = Date.parse('2025-01-06T00:00:00Z');
const siteMap = testSite({ baseline: '2h', corp: false });
const bench = async (EDGES: number, WINDOWS: number): Promise<void> => {
const e = await createEngine(siteMap);
let scores = 0, alerts = 0, records = 0;
const t = process.hrtime.bigint();
for (let w = 0; w < WINDOWS; w++) {
  const batch: FlowRecord[] = [];
  for (let j = 0; j < EDGES; j++) {
    const ts = T0 + w * 60_000 + (j % 997);
    batch.push({ tsStart: ts, tsEnd: ts + 59_000, srcIp: `10.0.1.${j % 50}`, srcPort: 40000, dstIp: `10.0.2.${Math.floor(j / 50)}`, dstPort: 502 + Math.floor(j / 2500), proto: 6,
      packets: 120, bytes: 7920, packetsRev: 120, bytesRev: 8400, tcpFlags: w === 0 ? 0x1a : 0x18, exporter: 'b', observationDomain: 0, source: 'sim', l7: 'modbus',
      l7Ops: { read_holding_registers: 60 - (w + j) % 2 }, l7Units: [1], requestIntervalsMs: { count: 59, mean: 1000 + ((w * 7 + j) % 11) - 5, m2: 59 * 64, min: 980, max: 1020 } });
  }
  records += batch.length;
  const r = e.ingest(batch);
  scores += r.scores.length; alerts += r.alerts.length;
}
const r = e.flush(); scores += r.scores.length; alerts += r.alerts.length;
const sec = Number(process.hrtime.bigint() - t) / 1e9;
const snap = JSON.stringify(e.snapshot());
console.log(JSON.stringify({ edges: EDGES, windows: WINDOWS, records, sec: +sec.toFixed(2), edgeWindowsPerSec: Math.round(EDGES * WINDOWS / sec), scoresPerSec: Math.round(scores / sec), scores, alerts, snapshotBytes: snap.length, stateBytesPerEdge: Math.round(snap.length / EDGES), heapMB: Math.round(process.memoryUsage().heapUsed / 1e6) }));
};
for (const [edges, windows] of RUNS) await bench(edges, windows);
