/**
 * Rate: requests per window of every known edge (flows per window when the edge carries no l7
 * operations) against what the edge did while it was learned. The deviation is a z-score against
 * a Welford mean/std with a floor on the std, mapped to [0, 1] by `zToScore`. Every known edge is
 * scored in every closed window, quiet or not: a polled edge (traffic in most learned windows) that falls silent is the
 * `polling_stop` case, and consecutive silent windows add up (z grows with √k).
 */
import { round, zToScore } from '../calibration.ts';
import { byString, num, type Finding, type WindowDetector } from '../detector.ts';
import type { EdgeFeatures } from '../features.ts';
import { edgeText } from '../novelty/detector.ts';
import { parseEdgeId } from '../../core/records.ts';
import { RateConfig } from './config.ts';

export const NAME = 'rate';

/** Welford mean / M2 over per-window counts. */
interface Moments {
  n: number;
  mean: number;
  m2: number;
  /** Windows with a non-zero count. */
  active: number;
}

export interface RateEdgeModel {
  requests: Moments;
  flows: Moments;
  /** Consecutive windows with nothing, while something was expected. */
  quiet: number;
  /** Silent windows after the baseline not learned yet: learned when the silence ends, if it stayed below `learnBelow`. */
  pendingZeros: number;
  /** Score of the current silent run so far (it only grows). */
  quietScore: number;
}

export interface RateState {
  edges: Map<string, RateEdgeModel>;
  /** Edge ids in sorted order (a cache, rebuilt when an edge is added; not saved). */
  sorted?: string[];
}

const emptyMoments = (): Moments => ({ n: 0, mean: 0, m2: 0, active: 0 });

const addMoment = (m: Moments, x: number): void => {
  m.n += 1;
  const d = x - m.mean;
  m.mean += d / m.n;
  m.m2 += d * (x - m.mean);
  if (x !== 0) m.active += 1;
};

const std = (m: Moments): number => (m.n > 1 ? Math.sqrt(m.m2 / (m.n - 1)) : 0);

export const createRate = (input: unknown = {}): WindowDetector<RateState> => {
  const cfg = RateConfig.parse(input);

  /**
   * Silence is learned late: each silent window alone may score low (a slow poller misses one
   * window), but the run adds up. So after the baseline, silent windows wait in `pendingZeros`
   * and are learned only when traffic resumes and the run never reached `learnBelow`.
   */
  const learn = (model: RateEdgeModel, e: EdgeFeatures | undefined, learning: boolean, score: number, silent: boolean): void => {
    const add = (requests: number, flows: number): void => { addMoment(model.requests, requests); addMoment(model.flows, flows); };
    if (silent) {
      model.quiet += 1;
      if (learning) add(0, 0);
      else { model.pendingZeros += 1; model.quietScore = score; }
      return;
    }
    if (model.pendingZeros > 0 && model.quietScore < cfg.learnBelow) for (let i = 0; i < model.pendingZeros; i += 1) add(0, 0);
    model.quiet = 0;
    model.pendingZeros = 0;
    model.quietScore = 0;
    if (learning || score < cfg.learnBelow) add(e?.requests ?? 0, e?.flows ?? 0);
  };

  const scoreEdge = (id: string, e: EdgeFeatures | undefined, model: RateEdgeModel, learning: boolean): Finding => {
    const useRequests = model.requests.mean > 0 || (model.requests.n === 0 && (e?.requests ?? 0) > 0);
    const unit = useRequests ? 'requests' : 'flows';
    const moments = useRequests ? model.requests : model.flows;
    const x = (useRequests ? e?.requests : e?.flows) ?? 0;
    const text = edgeText(e?.key ?? parseEdgeId(id));
    let finding: Finding;
    if (moments.n < cfg.minWindows) {
      finding = {
        edge: id, score: 0, explanation: `learning the rate of ${text}: ${moments.n} of ${cfg.minWindows} windows`,
        features: { value: x, windows: moments.n },
      };
    } else {
      const mu = moments.mean;
      const sd = std(moments);
      const sdEff = Math.max(sd, cfg.relativeFloor * mu, cfg.absoluteFloor);
      const silent = x === 0 && mu > 0 && moments.active >= cfg.pollingFraction * moments.n;
      const quiet = silent ? model.quiet + 1 : 0;
      const z = silent ? (mu * Math.sqrt(quiet)) / sdEff : Math.abs(x - mu) / sdEff;
      const score = zToScore(z);
      const expected = `expected ${num(mu)} ± ${num(sd)} per window`;
      let explanation: string;
      if (silent) {
        explanation = `polling_stop: no ${unit} on ${text} for ${quiet} window${quiet > 1 ? 's' : ''}, ${expected}`;
      } else {
        const dir = x > mu ? 'above' : x < mu ? 'below' : 'at';
        explanation = `${num(x)} ${unit} on ${text}, ${expected} (${dir}, z ${num(z)})`;
      }
      finding = {
        edge: id, score, explanation,
        features: { value: x, expected: round(mu), std: round(sd), z: round(z), quiet_windows: quiet },
      };
    }
    learn(model, e, learning || moments.n < cfg.minWindows, finding.score, (finding.features.quiet_windows ?? 0) > 0);
    return finding;
  };

  return {
    name: NAME,
    init: () => ({ edges: new Map() }),
    scoreWindow(cw, state, ctx) {
      for (const id of cw.edges.keys()) {
        if (state.edges.has(id)) continue;
        state.edges.set(id, { requests: emptyMoments(), flows: emptyMoments(), quiet: 0, pendingZeros: 0, quietScore: 0 });
        state.sorted = undefined;
      }
      const ids = (state.sorted ??= [...state.edges.keys()].sort(byString));
      const findings = ids.map((id) => scoreEdge(id, cw.edges.get(id), state.edges.get(id)!, ctx.learning));
      return { findings, state };
    },
    save: (s) => [...s.edges].map(([id, m]) => [id, m]),
    load: (json) => ({
      edges: new Map((json as [string, RateEdgeModel][]).map(([id, m]) => [id, { ...m, requests: { ...m.requests }, flows: { ...m.flows } }])),
    }),
  };
};
