/**
 * Silence: an edge that goes quiet in a way its baseline never did. Two checks, one finding per
 * edge and window (the larger score; both explanations when both fire):
 *
 * - Unanswered (a device stops answering): windows in which the initiator sent requests but the
 *   responder sent nothing back (`packetsRev` 0), or, on edges whose baseline always carried l7
 *   responses (`l7OpsRev`), no l7 response. Per edge it learns how often a window with requests
 *   went unanswered, u of n (Laplace: q = (u + 1) / (n + 2)); a run of k unanswered windows then
 *   has tail probability q^k, scored by `tailToScore` like every other detector. With a baseline
 *   of 60 answered windows, 1 unanswered window scores 0.31, 2 0.58, 3 0.74, 4 0.85 (alert).
 * - Longest gap (no traffic at all: a lost connection): per window, the longest silence of the
 *   edge — from its previous activity (carried across windows) to its first flow, between its
 *   flows, between requests inside a flow (`requestIntervals.max`), and the silence still open at
 *   the window's end (up to `ctx.horizon`, so a capture that simply ends is not a silence). Closed
 *   gaps are learned as a distribution of per-window longest gaps (a log-scale histogram); the
 *   window is judged against its `gapQuantile` (floored at `gapFloor`) with
 *   z = gapZPerDoubling · log2(gap / reference) and `zToScore`: 4x the usual longest gap → 0.8.
 *   Only edges with traffic in most learned windows are judged. A silence that overlaps a
 *   maintenance window is never judged once it ends.
 *
 * A poller that stops asking while the connection stays up is also the rate detector's
 * `polling_stop`; the longest gap is what catches a conduit whose request count per window is too
 * noisy for that (BUT MMS: 7.6 ± 4.7 requests per minute, 110 s and 130 s outages).
 */
import { round, tailToScore, zToScore } from '../calibration.ts';
import { byString, durationText, type Finding, type WindowContext, defineDetector, type WindowDetector } from '../detector.ts';
import { insideGapMs, type EdgeFeatures } from '../features.ts';
import { edgeText } from '../novelty/detector.ts';
import { SilenceConfig } from './config.ts';
import { parseEdgeId } from '../../core/records.ts';

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
  /** End of the edge's latest activity (largest flow tsEnd), null before any or after a data gap. */
  last: number | null;
  /** Windows learned for the longest-gap check since the edge was first seen, and those with traffic. */
  gapWindows: number;
  gapActive: number;
  /** Learned per-window longest closed gaps: histogram bucket (ceil(8 · log2 ms)) → windows. */
  gapHist: Map<number, number>;
  gapCount: number;
  /** Longest closed gap learned, ms. */
  gapMax: number;
  /** The open silence overlapped a maintenance window: it is not judged when it ends. */
  excused: boolean;
}

export interface SilenceState {
  edges: Map<string, SilenceEdgeModel>;
  /** End of the last window scored: a later start means windows were skipped (a gap in the data, not a silence). */
  lastWindowEnd: number | null;
}

/** Histogram buckets per doubling of the gap (9 % wide). */
const BUCKETS_PER_DOUBLING = 8;
const bucketOf = (ms: number): number => Math.ceil(BUCKETS_PER_DOUBLING * Math.log2(Math.max(1, ms)));
const bucketTop = (b: number): number => 2 ** (b / BUCKETS_PER_DOUBLING);

/** The q-quantile (nearest rank) of the learned gaps, as its bucket's upper bound capped at the exact maximum. */
export const gapQuantileMs = (m: Pick<SilenceEdgeModel, 'gapHist' | 'gapCount' | 'gapMax'>, q: number): number => {
  if (m.gapCount === 0) return 0;
  const rank = Math.max(1, Math.ceil(q * m.gapCount));
  let seen = 0;
  for (const b of [...m.gapHist.keys()].sort((x, y) => x - y)) {
    seen += m.gapHist.get(b)!;
    if (seen >= rank) return Math.min(bucketTop(b), m.gapMax);
  }
  return m.gapMax;
};

const newModel = (): SilenceEdgeModel => ({
  n: 0, unanswered: 0, l7Answered: 0, run: 0, pending: 0, runScore: 0,
  last: null, gapWindows: 0, gapActive: 0, gapHist: new Map(), gapCount: 0, gapMax: 0, excused: false,
});

/** What the longest-gap check found on one edge in one window. */
interface GapVerdict {
  finding: Finding | undefined;
  score: number;
  /** Longest silence that ended in the window (learned), 0 when none. */
  closed: number;
}

type SilenceJSON = [string, SilenceEdgeModel & { gapHist?: [number, number][] }][] | {
  edges: [string, Omit<SilenceEdgeModel, 'gapHist'> & { gapHist: [number, number][] }][];
  lastWindowEnd: number | null;
};

const buildSilence = (cfg: SilenceConfig): WindowDetector<SilenceState> => {

  const asked = (e: EdgeFeatures): boolean => e.requests > 0 || e.packets - e.packetsRev >= cfg.minRequestPackets;

  const judgedGaps = (m: SilenceEdgeModel): boolean =>
    m.gapCount >= cfg.gapMinWindows && m.gapWindows >= cfg.gapMinWindows && m.gapActive >= cfg.gapActiveFraction * m.gapWindows;

  /** The longest-gap check; learns nothing (see `learnGap`). */
  const scoreGap = (id: string, e: EdgeFeatures | undefined, m: SilenceEdgeModel, ctx: WindowContext): GapVerdict => {
    const horizon = ctx.horizon ?? ctx.windowEnd;
    const head = e && m.last !== null && !m.excused ? Math.max(0, e.firstTs - m.last) : 0;
    const closed = e ? Math.max(head, insideGapMs(e)) : 0;
    const end = e ? Math.max(e.lastTs, m.last ?? -Infinity) : m.last;
    const open = end !== null && !m.excused ? Math.max(0, horizon - end) : 0;
    const gap = Math.max(closed, open);
    if (!judgedGaps(m) || gap <= 0) return { finding: undefined, score: 0, closed };
    const usual = gapQuantileMs(m, cfg.gapQuantile);
    const ref = Math.max(usual, cfg.gapFloor);
    if (gap <= ref) return { finding: undefined, score: 0, closed };
    const z = cfg.gapZPerDoubling * Math.log2(gap / ref);
    const score = zToScore(z);
    const stillOpen = open >= closed;
    const text = edgeText(e?.key ?? parseEdgeId(id));
    const baseline = usual >= m.gapMax
      ? `longest gap in baseline ${durationText(m.gapMax)}`
      : `longest gap in baseline ${durationText(m.gapMax)}, ${round(cfg.gapQuantile * 100, 1)}% of windows ≤ ${durationText(usual)}`;
    const floor = ref > usual ? ` (judged against the ${durationText(cfg.gapFloor)} floor)` : '';
    return {
      score, closed,
      finding: {
        edge: id, score,
        explanation: `no traffic on ${text} for ${durationText(gap)}${stillOpen ? ' so far' : ''}; ${baseline}${floor}`,
        features: { gap_ms: round(gap, 1), gap_open: stillOpen ? 1 : 0, gap_expected_ms: round(usual, 1), gap_max_ms: round(m.gapMax, 1), gap_z: round(z) },
      },
    };
  };

  const learnGap = (e: EdgeFeatures | undefined, m: SilenceEdgeModel, v: GapVerdict, ctx: WindowContext): void => {
    if (ctx.maintenance !== undefined) {
      m.excused = true;
    } else if (ctx.learning || !judgedGaps(m) || v.score < cfg.learnBelow) {
      m.gapWindows += 1;
      if (e) m.gapActive += 1;
      if (v.closed > 0) {
        const b = bucketOf(v.closed);
        m.gapHist.set(b, (m.gapHist.get(b) ?? 0) + 1);
        m.gapCount += 1;
        m.gapMax = Math.max(m.gapMax, v.closed);
      }
    }
    if (!e) return;
    m.last = Math.max(e.lastTs, m.last ?? -Infinity);
    if (ctx.maintenance === undefined) m.excused = false;
  };

  /** The unanswered check, with its learning (unchanged rules: runs are learned when they end). */
  const scoreUnanswered = (e: EdgeFeatures, m: SilenceEdgeModel, ctx: WindowContext): Finding | undefined => {
    const useL7 = m.n > 0 && m.l7Answered >= cfg.l7Fraction * m.n;
    const noL7 = useL7 && e.requests > 0 && e.responses === 0;
    const unanswered = e.packetsRev === 0 || noL7;
    const run = unanswered ? m.run + 1 : 0;
    let score = 0;
    let finding: Finding | undefined;
    // Answered windows get no finding (no score row): only a mute device is worth a row.
    if (m.n >= cfg.minWindows && unanswered) {
      const q = (m.unanswered + 1) / (m.n + 2);
      score = tailToScore(run * Math.log(q));
      const what = e.requests > 0 ? `${e.requests} requests` : `${e.packets - e.packetsRev} packets`;
      const how = e.packetsRev === 0 ? 'no packet back' : 'no l7 response (TCP still acknowledges)';
      finding = {
        edge: e.edge, score,
        explanation: `device not answering: ${edgeText(e.key)} sent ${what} and got ${how}, ${run} window${run > 1 ? 's' : ''} in a row; baseline: ${m.unanswered} of ${m.n} windows unanswered`,
        features: { unanswered: 1, run, expected_unanswered: round(q), responses: e.responses, packets_rev: e.packetsRev },
      };
    }
    m.run = run;
    if (ctx.maintenance !== undefined) return finding;
    if (unanswered && !(ctx.learning || m.n < cfg.minWindows)) {
      // Learned later, as a whole run, once the device answers again: a run that is still
      // growing must not teach the model that silence is normal.
      m.pending += 1;
      m.runScore = Math.max(m.runScore, score);
      return finding;
    }
    if (!unanswered) {
      if (m.runScore < cfg.learnBelow) { m.n += m.pending; m.unanswered += m.pending; }
      m.pending = 0;
      m.runScore = 0;
    }
    m.n += 1;
    if (unanswered) m.unanswered += 1;
    if (e.responses > 0) m.l7Answered += 1;
    return finding;
  };

  const merge = (a: Finding | undefined, b: Finding | undefined): Finding | undefined => {
    if (!a || !b) return a ?? b;
    const [hi, lo] = b.score > a.score ? [b, a] : [a, b];
    return { edge: a.edge, score: hi.score, explanation: `${hi.explanation}; ${lo.explanation}`, features: { ...lo.features, ...hi.features } };
  };

  return {
    name: NAME,
    init: () => ({ edges: new Map(), lastWindowEnd: null }),
    scoreWindow(cw, state, ctx) {
      if (state.lastWindowEnd !== null && ctx.windowStart > state.lastWindowEnd) {
        // Windows were skipped (no input at all for a long stretch): a gap in the data, not a silence.
        for (const m of state.edges.values()) m.last = null;
      }
      state.lastWindowEnd = ctx.windowEnd;
      for (const id of cw.edges.keys()) if (!state.edges.has(id)) state.edges.set(id, newModel());
      const findings: Finding[] = [];
      for (const id of [...state.edges.keys()].sort(byString)) {
        const m = state.edges.get(id)!;
        const e = cw.edges.get(id);
        const gap = scoreGap(id, e, m, ctx);
        learnGap(e, m, gap, ctx);
        const mute = e && asked(e) ? scoreUnanswered(e, m, ctx) : undefined;
        const f = merge(mute, gap.finding);
        if (f) findings.push(f);
      }
      return { findings, state };
    },
    save: (s): SilenceJSON => ({
      edges: [...s.edges].map(([id, m]) => [id, { ...m, gapHist: [...m.gapHist].sort((a, b) => a[0] - b[0]) }]),
      lastWindowEnd: s.lastWindowEnd,
    }),
    load: (json) => {
      const j = json as SilenceJSON;
      const list = Array.isArray(j) ? j : j.edges;
      return {
        edges: new Map(list.map(([id, m]) => [id, { ...newModel(), ...m, gapHist: new Map(m.gapHist ?? []) }])),
        lastWindowEnd: Array.isArray(j) ? null : j.lastWindowEnd,
      };
    },
  };
};

/** A silence detector from raw settings (parsed here; throws on invalid ones). */
export const createSilence = (input: unknown = {}): WindowDetector<SilenceState> => buildSilence(SilenceConfig.parse(input));

/** The registry entry (cli/registry.ts). */
export const silenceDetector = defineDetector({
  name: NAME,
  summary: 'A device that stops answering, and the longest gap with no traffic at all against the learned one.',
  config: SilenceConfig,
  create: (cfg) => buildSilence(cfg) as WindowDetector<unknown>,
});
