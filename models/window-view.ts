/**
 * The engine's closed window of one conduit, as the models see it (`WindowView`): the one place
 * that reads detectors' window features, so a change of their layout is a change here only.
 */
import type { WindowContext } from '../detectors/detector.ts';
import type { ConduitFeatures } from '../detectors/features.ts';
import type { EdgeWindow, WindowView } from './features.ts';

export const windowView = (cw: ConduitFeatures, ctx: WindowContext): WindowView => {
  const edges: EdgeWindow[] = [];
  for (const e of cw.edges.values()) {
    const ri = e.requestIntervals;
    edges.push({
      edge: e.edge, flows: e.flows, packets: e.packets, bytes: e.bytes, bytesRev: e.bytesRev, requests: e.requests, responses: e.responses,
      starts: e.starts, riCount: ri.count, riMean: ri.count > 0 ? ri.mean : 0, riMax: ri.count > 0 ? ri.max : 0,
    });
  }
  return { conduit: ctx.conduit, windowStart: ctx.windowStart, windowEnd: ctx.windowEnd, cyclePhase: ctx.cyclePhase, learning: ctx.learning, edges };
};
