/**
 * Rate: requests per window of every known edge (flows per window when the edge carries no l7
 * operations) against what the edge did at the same point of the production cycle. Statistics
 * are kept per phase bucket of the cycle (the profile) and for the whole edge (the global
 * fallback, used while a bucket has fewer than `minBucketWindows` windows). The window is compared
 * with its own bucket and the two next to it, and the most lenient of the three counts, so a
 * phase boundary that drifts by a window does not alert. The deviation is a z-score against a
 * Welford mean/std with a floor on the std, mapped to [0, 1] by `zToScore`.
 *
 * Every known edge is scored in every closed window, quiet or not: a polled edge (traffic in most
 * learned windows) that falls silent is the `polling_stop` case, and consecutive silent windows
 * add up (z grows with √k). Security-relevant requests (writes, downloads, restarts: see
 * detectors/security.ts) are also counted on their own: a burst of them (a program download:
 * FC 16 / FC 21 every 100 ms) alerts even inside a maintenance window.
 *
 * State, per edge in columns: Welford moments (n, mean, m2, windows with a non-zero count) of
 * requests, flows and security requests per window; the profile (per phase bucket n, mean, m2),
 * allocated on the edge's first learned window; the silent run (quiet windows, pending silent
 * windows with their buckets, the run's score).
 */
import { round, zToScore } from '../calibration.ts';
import { colFromJson, colToJson, grow, type NumJSON } from '../columns.ts';
import { defineDetector, num, phaseBucket, slotIn, UNIT_FLOWS, UNIT_REQUESTS, type ConduitWindow, type FindingSink, type WindowContext, type WindowDetector } from '../detector.ts';
import type { EdgeTable } from '../edges.ts';
import { DEFAULT_SECURITY_PATTERNS, securityById, securityMatcher, type ProtocolSecurity } from '../security.ts';
import { RateConfig } from './config.ts';

export const NAME = 'rate';

/** A window's own phase bucket and the two next to it. */
const NEIGHBOURS = [0, -1, 1] as const;

/** Welford mean / M2 over per-window counts. */
export interface Moments {
  n: number;
  mean: number;
  m2: number;
  /** Windows with a non-zero count. */
  active: number;
}

export const emptyMoments = (): Moments => ({ n: 0, mean: 0, m2: 0, active: 0 });

export const addMoment = (m: Moments, x: number): void => {
  m.n += 1;
  const d = x - m.mean;
  m.mean += d / m.n;
  m.m2 += d * (x - m.mean);
  if (x !== 0) m.active += 1;
};

export const momentStd = (m: Moments): number => (m.n > 1 ? Math.sqrt(m.m2 / (m.n - 1)) : 0);

/** Moments in columns: index → n, mean, m2, active. */
class MomentCols {
  n = new Int32Array(0);
  mean = new Float64Array(0);
  m2 = new Float64Array(0);
  /** Windows with a non-zero count; not kept (length 0) when `withActive` is false. */
  active = new Int32Array(0);
  constructor(private readonly withActive = true) {}
  ensure(k: number): void {
    if (k <= this.n.length) return;
    this.n = grow(this.n, k); this.mean = grow(this.mean, k); this.m2 = grow(this.m2, k);
    if (this.withActive) this.active = grow(this.active, k);
  }
  add(i: number, x: number): void {
    this.n[i] = this.n[i]! + 1;
    const d = x - this.mean[i]!;
    this.mean[i] = this.mean[i]! + (d / this.n[i]!);
    this.m2[i] = this.m2[i]! + (d * (x - this.mean[i]!));
    if (x !== 0 && this.withActive) this.active[i] = this.active[i]! + 1;
  }
  std(i: number): number {
    return this.n[i]! > 1 ? Math.sqrt(this.m2[i]! / (this.n[i]! - 1)) : 0;
  }
  toJSON(k: number): NumJSON[][] {
    return [colToJson(this.n, k), colToJson(this.mean, k), colToJson(this.m2, k), ...(this.withActive ? [colToJson(this.active, k)] : [])];
  }
  load(j: NumJSON[][]): void {
    const k = j[0]!.length;
    this.n = colFromJson(Int32Array, j[0], k); this.mean = colFromJson(Float64Array, j[1], k);
    this.m2 = colFromJson(Float64Array, j[2], k);
    if (this.withActive) this.active = colFromJson(Int32Array, j[3], k);
  }
}

interface RateJSON {
  edges: number;
  requests: NumJSON[][];
  flows: NumJSON[][];
  security: NumJSON[][];
  /** Per edge: profile index or -1; profile moments by index · buckets + bucket. */
  profileAt: NumJSON[];
  profile: NumJSON[][];
  profileRequests: NumJSON[];
  quiet: NumJSON[];
  quietScore: NumJSON[];
  pending: [number, number[]][];
}

const buildRate = (cfg: RateConfig, securityOp?: ProtocolSecurity): WindowDetector => {
  const match = securityMatcher([...DEFAULT_SECURITY_PATTERNS, ...(cfg.securityPatterns ?? [])], securityOp);
  const B = cfg.phaseBuckets;
  let isSecurity: ((l7: number, op: number) => boolean) | undefined;
  let boundTo: EdgeTable | undefined;

  let cap = 0;
  /** Edges of the table as of the last window scored: what `save` writes. */
  let used = 0;
  const req = new MomentCols();
  const flw = new MomentCols();
  const sec = new MomentCols();
  /** Per edge: index into the profile pool, -1 before the first learned window. */
  let profileAt = new Int32Array(0);
  let profileRequests = new Uint8Array(0);
  let quiet = new Int32Array(0);
  let quietScore = new Float64Array(0);
  /** Buckets of the silent windows after the baseline not learned yet, per edge (only while there are some). */
  const pending = new Map<number, number[]>();
  let profiles = 0;
  const prof = new MomentCols(false);

  const ensure = (edges: number): void => {
    if (edges <= cap) return;
    req.ensure(edges); flw.ensure(edges); sec.ensure(edges);
    profileAt = grow(profileAt, edges, -1);
    profileRequests = grow(profileRequests, edges, 1);
    quiet = grow(quiet, edges);
    quietScore = grow(quietScore, edges);
    cap = Math.min(req.n.length, profileAt.length, profileRequests.length, quiet.length, quietScore.length);
  };

  const securityCount = (w: ConduitWindow, s: number): number => {
    if (s < 0) return 0;
    const acc = w.acc!;
    const l7 = w.edges.l7[acc.edge[s]!]!;
    let n = 0;
    for (let i = acc.opsHead[s]!; i >= 0; i = acc.opNext[i]!) if (isSecurity!(l7, acc.opId[i]!)) n += acc.opCount[i]!;
    return n;
  };

  const sdEffAt = (m: MomentCols, i: number): number => Math.max(m.std(i), cfg.relativeFloor * m.mean[i]!, cfg.absoluteFloor);

  const add = (e: number, requests: number, flows: number, security: number, b: number): void => {
    req.add(e, requests);
    flw.add(e, flows);
    sec.add(e, security);
    if (B > 1) {
      if (profileAt[e] === -1) {
        profileAt[e] = profiles;
        profiles += 1;
        prof.ensure(profiles * B);
      }
      prof.add(profileAt[e]! * B + b, profileRequests[e] ? requests : flows);
    }
  };

  /** `secN`: the window's security-relevant requests (`securityCount`), counted once by the caller. */
  const learn = (w: ConduitWindow, e: number, s: number, learning: boolean, score: number, silent: boolean, bucket: number, secN: number): void => {
    if (silent) {
      quiet[e] = quiet[e]! + 1;
      if (learning) add(e, 0, 0, 0, bucket);
      else {
        const list = pending.get(e);
        if (list) list.push(bucket);
        else pending.set(e, [bucket]);
        quietScore[e] = score;
      }
      return;
    }
    // Pending silent windows exist only inside a quiet run: a polled edge skips the Map.
    if (quiet[e]! > 0) {
      const list = pending.get(e);
      if (list && quietScore[e]! < cfg.learnBelow) for (const b of list) add(e, 0, 0, 0, b);
      pending.delete(e);
    }
    quiet[e] = 0;
    quietScore[e] = 0;
    if (learning || score < cfg.learnBelow) {
      const acc = w.acc;
      add(e, s >= 0 ? acc!.requests[s]! : 0, s >= 0 ? acc!.flows[s]! : 0, secN, bucket);
    }
  };

  // The conduit's observed and expected counts over its judged edges in the window being scored (its activity row).
  let sumValue = 0;
  let sumExpected = 0;
  let sumVar = 0;
  let judged = 0;

  /** One known edge in one window (a function of its own, so the JIT optimizes it within the first window). */
  const scoreEdge = (w: ConduitWindow, ctx: WindowContext, out: FindingSink, e: number, bucket: number): void => {
    const t = w.edges;
    const acc = w.acc;
    const s = slotIn(w, e);
    const eReq = s >= 0 ? acc!.requests[s]! : 0;
    if (req.n[e] === 0 && profileAt[e] === -1) profileRequests[e] = eReq > 0 ? 1 : 0;
    const useRequests = req.mean[e]! > 0 || (req.n[e] === 0 && eReq > 0);
    const g = useRequests ? req : flw;
    const x = s >= 0 ? (useRequests ? eReq : acc!.flows[s]!) : 0;
    const gn = g.n[e]!;
    let score = 0;
    let quietNow = 0;
    const secN = securityCount(w, s);
    const bandUnit = useRequests ? UNIT_REQUESTS : UNIT_FLOWS;
    if (gn < cfg.minWindows) {
      out.bands?.rate(e, bandUnit, x, NaN, NaN);
      if (out.wants(0, undefined, e)) {
        out.push({
          edge: t.idOf(e), score: 0, explanation: `learning the rate of ${t.text(e)}: ${gn} of ${cfg.minWindows} windows`,
          features: { value: x, windows: gn },
        });
      }
    } else {
      // The reference: the most lenient ready bucket of bucket ± 1, else the edge's global statistics.
      let m = g;
      let mi = e;
      let where = -1;
      const pa = profileAt[e]!;
      if (B > 1 && pa >= 0 && (profileRequests[e] === 1) === useRequests) {
        let bestZ = Infinity;
        for (let k = 0; k < NEIGHBOURS.length; k += 1) {
          const b = (bucket + NEIGHBOURS[k]! + B) % B;
          const i = pa * B + b;
          if (prof.n[i]! < cfg.minBucketWindows) continue;
          const z = Math.abs(x - prof.mean[i]!) / sdEffAt(prof, i);
          if (where < 0 || z < bestZ) { bestZ = z; where = b; mi = i; m = prof; }
        }
      }
      const mu = m.mean[mi]!;
      const eff = sdEffAt(m, mi);
      const silent = x === 0 && mu > 0 && gn >= cfg.minPolledWindows && g.active[e]! >= cfg.pollingFraction * gn;
      quietNow = silent ? quiet[e]! + 1 : 0;
      const z = silent ? (mu * Math.sqrt(quietNow)) / eff : Math.abs(x - mu) / eff;
      judged += 1;
      sumValue += x;
      sumExpected += mu;
      const sdr = m.std(mi);
      sumVar += sdr * sdr;
      const b = out.bands;
      if (b) {
        // EdgeBands.rate, written in place (round(x) = Math.round(x * 1e4) / 1e4): no number is boxed per edge.
        b.touch(e);
        b.unit[e] = bandUnit; b.observed[e] = x; b.expected[e] = Math.round(mu * 1e4) / 1e4; b.expectedStd[e] = Math.round(sdr * 1e4) / 1e4;
      }
      const secMu = sec.mean[e]!;
      const zSec = secN > secMu ? (secN - secMu) / sdEffAt(sec, e) : 0;
      const security = zSec > z;
      score = zToScore(Math.max(z, zSec));
      if (out.wants(score, security ? 'security' : undefined, e)) {
        const sd = m.std(mi);
        const unit = useRequests ? 'requests' : 'flows';
        const text = t.text(e);
        const expected = `expected ${num(mu)} ± ${num(sd)} per window${where >= 0 ? ` in cycle phase ${where + 1}/${B}` : ''}`;
        let explanation: string;
        if (silent) {
          explanation = `polling_stop: no ${unit} on ${text} for ${quietNow} window${quietNow > 1 ? 's' : ''}, ${expected}`;
        } else {
          const dir = x > mu ? 'above' : x < mu ? 'below' : 'at';
          explanation = `${num(x)} ${unit} on ${text}, ${expected} (${dir}, z ${num(z)})`;
        }
        if (security) {
          explanation = `burst of security-relevant operations: ${num(secN)} on ${text}, expected ${num(secMu)} ± ${num(sec.std(e))} per window (z ${num(zSec)}); ${explanation}`;
        }
        out.push({
          edge: t.idOf(e), score, explanation, ...(security ? { alertInMaintenance: true, alertBeforeReady: true } : {}),
          features: {
            value: x, expected: round(mu), std: round(sd), z: round(z), quiet_windows: quietNow, phase_bucket: bucket,
            ...(secN > 0 || security ? { security_ops: secN, security_expected: round(secMu), security_z: round(zSec) } : {}),
          },
        });
      }
    }
    // Maintenance traffic is scored but never learned: the production baseline stays clean.
    if (ctx.maintenance === undefined) learn(w, e, s, ctx.learning || gn < cfg.minWindows, score, quietNow > 0, bucket, secN);
  };

  return {
    name: NAME,
    scoreWindow(w, ctx, out) {
      const t = w.edges;
      if (boundTo !== t) { boundTo = t; isSecurity = securityById(match, t); }
      ensure(t.count);
      // Room for a profile per edge, so the pool does not grow one profile at a time.
      if (B > 1) prof.ensure(t.count * B);
      used = Math.max(used, t.count);
      const { list, count } = t.edgesOf(w.conduit);
      const bucket = phaseBucket(ctx.cyclePhase, B);
      sumValue = 0;
      sumExpected = 0;
      sumVar = 0;
      judged = 0;
      for (let k = 0; k < count; k += 1) {
        const e = list[k]!;
        if (t.firstWindow[e]! <= w.windowStart) scoreEdge(w, ctx, out, e, bucket);
      }
      if (judged > 0) {
        out.series.rate_edges = judged;
        out.series.rate_value = round(sumValue);
        out.series.rate_expected = round(sumExpected);
        out.series.rate_std = round(Math.sqrt(sumVar));
      }
    },
    save: (): RateJSON => {
      const k = used;
      const pa: NumJSON[] = colToJson(profileAt, k);
      return {
        edges: k, requests: req.toJSON(k), flows: flw.toJSON(k), security: sec.toJSON(k), profileAt: pa, profile: prof.toJSON(profiles * B),
        profileRequests: colToJson(profileRequests, k), quiet: colToJson(quiet, k), quietScore: colToJson(quietScore, k),
        pending: [...pending].sort((a, b) => a[0] - b[0]).map(([e, l]) => [e, [...l]]),
      };
    },
    load: (json) => {
      const j = json as RateJSON;
      req.load(j.requests); flw.load(j.flows); sec.load(j.security); prof.load(j.profile);
      profileAt = colFromJson(Int32Array, j.profileAt, j.edges, -1);
      profileRequests = colFromJson(Uint8Array, j.profileRequests, j.edges, 1);
      quiet = colFromJson(Int32Array, j.quiet, j.edges);
      quietScore = colFromJson(Float64Array, j.quietScore, j.edges);
      for (let i = j.profileAt.length; i < profileAt.length; i += 1) profileAt[i] = -1;
      for (let i = j.profileRequests.length; i < profileRequests.length; i += 1) profileRequests[i] = 1;
      profiles = j.profile[0]!.length / B;
      pending.clear();
      for (const [e, l] of j.pending) pending.set(e, [...l]);
      req.ensure(j.edges); flw.ensure(j.edges); sec.ensure(j.edges);
      used = j.edges;
      cap = Math.min(req.n.length, flw.n.length, sec.n.length, profileAt.length, profileRequests.length, quiet.length, quietScore.length);
    },
  };
};

/** A rate detector from raw settings (parsed here; throws on invalid ones). */
export const createRate = (input: unknown = {}, securityOp?: ProtocolSecurity): WindowDetector => buildRate(RateConfig.parse(input), securityOp);

/** The registry entry (cli/registry.ts). */
export const rateDetector = defineDetector({
  name: NAME,
  summary: 'Requests (or flows) per window against a production-cycle profile; polling_stop; bursts of security-relevant operations.',
  config: RateConfig,
  create: (cfg, ctx) => buildRate(cfg, ctx.securityOp),
});
