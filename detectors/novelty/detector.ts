/**
 * Novelty: things never seen before on a conduit — a new edge (talker), a new service on a known
 * host pair, a known pair talking the other way round (direction), a new operation (function
 * code) or unit id on a known edge, and any new edge of an undeclared conduit. Never-seen scores
 * 1.0 (operations and units: configurable, higher for security-relevant operations). Every novel
 * item is learned right after it is scored, so it alerts once (on first sight) and is normal from
 * then on.
 *
 * Operating states: what first appears inside a maintenance window is learned apart, as
 * maintenance-only. It is normal in later maintenance windows, but still novel in production
 * ("seen before only in a maintenance window"). A security-relevant operation (detectors/security.ts)
 * that production never saw stays novel inside every maintenance window: a program download is
 * alerted even where maintenance is planned.
 *
 * Unbaselined edges: an edge first seen after the conduit's baseline (or on a conduit that has
 * none) alerts once as new, but one alert does not make it normal. It stays unbaselined for
 * `unbaselinedFor` (default one production cycle) from its first flow — until it has been seen
 * over a whole cycle (accepting it by hand is the operator's way out; not built yet). Every later
 * window in which it opens new connections (TCP SYN), or comes back after a quiet window (UDP,
 * flag-less flows), scores `unbaselinedScore` (0.8, the default alert line): "unbaselined edge …
 * first seen 2 s ago, after the baseline, not in it: 3 new connection attempts (SYN) this window (4th
 * so far)" — a retransmitted SYN is its own flow, so it counts as an attempt. Lemay's
 * exploit reconnects .101 → .105:4444 on new source ports after the first conversation alerted.
 *
 * Scans: a source with `scanMinNewEdges` or more new edges in one window is scanning; when the
 * scan detector runs (`ctx.aggregateScans`), those edges are scored but marked `grouped`, and the
 * scan detector raises one finding for the source.
 */
import { hostPort, protoName, type EdgeKey } from '../../core/records.ts';
import { byString, durationText, listText, type Finding, type WindowContext, defineDetector, type WindowDetector } from '../detector.ts';
import { sortedKeys, type ConduitFeatures, type EdgeFeatures } from '../features.ts';
import { securityMatcher, type ProtocolSecurity } from '../security.ts';
import { NoveltyConfig } from './config.ts';

export const NAME = 'novelty';

interface EdgeModel {
  ops: Set<string>;
  units: Set<number>;
}

/** What one operating state (production, or maintenance) has seen. */
interface Known {
  /** Known edges by edge id. */
  edges: Map<string, EdgeModel>;
  /** Known services per host pair: 'src>dst' → 'proto/port/l7'. */
  services: Map<string, Set<string>>;
  /** Known initiators. */
  sources: Set<string>;
}

/** An edge first seen after the baseline, while it is unbaselined. */
export interface FreshEdge {
  /** Its first flow start, epoch ms. */
  firstSeen: number;
  /** New connections (SYN) or returns after a quiet window so far, the first window's included. */
  connections: number;
  /** End of the last window it had traffic in. */
  lastWindowEnd: number;
}

export interface NoveltyState extends Known {
  /** Seen only inside maintenance windows. */
  maint: Known;
  /** Unbaselined edges by edge id. */
  fresh: Map<string, FreshEdge>;
}

interface KnownJSON {
  edges: [string, string[], number[]][];
  services: [string, string[]][];
  sources: string[];
}
type NoveltyJSON = KnownJSON & { maint?: KnownJSON; fresh?: [string, FreshEdge][] };

const ordinal = (n: number): string => {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? 'th' : n % 10 === 1 ? 'st' : n % 10 === 2 ? 'nd' : n % 10 === 3 ? 'rd' : 'th';
  return `${n}${suffix}`;
};

/** '192.168.1.101 → 192.168.1.102:502 modbus' */
export const edgeText = (k: EdgeKey): string => `${k.src} → ${hostPort(k.dst, k.dstPort)} ${k.l7 || protoName(k.proto)}`;

const serviceOf = (k: EdgeKey): string => `${protoName(k.proto)}/${k.dstPort}${k.l7 ? ` ${k.l7}` : ''}`;

const opsText = (e: EdgeFeatures): string => listText(sortedKeys(e.ops).map((op) => `${op} x${e.ops.get(op)}`));

const emptyKnown = (): Known => ({ edges: new Map(), services: new Map(), sources: new Set() });

const knownToJSON = (s: Known): KnownJSON => ({
  edges: [...s.edges].map(([id, m]) => [id, [...m.ops], [...m.units]]),
  services: [...s.services].map(([pair, set]) => [pair, [...set]]),
  sources: [...s.sources],
});

const knownFromJSON = (j: KnownJSON | undefined): Known => (j ? {
  edges: new Map(j.edges.map(([id, ops, units]) => [id, { ops: new Set(ops), units: new Set(units) }])),
  services: new Map(j.services.map(([pair, svc]) => [pair, new Set(svc)])),
  sources: new Set(j.sources),
} : emptyKnown());

const learnInto = (e: EdgeFeatures, st: Known, skip?: Known): void => {
  let m = st.edges.get(e.edge);
  if (!m) st.edges.set(e.edge, (m = { ops: new Set(), units: new Set() }));
  const sm = skip?.edges.get(e.edge);
  for (const op of e.ops.keys()) if (!sm?.ops.has(op)) m.ops.add(op);
  for (const u of e.units) if (!sm?.units.has(u)) m.units.add(u);
  const pair = `${e.key.src}>${e.key.dst}`;
  let svc = st.services.get(pair);
  if (!svc) st.services.set(pair, (svc = new Set()));
  svc.add(serviceOf(e.key));
  st.sources.add(e.key.src);
};

const buildNovelty = (cfg: NoveltyConfig, securityOp?: ProtocolSecurity): WindowDetector<NoveltyState> => {
  const isSecurity = securityMatcher(cfg.securityOps, securityOp);

  const scoreNewEdge = (e: EdgeFeatures, st: NoveltyState, ctx: WindowContext, cw: ConduitFeatures, inMaint: boolean): Finding => {
    const k = e.key;
    const secOps = sortedKeys(e.ops).filter((op) => isSecurity(k.l7, op));
    const pairServices = st.services.get(`${k.src}>${k.dst}`);
    const reverse = st.services.get(`${k.dst}>${k.src}`) ?? ctx.knownServices?.(k.dst, k.src);
    const maintOnly = !inMaint && st.maint.edges.has(e.edge);
    const fan = cw.fanout.get(k.src);
    const features: Record<string, number> = {
      new_edge: 1, new_service: pairServices ? 1 : 0, undeclared: ctx.declared ? 0 : 1, security_ops: secOps.length,
      new_talker: st.sources.has(k.src) ? 0 : 1, reverse_direction: !pairServices && reverse ? 1 : 0, maintenance_only: maintOnly ? 1 : 0,
      src_dst_ports: fan?.dstPorts.size ?? 0, src_dst_hosts: fan?.dstHosts.size ?? 0,
    };
    const ops = e.ops.size > 0 ? `; ops: ${opsText(e)}` : '';
    const fanText = (fan?.dstPorts.size ?? 0) > 5 ? `; ${k.src} reached ${fan!.dstPorts.size} ports on ${fan!.dstHosts.size} hosts this window` : '';
    const revText = !pairServices && reverse ? `; reverse direction: only ${k.dst} → ${k.src} (${listText([...reverse].sort(byString))}) was known` : '';
    const maintText = maintOnly ? ' (seen before only in a maintenance window)' : '';
    if (!ctx.declared) {
      const [from, to] = ctx.conduit.split('->');
      return {
        edge: e.edge, score: 1, features, alertWhileLearning: true, alertInMaintenance: true,
        explanation: `undeclared conduit ${ctx.conduit}: ${edgeText(k)} (no conduit is declared from zone ${from} to zone ${to})${revText}${ops}${fanText}`,
      };
    }
    const security = secOps.length > 0;
    if (pairServices) {
      return {
        edge: e.edge, score: security ? 1 : cfg.newServiceScore, features, alertInMaintenance: security,
        explanation: `new service ${serviceOf(k)} on ${k.src} → ${k.dst}, never seen in baseline${maintText} (baseline saw: ${listText([...pairServices].sort(byString))})${ops}${fanText}`,
      };
    }
    if (reverse) {
      return {
        edge: e.edge, score: security ? 1 : cfg.newDirectionScore, features, alertInMaintenance: security,
        explanation: `reverse direction: ${edgeText(k)} never seen in baseline${maintText}, only ${k.dst} → ${k.src} (${listText([...reverse].sort(byString))}) was known${ops}${fanText}`,
      };
    }
    const talker = st.sources.has(k.src) ? '' : ` (new talker ${k.src})`;
    return {
      edge: e.edge, score: 1, features, alertInMaintenance: security,
      explanation: `new edge ${edgeText(k)} never seen in baseline${maintText}${talker}${ops}${fanText}`,
    };
  };

  const scoreKnownEdge = (e: EdgeFeatures, m: EdgeModel, mm: EdgeModel | undefined, inMaint: boolean): Finding => {
    const k = e.key;
    // In maintenance, maintenance-only items are normal except security-relevant operations.
    const newOps = sortedKeys(e.ops).filter((op) => !m.ops.has(op) && !(inMaint && mm?.ops.has(op) && !isSecurity(k.l7, op)));
    const newUnits = sortedKeys(e.units).filter((u) => !m.units.has(u) && !(inMaint && mm?.units.has(u)));
    const secOps = newOps.filter((op) => isSecurity(k.l7, op));
    const what = k.l7 === 'modbus' ? 'function code' : 'operation';
    const maintText = (items: readonly (string | number)[], set: Set<string> | Set<number> | undefined): string =>
      !inMaint && set && items.some((i) => (set as Set<string | number>).has(i)) ? ' (seen before only in a maintenance window)' : '';
    const parts: string[] = [];
    let score = 0;
    if (newOps.length > 0) {
      const seen = listText([...m.ops].sort(byString));
      parts.push(`${what}${newOps.length > 1 ? 's' : ''} ${listText(newOps)} never seen on ${edgeText(k)} in baseline${maintText(newOps, mm?.ops)} (baseline saw: ${seen})`);
      score = Math.max(score, secOps.length > 0 ? 1 : cfg.newOperationScore);
    }
    if (newUnits.length > 0) {
      parts.push(`unit id${newUnits.length > 1 ? 's' : ''} ${listText(newUnits)} never addressed on ${edgeText(k)} in baseline${maintText(newUnits, mm?.units)} (baseline saw: ${listText([...m.units].sort((a, b) => a - b))})`);
      score = Math.max(score, cfg.newUnitScore);
    }
    return {
      edge: e.edge, score, alertInMaintenance: secOps.length > 0,
      explanation: parts.length > 0 ? parts.join('; ') : `nothing new on ${edgeText(k)}`,
      features: { new_edge: 0, new_ops: newOps.length, new_units: newUnits.length, security_ops: secOps.length },
    };
  };

  /**
   * The unbaselined-edge rule for a known edge with traffic (see the file comment): a finding when
   * it opened connections or came back after a quiet window, else undefined. Updates `f`.
   */
  const scoreUnbaselined = (e: EdgeFeatures, f: FreshEdge, ctx: WindowContext): Finding | undefined => {
    const conns = e.synStarts;
    const back = conns === 0 && ctx.windowStart > f.lastWindowEnd ? 1 : 0;
    f.lastWindowEnd = ctx.windowEnd;
    if (conns + back === 0) return undefined;
    f.connections += conns + back;
    const what = conns > 0
      ? `${conns} new connection attempt${conns > 1 ? 's' : ''} (SYN) this window (${ordinal(f.connections)} so far)`
      : `traffic again after a quiet window (${ordinal(f.connections)} connection or return so far)`;
    return {
      edge: e.edge, score: cfg.unbaselinedScore,
      explanation: `unbaselined edge ${edgeText(e.key)}: first seen ${durationText(Math.max(0, e.firstTs - f.firstSeen))} ago, after the baseline, not in it: ${what}`,
      features: { new_edge: 0, unbaselined: 1, new_connections: conns + back, connections_seen: f.connections, edge_age_s: Math.round(Math.max(0, e.firstTs - f.firstSeen) / 1000) },
    };
  };

  /** The known-edge finding, raised to the unbaselined one when that is higher. */
  const withUnbaselined = (known: Finding, u: Finding | undefined): Finding => {
    if (!u) return known;
    if (known.score === 0) return u;
    const [hi, lo] = u.score > known.score ? [u, known] : [known, u];
    return { ...hi, explanation: `${hi.explanation}; ${lo.explanation}`, features: { ...known.features, ...u.features }, alertInMaintenance: known.alertInMaintenance };
  };

  return {
    name: NAME,
    init: () => ({ ...emptyKnown(), maint: emptyKnown(), fresh: new Map() }),
    scoreWindow(cw, state, ctx) {
      const edges = [...cw.edges.values()].sort((a, b) => byString(a.edge, b.edge));
      const inMaint = ctx.maintenance !== undefined;
      const findings: Finding[] = [];
      const newBySource = new Map<string, number>();
      const span = cfg.unbaselinedFor ?? ctx.cycleMs;
      // Score every edge against the model as it stood before this window, then learn them all:
      // two new edges from one new talker in the same window both say "new talker".
      for (const e of edges) {
        const m = state.edges.get(e.edge);
        const mm = state.maint.edges.get(e.edge);
        let fresh = state.fresh.get(e.edge);
        if (fresh && ctx.windowStart >= fresh.firstSeen + span) {
          state.fresh.delete(e.edge);
          fresh = undefined;
        }
        if (!m && inMaint && mm) findings.push(scoreKnownEdge(e, { ops: new Set(), units: new Set() }, mm, true));
        else if (m) findings.push(withUnbaselined(scoreKnownEdge(e, m, mm, inMaint), fresh && !inMaint ? scoreUnbaselined(e, fresh, ctx) : undefined));
        else findings.push(scoreNewEdge(e, state, ctx, cw, inMaint));
        if (!m && !(inMaint && mm)) newBySource.set(e.key.src, (newBySource.get(e.key.src) ?? 0) + 1);
        else if (findings[findings.length - 1]!.features.unbaselined === 1) newBySource.set(e.key.src, (newBySource.get(e.key.src) ?? 0) + 1);
        if (!m && !inMaint && !ctx.learning && span > 0) {
          state.fresh.set(e.edge, { firstSeen: e.firstTs, connections: Math.max(1, e.synStarts), lastWindowEnd: ctx.windowEnd });
        }
      }
      if (ctx.aggregateScans) {
        for (let i = 0; i < findings.length; i += 1) {
          const f = findings[i]!;
          const src = edges[i]!.key.src;
          const n = newBySource.get(src) ?? 0;
          if ((f.features.new_edge !== 1 && f.features.unbaselined !== 1) || n < cfg.scanMinNewEdges) continue;
          f.grouped = true;
          f.features.scan_new_edges = n;
          f.explanation += `; one of ${n} ${f.features.unbaselined === 1 ? 'new or reconnecting unbaselined' : 'new'} edges from ${src} this window: reported once as a scan`;
        }
      }
      for (const f of findings) if (f.score > 0) f.novel = true;
      for (const e of edges) {
        if (inMaint && !state.edges.has(e.edge)) learnInto(e, state.maint);
        else if (inMaint) learnInto(e, state.maint, state);
        else learnInto(e, state);
      }
      return { findings, state };
    },
    save: (s): NoveltyJSON => ({
      ...knownToJSON(s), maint: knownToJSON(s.maint), fresh: [...s.fresh].sort(([a], [b]) => byString(a, b)).map(([id, f]) => [id, { ...f }]),
    }),
    load: (json) => {
      const j = json as NoveltyJSON;
      return { ...knownFromJSON(j), maint: knownFromJSON(j.maint), fresh: new Map((j.fresh ?? []).map(([id, f]) => [id, { ...f }])) };
    },
  };
};

/** A novelty detector from raw settings (parsed here; throws on invalid ones). */
export const createNovelty = (input: unknown = {}, securityOp?: ProtocolSecurity): WindowDetector<NoveltyState> => buildNovelty(NoveltyConfig.parse(input), securityOp);

/** The registry entry (cli/registry.ts). */
export const noveltyDetector = defineDetector({
  name: NAME,
  summary: 'New edges, services, directions, operations and unit ids; undeclared conduits; new connections on unbaselined edges.',
  config: NoveltyConfig,
  create: (cfg, ctx) => buildNovelty(cfg, ctx.securityOp) as WindowDetector<unknown>,
});
