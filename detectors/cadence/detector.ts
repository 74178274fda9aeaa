/**
 * Cadence (periodicity): the dominant period and the jitter of each edge's polling against what
 * was learned, per channel:
 * - `requests`: request intervals measured inside flows (`FlowRecord.requestIntervalsMs`), for
 *   pollers that keep one connection open;
 * - `connections <ops>`: gaps between connection starts, one channel per set of operations a
 *   connection asks for (Lemay's MTU opens one connection per function code every 10 s: three
 *   channels of 10 s, not one muddle of 120 ms and 9.8 s gaps), carried across windows.
 * A channel is judged only while it is periodic (learned jitter / period ≤ `maxPeriodicCv`);
 * event-driven traffic is left to rate. Per channel z_period = |mean seen − period| / jitter_eff
 * and z_jitter = jitterZPerDoubling · log2(jitter seen / jitter_eff) (0 when below), where
 * jitter_eff = max(jitter learned, relativeFloor · period, absoluteFloorMs). With fewer than three
 * intervals in a window, a gap that is a whole multiple (≥ 2) of the period is a missed poll, not a
 * new period (rate and polling_stop judge missing polls). The window's z is the largest, mapped by
 * `zToScore`.
 *
 * State, in columns: per edge the requests channel (learned count, mean, m2 of the intervals);
 * connection channels in a pool linked per edge (signature, count, mean, m2, last start). An
 * edge with more than `maxChannels` operation sets puts the rest in one overflow channel.
 */
import { round, zToScore } from '../calibration.ts';
import { colFromJson, colToJson, grow, type NumJSON } from '../columns.ts';
import { defineDetector, num, type FindingSink, type WindowContext, type WindowDetector } from '../detector.ts';
import type { EdgeTable } from '../edges.ts';
import { startsBySig, type WindowAcc } from '../features.ts';
import { CadenceConfig } from './config.ts';

export const NAME = 'cadence';

/** Signature id of the overflow channel (ids ≥ 0 are `EdgeTable.sigs`). */
const OVERFLOW = -2;
/** Channel index of the requests channel in a window's work list. */
const REQ = -1;

interface Verdict {
  /** Requests channel (REQ) or the connection channel's signature id (OVERFLOW for the overflow). */
  sig: number;
  z: number;
  judged: boolean;
  count: number;
  mean: number;
  m2: number;
  baseCount: number;
  baseMean: number;
  baseM2: number;
}

interface CadenceJSON {
  edges: number;
  reqCount: NumJSON[];
  reqMean: NumJSON[];
  reqM2: NumJSON[];
  /** Per edge: [signature, count, mean, m2, last start] of each connection channel, in creation order. */
  conn: [number, [number, NumJSON, NumJSON, NumJSON, NumJSON][]][];
}

const std = (count: number, m2: number): number => (count > 1 ? Math.sqrt(m2 / (count - 1)) : 0);

const buildCadence = (cfg: CadenceConfig): WindowDetector => {
  let used = 0;
  let reqCount = new Float64Array(0);
  let reqMean = new Float64Array(0);
  let reqM2 = new Float64Array(0);
  let connHead = new Int32Array(0);
  let connN = new Int32Array(0);
  // Connection channel pool.
  let chN = 0;
  let chSig = new Int32Array(16);
  let chCount = new Float64Array(16);
  let chMean = new Float64Array(16);
  let chM2 = new Float64Array(16);
  let chLast = new Float64Array(16);
  let chNext = new Int32Array(16);

  const ensure = (edges: number): void => {
    if (edges <= connHead.length && edges <= reqCount.length) return;
    reqCount = grow(reqCount, edges); reqMean = grow(reqMean, edges); reqM2 = grow(reqM2, edges);
    connHead = grow(connHead, edges, -1); connN = grow(connN, edges);
  };

  const newChannel = (e: number, sig: number): number => {
    const i = chN++;
    if (i >= chSig.length) {
      chSig = grow(chSig, i + 1); chCount = grow(chCount, i + 1); chMean = grow(chMean, i + 1);
      chM2 = grow(chM2, i + 1); chLast = grow(chLast, i + 1); chNext = grow(chNext, i + 1);
    }
    chSig[i] = sig; chCount[i] = 0; chMean[i] = 0; chM2[i] = 0; chLast[i] = NaN; chNext[i] = -1;
    if (connHead[e] === -1) connHead[e] = i;
    else {
      let t = connHead[e]!;
      while (chNext[t]! >= 0) t = chNext[t]!;
      chNext[t] = i;
    }
    if (sig !== OVERFLOW) connN[e] = connN[e]! + 1;
    return i;
  };

  /** The channel of `sig` on edge `e`: created while the edge has fewer than maxChannels, else the overflow channel. */
  const channelOf = (e: number, sig: number): number => {
    let over = -1;
    for (let i = connHead[e]!; i >= 0; i = chNext[i]!) {
      if (chSig[i] === sig) return i;
      if (chSig[i] === OVERFLOW) over = i;
    }
    if (connN[e]! < cfg.maxChannels) return newChannel(e, sig);
    return over >= 0 ? over : newChannel(e, OVERFLOW);
  };

  // Scratch: the channels judged for the edge being scored (index 0 = requests), in order.
  let wN = 0;
  let wCh = new Int32Array(8);
  let wSig = new Int32Array(8);
  let wOk = new Uint8Array(8);
  let wJudged = new Uint8Array(8);
  let wZ = new Float64Array(8);
  let wCount = new Float64Array(8);
  let wMean = new Float64Array(8);
  let wM2 = new Float64Array(8);
  let wBaseCount = new Float64Array(8);
  let wBaseMean = new Float64Array(8);
  let wBaseM2 = new Float64Array(8);
  /** A new scratch channel (its columns grown); the caller writes its numbers, then `judge`s it. */
  const workSlot = (ch: number, sig: number): number => {
    const i = wN++;
    if (i >= wCh.length) {
      wCh = grow(wCh, i + 1); wSig = grow(wSig, i + 1); wOk = grow(wOk, i + 1); wJudged = grow(wJudged, i + 1); wZ = grow(wZ, i + 1);
      wCount = grow(wCount, i + 1); wMean = grow(wMean, i + 1); wM2 = grow(wM2, i + 1); wBaseCount = grow(wBaseCount, i + 1);
      wBaseMean = grow(wBaseMean, i + 1); wBaseM2 = grow(wBaseM2, i + 1);
    }
    wCh[i] = ch; wSig[i] = sig;
    wZ[i] = 0;
    wJudged[i] = 0;
    return i;
  };

  /** Judges scratch channel `i` (its z and whether it was judged); false when the window holds too few intervals on it. */
  const judge = (i: number): boolean => {
    const count = wCount[i]!;
    if (count < cfg.minIntervals) return false;
    const baseCount = wBaseCount[i]!;
    if (baseCount < cfg.minBaselineIntervals) return true;
    const baseMean = wBaseMean[i]!;
    const mean = wMean[i]!;
    // std(), written out: a number returned from a call that is not inlined is boxed, per edge-window.
    const jitterBase = baseCount > 1 ? Math.sqrt(wBaseM2[i]! / (baseCount - 1)) : 0;
    const jitterSeen = count > 1 ? Math.sqrt(wM2[i]! / (count - 1)) : 0;
    const cv = baseMean > 0 ? jitterBase / baseMean : Infinity;
    if (cv > cfg.maxPeriodicCv) return true;
    const jitterEff = Math.max(jitterBase, cfg.relativeFloor * baseMean, cfg.absoluteFloorMs);
    let zPeriod = Math.abs(mean - baseMean) / jitterEff;
    if (count < 3 && mean > baseMean) {
      const k = Math.round(mean / baseMean);
      if (k >= 2 && Math.abs(mean - k * baseMean) <= 3 * k * jitterEff) zPeriod = 0;
    }
    const zJitter = count > 2 && jitterSeen > jitterEff ? cfg.jitterZPerDoubling * Math.log2(jitterSeen / jitterEff) : 0;
    wZ[i] = Math.max(zPeriod, zJitter);
    wJudged[i] = 1;
    return true;
  };

  /** Scratch channel `i` as a Verdict, for explanations. */
  const verdictAt = (i: number): Verdict => ({
    sig: wSig[i]!, z: wZ[i]!, judged: wJudged[i] === 1, count: wCount[i]!, mean: wMean[i]!, m2: wM2[i]!,
    baseCount: wBaseCount[i]!, baseMean: wBaseMean[i]!, baseM2: wBaseM2[i]!,
  });

  const channelName = (sig: number, t: EdgeTable): string => {
    if (sig === REQ) return 'request period';
    if (sig === OVERFLOW) return 'connection period (other ops)';
    const ops = t.sigs.list[sig]!;
    return ops === '' ? 'connection period' : `connection period (${ops.replaceAll('+', ', ')})`;
  };

  /** The verdict's text and features (the same words and numbers as `judge` decided on). */
  const describe = (v: Verdict, t: EdgeTable): { text: string; features: Record<string, number> } => {
    const p = v.sig === REQ ? 'request_' : 'connection_';
    const what = channelName(v.sig, t);
    if (v.baseCount < cfg.minBaselineIntervals) {
      return { text: `learning ${what}: ${v.baseCount} of ${cfg.minBaselineIntervals} intervals`, features: { [`${p}intervals`]: v.count } };
    }
    const jitterBase = std(v.baseCount, v.baseM2);
    const jitterSeen = std(v.count, v.m2);
    const features: Record<string, number> = {
      [`${p}period_ms`]: round(v.mean, 2), [`${p}jitter_ms`]: round(jitterSeen, 2), [`${p}expected_period_ms`]: round(v.baseMean, 2),
      [`${p}expected_jitter_ms`]: round(jitterBase, 2), [`${p}intervals`]: v.count,
    };
    const seenText = `${num(v.mean)} ms${v.count > 1 ? ` ± ${num(jitterSeen)}` : ''} seen over ${v.count} interval${v.count > 1 ? 's' : ''}`;
    const cv = v.baseMean > 0 ? jitterBase / v.baseMean : Infinity;
    if (cv > cfg.maxPeriodicCv) {
      return { features: { ...features, [`${p}z`]: 0 }, text: `${what} not judged: aperiodic (event-driven) traffic, ${num(v.baseMean)} ms ± ${num(jitterBase)} learned; ${seenText}` };
    }
    const jitterEff = Math.max(jitterBase, cfg.relativeFloor * v.baseMean, cfg.absoluteFloorMs);
    let zPeriod = Math.abs(v.mean - v.baseMean) / jitterEff;
    let missed = '';
    if (v.count < 3 && v.mean > v.baseMean) {
      const k = Math.round(v.mean / v.baseMean);
      if (k >= 2 && Math.abs(v.mean - k * v.baseMean) <= 3 * k * jitterEff) {
        zPeriod = 0;
        missed = ` (${k - 1} missed poll${k > 2 ? 's' : ''}, not a new period)`;
      }
    }
    const zJitter = v.count > 2 && jitterSeen > jitterEff ? cfg.jitterZPerDoubling * Math.log2(jitterSeen / jitterEff) : 0;
    const kind = zJitter > zPeriod && zJitter > 0 ? ' (jitter)' : '';
    return {
      features: { ...features, [`${p}z`]: round(v.z) },
      text: `${what} ${num(v.baseMean)} ms ± ${num(jitterBase)} expected, ${seenText}${missed}${v.z >= 2 ? kind : ''}`,
    };
  };

  // Mean connection period seen and learned over the conduit's edges judged on one, in the window being scored (its activity row).
  let sumPeriod = 0;
  let sumExpected = 0;
  let sumJitter = 0;
  let periodic = 0;

  /** One edge's window (a function of its own, so the JIT optimizes it within the first window). */
  const scoreEdge = (acc: WindowAcc, s: number, t: EdgeTable, ctx: WindowContext, out: FindingSink, learn: boolean): void => {
    const e = acc.edge[s]!;
    wN = 0;
    const r = workSlot(REQ, REQ);
    wCount[r] = acc.riCount[s]!; wMean[r] = acc.riMean[s]!; wM2[r] = acc.riM2[s]!;
    wBaseCount[r] = reqCount[e]!; wBaseMean[r] = reqMean[e]!; wBaseM2[r] = reqM2[e]!;
    wOk[r] = judge(r) ? 1 : 0;
    if (acc.startsHead[s]! >= 0) {
      for (const [sig, times] of startsBySig(acc, s, t)) {
        const ch = channelOf(e, sig);
        // Gaps from the channel's last start, carried across windows (Welford add, in order).
        let prev = chLast[ch]!;
        let count = 0;
        let mean = 0;
        let m2 = 0;
        for (const ts of times) {
          if (!Number.isNaN(prev) && ts >= prev) {
            const x = ts - prev;
            count += 1;
            const d = x - mean;
            mean += d / count;
            m2 += d * (x - mean);
          }
          prev = ts;
        }
        chLast[ch] = times[times.length - 1]!;
        const i = workSlot(ch, chSig[ch]!);
        wCount[i] = count; wMean[i] = mean; wM2[i] = m2; wBaseCount[i] = chCount[ch]!; wBaseMean[i] = chMean[ch]!; wBaseM2[i] = chM2[ch]!;
        wOk[i] = judge(i) ? 1 : 0;
      }
    }
    let worst = -1;
    for (let i = 0; i < wN; i += 1) if (wOk[i] === 1 && (worst < 0 || wZ[i]! > wZ[worst]!)) worst = i;
    // Nothing measurable this window (one long flow without request timing): no score.
    if (worst < 0) return;
    // The edge's connection channel that tells most (highest z, then most intervals), when learned.
    let best = -1;
    for (let i = 1; i < wN; i += 1) {
      if (wOk[i] === 1 && (best < 0 || wZ[i]! > wZ[best]! || (wZ[i] === wZ[best] && wCount[i]! > wCount[best]!))) best = i;
    }
    if (best >= 0 && wCount[best]! > 0 && wBaseCount[best]! >= cfg.minBaselineIntervals) {
      periodic += 1;
      sumPeriod += wMean[best]!;
      sumExpected += wBaseMean[best]!;
      sumJitter += std(wBaseCount[best]!, wBaseM2[best]!);
    }
    // The edge's band: its request channel when measured, else the connection channel that tells most.
    const band = wOk[0] === 1 && wCount[0]! > 0 ? 0 : best >= 0 && wCount[best]! > 0 ? best : -1;
    if (band >= 0 && out.bands) {
      // EdgeBands.cadence, written in place (round(x, 2) = Math.round(x * 100) / 100): no number is boxed per edge.
      const b = out.bands;
      const learned = wBaseCount[band]! >= cfg.minBaselineIntervals;
      b.touch(e);
      const c = wCount[band]!;
      b.periodMs[e] = Math.round(wMean[band]! * 100) / 100;
      b.jitterMs[e] = Math.round((c > 1 ? Math.sqrt(wM2[band]! / (c - 1)) : 0) * 100) / 100;
      const bc = wBaseCount[band]!;
      b.expectedPeriodMs[e] = learned ? Math.round(wBaseMean[band]! * 100) / 100 : NaN;
      b.expectedJitterMs[e] = learned ? Math.round((bc > 1 ? Math.sqrt(wBaseM2[band]! / (bc - 1)) : 0) * 100) / 100 : NaN;
      b.intervals[e] = c;
    }
    const score = zToScore(wZ[worst]!);
    if (out.wants(score, undefined, e)) {
      const verdicts: Verdict[] = [];
      let w0: Verdict | undefined;
      for (let i = 0; i < wN; i += 1) {
        if (wOk[i] !== 1) continue;
        const v = verdictAt(i);
        verdicts.push(v);
        if (i === worst) w0 = v;
      }
      const worstV = w0!;
      const conns = verdicts.filter((v) => v.sig !== REQ);
      const conn = conns.reduce<Verdict | undefined>((a, b) => (!a || b.z > a.z || (b.z === a.z && b.count > a.count) ? b : a), undefined);
      const reqV = verdicts.find((v) => v.sig === REQ);
      const features: Record<string, number> = { ...(reqV ? describe(reqV, t).features : {}), ...(conn ? describe(conn, t).features : {}) };
      if (conns.length > 1) features.connection_channels = conns.length;
      const texts = [worstV, ...verdicts.filter((v) => v !== worstV && v.judged)].map((v) => describe(v, t).text);
      out.push({ edge: t.idOf(e), score, explanation: `${t.text(e)}: ${texts.join('; ')}`, features });
    }
    if (learn && (ctx.learning || score < cfg.learnBelow)) {
      for (let i = 0; i < wN; i += 1) {
        const count = wCount[i]!;
        if (count === 0) continue;
        const ch = wCh[i]!;
        // intervals.merge (Chan et al.) into the channel's learned summary.
        const n0 = ch === REQ ? reqCount[e]! : chCount[ch]!;
        let mean: number;
        let m2: number;
        let n: number;
        if (n0 === 0) {
          n = count; mean = wMean[i]!; m2 = wM2[i]!;
        } else {
          const mean0 = ch === REQ ? reqMean[e]! : chMean[ch]!;
          n = n0 + count;
          const d = wMean[i]! - mean0;
          m2 = (ch === REQ ? reqM2[e]! : chM2[ch]!) + wM2[i]! + (d * d * n0 * count) / n;
          mean = mean0 + (d * count) / n;
        }
        if (ch === REQ) { reqCount[e] = n; reqMean[e] = mean; reqM2[e] = m2; } else { chCount[ch] = n; chMean[ch] = mean; chM2[ch] = m2; }
      }
    }
  };

  return {
    name: NAME,
    scoreWindow(w, ctx, out) {
      const acc = w.acc;
      if (!acc) return;
      const t = w.edges;
      ensure(t.count);
      used = Math.max(used, t.count);
      // Maintenance traffic is scored but never learned: the production baseline stays clean.
      const learn = ctx.maintenance === undefined;
      sumPeriod = 0;
      sumExpected = 0;
      sumJitter = 0;
      periodic = 0;
      for (let k = w.from; k < w.to; k += 1) scoreEdge(acc, acc.order[k]!, t, ctx, out, learn);
      if (periodic > 0) {
        out.series.cadence_edges = periodic;
        out.series.cadence_period_ms = round(sumPeriod / periodic, 2);
        out.series.cadence_expected_period_ms = round(sumExpected / periodic, 2);
        out.series.cadence_expected_jitter_ms = round(sumJitter / periodic, 2);
      }
    },
    save: (): CadenceJSON => {
      const conn: CadenceJSON['conn'] = [];
      for (let e = 0; e < used; e += 1) {
        if (connHead[e] === -1) continue;
        const list: [number, NumJSON, NumJSON, NumJSON, NumJSON][] = [];
        for (let i = connHead[e]!; i >= 0; i = chNext[i]!) {
          const [c, m, v, l] = colToJson(new Float64Array([chCount[i]!, chMean[i]!, chM2[i]!, chLast[i]!]), 4);
          list.push([chSig[i]!, c!, m!, v!, l!]);
        }
        conn.push([e, list]);
      }
      return { edges: used, reqCount: colToJson(reqCount, used), reqMean: colToJson(reqMean, used), reqM2: colToJson(reqM2, used), conn };
    },
    load: (json) => {
      const j = json as CadenceJSON;
      used = j.edges;
      reqCount = colFromJson(Float64Array, j.reqCount, used);
      reqMean = colFromJson(Float64Array, j.reqMean, used);
      reqM2 = colFromJson(Float64Array, j.reqM2, used);
      connHead = new Int32Array(Math.max(16, used)).fill(-1);
      connN = new Int32Array(Math.max(16, used));
      chN = 0;
      for (const [e, list] of j.conn) {
        for (const [sig, c, m, v, l] of list) {
          const i = newChannel(e, sig);
          const [cc, mm, vv, ll] = colFromJson(Float64Array, [c, m, v, l]);
          chCount[i] = cc!; chMean[i] = mm!; chM2[i] = vv!; chLast[i] = ll!;
        }
      }
    },
  };
};

/** A cadence detector from raw settings (parsed here; throws on invalid ones). */
export const createCadence = (input: unknown = {}): WindowDetector => buildCadence(CadenceConfig.parse(input));

/** The registry entry (cli/registry.ts). */
export const cadenceDetector = defineDetector({
  name: NAME,
  summary: 'Periodicity: the dominant period and jitter of in-flow requests and of connection starts per operation set.',
  config: CadenceConfig,
  create: (cfg) => buildCadence(cfg),
});
