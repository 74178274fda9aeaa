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
 */
import { intervals, type IntervalSummary } from '../../core/records.ts';
import { round, zToScore } from '../calibration.ts';
import { byString, num, type Finding, defineDetector, type WindowDetector } from '../detector.ts';
import type { EdgeFeatures } from '../features.ts';
import { edgeText } from '../novelty/detector.ts';
import { CadenceConfig } from './config.ts';

export const NAME = 'cadence';

/** One channel: learned intervals and, for connection channels, the last start (for the gap into the next window). */
export interface CadenceChannel {
  base: IntervalSummary;
  lastStart: number | null;
}

export interface CadenceEdgeModel {
  /** 'requests', or 'conn:<sorted ops>' ('conn:' for connections without l7 operations). */
  channels: Map<string, CadenceChannel>;
}

export interface CadenceState {
  edges: Map<string, CadenceEdgeModel>;
}

interface Verdict {
  channel: string;
  z: number;
  judged: boolean;
  text: string;
  features: Record<string, number>;
  seen: IntervalSummary;
}

const REQUESTS = 'requests';
const OVERFLOW = 'conn:*';

const gapsFrom = (starts: readonly number[], lastStart: number | null): IntervalSummary => {
  const s = intervals.empty();
  let prev = lastStart;
  for (const t of starts) {
    if (prev !== null && t >= prev) intervals.add(s, t - prev);
    prev = t;
  }
  return s;
};

const channelName = (ch: string): string => {
  if (ch === REQUESTS) return 'request period';
  const ops = ch.slice(5);
  return ops === '' ? 'connection period' : ops === '*' ? 'connection period (other ops)' : `connection period (${ops.replaceAll('+', ', ')})`;
};

type SummaryJSON = IntervalSummary | null;
const summaryToJSON = (s: IntervalSummary): SummaryJSON => (s.count > 0 ? { ...s } : null);
const summaryFromJSON = (s: SummaryJSON): IntervalSummary => (s ? { ...s } : intervals.empty());

const buildCadence = (cfg: CadenceConfig): WindowDetector<CadenceState> => {

  const judge = (channel: string, base: IntervalSummary, seen: IntervalSummary): Verdict | undefined => {
    if (seen.count < cfg.minIntervals) return undefined;
    const p = channel === REQUESTS ? 'request_' : 'connection_';
    const what = channelName(channel);
    if (base.count < cfg.minBaselineIntervals) {
      return { channel, z: 0, judged: false, seen, text: `learning ${what}: ${base.count} of ${cfg.minBaselineIntervals} intervals`, features: { [`${p}intervals`]: seen.count } };
    }
    const jitterBase = intervals.std(base);
    const jitterSeen = intervals.std(seen);
    const features: Record<string, number> = {
      [`${p}period_ms`]: round(seen.mean, 2), [`${p}jitter_ms`]: round(jitterSeen, 2), [`${p}expected_period_ms`]: round(base.mean, 2),
      [`${p}expected_jitter_ms`]: round(jitterBase, 2), [`${p}intervals`]: seen.count,
    };
    const seenText = `${num(seen.mean)} ms${seen.count > 1 ? ` ± ${num(jitterSeen)}` : ''} seen over ${seen.count} interval${seen.count > 1 ? 's' : ''}`;
    const cv = base.mean > 0 ? jitterBase / base.mean : Infinity;
    if (cv > cfg.maxPeriodicCv) {
      return { channel, z: 0, judged: false, seen, features: { ...features, [`${p}z`]: 0 },
        text: `${what} not judged: aperiodic (event-driven) traffic, ${num(base.mean)} ms ± ${num(jitterBase)} learned; ${seenText}` };
    }
    const jitterEff = Math.max(jitterBase, cfg.relativeFloor * base.mean, cfg.absoluteFloorMs);
    let zPeriod = Math.abs(seen.mean - base.mean) / jitterEff;
    let missed = '';
    if (seen.count < 3 && seen.mean > base.mean) {
      const k = Math.round(seen.mean / base.mean);
      if (k >= 2 && Math.abs(seen.mean - k * base.mean) <= 3 * k * jitterEff) {
        zPeriod = 0;
        missed = ` (${k - 1} missed poll${k > 2 ? 's' : ''}, not a new period)`;
      }
    }
    const zJitter = seen.count > 2 && jitterSeen > jitterEff ? cfg.jitterZPerDoubling * Math.log2(jitterSeen / jitterEff) : 0;
    const z = Math.max(zPeriod, zJitter);
    const kind = zJitter > zPeriod && zJitter > 0 ? ' (jitter)' : '';
    return {
      channel, z, judged: true, seen, features: { ...features, [`${p}z`]: round(z) },
      text: `${what} ${num(base.mean)} ms ± ${num(jitterBase)} expected, ${seenText}${missed}${z >= 2 ? kind : ''}`,
    };
  };

  const channelOf = (m: CadenceEdgeModel, name: string): CadenceChannel => {
    let ch = m.channels.get(name);
    if (!ch) {
      const conns = [...m.channels.keys()].filter((k) => k !== REQUESTS).length;
      if (name !== REQUESTS && conns >= cfg.maxChannels) return channelOf(m, OVERFLOW);
      m.channels.set(name, (ch = { base: intervals.empty(), lastStart: null }));
    }
    return ch;
  };

  const scoreEdge = (e: EdgeFeatures, m: CadenceEdgeModel, learn: boolean, learning: boolean): Finding | undefined => {
    const work: [CadenceChannel, IntervalSummary, Verdict | undefined][] = [];
    const req = channelOf(m, REQUESTS);
    work.push([req, e.requestIntervals, judge(REQUESTS, req.base, e.requestIntervals)]);
    for (const sig of [...e.startsByOps.keys()].sort(byString)) {
      const starts = e.startsByOps.get(sig)!;
      let name = `conn:${sig}`;
      let ch = channelOf(m, name);
      if (!m.channels.has(name)) name = OVERFLOW;
      const seen = gapsFrom(starts, ch.lastStart);
      ch.lastStart = starts[starts.length - 1]!;
      ch = m.channels.get(name)!;
      work.push([ch, seen, judge(name, ch.base, seen)]);
    }
    const verdicts = work.map((w) => w[2]).filter((v): v is Verdict => v !== undefined);
    // Nothing measurable this window (one long flow without request timing): no score.
    if (verdicts.length === 0) return undefined;
    const worst = verdicts.reduce((a, b) => (b.z > a.z ? b : a));
    const score = zToScore(worst.z);
    if (learn && (learning || score < cfg.learnBelow)) for (const [ch, seen] of work) intervals.merge(ch.base, seen);
    // Features: requests channel, and the connection channel that scored worst (or had most intervals).
    const conns = verdicts.filter((v) => v.channel !== REQUESTS);
    const conn = conns.reduce<Verdict | undefined>((a, b) => (!a || b.z > a.z || (b.z === a.z && b.seen.count > a.seen.count) ? b : a), undefined);
    const features: Record<string, number> = { ...verdicts.find((v) => v.channel === REQUESTS)?.features, ...conn?.features };
    if (conns.length > 1) features.connection_channels = conns.length;
    const texts = [worst, ...verdicts.filter((v) => v !== worst && v.judged)].map((v) => v.text);
    return { edge: e.edge, score, explanation: `${edgeText(e.key)}: ${texts.join('; ')}`, features };
  };

  return {
    name: NAME,
    init: () => ({ edges: new Map() }),
    scoreWindow(cw, state, ctx) {
      const findings: Finding[] = [];
      // Maintenance traffic is scored but never learned: the production baseline stays clean.
      const learn = ctx.maintenance === undefined;
      for (const e of [...cw.edges.values()].sort((a, b) => byString(a.edge, b.edge))) {
        let m = state.edges.get(e.edge);
        if (!m) state.edges.set(e.edge, (m = { channels: new Map() }));
        const f = scoreEdge(e, m, learn, ctx.learning);
        if (f) findings.push(f);
      }
      return { findings, state };
    },
    save: (s) => [...s.edges].map(([id, m]) => [id, [...m.channels].map(([k, c]) => [k, summaryToJSON(c.base), c.lastStart])]),
    load: (json) => ({
      edges: new Map((json as [string, [string, SummaryJSON, number | null][]][]).map(([id, chans]) => [id, {
        channels: new Map(chans.map(([k, base, lastStart]) => [k, { base: summaryFromJSON(base), lastStart }])),
      }])),
    }),
  };
};

/** A cadence detector from raw settings (parsed here; throws on invalid ones). */
export const createCadence = (input: unknown = {}): WindowDetector<CadenceState> => buildCadence(CadenceConfig.parse(input));

/** The registry entry (cli/registry.ts). */
export const cadenceDetector = defineDetector({
  name: NAME,
  summary: 'Periodicity: the dominant period and jitter of in-flow requests and of connection starts per operation set.',
  config: CadenceConfig,
  create: (cfg) => buildCadence(cfg) as WindowDetector<unknown>,
});
