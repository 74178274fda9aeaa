/**
 * bench/detect: the detection engine on N edges × M windows of synthetic Modbus polling (one
 * session slice per edge and window, all detectors, one conduit), timed in CPU seconds of the
 * engine alone (`ingest` + `flush`; building the flow records is not counted), beside wall time.
 * Memory after a forced GC, per edge: the JS heap the engine holds and the typed-array columns
 * (ArrayBuffers, outside the heap), beside the size of its JSON snapshot. Beside them, in the same
 * run, the ceiling: the same per-edge statistics of the same records in one fused typed-array loop
 * (`ceiling`, `ceilingEdgeWindowsPerCpuSec`).
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

/**
 * The ceiling: the detectors' per-edge statistics of the same windows in one fused loop over
 * typed arrays, the edge index given (edge j = record j: no address interning, no edge lookup, no
 * window columns, no records out). Per edge-window: the counters of the record (requests over
 * its ops, flows, packets and bytes both ways); rate's Welford moments of requests and flows, its
 * 12-bucket profile, the z against the most lenient of bucket ± 1 and the score; cadence's merge
 * of the request intervals, its z of period and jitter and learning; size's three envelopes
 * (bytes per packet each way, bytes per request) with their z; silence's answered count and the
 * longest gap against the learned maximum; novelty's op and unit check against the learned ones.
 * What the engine adds on top is its own cost: resolving edges, windows, six detectors' passes,
 * the series rows.
 */
const ceiling = (input: FlowRecord[], WINDOWS: number): { cpuSec: number; sink: number } => {
  const E = input.length;
  const B = 12;
  const col = (n = E): Float64Array => new Float64Array(n);
  const rN = col(); const rMean = col(); const rM2 = col(); const fN = col(); const fMean = col(); const fM2 = col();
  const pN = col(E * B); const pMean = col(E * B); const pM2 = col(E * B);
  const cN = col(); const cMean = col(); const cM2 = col();
  const sN = col(E * 3); const sMean = col(E * 3); const sM2 = col(E * 3); const sMin = col(E * 3); const sMax = col(E * 3);
  const answered = col(); const lastEnd = col(); const gapMax = col();
  const ops = new Int32Array(E).fill(-1); const units = new Float64Array(E).fill(NaN);
  const x = new Float64Array(3);
  let sink = 0;
  let cpu = 0;
  const score = (z: number): number => (z > 0 ? Math.round((1 - Math.exp(-((z / 3.9412) ** 2))) * 1e4) / 1e4 : 0);
  for (let w = 0; w < WINDOWS; w += 1) {
    const batch = windowFlows(input, w);
    const c0 = process.cpuUsage();
    const bucket = w % B;
    for (let e = 0; e < E; e += 1) {
      const f = batch[e]!;
      let req = 0;
      let op = -1;
      const o = f.l7Ops;
      if (o) for (const k in o) { req += o[k]!; op = k.length; }
      // rate
      let z = 0;
      if (rN[e]! >= 5) {
        let best = Infinity;
        for (let d = -1; d <= 1; d += 1) {
          const i = e * B + ((bucket + d + B) % B);
          if (pN[i]! < 3) continue;
          const sd = Math.max(pN[i]! > 1 ? Math.sqrt(pM2[i]! / (pN[i]! - 1)) : 0, 0.1 * pMean[i]!, 1);
          best = Math.min(best, Math.abs(req - pMean[i]!) / sd);
        }
        z = best === Infinity ? Math.abs(req - rMean[e]!) / Math.max(Math.sqrt(rM2[e]! / (rN[e]! - 1)), 0.1 * rMean[e]!, 1) : best;
      }
      sink += score(z);
      rN[e] = rN[e]! + 1; let dd = req - rMean[e]!; rMean[e] = rMean[e]! + dd / rN[e]!; rM2[e] = rM2[e]! + dd * (req - rMean[e]!);
      fN[e] = fN[e]! + 1; dd = 1 - fMean[e]!; fMean[e] = fMean[e]! + dd / fN[e]!; fM2[e] = fM2[e]! + dd * (1 - fMean[e]!);
      const pi = e * B + bucket;
      pN[pi] = pN[pi]! + 1; dd = req - pMean[pi]!; pMean[pi] = pMean[pi]! + dd / pN[pi]!; pM2[pi] = pM2[pi]! + dd * (req - pMean[pi]!);
      // cadence
      const ri = f.requestIntervalsMs!;
      if (cN[e]! >= 10) {
        const jb = Math.sqrt(cM2[e]! / (cN[e]! - 1));
        const eff = Math.max(jb, 0.05 * cMean[e]!, 5);
        const js = ri.count > 1 ? Math.sqrt(ri.m2 / (ri.count - 1)) : 0;
        sink += score(Math.max(Math.abs(ri.mean - cMean[e]!) / eff, ri.count > 2 && js > eff ? 2.5 * Math.log2(js / eff) : 0));
      }
      const n1 = cN[e]! + ri.count; const d1 = ri.mean - cMean[e]!;
      cM2[e] = cM2[e]! + ri.m2 + (d1 * d1 * cN[e]! * ri.count) / n1; cMean[e] = cMean[e]! + (d1 * ri.count) / n1; cN[e] = n1;
      // size
      x[0] = f.bytes / f.packets; x[1] = f.bytesRev / f.packetsRev; x[2] = f.bytes / req;
      let sz = 0;
      for (let c = 0; c < 3; c += 1) {
        const i = e * 3 + c;
        const v = x[c]!;
        if (sN[i]! >= 5) {
          const out = v > sMax[i]! ? v - sMax[i]! : v < sMin[i]! ? sMin[i]! - v : 0;
          sz = Math.max(sz, out / Math.max(Math.sqrt(sM2[i]! / (sN[i]! - 1)), 0.05 * sMean[i]!, 1));
        }
        if (sN[i] === 0) { sMin[i] = v; sMax[i] = v; }
        sN[i] = sN[i]! + 1; dd = v - sMean[i]!; sMean[i] = sMean[i]! + dd / sN[i]!; sM2[i] = sM2[i]! + dd * (v - sMean[i]!);
        sMin[i] = Math.min(sMin[i]!, v); sMax[i] = Math.max(sMax[i]!, v);
      }
      sink += score(sz);
      // silence
      if (f.packetsRev > 0) answered[e] = answered[e]! + 1;
      const gap = lastEnd[e]! > 0 ? Math.max(0, f.tsStart - lastEnd[e]!, ri.max) : ri.max;
      if (gapMax[e]! > 0 && gap > gapMax[e]!) sink += score(3 * Math.log2(gap / gapMax[e]!));
      gapMax[e] = Math.max(gapMax[e]!, gap);
      lastEnd[e] = f.tsEnd;
      // novelty
      const u = f.l7Units![0]!;
      if (ops[e] !== op || units[e] !== u) { sink += ops[e] === -1 ? 0 : 1; ops[e] = op; units[e] = u; }
    }
    cpu += cpuSeconds(process.cpuUsage(c0));
  }
  return { cpuSec: cpu, sink };
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
  const bare = ceiling(plant(EDGES), WINDOWS);
  console.log(JSON.stringify({
    edges: EDGES, windows: WINDOWS, edgeWindows: EDGES * WINDOWS,
    cpuSec: +cpu.toFixed(3), wallSec: +wall.toFixed(3),
    edgeWindowsPerCpuSec: Math.round((EDGES * WINDOWS) / cpu), edgeWindowsPerSec: Math.round((EDGES * WINDOWS) / wall),
    scores, alerts,
    heapBytesPerEdge: Math.round(heapPerEdge), columnBytesPerEdge: Math.round(buffersPerEdge), totalBytesPerEdge: Math.round(heapPerEdge + buffersPerEdge),
    snapshotBytes, snapshotBytesPerEdge: Math.round(snapshotBytes / EDGES),
    // Past the start-up windows (the second half of the calls): what a long-running engine does per CPU-second.
    steadyEdgeWindowsPerCpuSec: Math.round((EDGES * steadyCalls) / (steadyMs / 1000)),
    // The fused typed-array loop over the same records (see `ceiling`), in this run.
    ceilingEdgeWindowsPerCpuSec: Math.round((EDGES * WINDOWS) / bare.cpuSec), ceilingCpuSec: +bare.cpuSec.toFixed(3),
    ...(process.env.BENCH_WINDOWS ? { cpuMsPerCall: perWindow.map((x) => Math.round(x)) } : {}),
    load: loadavg().map((x) => +x.toFixed(2)),
  }));
};

for (const [edges, windows] of RUNS) await bench(edges, windows);
