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
 *   flows, between requests inside a flow (the request intervals' max), and the silence still open
 *   at the window's end (up to `ctx.horizon`, so a capture that simply ends is not a silence).
 *   Closed gaps are learned as a distribution of per-window longest gaps (a log-scale histogram);
 *   the window is judged against its `gapQuantile` (floored at `gapFloor`) with
 *   z = gapZPerDoubling · log2(gap / reference) and `zToScore`: 4x the usual longest gap → 0.8.
 *   Only edges with traffic in most learned windows are judged. A silence that overlaps a
 *   maintenance window is never judged once it ends.
 *
 * A poller that stops asking while the connection stays up is also the rate detector's
 * `polling_stop`; the longest gap is what catches a conduit whose request count per window is too
 * noisy for that (BUT MMS: 7.6 ± 4.7 requests per minute, 110 s and 130 s outages).
 *
 * State, in columns per edge: the answer counts and the current unanswered run; the end of the
 * latest activity; the gap histogram (a pool of (bucket, windows) entries linked per edge in
 * bucket order) with its count and maximum; per conduit, the end of the last window scored.
 */
import { round, tailToScore, zToScore } from '../calibration.ts';
import { colFromJson, colToJson, grow, type NumJSON } from '../columns.ts';
import { defineDetector, durationText, slotIn, type ConduitWindow, type FindingSink, type WindowContext, type WindowDetector } from '../detector.ts';
import { insideGapMs } from '../features.ts';
import { SilenceConfig } from './config.ts';

export const NAME = 'silence';

/** Histogram buckets per doubling of the gap (9 % wide). */
const BUCKETS_PER_DOUBLING = 8;
const bucketOf = (ms: number): number => Math.ceil(BUCKETS_PER_DOUBLING * Math.log2(Math.max(1, ms)));
const TOPS = new Float64Array(1024).fill(NaN);
/** Upper bound of bucket `b` (ms); cached, since every judged window asks. */
const bucketTop = (b: number): number => {
  if (b < 0 || b >= TOPS.length) return 2 ** (b / BUCKETS_PER_DOUBLING);
  let v = TOPS[b]!;
  if (Number.isNaN(v)) TOPS[b] = v = 2 ** (b / BUCKETS_PER_DOUBLING);
  return v;
};

/** The learned gaps of one edge, as `gapQuantileMs` reads them. */
export interface GapHistogram {
  /** Bucket (ceil(8 · log2 ms)) → windows. */
  gapHist: Map<number, number>;
  gapCount: number;
  gapMax: number;
}

/** The q-quantile (nearest rank) of the learned gaps, as its bucket's upper bound capped at the exact maximum. */
export const gapQuantileMs = (m: GapHistogram, q: number): number => {
  if (m.gapCount === 0) return 0;
  const rank = Math.max(1, Math.ceil(q * m.gapCount));
  let seen = 0;
  for (const b of [...m.gapHist.keys()].sort((x, y) => x - y)) {
    seen += m.gapHist.get(b)!;
    if (seen >= rank) return Math.min(bucketTop(b), m.gapMax);
  }
  return m.gapMax;
};

/** Integer columns per edge, in JSON order. */
const INTS = ['n', 'unanswered', 'l7Answered', 'run', 'pending', 'gapWindows', 'gapActive', 'gapCount', 'excused', 'hasLast'] as const;
const NUMS = ['runScore', 'last', 'gapMax'] as const;

interface SilenceJSON {
  edges: number;
  ints: NumJSON[][];
  nums: NumJSON[][];
  /** Per edge with a histogram: [edge, [bucket, windows]…] in bucket order. */
  hist: [number, [number, number][]][];
  /** Per conduit id: end of the last window scored ("nan" before any). */
  lastWindowEnd: NumJSON[];
}

const buildSilence = (cfg: SilenceConfig): WindowDetector => {
  let used = 0;
  const I: Record<(typeof INTS)[number], Int32Array> = Object.fromEntries(INTS.map((k) => [k, new Int32Array(0)])) as never;
  const F: Record<(typeof NUMS)[number], Float64Array> = Object.fromEntries(NUMS.map((k) => [k, new Float64Array(0)])) as never;
  let histHead = new Int32Array(0);
  let hN = 0;
  let hBucket = new Int32Array(16);
  let hCount = new Int32Array(16);
  let hNext = new Int32Array(16);
  let lastWindowEnd = new Float64Array(0);

  const ensure = (edges: number, conduits: number): void => {
    if (edges > histHead.length) {
      for (const k of INTS) I[k] = grow(I[k], edges);
      for (const k of NUMS) F[k] = grow(F[k], edges);
      histHead = grow(histHead, edges, -1);
    }
    if (conduits > lastWindowEnd.length) lastWindowEnd = grow(lastWindowEnd, conduits, NaN);
  };

  const histAdd = (e: number, b: number): void => {
    let prev = -1;
    let i = histHead[e]!;
    while (i >= 0 && hBucket[i]! < b) { prev = i; i = hNext[i]!; }
    if (i >= 0 && hBucket[i] === b) { hCount[i] = hCount[i]! + 1; return; }
    const j = hN++;
    if (j >= hBucket.length) { hBucket = grow(hBucket, j + 1); hCount = grow(hCount, j + 1); hNext = grow(hNext, j + 1); }
    hBucket[j] = b;
    hCount[j] = 1;
    hNext[j] = i;
    if (prev < 0) histHead[e] = j;
    else hNext[prev] = j;
  };

  const quantile = (e: number): number => {
    const count = I.gapCount[e]!;
    if (count === 0) return 0;
    const rank = Math.max(1, Math.ceil(cfg.gapQuantile * count));
    let seen = 0;
    for (let i = histHead[e]!; i >= 0; i = hNext[i]!) {
      seen += hCount[i]!;
      if (seen >= rank) return Math.min(bucketTop(hBucket[i]!), F.gapMax[e]!);
    }
    return F.gapMax[e]!;
  };

  const judgedGaps = (e: number): boolean =>
    I.gapCount[e]! >= cfg.gapMinWindows && I.gapWindows[e]! >= cfg.gapMinWindows && I.gapActive[e]! >= cfg.gapActiveFraction * I.gapWindows[e]!;

  /** One known edge in one window (a function of its own, so the JIT optimizes it within the first window). */
  const scoreEdge = (w: ConduitWindow, ctx: WindowContext, out: FindingSink, e: number, horizon: number, maint: boolean): void => {
    const t = w.edges;
    const acc = w.acc;
    const s = slotIn(w, e);
    const has = s >= 0;
    const hasLast = I.hasLast[e] === 1;
    const last = F.last[e]!;
    const excused = I.excused[e] === 1;
    // The longest gap (learns nothing yet).
    const head = has && hasLast && !excused ? Math.max(0, acc!.firstTs[s]! - last) : 0;
    const closed = has ? Math.max(head, insideGapMs(acc!, s)) : 0;
    const endKnown = has || hasLast;
    const end = has ? Math.max(acc!.lastTs[s]!, hasLast ? last : -Infinity) : last;
    const open = endKnown && !excused ? Math.max(0, horizon - end) : 0;
    const gap = Math.max(closed, open);
    let gapScore = 0;
    let gapJudged = false;
    let usual = 0;
    let ref = 0;
    let gz = 0;
    if (judgedGaps(e) && !(gap <= 0)) {
      usual = quantile(e);
      ref = Math.max(usual, cfg.gapFloor);
      if (!(gap <= ref)) {
        gz = cfg.gapZPerDoubling * Math.log2(gap / ref);
        gapScore = zToScore(gz);
        gapJudged = true;
      }
    }
    // The unanswered check (numbers only; its state moves below).
    const asked = has && (acc!.requests[s]! > 0 || acc!.packets[s]! - acc!.packetsRev[s]! >= cfg.minRequestPackets);
    let unanswered = false;
    let run = 0;
    let muteScore = 0;
    let muteFinding = false;
    let q = 0;
    if (asked) {
      const n = I.n[e]!;
      const useL7 = n > 0 && I.l7Answered[e]! >= cfg.l7Fraction * n;
      const noL7 = useL7 && acc!.requests[s]! > 0 && acc!.responses[s] === 0;
      unanswered = acc!.packetsRev[s] === 0 || noL7;
      run = unanswered ? I.run[e]! + 1 : 0;
      if (n >= cfg.minWindows && unanswered) {
        q = (I.unanswered[e]! + 1) / (n + 2);
        muteScore = tailToScore(run * Math.log(q));
        muteFinding = true;
      }
    }
    if ((gapJudged || muteFinding) && out.wants(Math.max(gapJudged ? gapScore : 0, muteFinding ? muteScore : 0), undefined, e)) {
      const text = t.text(e);
      let gf: { score: number; explanation: string; features: Record<string, number> } | undefined;
      let mf: typeof gf;
      if (gapJudged) {
        const gapMax = F.gapMax[e]!;
        const stillOpen = open >= closed;
        const baseline = usual >= gapMax
          ? `longest gap in baseline ${durationText(gapMax)}`
          : `longest gap in baseline ${durationText(gapMax)}, ${round(cfg.gapQuantile * 100, 1)}% of windows ≤ ${durationText(usual)}`;
        const floor = ref > usual ? ` (judged against the ${durationText(cfg.gapFloor)} floor)` : '';
        gf = {
          score: gapScore,
          explanation: `no traffic on ${text} for ${durationText(gap)}${stillOpen ? ' so far' : ''}; ${baseline}${floor}`,
          features: { gap_ms: round(gap, 1), gap_open: stillOpen ? 1 : 0, gap_expected_ms: round(usual, 1), gap_max_ms: round(gapMax, 1), gap_z: round(gz) },
        };
      }
      if (muteFinding) {
        const req = acc!.requests[s]!;
        const what = req > 0 ? `${req} requests` : `${acc!.packets[s]! - acc!.packetsRev[s]!} packets`;
        const how = acc!.packetsRev[s] === 0 ? 'no packet back' : 'no l7 response (TCP still acknowledges)';
        mf = {
          score: muteScore,
          explanation: `device not answering: ${text} sent ${what} and got ${how}, ${run} window${run > 1 ? 's' : ''} in a row; baseline: ${I.unanswered[e]} of ${I.n[e]} windows unanswered`,
          features: { unanswered: 1, run, expected_unanswered: round(q), responses: acc!.responses[s]!, packets_rev: acc!.packetsRev[s]! },
        };
      }
      if (mf && gf) {
        const [hi, lo] = gf.score > mf.score ? [gf, mf] : [mf, gf];
        out.push({ edge: t.idOf(e), score: hi.score, explanation: `${hi.explanation}; ${lo.explanation}`, features: { ...lo.features, ...hi.features } });
      } else {
        const f = (mf ?? gf)!;
        out.push({ edge: t.idOf(e), score: f.score, explanation: f.explanation, features: f.features });
      }
    }
    // Learn the gap.
    if (maint) {
      I.excused[e] = 1;
    } else if (ctx.learning || !judgedGaps(e) || gapScore < cfg.learnBelow) {
      I.gapWindows[e] = I.gapWindows[e]! + 1;
      if (has) I.gapActive[e] = I.gapActive[e]! + 1;
      if (closed > 0) {
        histAdd(e, bucketOf(closed));
        I.gapCount[e] = I.gapCount[e]! + 1;
        F.gapMax[e] = Math.max(F.gapMax[e]!, closed);
      }
    }
    if (has) {
      F.last[e] = Math.max(acc!.lastTs[s]!, hasLast ? last : -Infinity);
      I.hasLast[e] = 1;
      if (!maint) I.excused[e] = 0;
    }
    // Learn the answers (runs are learned when they end).
    if (!asked) return;
    I.run[e] = run;
    if (maint) return;
    if (unanswered && !(ctx.learning || I.n[e]! < cfg.minWindows)) {
      // Learned later, as a whole run, once the device answers again: a run that is still
      // growing must not teach the model that silence is normal.
      I.pending[e] = I.pending[e]! + 1;
      F.runScore[e] = Math.max(F.runScore[e]!, muteScore);
      return;
    }
    if (!unanswered) {
      if (F.runScore[e]! < cfg.learnBelow) { I.n[e] = I.n[e]! + (I.pending[e]!); I.unanswered[e] = I.unanswered[e]! + (I.pending[e]!); }
      I.pending[e] = 0;
      F.runScore[e] = 0;
    }
    I.n[e] = I.n[e]! + 1;
    if (unanswered) I.unanswered[e] = I.unanswered[e]! + 1;
    if (acc!.responses[s]! > 0) I.l7Answered[e] = I.l7Answered[e]! + 1;
  };

  return {
    name: NAME,
    scoreWindow(w, ctx, out) {
      const t = w.edges;
      ensure(t.count, t.conduits.size);
      used = Math.max(used, t.count);
      const { list, count } = t.edgesOf(w.conduit);
      const lw = lastWindowEnd[w.conduit]!;
      if (!Number.isNaN(lw) && ctx.windowStart > lw) {
        // Windows were skipped (no input at all for a long stretch): a gap in the data, not a silence.
        for (let k = 0; k < count; k += 1) if (t.firstWindow[list[k]!]! <= w.windowStart) I.hasLast[list[k]!] = 0;
      }
      lastWindowEnd[w.conduit] = ctx.windowEnd;
      const horizon = ctx.horizon ?? ctx.windowEnd;
      const maint = ctx.maintenance !== undefined;
      for (let k = 0; k < count; k += 1) {
        const e = list[k]!;
        if (t.firstWindow[e]! <= w.windowStart) scoreEdge(w, ctx, out, e, horizon, maint);
      }
    },
    save: (): SilenceJSON => {
      const hist: SilenceJSON['hist'] = [];
      for (let e = 0; e < used; e += 1) {
        if (histHead[e] === -1) continue;
        const l: [number, number][] = [];
        for (let i = histHead[e]!; i >= 0; i = hNext[i]!) l.push([hBucket[i]!, hCount[i]!]);
        hist.push([e, l]);
      }
      return {
        edges: used, ints: INTS.map((k) => colToJson(I[k], used)), nums: NUMS.map((k) => colToJson(F[k], used)), hist,
        lastWindowEnd: colToJson(lastWindowEnd, lastWindowEnd.length),
      };
    },
    load: (json) => {
      const j = json as SilenceJSON;
      used = j.edges;
      INTS.forEach((k, i) => { I[k] = colFromJson(Int32Array, j.ints[i], used); });
      NUMS.forEach((k, i) => { F[k] = colFromJson(Float64Array, j.nums[i], used); });
      const size = Math.min(...INTS.map((k) => I[k].length), ...NUMS.map((k) => F[k].length));
      for (const k of INTS) I[k] = I[k].slice(0, size);
      for (const k of NUMS) F[k] = F[k].slice(0, size);
      histHead = new Int32Array(size).fill(-1);
      hN = 0;
      for (const [e, l] of j.hist) for (const [b, c] of l) { histAdd(e, b); hCount[hN - 1] = c; }
      lastWindowEnd = colFromJson(Float64Array, j.lastWindowEnd, 0, NaN);
    },
  };
};

/** A silence detector from raw settings (parsed here; throws on invalid ones). */
export const createSilence = (input: unknown = {}): WindowDetector => buildSilence(SilenceConfig.parse(input));

/** The registry entry (cli/registry.ts). */
export const silenceDetector = defineDetector({
  name: NAME,
  summary: 'A device that stops answering, and the longest gap with no traffic at all against the learned one.',
  config: SilenceConfig,
  create: (cfg) => buildSilence(cfg),
});
