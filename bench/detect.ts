/**
 * bench/detect: the detection engine on N edges × M windows of synthetic Modbus polling (one
 * session slice per edge and window, all detectors, one conduit), timed in CPU seconds of the
 * engine alone (`ingest` + `flush`; building the flow records is not counted), beside wall time.
 * Memory after a forced GC, per edge: the JS heap the engine holds and the typed-array columns
 * (ArrayBuffers, outside the heap), beside the size of its JSON snapshot.
 *
 *   node --import tsx bench/detect.ts                  → 10 000 edges × 30 windows, then 100 000 × 10
 *   node --import tsx bench/detect.ts <edges> <windows>
 */
import { loadavg } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createEngine } from '../cli/registry.ts';
import type { FlowRecord } from '../core/records.ts';
import type { DetectionEngine } from '../detectors/engine.ts';
import { testSite } from '../detectors/testing.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as (o?: { type: 'minor' | 'major' }) => void;
const minorGc = (): void => gc({ type: 'minor' });

const RUNS: [number, number][] = process.argv[2] ? [[Number(process.argv[2]), Number(process.argv[3] ?? 30)]] : [[10_000, 30], [100_000, 10]];
const T0 = Date.parse('2025-01-06T00:00:00Z');
const siteMap = testSite({ baseline: '2h', corp: false });

/**
 * Window `w` of the synthetic plant: one session slice per edge. 50 initiators (10.0.1.0–49) poll
 * 200 PLCs (10.0.2.0–199) on ports 502, 503, …: 10 000 edges use 4 ports, 100 000 use 40.
 */
const windowFlows = (edges: number, w: number): FlowRecord[] => {
  const batch: FlowRecord[] = [];
  for (let j = 0; j < edges; j += 1) {
    const ts = T0 + w * 60_000 + (j % 997);
    batch.push({
      tsStart: ts, tsEnd: ts + 59_000, srcIp: `10.0.1.${j % 50}`, srcPort: 40000, dstIp: `10.0.2.${Math.floor(j / 50) % 200}`, dstPort: 502 + Math.floor(j / 2500), proto: 6,
      packets: 120, bytes: 7920, packetsRev: 120, bytesRev: 8400, tcpFlags: w === 0 ? 0x1a : 0x18, exporter: 'b', observationDomain: 0, source: 'sim', l7: 'modbus',
      l7Ops: { read_holding_registers: 60 - ((w + j) % 2) }, l7Units: [1], requestIntervalsMs: { count: 59, mean: 1000 + ((w * 7 + j) % 11) - 5, m2: 59 * 64, min: 980, max: 1020 },
    });
  }
  return batch;
};

const cpuSeconds = (u: NodeJS.CpuUsage): number => (u.user + u.system) / 1e6;

const memory = (): { heap: number; buffers: number } => {
  gc();
  gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, buffers: m.arrayBuffers };
};

const bench = async (EDGES: number, WINDOWS: number): Promise<void> => {
  const before = memory();
  let e: DetectionEngine | undefined = await createEngine(siteMap);
  let scores = 0;
  let alerts = 0;
  let cpu = 0;
  let wall = 0;
  const perWindow: number[] = [];
  const timed = (f: () => { scores: unknown[]; alerts: unknown[] }): void => {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const r = f();
    wall += Number(process.hrtime.bigint() - t0) / 1e9;
    const c = cpuSeconds(process.cpuUsage(c0));
    cpu += c;
    perWindow.push(Math.round(c * 1000));
    scores += r.scores.length;
    alerts += r.alerts.length;
  };
  // The batch lives in this function's frame only, so none of it is counted as the engine's memory.
  const step = (w: number): void => {
    const batch = windowFlows(EDGES, w);
    // Two scavenges move the input out of the young generation, so the engine's own collections do
    // not copy it (a decoder's records would be tenured or gone the same way in a pipeline).
    minorGc();
    minorGc();
    timed(() => e!.ingest(batch));
  };
  for (let w = 0; w < WINDOWS; w += 1) step(w);
  timed(() => e!.flush());
  const after = memory();
  const snapshotBytes = JSON.stringify(e.snapshot()).length;
  e = undefined;
  const heapPerEdge = (after.heap - before.heap) / EDGES;
  const buffersPerEdge = (after.buffers - before.buffers) / EDGES;
  console.log(JSON.stringify({
    edges: EDGES, windows: WINDOWS, edgeWindows: EDGES * WINDOWS,
    cpuSec: +cpu.toFixed(3), wallSec: +wall.toFixed(3),
    edgeWindowsPerCpuSec: Math.round((EDGES * WINDOWS) / cpu), edgeWindowsPerSec: Math.round((EDGES * WINDOWS) / wall),
    scores, alerts,
    heapBytesPerEdge: Math.round(heapPerEdge), columnBytesPerEdge: Math.round(buffersPerEdge), totalBytesPerEdge: Math.round(heapPerEdge + buffersPerEdge),
    snapshotBytes, snapshotBytesPerEdge: Math.round(snapshotBytes / EDGES),
    ...(process.env.BENCH_WINDOWS ? { cpuMsPerCall: perWindow } : {}),
    load: loadavg().map((x) => +x.toFixed(2)),
  }));
};

for (const [edges, windows] of RUNS) await bench(edges, windows);
