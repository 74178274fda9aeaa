/** Builds closed-window features from flows for detector unit tests. */
import type { SiteMap } from '../../../core/config.ts';
import type { FlowRecord } from '../../../core/records.ts';
import type { WindowContext } from '../../../detectors/detector.ts';
import { addFlow, finalizeConduit, newConduitFeatures, type ConduitFeatures } from '../../../detectors/features.ts';
import { testSite } from '../../../detectors/testing.ts';

export const conduitWindow = (windowStart: number, flows: FlowRecord[], windowMs = 60_000, conduit = 'scada->field'): ConduitFeatures => {
  const cw = newConduitFeatures(conduit, windowStart, windowStart + windowMs);
  for (const f of flows) addFlow(cw, f);
  return finalizeConduit(cw);
};

export const ctxFor = (cw: ConduitFeatures, over: Partial<WindowContext> = {}): WindowContext => ({
  conduit: cw.conduit, windowStart: cw.windowStart, windowEnd: cw.windowEnd, learning: false, declared: true, maintenance: undefined, cycleMs: 8 * 3_600_000, cyclePhase: (cw.windowStart % (8 * 3_600_000)) / (8 * 3_600_000), aggregateScans: true, ...over,
});

/** The engine tests' plant: scada -> field declared, corp undeclared; 60 s windows, 10 min baseline, 8 h cycle. */
export const engineSiteMap = (): SiteMap => testSite();