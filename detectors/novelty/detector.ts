/**
 * Novelty: things never seen before on a conduit — a new edge (talker), a new service on a known
 * host pair, a new operation (function code) or unit id on a known edge, and any new edge of an
 * undeclared conduit. Never-seen scores 1.0 (operations and units: configurable, higher for
 * security-relevant operations). Every novel item is learned right after it is scored, so it
 * alerts once (on first sight) and is normal from then on.
 */
import { hostPort, protoName, type EdgeKey } from '../../core/records.ts';
import { byString, listText, type Finding, type WindowContext, type WindowDetector } from '../detector.ts';
import { sortedKeys, type ConduitFeatures, type EdgeFeatures } from '../features.ts';
import { NoveltyConfig } from './config.ts';

export const NAME = 'novelty';

interface EdgeModel {
  ops: Set<string>;
  units: Set<number>;
}

export interface NoveltyState {
  /** Known edges by edge id. */
  edges: Map<string, EdgeModel>;
  /** Known services per host pair: 'src>dst' → 'proto/port/l7'. */
  services: Map<string, Set<string>>;
  /** Known initiators. */
  sources: Set<string>;
}

interface NoveltyJSON {
  edges: [string, string[], number[]][];
  services: [string, string[]][];
  sources: string[];
}

/** '192.168.1.101 → 192.168.1.102:502 modbus' */
export const edgeText = (k: EdgeKey): string => `${k.src} → ${hostPort(k.dst, k.dstPort)} ${k.l7 || protoName(k.proto)}`;

const serviceOf = (k: EdgeKey): string => `${protoName(k.proto)}/${k.dstPort}${k.l7 ? ` ${k.l7}` : ''}`;

/** Builds the matcher for security-relevant operation names. */
export const securityMatcher = (patterns: readonly string[]): ((op: string) => boolean) => {
  const lower = patterns.map((p) => p.toLowerCase());
  return (op) => {
    const o = op.toLowerCase();
    return lower.some((p) => o.includes(p));
  };
};

const opsText = (e: EdgeFeatures): string => listText(sortedKeys(e.ops).map((op) => `${op} x${e.ops.get(op)}`));

export const createNovelty = (input: unknown = {}): WindowDetector<NoveltyState> => {
  const cfg = NoveltyConfig.parse(input);
  const isSecurity = securityMatcher(cfg.securityOps);

  const scoreNewEdge = (e: EdgeFeatures, st: NoveltyState, ctx: WindowContext, cw: ConduitFeatures): Finding => {
    const k = e.key;
    const secOps = sortedKeys(e.ops).filter(isSecurity);
    const pairServices = st.services.get(`${k.src}>${k.dst}`);
    const fan = cw.fanout.get(k.src);
    const features: Record<string, number> = {
      new_edge: 1, new_service: pairServices ? 1 : 0, undeclared: ctx.declared ? 0 : 1, security_ops: secOps.length,
      new_talker: st.sources.has(k.src) ? 0 : 1, src_dst_ports: fan?.dstPorts.size ?? 0, src_dst_hosts: fan?.dstHosts.size ?? 0,
    };
    const ops = e.ops.size > 0 ? `; ops: ${opsText(e)}` : '';
    const fanText = (fan?.dstPorts.size ?? 0) > 5 ? `; ${k.src} reached ${fan!.dstPorts.size} ports on ${fan!.dstHosts.size} hosts this window` : '';
    if (!ctx.declared) {
      const [from, to] = ctx.conduit.split('->');
      return {
        edge: e.edge, score: 1, features, alertWhileLearning: true, alertInMaintenance: true,
        explanation: `undeclared conduit ${ctx.conduit}: ${edgeText(k)} (no conduit is declared from zone ${from} to zone ${to})${ops}${fanText}`,
      };
    }
    const security = secOps.length > 0;
    if (pairServices) {
      return {
        edge: e.edge, score: security ? 1 : cfg.newServiceScore, features, alertInMaintenance: security,
        explanation: `new service ${serviceOf(k)} on ${k.src} → ${k.dst}, never seen in baseline (baseline saw: ${listText([...pairServices].sort(byString))})${ops}${fanText}`,
      };
    }
    const talker = st.sources.has(k.src) ? '' : ` (new talker ${k.src})`;
    return {
      edge: e.edge, score: 1, features, alertInMaintenance: security,
      explanation: `new edge ${edgeText(k)} never seen in baseline${talker}${ops}${fanText}`,
    };
  };

  const scoreKnownEdge = (e: EdgeFeatures, m: EdgeModel): Finding => {
    const k = e.key;
    const newOps = sortedKeys(e.ops).filter((op) => !m.ops.has(op));
    const newUnits = sortedKeys(e.units).filter((u) => !m.units.has(u));
    const secOps = newOps.filter(isSecurity);
    const what = k.l7 === 'modbus' ? 'function code' : 'operation';
    const parts: string[] = [];
    let score = 0;
    if (newOps.length > 0) {
      const seen = listText([...m.ops].sort(byString));
      parts.push(`${what}${newOps.length > 1 ? 's' : ''} ${listText(newOps)} never seen on ${edgeText(k)} in baseline (baseline saw: ${seen})`);
      score = Math.max(score, secOps.length > 0 ? 1 : cfg.newOperationScore);
    }
    if (newUnits.length > 0) {
      parts.push(`unit id${newUnits.length > 1 ? 's' : ''} ${listText(newUnits)} never addressed on ${edgeText(k)} in baseline (baseline saw: ${listText([...m.units].sort((a, b) => a - b))})`);
      score = Math.max(score, cfg.newUnitScore);
    }
    return {
      edge: e.edge, score, alertInMaintenance: secOps.length > 0,
      explanation: parts.length > 0 ? parts.join('; ') : `nothing new on ${edgeText(k)}`,
      features: { new_edge: 0, new_ops: newOps.length, new_units: newUnits.length, security_ops: secOps.length },
    };
  };

  const learn = (e: EdgeFeatures, st: NoveltyState): void => {
    let m = st.edges.get(e.edge);
    if (!m) st.edges.set(e.edge, (m = { ops: new Set(), units: new Set() }));
    for (const op of e.ops.keys()) m.ops.add(op);
    for (const u of e.units) m.units.add(u);
    const pair = `${e.key.src}>${e.key.dst}`;
    let svc = st.services.get(pair);
    if (!svc) st.services.set(pair, (svc = new Set()));
    svc.add(serviceOf(e.key));
    st.sources.add(e.key.src);
  };

  return {
    name: NAME,
    init: () => ({ edges: new Map(), services: new Map(), sources: new Set() }),
    scoreWindow(cw, state, ctx) {
      const edges = [...cw.edges.values()].sort((a, b) => byString(a.edge, b.edge));
      const findings: Finding[] = [];
      // Score every edge against the model as it stood before this window, then learn them all:
      // two new edges from one new talker in the same window both say "new talker".
      for (const e of edges) {
        const m = state.edges.get(e.edge);
        findings.push(m ? scoreKnownEdge(e, m) : scoreNewEdge(e, state, ctx, cw));
      }
      for (const e of edges) learn(e, state);
      return { findings, state };
    },
    save: (s): NoveltyJSON => ({
      edges: [...s.edges].map(([id, m]) => [id, [...m.ops], [...m.units]]),
      services: [...s.services].map(([pair, set]) => [pair, [...set]]),
      sources: [...s.sources],
    }),
    load: (json) => {
      const j = json as NoveltyJSON;
      return {
        edges: new Map(j.edges.map(([id, ops, units]) => [id, { ops: new Set(ops), units: new Set(units) }])),
        services: new Map(j.services.map(([pair, svc]) => [pair, new Set(svc)])),
        sources: new Set(j.sources),
      };
    },
  };
};
