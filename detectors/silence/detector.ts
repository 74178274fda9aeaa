/**
 * Silence (a device stops answering): windows in which the initiator sent requests but the
 * responder sent nothing back (`packetsRev` 0), or, on edges whose baseline always carried l7
 * responses (`l7OpsRev`), no l7 response. Per edge it learns how often a window with requests went
 * unanswered, u of n (Laplace: q = (u + 1) / (n + 2)); a run of k unanswered windows then has tail
 * probability q^k, scored by `tailToScore` like every other detector. With a baseline of 60
 * answered windows, 1 unanswered window scores 0.31, 2 0.58, 3 0.74, 4 0.85 (alert); with 600, 3 score 0.89.
 * A poller that stops asking is a different thing (the rate detector's `polling_stop`).
 */
import { round, tailToScore } from '../calibration.ts';
import { byString, type Finding, type WindowDetector } from '../detector.ts';
import type { EdgeFeatures } from '../features.ts';
import { edgeText } from '../novelty/detector.ts';
import { SilenceConfig } from './config.ts';

export const NAME = 'silence';

export interface SilenceEdgeModel {
  /** Windows with requests learned. */
  n: number;
  /** Of those, unanswered. */
  unanswered: number;
  /** Of those, with l7 responses. */
  l7Answered: number;
  /** Current run of unanswered windows. */
  run: number;
  /** Unanswered windows of the current run not learned yet. */
  pending: number;
  /** Highest score of the current run: its pending windows are learned when it ends, if this stayed below `learnBelow`. */
  runScore: number;
}

export interface SilenceState {
  edges: Map<string, SilenceEdgeModel>;
}

export const createSilence = (input: unknown = {}): WindowDetector<SilenceState> => {
  const cfg = SilenceConfig.parse(input);

  const asked = (e: EdgeFeatures): boolean => e.requests > 0 || e.packets - e.packetsRev >= cfg.minRequestPackets;

  return {
    name: NAME,
    init: () => ({ edges: new Map() }),
    scoreWindow(cw, state, ctx) {
      const findings: Finding[] = [];
      for (const e of [...cw.edges.values()].sort((a, b) => byString(a.edge, b.edge))) {
        if (!asked(e)) continue;
        let m = state.edges.get(e.edge);
        if (!m) state.edges.set(e.edge, (m = { n: 0, unanswered: 0, l7Answered: 0, run: 0, pending: 0, runScore: 0 }));
        const useL7 = m.n > 0 && m.l7Answered >= cfg.l7Fraction * m.n;
        const noL7 = useL7 && e.requests > 0 && e.responses === 0;
        const unanswered = e.packetsRev === 0 || noL7;
        const run = unanswered ? m.run + 1 : 0;
        let score = 0;
        // Answered windows get no finding (no score row): only a mute device is worth a row.
        if (m.n >= cfg.minWindows && unanswered) {
          const q = (m.unanswered + 1) / (m.n + 2);
          score = tailToScore(run * Math.log(q));
          const what = e.requests > 0 ? `${e.requests} requests` : `${e.packets - e.packetsRev} packets`;
          const how = e.packetsRev === 0 ? 'no packet back' : 'no l7 response (TCP still acknowledges)';
          findings.push({
            edge: e.edge, score,
            explanation: `device not answering: ${edgeText(e.key)} sent ${what} and got ${how}, ${run} window${run > 1 ? 's' : ''} in a row; baseline: ${m.unanswered} of ${m.n} windows unanswered`,
            features: { unanswered: 1, run, expected_unanswered: round(q), responses: e.responses, packets_rev: e.packetsRev },
          });
        }
        m.run = run;
        if (ctx.maintenance !== undefined) continue;
        if (unanswered && !(ctx.learning || m.n < cfg.minWindows)) {
          // Learned later, as a whole run, once the device answers again: a run that is still
          // growing must not teach the model that silence is normal.
          m.pending += 1;
          m.runScore = Math.max(m.runScore, score);
          continue;
        }
        if (!unanswered) {
          if (m.runScore < cfg.learnBelow) { m.n += m.pending; m.unanswered += m.pending; }
          m.pending = 0;
          m.runScore = 0;
        }
        m.n += 1;
        if (unanswered) m.unanswered += 1;
        if (e.responses > 0) m.l7Answered += 1;
      }
      return { findings, state };
    },
    save: (s) => [...s.edges],
    load: (json) => ({ edges: new Map((json as [string, SilenceEdgeModel][]).map(([id, m]) => [id, { ...m }])) }),
  };
};
