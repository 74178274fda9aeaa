/**
 * Cadence: the period and jitter of each edge's polling against what was learned, on two channels:
 * - `requests`: request intervals measured inside flows (`FlowRecord.requestIntervalsMs`), for
 *   pollers that keep one connection open;
 * - `connections`: gaps between connection starts, carried across windows, for pollers that open
 *   one connection per poll (Lemay's MTU: a connection per function code every 10 s).
 * Per channel: z_period = |mean seen − period learned| / jitter_eff and
 * z_jitter = jitterZPerDoubling · log2(jitter seen / jitter_eff) (0 when below), where
 * jitter_eff = max(jitter learned, relativeFloor · period, absoluteFloorMs). The window's z is the
 * largest of those, mapped to [0, 1] by `zToScore`.
 */
import { intervals, type IntervalSummary } from '../../core/records.ts';
import { round, zToScore } from '../calibration.ts';
import { byString, num, type Finding, type WindowDetector } from '../detector.ts';
import type { EdgeFeatures } from '../features.ts';
import { edgeText } from '../novelty/detector.ts';
import { CadenceConfig } from './config.ts';

export const NAME = 'cadence';

export interface CadenceEdgeModel {
  requests: IntervalSummary;
  connections: IntervalSummary;
  /** tsStart of the edge's last connection start, to measure the gap into the next window. */
  lastStart: number | null;
}

export interface CadenceState {
  edges: Map<string, CadenceEdgeModel>;
}

interface ChannelVerdict {
  channel: 'requests' | 'connections';
  z: number;
  text: string;
  features: Record<string, number>;
  ready: boolean;
}

const connectionGaps = (e: EdgeFeatures, lastStart: number | null): IntervalSummary => {
  const s = intervals.empty();
  let prev = lastStart;
  for (const t of e.flowStarts) {
    if (prev !== null && t >= prev) intervals.add(s, t - prev);
    prev = t;
  }
  return s;
};

const summaryToJSON = (s: IntervalSummary): IntervalSummary | null => (s.count > 0 ? { ...s } : null);
const summaryFromJSON = (s: IntervalSummary | null): IntervalSummary => (s ? { ...s } : intervals.empty());

export const createCadence = (input: unknown = {}): WindowDetector<CadenceState> => {
  const cfg = CadenceConfig.parse(input);

  const judge = (channel: ChannelVerdict['channel'], base: IntervalSummary, seen: IntervalSummary): ChannelVerdict | undefined => {
    if (seen.count < cfg.minIntervals) return undefined;
    const p = `${channel === 'requests' ? 'request' : 'connection'}_`;
    if (base.count < cfg.minBaselineIntervals) {
      return { channel, z: 0, ready: false, text: `learning ${channel} cadence: ${base.count} of ${cfg.minBaselineIntervals} intervals`, features: { [`${p}intervals`]: seen.count } };
    }
    const jitterBase = intervals.std(base);
    const jitterEff = Math.max(jitterBase, cfg.relativeFloor * base.mean, cfg.absoluteFloorMs);
    const jitterSeen = intervals.std(seen);
    const zPeriod = Math.abs(seen.mean - base.mean) / jitterEff;
    const zJitter = seen.count > 2 && jitterSeen > jitterEff ? cfg.jitterZPerDoubling * Math.log2(jitterSeen / jitterEff) : 0;
    const z = Math.max(zPeriod, zJitter);
    const what = channel === 'requests' ? 'request period' : 'connection period';
    const text = `${what} ${num(base.mean)} ms ± ${num(jitterBase)} expected, ${num(seen.mean)} ms ± ${num(jitterSeen)} seen over ${seen.count} interval${seen.count > 1 ? 's' : ''}`;
    return {
      channel, z, text, ready: true,
      features: {
        [`${p}period_ms`]: round(seen.mean, 2), [`${p}jitter_ms`]: round(jitterSeen, 2), [`${p}expected_period_ms`]: round(base.mean, 2),
        [`${p}expected_jitter_ms`]: round(jitterBase, 2), [`${p}intervals`]: seen.count, [`${p}z`]: round(z),
      },
    };
  };

  const scoreEdge = (e: EdgeFeatures, m: CadenceEdgeModel, learning: boolean): Finding | undefined => {
    const seenReq = e.requestIntervals;
    const seenConn = connectionGaps(e, m.lastStart);
    const verdicts = [judge('requests', m.requests, seenReq), judge('connections', m.connections, seenConn)]
      .filter((v): v is ChannelVerdict => v !== undefined);
    if (e.flowStarts.length > 0) m.lastStart = e.flowStarts[e.flowStarts.length - 1]!;
    if (verdicts.length === 0) {
      // Nothing measurable this window (one long flow without request timing): no score.
      return undefined;
    }
    const worst = verdicts.reduce((a, b) => (b.z > a.z ? b : a));
    const score = zToScore(worst.z);
    if (learning || score < cfg.learnBelow) {
      intervals.merge(m.requests, seenReq);
      intervals.merge(m.connections, seenConn);
    }
    const features = Object.assign({}, ...verdicts.map((v) => v.features)) as Record<string, number>;
    const texts = verdicts.filter((v) => v === worst || v.ready).map((v) => v.text);
    return { edge: e.edge, score, explanation: `${edgeText(e.key)}: ${[...new Set(texts)].join('; ')}`, features };
  };

  return {
    name: NAME,
    init: () => ({ edges: new Map() }),
    scoreWindow(cw, state, ctx) {
      const findings: Finding[] = [];
      for (const e of [...cw.edges.values()].sort((a, b) => byString(a.edge, b.edge))) {
        let m = state.edges.get(e.edge);
        if (!m) state.edges.set(e.edge, (m = { requests: intervals.empty(), connections: intervals.empty(), lastStart: null }));
        const f = scoreEdge(e, m, ctx.learning);
        if (f) findings.push(f);
      }
      return { findings, state };
    },
    save: (s) => [...s.edges].map(([id, m]) => [id, { requests: summaryToJSON(m.requests), connections: summaryToJSON(m.connections), lastStart: m.lastStart }]),
    load: (json) => ({
      edges: new Map((json as [string, { requests: IntervalSummary | null; connections: IntervalSummary | null; lastStart: number | null }][])
        .map(([id, m]) => [id, { requests: summaryFromJSON(m.requests), connections: summaryFromJSON(m.connections), lastStart: m.lastStart }])),
    }),
  };
};
