/**
 * A conduit's stored baseline, read back by SQL: which runs to read, whether the baseline is ready
 * (the readiness gate), and the allow-list rule it gives. Everything comes from the store's
 * `flows`, `windows` and `alerts` tables (names from store/schema.ts), never from process memory,
 * so the answer survives restarts and is the same on a deployment's ClickHouse as on a replay's chDB.
 *
 * Runs: every stored row carries `run_id`; a store may hold several replays of the same capture,
 * and counting them together would count each flow twice. {@link resolveRuns} picks the runs:
 * by default the newest run (by processing time written, `observed_at`) that holds flows of the
 * conduit; or the run ids given (`--run id[,id…]`), each checked to exist.
 *
 * Cycles are production cycles (`site.productionCycle`) aligned to the epoch, as the detectors
 * align their phases: cycle k is [k·C, (k+1)·C). A cycle is *fully covered* when the `windows`
 * table holds a scored window of the conduit for each of its ⌊C / detection.window⌋ windows.
 * Phases are the detectors' 12 calendar cells of a cycle (detectors/readiness.ts `PHASE_BUCKETS`),
 * taken at each flow's window start; a phase is *seen* when it held at least one flow of the conduit.
 */
import { SiteMap, type Site } from '../core/config.ts';
import { PipelineError } from '../core/errors.ts';
import { PHASE_BUCKETS } from '../detectors/readiness.ts';
import { tables } from '../store/schema.ts';
import type { Store } from '../store/store.ts';
import { isOpOf, knownProtocol } from './ops.ts';
import { entryOrder, RULE_KIND, RULE_SCHEMA, type Evidence, type OpEntry, type Rule, type RuleEntry } from './rules.ts';

const F = tables.flows.columns;
const W = tables.windows.columns;
const A = tables.alerts.columns;

/** A ClickHouse string literal. */
export const sqlString = (s: string): string => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
/** `IN (…)` list of string literals. */
export const sqlList = (xs: readonly string[]): string => `(${xs.map(sqlString).join(', ')})`;
/** Epoch ms of a DateTime64(3) column. */
export const msOf = (col: string): string => `toUnixTimestamp64Milli(${col})`;

const iso = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');

/** One run that holds flows of a conduit. */
export interface StoredRun {
  runId: string;
  flows: number;
  /** Event time range of its flows of the conduit, epoch ms. */
  from: number;
  to: number;
  /** Newest processing time it wrote, epoch ms. */
  writtenAt: number;
}

/** Runs holding flows of `conduit`, newest first (by `observed_at`, then run id). */
export const storedRuns = async (store: Pick<Store, 'query'>, conduit: string): Promise<StoredRun[]> => {
  const rows = await store.query<{ run: string; n: string; from: string; to: string; written: string }>(
    `SELECT ${F.runId} AS run, count() AS n, ${msOf(`min(${F.tsStart})`)} AS from, ${msOf(`max(${F.tsEnd})`)} AS to, ${msOf(`max(${F.observedAt})`)} AS written
     FROM ${tables.flows.name} WHERE ${F.conduit} = ${sqlString(conduit)} GROUP BY run ORDER BY written DESC, run DESC`);
  return rows.map((r) => ({ runId: r.run, flows: Number(r.n), from: Number(r.from), to: Number(r.to), writtenAt: Number(r.written) }));
};

/**
 * The runs a command reads for `conduit`: `spec` undefined or 'latest' → the newest run holding it;
 * otherwise a comma-separated list of run ids. Throws `input_invalid` when the store holds no flow
 * of the conduit, or a named run does not hold it (the message lists the runs that do).
 */
export const resolveRuns = async (store: Pick<Store, 'query'>, conduit: string, spec?: string): Promise<string[]> => {
  const runs = await storedRuns(store, conduit);
  const list = () => runs.slice(0, 10).map((r) => `${r.runId} (${r.flows} flows, ${iso(r.from)} → ${iso(r.to)})`).join('; ');
  if (runs.length === 0) {
    throw new PipelineError('input_invalid', `The store holds no flows of conduit ${conduit}: replay a capture of it first ` +
      `(conduitwatch replay … --site site.yaml --data DIR), or check --data and --conduit.`, { conduit });
  }
  if (spec === undefined || spec === '' || spec === 'latest') return [runs[0]!.runId];
  const wanted = [...new Set(spec.split(',').map((s) => s.trim()).filter(Boolean))].sort();
  const known = new Set(runs.map((r) => r.runId));
  const missing = wanted.filter((w) => !known.has(w));
  if (missing.length) {
    throw new PipelineError('input_invalid', `--run ${missing.join(',')}: no flows of conduit ${conduit} in that run. Runs that hold it, newest first: ${list()}.`, { conduit, missing });
  }
  return wanted;
};

/** The readiness gate's verdict for one conduit. */
export interface Readiness {
  conduit: string;
  ready: boolean;
  runs: string[];
  flows: number;
  /** Event time of the first stored flow and the end of the last, epoch ms. */
  from: number;
  to: number;
  productionCycleMs: number;
  minCycles: number;
  /** Fully covered cycles (see the module comment). */
  fullCycles: number;
  phases: number;
  /** Phases (1-based) that held flows. */
  phasesSeen: number[];
  /** Phases (1-based) never seen. */
  phasesMissing: number[];
  /** When not ready for lack of cycles: the end of the cycle that would complete `minCycles`, if observation goes on. */
  nextFullCycleEnd: number | null;
  /** Why it is not ready, one sentence each; empty when ready. */
  reasons: string[];
}

/** '7–9, 11' from [7, 8, 9, 11]. */
export const ranges = (xs: readonly number[]): string => {
  const out: string[] = [];
  for (let i = 0; i < xs.length;) {
    let j = i;
    while (j + 1 < xs.length && xs[j + 1] === xs[j]! + 1) j++;
    out.push(i === j ? `${xs[i]}` : `${xs[i]}–${xs[j]}`);
    i = j + 1;
  }
  return out.join(', ');
};

const runFilter = (runs: readonly string[]) => `${F.runId} IN ${sqlList(runs)}`;

/**
 * The readiness gate, from what is stored: the conduit's baseline must cover `enforce.minCycles`
 * full production cycles and every phase of the cycle must have been seen.
 */
export const readiness = async (store: Pick<Store, 'query'>, site: Site, conduit: string, runs: readonly string[]): Promise<Readiness> => {
  const C = site.productionCycle;
  const Wms = site.detection.window;
  const minCycles = site.enforce.minCycles;
  const where = `${F.conduit} = ${sqlString(conduit)} AND ${runFilter(runs)}`;
  const [sum] = await store.query<{ n: string; from: string; to: string; phases: number[] }>(
    `SELECT count() AS n, ${msOf(`min(${F.tsStart})`)} AS from, ${msOf(`max(${F.tsEnd})`)} AS to,
       arraySort(groupUniqArray(toUInt32(intDiv(intDiv(${msOf(F.tsStart)}, ${Wms}) * ${Wms} % ${C} * ${PHASE_BUCKETS}, ${C})))) AS phases
     FROM ${tables.flows.name} WHERE ${where}`);
  const cycles = await store.query<{ k: string; w: string }>(
    `SELECT intDiv(${msOf(W.windowStart)}, ${C}) AS k, uniqExact(${W.windowStart}) AS w
     FROM ${tables.windows.name} WHERE ${W.conduit} = ${sqlString(conduit)} AND ${W.runId} IN ${sqlList(runs)} GROUP BY k ORDER BY k`);
  const perCycle = Math.max(1, Math.floor(C / Wms));
  const full = cycles.filter((c) => Number(c.w) >= perCycle).length;
  const phasesSeen = [...new Set((sum?.phases ?? []).map((p) => Math.min(PHASE_BUCKETS - 1, Number(p)) + 1))].sort((a, b) => a - b);
  const phasesMissing = Array.from({ length: PHASE_BUCKETS }, (_, i) => i + 1).filter((p) => !phasesSeen.includes(p));
  const reasons: string[] = [];
  let nextFullCycleEnd: number | null = null;
  if (full < minCycles) {
    const last = cycles.at(-1);
    if (last) {
      const k = Number(last.k);
      const need = minCycles - full;
      nextFullCycleEnd = (Number(last.w) >= perCycle ? k + 1 + need : k + need) * C;
    }
    reasons.push(`${full} of ${minCycles} production cycles covered (enforce.minCycles; a cycle counts when all its ${perCycle} windows were scored)` +
      (nextFullCycleEnd !== null ? `; cycle ${minCycles} ends ${iso(nextFullCycleEnd)} if observation goes on` : ''));
  }
  if (phasesMissing.length) reasons.push(`phases ${ranges(phasesMissing)} of ${PHASE_BUCKETS} never seen (each phase is 1/${PHASE_BUCKETS} of the ${C / 60_000}-minute cycle)`);
  return {
    conduit, ready: reasons.length === 0, runs: [...runs], flows: Number(sum?.n ?? 0), from: Number(sum?.from ?? 0), to: Number(sum?.to ?? 0),
    productionCycleMs: C, minCycles, fullCycles: full, phases: PHASE_BUCKETS, phasesSeen, phasesMissing, nextFullCycleEnd, reasons,
  };
};

interface EdgeRow { src: string; dst: string; proto: number; port: number; l7s: string[]; n: string; cycles: string; first: string; last: string }
interface OpRow { src: string; dst: string; proto: number; port: number; op: string; n: string; cycles: string; first: string; last: string }
interface AlertRow { id: string; from: string; to: string; detector: string; explanation: string }

/** An alert interval [from, to) on the conduit. */
export interface AlertSpan { id: string; from: number; to: number; detector: string; explanation: string }

/** The conduit's alerts in the runs, by start time (FINAL: a retried write counts once). */
export const alertSpans = async (store: Pick<Store, 'query'>, conduit: string, runs: readonly string[]): Promise<AlertSpan[]> => {
  const rows = await store.query<AlertRow>(
    `SELECT ${A.id} AS id, ${msOf(A.tsStart)} AS from, ${msOf(A.tsEnd)} AS to, ${A.detector} AS detector, ${A.explanation} AS explanation
     FROM ${tables.alerts.name} FINAL WHERE ${A.conduit} = ${sqlString(conduit)} AND ${A.runId} IN ${sqlList(runs)}
     ORDER BY from, id`);
  return rows.map((r) => ({ id: r.id, from: Number(r.from), to: Number(r.to), detector: r.detector, explanation: r.explanation }));
};

/** The first alert open at `t` (from ≤ t < to), if any. */
export const openAlertAt = (spans: readonly AlertSpan[], t: number): AlertSpan | undefined => spans.find((s) => s.from <= t && t < s.to);

const evidenceOf = (r: { n: string; cycles: string; first: string; last: string }, spans: readonly AlertSpan[]): Evidence => {
  const firstSeen = Number(r.first);
  return { cycles: Number(r.cycles), firstSeen, lastSeen: Number(r.last), flows: Number(r.n), firstSeenInAlert: openAlertAt(spans, firstSeen)?.id ?? '' };
};

const heldReasons = (ev: Evidence, minCycles: number, spans: readonly AlertSpan[]): string[] => {
  const out: string[] = [];
  if (ev.cycles < minCycles) out.push(`seen in ${ev.cycles} of the ${minCycles} production cycles needed (enforce.minCycles)`);
  if (ev.firstSeenInAlert) {
    const a = spans.find((s) => s.id === ev.firstSeenInAlert)!;
    out.push(`first seen ${iso(ev.firstSeen)} while alert ${a.id} (${a.detector}) was open on the conduit: ${a.explanation.slice(0, 160)}`);
  }
  return out;
};

/**
 * Learns the allow-list rule of `conduit` from its stored flows in `runs`: one entry per edge
 * (src address, dst address, proto, dst port) with the edge's L7 protocol and, for a protocol whose
 * ops the dissectors name, one op entry per operation the initiator sent. An entry or op seen in
 * fewer than `enforce.minCycles` cycles, or first seen while an alert on the conduit was open, is
 * held. Pure reads; deterministic for the same store, site and runs.
 */
export const learnRule = async (store: Pick<Store, 'query'>, site: Site, conduit: string, runs: readonly string[], ready?: Readiness): Promise<Rule> => {
  const C = site.productionCycle;
  const minCycles = site.enforce.minCycles;
  const r = ready ?? await readiness(store, site, conduit, runs);
  const where = `${F.conduit} = ${sqlString(conduit)} AND ${runFilter(runs)}`;
  const cyc = `uniqExact(intDiv(${msOf(F.tsStart)}, ${C}))`;
  const edges = await store.query<EdgeRow>(
    `SELECT ${F.srcIp} AS src, ${F.dstIp} AS dst, ${F.proto} AS proto, ${F.dstPort} AS port, arraySort(groupUniqArrayIf(toString(${F.l7}), ${F.l7} != '')) AS l7s,
       count() AS n, ${cyc} AS cycles, ${msOf(`min(${F.tsStart})`)} AS first, ${msOf(`max(${F.tsEnd})`)} AS last
     FROM ${tables.flows.name} WHERE ${where} GROUP BY src, dst, proto, port ORDER BY src, dst, proto, port`);
  const ops = await store.query<OpRow>(
    `SELECT ${F.srcIp} AS src, ${F.dstIp} AS dst, ${F.proto} AS proto, ${F.dstPort} AS port, op,
       count() AS n, ${cyc} AS cycles, ${msOf(`min(${F.tsStart})`)} AS first, ${msOf(`max(${F.tsEnd})`)} AS last
     FROM ${tables.flows.name} ARRAY JOIN mapKeys(${F.l7Ops}) AS op WHERE ${where} GROUP BY src, dst, proto, port, op ORDER BY src, dst, proto, port, op`);
  const spans = await alertSpans(store, conduit, runs);
  const opsByEdge = new Map<string, OpRow[]>();
  for (const o of ops) {
    const k = `${o.src}>${o.dst}/${o.proto}/${o.port}`;
    const list = opsByEdge.get(k) ?? [];
    list.push(o);
    opsByEdge.set(k, list);
  }
  const map = new SiteMap(site);
  const [from, to] = conduit.split('->') as [string, string];
  const entries: RuleEntry[] = edges.map((e): RuleEntry => {
    const evidence = evidenceOf(e, spans);
    const held = heldReasons(evidence, minCycles, spans);
    // One L7 per edge: the dissectors name at most one per port in practice; several → the first.
    const l7 = e.l7s[0] ?? '';
    const opRows = knownProtocol(l7) ? opsByEdge.get(`${e.src}>${e.dst}/${e.proto}/${e.port}`) ?? [] : [];
    const entryOps: OpEntry[] = opRows.filter((o) => isOpOf(l7, o.op)).map((o): OpEntry => {
      const oe = evidenceOf(o, spans);
      const oh = heldReasons(oe, minCycles, spans);
      return { op: o.op, status: oh.length ? 'hold' : 'allow', held: oh, evidence: oe };
    });
    return {
      src: e.src, dst: e.dst, proto: Number(e.proto), dstPort: Number(e.port), l7: knownProtocol(l7) ? l7 : '',
      status: held.length ? 'hold' : 'allow', held, evidence, ops: entryOps,
    };
  }).filter((e) => map.zoneOf(e.src) === from && map.zoneOf(e.dst) === to);
  entries.sort(entryOrder);
  return {
    kind: RULE_KIND, schema: RULE_SCHEMA, site: site.site, conduit, productionCycleMs: C, minCycles, parent: '',
    learnedFrom: { runs: [...runs].sort(), from: r.from, to: r.to, flows: r.flows, fullCycles: r.fullCycles, phasesSeen: r.phasesSeen, phases: r.phases },
    entries, waivers: [],
  };
};
