/** Runs one detector window by window over its own edge index, as the engine does, for detector unit tests. */
import type { SiteMap } from '../../../core/config.ts';
import type { FlowRecord } from '../../../core/records.ts';
import { Findings, type ConduitWindow, type Finding, type WindowContext, type WindowDetector } from '../../../detectors/detector.ts';
import { EdgeTable } from '../../../detectors/edges.ts';
import { WindowAcc } from '../../../detectors/features.ts';
import { testSite } from '../../../detectors/testing.ts';

/** One window's flows of one conduit, not yet indexed. */
export interface TestWindow {
  conduit: string;
  windowStart: number;
  windowEnd: number;
  flows: FlowRecord[];
}

export const conduitWindow = (windowStart: number, flows: FlowRecord[], windowMs = 60_000, conduit = 'scada->field'): TestWindow =>
  ({ conduit, windowStart, windowEnd: windowStart + windowMs, flows });

export const ctxFor = (cw: TestWindow, over: Partial<WindowContext> = {}): WindowContext => ({
  conduit: cw.conduit, windowStart: cw.windowStart, windowEnd: cw.windowEnd, learning: false, declared: true, maintenance: undefined, cycleMs: 8 * 3_600_000, cyclePhase: (cw.windowStart % (8 * 3_600_000)) / (8 * 3_600_000), aggregateScans: true, ...over,
});

/**
 * A detector with an edge index of its own. `score` indexes the window's flows (every flow is
 * put on the window's conduit), runs the detector with floor 0 (every finding is built) and
 * registers the window's services as the engine does.
 */
export class Harness {
  edges: EdgeTable;
  constructor(readonly det: WindowDetector, private conduitOf: (src: string, dst: string) => string = () => 'scada->field') {
    this.edges = new EdgeTable((s, d) => this.conduitOf(s, d));
  }

  score(w: TestWindow, ctx: WindowContext = ctxFor(w)): Finding[] {
    const t = this.edges;
    const acc = new WindowAcc();
    acc.reset(w.windowStart, w.windowEnd - w.windowStart);
    const before = this.conduitOf;
    this.conduitOf = () => w.conduit;
    for (const f of w.flows) {
      const p = t.pairOf(f.srcIp, f.dstIp);
      const e = t.flowEdge(p, f.proto, f.dstPort, f.l7 === undefined ? 0 : t.l7s.id(f.l7));
      if (w.windowStart < t.firstWindow[e]!) t.firstWindow[e] = w.windowStart;
      acc.addFlow(e, f, t);
    }
    this.conduitOf = before;
    acc.group(t);
    for (let s = 0; s < acc.n; s += 1) t.seePorts(acc.edge[s]!, acc.portMin[s]!, acc.portMax[s]!);
    const c = t.conduits.id(w.conduit);
    const g = acc.byConduit.get(c);
    const cw: ConduitWindow = {
      edges: t, conduit: c, windowStart: w.windowStart, windowEnd: w.windowEnd, acc: acc.n > 0 ? acc : undefined,
      from: g?.from ?? 0, to: g?.to ?? 0, flows: g?.flows ?? 0, firstTs: g?.firstTs ?? Infinity, lastTs: g?.lastTs ?? -Infinity,
    };
    const out = new Findings(0);
    this.det.scoreWindow(cw, ctx, out);
    if (g) for (let k = g.from; k < g.to; k += 1) t.register(acc.edge[acc.order[k]!]!);
    return out.list;
  }

  /** A harness continuing from this one's state after a JSON round trip (detector and edge index). */
  roundTrip(fresh: WindowDetector): Harness {
    const h = new Harness(fresh, this.conduitOf);
    h.edges = EdgeTable.fromJSON(JSON.parse(JSON.stringify(this.edges.toJSON())), (s, d) => h.conduitOf(s, d));
    fresh.load(JSON.parse(JSON.stringify(this.det.save())));
    return h;
  }
}

/** The engine tests' plant: scada -> field declared, corp undeclared; 60 s windows, 10 min baseline, 8 h cycle. */
export const engineSiteMap = (): SiteMap => testSite();
