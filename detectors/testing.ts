/**
 * Synthetic flow records for detector tests, scenarios and benchmarks: a poller that keeps one
 * connection open (`session`, one record per slice with request timing) or opens one connection
 * per poll (`per-poll`, like Lemay's MTU). Deterministic: jitter comes from a seeded generator.
 */
import { parseSite, SiteMap } from '../core/config.ts';
import { flowId, intervals, type FlowRecord } from '../core/records.ts';
import { mulberry32 } from '../ingest/simulate/prng.ts';

export interface PollSpec {
  src: string;
  dst: string;
  dstPort?: number;
  proto?: number;
  l7?: string;
  /** Poll period, ms. */
  everyMs: number;
  /** First poll (epoch ms) and end (exclusive). */
  fromMs: number;
  toMs: number;
  /** 'session': one long connection sliced per `sliceMs`; 'per-poll': a connection per poll. */
  mode?: 'session' | 'per-poll';
  /** Operations per poll; default `{ read_holding_registers: 1 }`; `{}` for no l7 operations. */
  ops?: Record<string, number>;
  units?: number[];
  /** Uniform jitter of each poll time, ± ms. */
  jitterMs?: number;
  seed?: number;
  /** Slice length of session flows; default 60 s. */
  sliceMs?: number;
}

/**
 * The test plant: zones scada (10.0.1.0/24) and field (10.0.2.0/24) with the conduit scada → field
 * declared and, with `corp`, a corp zone (10.0.9.0/24) with none; 60 s windows, 10 s lateness.
 * Readiness is off by default (`{ cycles: 0, phases: 0 }`: ready when the baseline time is over),
 * so a test of another rule need not run a whole production cycle.
 */
export const testSite = ({ cycle = '8h', baseline = '10m', corp = true, readiness = '{ cycles: 0, phases: 0 }' }: { cycle?: string; baseline?: string; corp?: boolean; readiness?: string } = {}): SiteMap =>
  new SiteMap(parseSite(`
site: t
productionCycle: ${cycle}
zones:
  - { name: scada, sl: 2, cidrs: [10.0.1.0/24] }
  - { name: field, sl: 3, cidrs: [10.0.2.0/24] }
${corp ? '  - { name: corp, sl: 1, cidrs: [10.0.9.0/24] }\n' : ''}conduits: [{ from: scada, to: field }]
detection: { window: 60s, allowedLateness: 10s, baseline: ${baseline}, readiness: ${readiness} }
`));

/** A seeded generator (the simulator's mulberry32), so "random" jitter is the same on every run. */
export const seeded = mulberry32;

/** Poll times of a spec, ascending. */
export const pollTimes = (s: PollSpec): number[] => {
  const rnd = seeded(s.seed ?? 1);
  const out: number[] = [];
  for (let t = s.fromMs; t < s.toMs; t += s.everyMs) {
    const j = s.jitterMs ? Math.round((rnd() * 2 - 1) * s.jitterMs) : 0;
    out.push(Math.max(s.fromMs, t + j));
  }
  return out.sort((a, b) => a - b);
};

/** One flow record with sensible defaults. */
export const flow = (p: Partial<FlowRecord> & Pick<FlowRecord, 'srcIp' | 'dstIp' | 'tsStart'>): FlowRecord => ({
  id: flowId('test', p.srcIp, p.srcPort ?? 40_000, p.dstIp, p.dstPort ?? 502, p.tsStart),
  tsEnd: p.tsStart, srcPort: 40_000, dstPort: 502, proto: 6, packets: 1, bytes: 60, packetsRev: 1, bytesRev: 60,
  tcpFlags: 0x1b, exporter: 'test', observationDomain: 0, source: 'sim', ...p,
});

const scaled = (ops: Record<string, number>, n: number): Record<string, number> =>
  Object.fromEntries(Object.entries(ops).map(([k, v]) => [k, v * n]));

/** Flow records of one poller. */
export const polls = (s: PollSpec): FlowRecord[] => {
  const ops = s.ops ?? { read_holding_registers: 1 };
  const base = { srcIp: s.src, dstIp: s.dst, dstPort: s.dstPort ?? 502, proto: s.proto ?? 6, ...(s.l7 === '' ? {} : { l7: s.l7 ?? 'modbus' }) };
  const unitsField = s.units ? { l7Units: [...s.units] } : {};
  const times = pollTimes(s);
  if ((s.mode ?? 'session') === 'per-poll') {
    return times.map((t, i) => flow({
      ...base, ...unitsField, tsStart: t, tsEnd: t + 15, srcPort: 40_000 + (i % 20_000), packets: 4, bytes: 260, packetsRev: 4, bytesRev: 270,
      tcpFlags: 0x1b, l7Ops: scaled(ops, 1),
    }));
  }
  const slice = s.sliceMs ?? 60_000;
  const out: FlowRecord[] = [];
  let i = 0;
  while (i < times.length) {
    const sliceEnd = (Math.floor(times[i]! / slice) + 1) * slice;
    let j = i;
    const iv = intervals.empty();
    while (j < times.length && times[j]! < sliceEnd) {
      if (j > i) intervals.add(iv, times[j]! - times[j - 1]!);
      j += 1;
    }
    const n = j - i;
    out.push(flow({
      ...base, ...unitsField, tsStart: times[i]!, tsEnd: times[j - 1]! + 5, srcPort: 40_000, packets: 2 * n, bytes: 66 * n, packetsRev: 2 * n, bytesRev: 70 * n,
      tcpFlags: i === 0 ? 0x1a : 0x18, l7Ops: scaled(ops, n), ...(iv.count > 0 ? { requestIntervalsMs: iv } : {}),
    }));
    i = j;
  }
  return out;
};

/** Merges flow lists into event-time order (ties broken by edge, for determinism). */
export const mergeFlows = (...lists: FlowRecord[][]): FlowRecord[] =>
  lists.flat().sort((a, b) => a.tsStart - b.tsStart || (a.srcIp < b.srcIp ? -1 : a.srcIp > b.srcIp ? 1 : 0)
    || (a.dstIp < b.dstIp ? -1 : a.dstIp > b.dstIp ? 1 : 0) || a.dstPort - b.dstPort || a.srcPort - b.srcPort);
