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
const gc = runInNewContext('gc') as () => void;

const RUNS: [number, number][] = process.argv[2] ? [[Number(process.argv[2]), Number(process.argv[3] ?? 30)]] : [[10_000, 30], [100_000, 10]];
const T0 = Date.parse('2025-01-06T00:00:00Z');
const siteMap = testSite({ baseline: '2h', corp: false });

/**
 * The synthetic plant: one session slice per edge and window. 50 initiators (10.0.1.0–49) poll
 * 200 PLCs (10.0.2.0–199) on ports 502, 503, …: 10 000 edges use 4 ports, 100 000 use 40. The
 * records are made once and rewritten for each window (times, flags, counts, cadence and fresh
 * address strings, as a decoder would hand them over), so the input makes no garbage of its own
 * that the engine's time would pay for.
 */
const plant = (edges: number): FlowRecord[] => Array.from({ length: edges }, (_, j) => ({
  id: `bench-${j}`, tsStart: 0, tsEnd: 0, srcIp: '', srcPort: 40000, dstIp: '', dstPort: 502 + Math.floor(j / 2500), proto: 6,
  packets: 120, bytes: 7920, packetsRev: 120, bytesRev: 8400, tcpFlags: 0, exporter: 'b', observationDomain: 0, source: 'sim', l7: 'modbus',
  l7Ops: { read_holding_registers: 0 }, l7Units: [1], requestIntervalsMs: { count: 59, mean: 0, m2: 59 * 64, min: 980, max: 1020 },
}));

/** Window `w` of the plant, written into its records. */
const windowFlows = (batch: FlowRecord[], w: number): FlowRecord[] => {
  for (let j = 0; j < batch.length; j += 1) {
    const f = batch[j]!;
    const ts = T0 + w * 60_000 + (j % 997);
    f.tsStart = ts;
    f.tsEnd = ts + 59_000;
    f.srcIp = `10.0.1.${j % 50}`;
    f.dstIp = `10.0.2.${Math.floor(j / 50) % 200}`;
    f.tcpFlags = w === 0 ? 0x1a : 0x18;
    f.l7Ops!.read_holding_registers = 60 - ((w + j) % 2);
    f.requestIntervalsMs!.mean = 1000 + ((w * 7 + j) % 11) - 5;
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
  const input = plant(EDGES);
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
    perWindow.push(c * 1000);
    scores += r.scores.length;
    alerts += r.alerts.length;
  };
  for (let w = 0; w < WINDOWS; w += 1) {
    const batch = windowFlows(input, w);
    timed(() => e!.ingest(batch));
  }
  timed(() => e!.flush());
  const after = memory();
  const snapshotBytes = JSON.stringify(e.snapshot()).length;
  e = undefined;
  const steady = perWindow.slice(Math.ceil(WINDOWS / 2), WINDOWS);
  const steadyCalls = steady.length;
  const steadyMs = steady.reduce((a, b) => a + b, 0);
  const heapPerEdge = (after.heap - before.heap) / EDGES;
  const buffersPerEdge = (after.buffers - before.buffers) / EDGES;
  console.log(JSON.stringify({
    edges: EDGES, windows: WINDOWS, edgeWindows: EDGES * WINDOWS,
    cpuSec: +cpu.toFixed(3), wallSec: +wall.toFixed(3),
    edgeWindowsPerCpuSec: Math.round((EDGES * WINDOWS) / cpu), edgeWindowsPerSec: Math.round((EDGES * WINDOWS) / wall),
    scores, alerts,
    heapBytesPerEdge: Math.round(heapPerEdge), columnBytesPerEdge: Math.round(buffersPerEdge), totalBytesPerEdge: Math.round(heapPerEdge + buffersPerEdge),
    snapshotBytes, snapshotBytesPerEdge: Math.round(snapshotBytes / EDGES),
    // Past the start-up windows (the second half of the calls): what a long-running engine does per CPU-second.
    steadyEdgeWindowsPerCpuSec: Math.round((EDGES * steadyCalls) / (steadyMs / 1000)),
    ...(process.env.BENCH_WINDOWS ? { cpuMsPerCall: perWindow.map((x) => Math.round(x)) } : {}),
    load: loadavg().map((x) => +x.toFixed(2)),
  }));
};

for (const [edges, windows] of RUNS) await bench(edges, windows);
