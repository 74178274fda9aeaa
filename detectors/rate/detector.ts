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
 */
import { parseEdgeId } from '../../core/records.ts';
import { round, zToScore } from '../calibration.ts';
import { byString, num, phaseBucket, type Finding, type WindowContext, defineDetector, type WindowDetector } from '../detector.ts';
import type { EdgeFeatures } from '../features.ts';
import { edgeText } from '../novelty/detector.ts';
import { DEFAULT_SECURITY_PATTERNS, securityMatcher, type ProtocolSecurity } from '../security.ts';
import { RateConfig } from './config.ts';

export const NAME = 'rate';

/** Welford mean / M2 over per-window counts. */
export interface Moments {
  n: number;
  mean: number;
  m2: number;
  /** Windows with a non-zero count. */
  active: number;
}

export interface RateEdgeModel {
  requests: Moments;
  flows: Moments;
  /** Security-relevant requests per window. */
  security: Moments;
  /** Per phase bucket: requests (or flows, for edges without l7 ops) per window; created on first use. */
  profile: Moments[] | null;
  /** The profile counts requests (true) or flows. */
  profileRequests: boolean;
  /** Consecutive windows with nothing, while something was expected. */
  quiet: number;
  /** Silent windows after the baseline not learned yet: learned when the silence ends, if it stayed below `learnBelow`. */
  pendingZeros: number;
  /** Buckets of those pending silent windows. */
  pendingBuckets: number[];
  /** Score of the current silent run so far (it only grows). */
  quietScore: number;
}

export interface RateState {
  edges: Map<string, RateEdgeModel>;
  /** Edge ids in sorted order (a cache, rebuilt when an edge is added; not saved). */
  sorted?: string[];
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

const newModel = (): RateEdgeModel => ({
  requests: emptyMoments(), flows: emptyMoments(), security: emptyMoments(), profile: null, profileRequests: true,
  quiet: 0, pendingZeros: 0, pendingBuckets: [], quietScore: 0,
});

const buildRate = (cfg: RateConfig, securityOp?: ProtocolSecurity): WindowDetector<RateState> => {
  const isSecurity = securityMatcher([...DEFAULT_SECURITY_PATTERNS, ...(cfg.securityPatterns ?? [])], securityOp);
  const B = cfg.phaseBuckets;

  const securityCount = (e: EdgeFeatures | undefined): number => {
    if (!e || e.ops.size === 0) return 0;
    let n = 0;
    for (const [op, c] of e.ops) if (isSecurity(e.key.l7, op)) n += c;
    return n;
  };

  const sdEff = (m: Moments): number => Math.max(momentStd(m), cfg.relativeFloor * m.mean, cfg.absoluteFloor);

  /** Statistics a window in `bucket` is judged against: the most lenient ready bucket of bucket ± 1, else global. */
  const reference = (model: RateEdgeModel, global: Moments, useRequests: boolean, bucket: number, x: number): { m: Moments; where: string } => {
    if (B > 1 && model.profile && model.profileRequests === useRequests) {
      let best: { m: Moments; z: number; b: number } | undefined;
      for (const d of [0, -1, 1]) {
        const b = (bucket + d + B) % B;
        const m = model.profile[b]!;
        if (m.n < cfg.minBucketWindows) continue;
        const z = Math.abs(x - m.mean) / sdEff(m);
        if (!best || z < best.z) best = { m, z, b };
      }
      if (best) return { m: best.m, where: ` in cycle phase ${best.b + 1}/${B}` };
    }
    return { m: global, where: '' };
  };

  const learn = (model: RateEdgeModel, e: EdgeFeatures | undefined, learning: boolean, score: number, silent: boolean, bucket: number): void => {
    const add = (requests: number, flows: number, security: number, b: number): void => {
      addMoment(model.requests, requests);
      addMoment(model.flows, flows);
      addMoment(model.security, security);
      if (B > 1) {
        model.profile ??= Array.from({ length: B }, emptyMoments);
        addMoment(model.profile[b]!, model.profileRequests ? requests : flows);
      }
    };
    if (silent) {
      model.quiet += 1;
      if (learning) add(0, 0, 0, bucket);
      else { model.pendingZeros += 1; model.pendingBuckets.push(bucket); model.quietScore = score; }
      return;
    }
    if (model.pendingZeros > 0 && model.quietScore < cfg.learnBelow) for (const b of model.pendingBuckets) add(0, 0, 0, b);
    model.quiet = 0;
    model.pendingZeros = 0;
    model.pendingBuckets = [];
    model.quietScore = 0;
    if (learning || score < cfg.learnBelow) add(e?.requests ?? 0, e?.flows ?? 0, securityCount(e), bucket);
  };

  const scoreEdge = (id: string, e: EdgeFeatures | undefined, model: RateEdgeModel, ctx: WindowContext): Finding => {
    if (model.requests.n === 0 && model.profile === null) model.profileRequests = (e?.requests ?? 0) > 0;
    const useRequests = model.requests.mean > 0 || (model.requests.n === 0 && (e?.requests ?? 0) > 0);
    const unit = useRequests ? 'requests' : 'flows';
    const global = useRequests ? model.requests : model.flows;
    const x = (useRequests ? e?.requests : e?.flows) ?? 0;
    const text = edgeText(e?.key ?? parseEdgeId(id));
    const bucket = phaseBucket(ctx.cyclePhase, B);
    let finding: Finding;
    if (global.n < cfg.minWindows) {
      finding = {
        edge: id, score: 0, explanation: `learning the rate of ${text}: ${global.n} of ${cfg.minWindows} windows`,
        features: { value: x, windows: global.n },
      };
    } else {
      const { m, where } = reference(model, global, useRequests, bucket, x);
      const mu = m.mean;
      const sd = momentStd(m);
      const eff = sdEff(m);
      const silent = x === 0 && mu > 0 && global.n >= cfg.minPolledWindows && global.active >= cfg.pollingFraction * global.n;
      const quiet = silent ? model.quiet + 1 : 0;
      const z = silent ? (mu * Math.sqrt(quiet)) / eff : Math.abs(x - mu) / eff;
      const sec = securityCount(e);
      const secMu = model.security.mean;
      const zSec = sec > secMu ? (sec - secMu) / sdEff(model.security) : 0;
      const security = zSec > z;
      const score = zToScore(Math.max(z, zSec));
      const expected = `expected ${num(mu)} ± ${num(sd)} per window${where}`;
      let explanation: string;
      if (silent) {
        explanation = `polling_stop: no ${unit} on ${text} for ${quiet} window${quiet > 1 ? 's' : ''}, ${expected}`;
      } else {
        const dir = x > mu ? 'above' : x < mu ? 'below' : 'at';
        explanation = `${num(x)} ${unit} on ${text}, ${expected} (${dir}, z ${num(z)})`;
      }
      if (security) {
        explanation = `burst of security-relevant operations: ${num(sec)} on ${text}, expected ${num(secMu)} ± ${num(momentStd(model.security))} per window (z ${num(zSec)}); ${explanation}`;
      }
      finding = {
        edge: id, score, explanation, ...(security ? { alertInMaintenance: true } : {}),
        features: {
          value: x, expected: round(mu), std: round(sd), z: round(z), quiet_windows: quiet, phase_bucket: bucket,
          ...(sec > 0 || security ? { security_ops: sec, security_expected: round(secMu), security_z: round(zSec) } : {}),
        },
      };
    }
    // Maintenance traffic is scored but never learned: the production baseline stays clean.
    if (ctx.maintenance === undefined) {
      learn(model, e, ctx.learning || global.n < cfg.minWindows, finding.score, (finding.features.quiet_windows ?? 0) > 0, bucket);
    }
    return finding;
  };

  return {
    name: NAME,
    init: () => ({ edges: new Map() }),
    scoreWindow(cw, state, ctx) {
      for (const id of cw.edges.keys()) {
        if (state.edges.has(id)) continue;
        state.edges.set(id, newModel());
        state.sorted = undefined;
      }
      const ids = (state.sorted ??= [...state.edges.keys()].sort(byString));
      const findings = ids.map((id) => scoreEdge(id, cw.edges.get(id), state.edges.get(id)!, ctx));
      return { findings, state };
    },
    save: (s) => [...s.edges].map(([id, m]) => [id, m]),
    load: (json) => ({
      edges: new Map((json as [string, RateEdgeModel][]).map(([id, m]) => [id, {
        ...m, requests: { ...m.requests }, flows: { ...m.flows }, security: { ...m.security },
        profile: m.profile ? m.profile.map((p) => ({ ...p })) : null, pendingBuckets: [...m.pendingBuckets],
      }])),
    }),
  };
};

/** A rate detector from raw settings (parsed here; throws on invalid ones). */
export const createRate = (input: unknown = {}, securityOp?: ProtocolSecurity): WindowDetector<RateState> => buildRate(RateConfig.parse(input), securityOp);

/** The registry entry (cli/registry.ts). */
export const rateDetector = defineDetector({
  name: NAME,
  summary: 'Requests (or flows) per window against a production-cycle profile; polling_stop; bursts of security-relevant operations.',
  config: RateConfig,
  create: (cfg, ctx) => buildRate(cfg, ctx.securityOp) as WindowDetector<unknown>,
});
