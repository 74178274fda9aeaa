/**
 * The engine's closed window of one conduit, as the models see it (`WindowView`): the one place
 * that reads detectors' window columns (detectors/features.ts `WindowAcc`), so a change of their
 * layout is a change here only.
 */
import type { ConduitWindow, WindowContext } from '../detectors/detector.ts';
import type { EdgeWindow, WindowView } from './features.ts';

export const windowView = (w: ConduitWindow, ctx: WindowContext): WindowView => {
  const edges: EdgeWindow[] = [];
  const acc = w.acc;
  if (acc) {
    for (let k = w.from; k < w.to; k += 1) {
      const s = acc.order[k]!;
      let starts = 0;
      for (let i = acc.startsHead[s]!; i >= 0; i = acc.startNext[i]!) starts += 1;
      const ri = acc.riCount[s]!;
      edges.push({
        edge: w.edges.idOf(acc.edge[s]!), flows: acc.flows[s]!, packets: acc.packets[s]!, bytes: acc.bytes[s]!, bytesRev: acc.bytesRev[s]!,
        requests: acc.requests[s]!, responses: acc.responses[s]!, starts, riCount: ri, riMean: ri > 0 ? acc.riMean[s]! : 0, riMax: ri > 0 ? acc.riMax[s]! : 0,
      });
    }
  }
  return { conduit: ctx.conduit, windowStart: ctx.windowStart, windowEnd: ctx.windowEnd, cyclePhase: ctx.cyclePhase, learning: ctx.learning, edges };
};
