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
 * Scans: a source with `scanMinNewEdges` or more new edges in one window is scanning; when a
 * detector that reports scans runs (`ctx.aggregateScans`), those edges are scored but marked
 * `grouped`, and that detector raises one finding for the source.
 *
 * State, in columns per edge: known in production / in maintenance, the operations and unit ids
 * seen in each state (sets in a pool linked per edge), and the unbaselined bookkeeping (first
 * seen, connections so far, end of its last window). Per host pair: how many of its edges
 * production knows (a known service on the pair); per conduit: the known initiators.
 */
import { edgeId, hostPort, protoName, type EdgeKey } from '../../core/records.ts';
import { colFromJson, colToJson, grow, numFromJson, numToJson, type NumJSON } from '../columns.ts';
import { byString, defineDetector, durationText, listText, type ConduitWindow, type Finding, type WindowContext, type WindowDetector } from '../detector.ts';
import type { EdgeTable } from '../edges.ts';
import { opsRecord, unitsOf, type WindowAcc } from '../features.ts';
import { securityById, securityMatcher, type ProtocolSecurity } from '../security.ts';
import { NoveltyConfig } from './config.ts';

export const NAME = 'novelty';

const ordinal = (n: number): string => {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? 'th' : n % 10 === 1 ? 'st' : n % 10 === 2 ? 'nd' : n % 10 === 3 ? 'rd' : 'th';
  return `${n}${suffix}`;
};

/** '192.168.1.101 → 192.168.1.102:502 modbus' */
export const edgeText = (k: EdgeKey): string => `${k.src} → ${hostPort(k.dst, k.dstPort)} ${k.l7 || protoName(k.proto)}`;


/** Which of an edge's four value sets. */
const PROD_OPS = 0;
const PROD_UNITS = 1;
const MAINT_OPS = 2;
const MAINT_UNITS = 3;

/** Per edge with traffic in the window: what the first pass decided. */
const KNOWN = 0;
const NEW = 1;
/** Known only from maintenance, scored inside maintenance. */
const MAINT_KNOWN = 2;

interface NoveltyJSON {
  edges: number;
  prod: NumJSON[];
  maint: NumJSON[];
  /** Per edge with values: [edge, prod ops, prod units, maint ops, maint units] (op ids, unit ids), in insertion order. */
  sets: [number, NumJSON[], NumJSON[], NumJSON[], NumJSON[]][];
  /** Unbaselined edges: [edge, first seen, connections, end of last window]. */
  fresh: [number, NumJSON, NumJSON, NumJSON][];
  /** Per conduit id: known initiators (address ids). */
  sources: [number, number[]][];
}

const buildNovelty = (cfg: NoveltyConfig, securityOp?: ProtocolSecurity): WindowDetector => {
  const match = securityMatcher(cfg.securityOps, securityOp);
  let isSec: ((l7: number, op: number) => boolean) | undefined;
  let boundTo: EdgeTable | undefined;

  let used = 0;
  let prodKnown = new Uint8Array(0);
  let maintKnown = new Uint8Array(0);
  /** Heads of the four sets per edge: index edge · 4 + set. */
  let setHead = new Int32Array(0);
  let vN = 0;
  let vVal = new Float64Array(16);
  let vNext = new Int32Array(16);
  /** Unbaselined: first seen (NaN = not unbaselined), connections so far, end of its last window with traffic. */
  let freshFirst = new Float64Array(0);
  let freshConns = new Float64Array(0);
  let freshLastEnd = new Float64Array(0);
  /** Per pair: edges production knows. */
  let pairProd = new Int32Array(0);
  /** Per conduit: known initiators. */
  const sources = new Map<number, Set<number>>();
  /** After a load: `pairProd` is rebuilt from the known edges on the next window. */
  let pairsStale = false;

  // Scratch per position in the window's conduit slots.
  let kind = new Uint8Array(0);
  let score = new Float64Array(0);
  let unb = new Uint8Array(0);
  let conns = new Int32Array(0);
  let back = new Int32Array(0);
  /** Security-relevant (alerts before the conduit is ready). */
  let secK = new Uint8Array(0);

  const ensure = (edges: number, pairs: number): void => {
    if (edges > prodKnown.length) {
      prodKnown = grow(prodKnown, edges); maintKnown = grow(maintKnown, edges);
      freshFirst = grow(freshFirst, edges, NaN); freshConns = grow(freshConns, edges); freshLastEnd = grow(freshLastEnd, edges);
    }
    if (edges * 4 > setHead.length) setHead = grow(setHead, edges * 4, -1);
    if (pairs > pairProd.length) pairProd = grow(pairProd, pairs);
  };

  const has = (e: number, set: number, v: number): boolean => {
    for (let i = setHead[e * 4 + set]!; i >= 0; i = vNext[i]!) if (vVal[i] === v) return true;
    return false;
  };
  const addTo = (e: number, set: number, v: number): void => {
    const h = e * 4 + set;
    let last = -1;
    for (let i = setHead[h]!; i >= 0; i = vNext[i]!) { if (vVal[i] === v) return; last = i; }
    const j = vN++;
    if (j >= vVal.length) { vVal = grow(vVal, j + 1); vNext = grow(vNext, j + 1); }
    vVal[j] = v;
    vNext[j] = -1;
    if (last < 0) setHead[h] = j;
    else vNext[last] = j;
  };
  const values = (e: number, set: number): number[] => {
    const out: number[] = [];
    for (let i = setHead[e * 4 + set]!; i >= 0; i = vNext[i]!) out.push(vVal[i]!);
    return out;
  };

  /** Services production knows on pair `p` (the conduit's `services` of old), unsorted. */
  const prodServices = (t: EdgeTable, p: number): string[] => {
    const out: string[] = [];
    for (let e = t.pairFirst[p]!; e >= 0; e = t.nextInPair[e]!) if (prodKnown[e] === 1) out.push(t.service(e));
    return out;
  };

  /** Learns edge `e`'s window into production (`skip` = -1) or maintenance (skipping what production has when `skipProd`). */
  const learn = (w: ConduitWindow, s: number, e: number, maint: boolean, skipProd: boolean): void => {
    const acc = w.acc!;
    const opsSet = maint ? MAINT_OPS : PROD_OPS;
    const unitsSet = maint ? MAINT_UNITS : PROD_UNITS;
    for (let i = acc.opsHead[s]!; i >= 0; i = acc.opNext[i]!) {
      const op = acc.opId[i]!;
      if (!(skipProd && prodKnown[e] === 1 && has(e, PROD_OPS, op))) addTo(e, opsSet, op);
    }
    for (let i = acc.unitsHead[s]!; i >= 0; i = acc.unitNext[i]!) {
      const u = acc.unitVal[i]!;
      if (!(skipProd && prodKnown[e] === 1 && has(e, PROD_UNITS, u))) addTo(e, unitsSet, u);
    }
    if (maint) { maintKnown[e] = 1; return; }
    if (prodKnown[e] === 0) {
      prodKnown[e] = 1;
      pairProd[w.edges.pair[e]!] = pairProd[w.edges.pair[e]!]! + 1;
    }
    const c = w.conduit;
    // The conduit's initiators, looked up once per window (`learnSources`), made on first need.
    let set = learnSources;
    if (!set) {
      set = sources.get(c);
      if (!set) sources.set(c, (set = new Set()));
      learnSources = set;
    }
    const src = w.edges.pairSrc[w.edges.pair[e]!]!;
    if (src !== learnLastSrc) { set.add(src); learnLastSrc = src; }
  };
  /** `learn`'s conduit set and the last initiator it added, reset per window. */
  let learnSources: Set<number> | undefined;
  let learnLastSrc = -1;

  /** Edges an analyst learned (cfg.learned), by edge id; folded into production on first sight. */
  const learned = new Map(cfg.learned.map((l) => [edgeId({ src: l.src, dst: l.dst, proto: l.proto, dstPort: l.dstPort, l7: l.l7 }), l]));
  const seedLearned = (w: ConduitWindow, e: number): void => {
    const t = w.edges;
    const l = learned.get(t.idOf(e));
    if (!l) return;
    for (const op of l.ops) addTo(e, PROD_OPS, t.ops.id(op));
    for (const u of l.units) addTo(e, PROD_UNITS, u);
    prodKnown[e] = 1;
    pairProd[t.pair[e]!] = pairProd[t.pair[e]!]! + 1;
    let set = sources.get(w.conduit);
    if (!set) sources.set(w.conduit, (set = new Set()));
    set.add(t.pairSrc[t.pair[e]!]!);
  };

  /** Distinct dst ports and hosts each source reached in the conduit's window (scan hints), built on first use. */
  const fanoutOf = (w: ConduitWindow): Map<number, { ports: Set<number>; hosts: Set<number> }> => {
    const t = w.edges;
    const acc = w.acc!;
    const out = new Map<number, { ports: Set<number>; hosts: Set<number> }>();
    for (let k = w.from; k < w.to; k += 1) {
      const e = acc.edge[acc.order[k]!]!;
      const p = t.pair[e]!;
      const src = t.pairSrc[p]!;
      let f = out.get(src);
      if (!f) out.set(src, (f = { ports: new Set(), hosts: new Set() }));
      f.ports.add(t.port[e]!);
      f.hosts.add(t.pairDst[p]!);
    }
    return out;
  };

  /** The finding of a new edge (first pass decided its score). */
  const newEdgeFinding = (w: ConduitWindow, ctx: WindowContext, s: number, e: number, sc: number, fan: Map<number, { ports: Set<number>; hosts: Set<number> }>): Finding => {
    const t = w.edges;
    const acc = w.acc!;
    const k = t.key(e);
    const ops = opsRecord(acc, s, t);
    const opNames = Object.keys(ops);
    const l7 = t.l7[e]!;
    let secOps = 0;
    for (let i = acc.opsHead[s]!; i >= 0; i = acc.opNext[i]!) if (isSec!(l7, acc.opId[i]!)) secOps += 1;
    const p = t.pair[e]!;
    const pairKnown = pairProd[p]! > 0;
    const pairServices = pairKnown ? prodServices(t, p) : undefined;
    const rp = t.findPair(k.dst, k.src);
    const reverse = rp >= 0 && t.pairConduit[rp] === w.conduit && pairProd[rp]! > 0 ? prodServices(t, rp) : t.pairServices(k.dst, k.src);
    const maintOnly = ctx.maintenance === undefined && maintKnown[e] === 1;
    const f = fan.get(t.pairSrc[p]!);
    const fanPorts = f?.ports.size ?? 0;
    const known = sources.get(w.conduit)?.has(t.pairSrc[p]!) === true;
    // Keys in sorted order (the engine keeps a sorted record as it is).
    const features: Record<string, number> = {
      maintenance_only: maintOnly ? 1 : 0, new_edge: 1, new_service: pairServices ? 1 : 0, new_talker: known ? 0 : 1,
      reverse_direction: !pairServices && reverse ? 1 : 0, security_ops: secOps, src_dst_hosts: f?.hosts.size ?? 0, src_dst_ports: fanPorts,
      undeclared: ctx.declared ? 0 : 1,
    };
    const opsText = opNames.length > 0 ? `; ops: ${listText(opNames.map((op) => `${op} x${ops[op]}`))}` : '';
    const fanText = fanPorts > 5 ? `; ${k.src} reached ${fanPorts} ports on ${f!.hosts.size} hosts this window` : '';
    const revText = !pairServices && reverse ? `; reverse direction: only ${k.dst} → ${k.src} (${listText([...reverse].sort(byString))}) was known` : '';
    const maintText = maintOnly ? ' (seen before only in a maintenance window)' : '';
    if (!ctx.declared) {
      const [from, to] = ctx.conduit.split('->');
      return {
        edge: t.idOf(e), score: sc, features, alertWhileLearning: true, alertInMaintenance: true,
        explanation: `undeclared conduit ${ctx.conduit}: ${t.text(e)} (no conduit is declared from zone ${from} to zone ${to})${revText}${opsText}${fanText}`,
      };
    }
    const security = secOps > 0;
    if (pairServices) {
      return {
        edge: t.idOf(e), score: sc, features, alertInMaintenance: security,
        explanation: `new service ${t.service(e)}${t.ephem[e] === 1 ? ` (ports ${t.portRange(e)})` : ''} on ${k.src} → ${k.dst}, never seen in baseline${maintText} (baseline saw: ${listText([...pairServices].sort(byString))})${opsText}${fanText}`,
      };
    }
    if (reverse) {
      return {
        edge: t.idOf(e), score: sc, features, alertInMaintenance: security,
        explanation: `reverse direction: ${t.text(e)} never seen in baseline${maintText}, only ${k.dst} → ${k.src} (${listText([...reverse].sort(byString))}) was known${opsText}${fanText}`,
      };
    }
    const talker = known ? '' : ` (new talker ${k.src})`;
    return {
      edge: t.idOf(e), score: sc, features, alertInMaintenance: security,
      explanation: `new edge ${t.text(e)} never seen in baseline${maintText}${talker}${opsText}${fanText}`,
    };
  };

  /** The known-edge finding (new operations and unit ids), against production's sets or none (`noProd`). */
  const knownEdgeFinding = (w: ConduitWindow, s: number, e: number, inMaint: boolean, noProd: boolean): Finding => {
    const t = w.edges;
    const acc = w.acc!;
    const k = t.key(e);
    const l7 = t.l7[e]!;
    const opsNew: [string, number][] = [];
    for (let i = acc.opsHead[s]!; i >= 0; i = acc.opNext[i]!) {
      const op = acc.opId[i]!;
      if (!noProd && has(e, PROD_OPS, op)) continue;
      if (inMaint && has(e, MAINT_OPS, op) && !isSec!(l7, op)) continue;
      opsNew.push([t.ops.list[op]!, op]);
    }
    opsNew.sort(([a], [b]) => byString(a, b));
    const newOps = opsNew.map(([n]) => n);
    const newUnits = unitsOf(acc, s).filter((u) => !(!noProd && has(e, PROD_UNITS, u)) && !(inMaint && has(e, MAINT_UNITS, u)));
    const secOps = opsNew.filter(([, op]) => isSec!(l7, op)).length;
    const what = k.l7 === 'modbus' ? 'function code' : 'operation';
    const maintText = (hit: boolean): string => (!inMaint && hit ? ' (seen before only in a maintenance window)' : '');
    const parts: string[] = [];
    let sc = 0;
    if (newOps.length > 0) {
      const seen = listText(noProd ? [] : values(e, PROD_OPS).map((op) => t.ops.list[op]!).sort(byString));
      const inMaintSet = maintKnown[e] === 1 && opsNew.some(([, op]) => has(e, MAINT_OPS, op));
      parts.push(`${what}${newOps.length > 1 ? 's' : ''} ${listText(newOps)} never seen on ${t.text(e)} in baseline${maintText(inMaintSet)} (baseline saw: ${seen})`);
      sc = Math.max(sc, secOps > 0 ? 1 : cfg.newOperationScore);
    }
    if (newUnits.length > 0) {
      const inMaintSet = maintKnown[e] === 1 && newUnits.some((u) => has(e, MAINT_UNITS, u));
      parts.push(`unit id${newUnits.length > 1 ? 's' : ''} ${listText(newUnits)} never addressed on ${t.text(e)} in baseline${maintText(inMaintSet)} (baseline saw: ${listText(noProd ? [] : values(e, PROD_UNITS).sort((a, b) => a - b))})`);
      sc = Math.max(sc, cfg.newUnitScore);
    }
    return {
      edge: t.idOf(e), score: sc, alertInMaintenance: secOps > 0,
      explanation: parts.length > 0 ? parts.join('; ') : `nothing new on ${t.text(e)}`,
      features: { new_edge: 0, new_ops: newOps.length, new_units: newUnits.length, security_ops: secOps },
    };
  };

  /** Score of the known-edge finding, without building it. */
  const knownEdgeScore = (w: ConduitWindow, s: number, e: number, inMaint: boolean, noProd: boolean): number => {
    const acc = w.acc!;
    const l7 = w.edges.l7[e]!;
    let newOps = 0;
    let sec = 0;
    for (let i = acc.opsHead[s]!; i >= 0; i = acc.opNext[i]!) {
      const op = acc.opId[i]!;
      if (!noProd && has(e, PROD_OPS, op)) continue;
      if (inMaint && has(e, MAINT_OPS, op) && !isSec!(l7, op)) continue;
      newOps += 1;
      if (isSec!(l7, op)) sec += 1;
    }
    let newUnits = 0;
    for (let i = acc.unitsHead[s]!; i >= 0; i = acc.unitNext[i]!) {
      const u = acc.unitVal[i]!;
      if (!(!noProd && has(e, PROD_UNITS, u)) && !(inMaint && has(e, MAINT_UNITS, u))) newUnits += 1;
    }
    let sc = 0;
    if (newOps > 0) sc = Math.max(sc, sec > 0 ? 1 : cfg.newOperationScore);
    if (newUnits > 0) sc = Math.max(sc, cfg.newUnitScore);
    knownSecurity = sec > 0;
    return sc;
  };
  /** Set by `knownEdgeScore`: the window brought a never-seen security-relevant operation. */
  let knownSecurity = false;

  const unbaselinedFinding = (w: ConduitWindow, s: number, e: number, c: number, b: number): Finding => {
    const t = w.edges;
    const acc = w.acc!;
    const n = freshConns[e]!;
    const what = c > 0
      ? `${c} new connection attempt${c > 1 ? 's' : ''} (SYN) this window (${ordinal(n)} so far)`
      : `traffic again after a quiet window (${ordinal(n)} connection or return so far)`;
    const age = Math.max(0, acc.firstTs[s]! - freshFirst[e]!);
    return {
      edge: t.idOf(e), score: cfg.unbaselinedScore,
      explanation: `unbaselined edge ${t.text(e)}: first seen ${durationText(age)} ago, after the baseline, not in it: ${what}`,
      features: { new_edge: 0, unbaselined: 1, new_connections: c + b, connections_seen: n, edge_age_s: Math.round(age / 1000) },
    };
  };

  /** First pass over one edge of the window: its kind and score (a function of its own, so the JIT optimizes it within the first window). */
  const scoreEdge = (w: ConduitWindow, ctx: WindowContext, acc: WindowAcc, k: number, inMaint: boolean, span: number, newBySource: Map<number, number>): void => {
    const t = w.edges;
    const s = acc.order[w.from + k]!;
    const e = acc.edge[s]!;
    if (prodKnown[e] === 0 && learned.size > 0) seedLearned(w, e);
    const m = prodKnown[e] === 1;
    const mm = maintKnown[e] === 1;
    if (!Number.isNaN(freshFirst[e]!) && ctx.windowStart >= freshFirst[e]! + span) freshFirst[e] = NaN;
    unb[k] = 0;
    let sc: number;
    if (!m && inMaint && mm) {
      kind[k] = MAINT_KNOWN;
      sc = knownEdgeScore(w, s, e, true, true);
      secK[k] = knownSecurity ? 1 : 0;
    } else if (m) {
      kind[k] = KNOWN;
      sc = knownEdgeScore(w, s, e, inMaint, false);
      secK[k] = knownSecurity ? 1 : 0;
      if (!Number.isNaN(freshFirst[e]!) && !inMaint) {
        const c = acc.synStarts[s]!;
        const b = c === 0 && ctx.windowStart > freshLastEnd[e]! ? 1 : 0;
        freshLastEnd[e] = ctx.windowEnd;
        if (c + b > 0) {
          freshConns[e] = freshConns[e]! + (c + b);
          unb[k] = 1;
          conns[k] = c;
          back[k] = b;
          sc = sc === 0 ? cfg.unbaselinedScore : Math.max(sc, cfg.unbaselinedScore);
        }
      }
    } else {
      kind[k] = NEW;
      let secOps = 0;
      const l7 = t.l7[e]!;
      for (let i = acc.opsHead[s]!; i >= 0; i = acc.opNext[i]!) if (isSec!(l7, acc.opId[i]!)) secOps += 1;
      secK[k] = ctx.declared && secOps > 0 ? 1 : 0;
      const p = t.pair[e]!;
      if (!ctx.declared) sc = 1;
      else if (pairProd[p]! > 0) sc = secOps > 0 ? 1 : cfg.newServiceScore;
      else {
        const rp = t.findPair(t.dst(e), t.src(e));
        const reverse = rp >= 0 && ((t.pairConduit[rp] === w.conduit && pairProd[rp]! > 0) || t.pairRegCount[rp]! > 0);
        sc = reverse ? (secOps > 0 ? 1 : cfg.newDirectionScore) : 1;
      }
    }
    score[k] = sc;
    if (ctx.aggregateScans && (kind[k] === NEW || unb[k] === 1)) {
      const src = t.pairSrc[t.pair[e]!]!;
      newBySource.set(src, (newBySource.get(src) ?? 0) + 1);
    }
    if (!m && !inMaint && !ctx.learning && span > 0) {
      freshFirst[e] = acc.firstTs[s]!;
      freshConns[e] = Math.max(1, acc.synStarts[s]!);
      freshLastEnd[e] = ctx.windowEnd;
    }
  };

  return {
    name: NAME,
    scoreWindow(w, ctx, out) {
      const acc = w.acc;
      const n = w.to - w.from;
      if (!acc || n === 0) return;
      const t = w.edges;
      if (boundTo !== t) { boundTo = t; isSec = securityById(match, t); }
      ensure(t.count, t.pairCount);
      used = Math.max(used, t.count);
      if (pairsStale) {
        pairProd.fill(0);
        for (let e = 0; e < used; e += 1) if (prodKnown[e] === 1) { const p = t.pair[e]!; pairProd[p] = pairProd[p]! + 1; }
        pairsStale = false;
      }
      if (kind.length < n) {
        kind = grow(kind, n); score = grow(score, n); unb = grow(unb, n); conns = grow(conns, n); back = grow(back, n); secK = grow(secK, n);
      }
      const inMaint = ctx.maintenance !== undefined;
      const span = cfg.unbaselinedFor ?? ctx.cycleMs;
      /** New (or reconnecting unbaselined) edges per source, when it matters (a scan reporter runs). */
      const newBySource = new Map<number, number>();
      // Score every edge against the model as it stood before this window, then learn them all:
      // two new edges from one new talker in the same window both say "new talker".
      for (let k = 0; k < n; k += 1) scoreEdge(w, ctx, acc, k, inMaint, span, newBySource);
      // Build the findings that are needed.
      let fan: ReturnType<typeof fanoutOf> | undefined;
      for (let k = 0; k < n; k += 1) {
        const sc = score[k]!;
        const s = acc.order[w.from + k]!;
        const e = acc.edge[s]!;
        if (!out.wants(sc, kind[k] === NEW && !ctx.declared ? 'always' : secK[k] === 1 ? 'security' : undefined, e)) {
          if (sc > 0) out.novelSkipped += 1;
          continue;
        }
        let f: Finding;
        if (kind[k] === NEW) {
          fan ??= fanoutOf(w);
          f = newEdgeFinding(w, ctx, s, e, sc, fan);
        } else if (kind[k] === MAINT_KNOWN) {
          f = knownEdgeFinding(w, s, e, true, true);
        } else {
          const known = knownEdgeFinding(w, s, e, inMaint, false);
          if (unb[k] === 1) {
            const u = unbaselinedFinding(w, s, e, conns[k]!, back[k]!);
            if (known.score === 0) f = u;
            else {
              const [hi, lo] = u.score > known.score ? [u, known] : [known, u];
              f = { ...hi, explanation: `${hi.explanation}; ${lo.explanation}`, features: { ...known.features, ...u.features }, alertInMaintenance: known.alertInMaintenance };
            }
          } else f = known;
        }
        if (ctx.aggregateScans) {
          const src = t.pairSrc[t.pair[e]!]!;
          const c = newBySource.get(src) ?? 0;
          if ((kind[k] === NEW || unb[k] === 1) && c >= cfg.scanMinNewEdges) {
            f.grouped = true;
            f.features.scan_new_edges = c;
            f.explanation += `; one of ${c} ${unb[k] === 1 ? 'new or reconnecting unbaselined' : 'new'} edges from ${t.src(e)} this window: reported once as a scan`;
          }
        }
        if (sc > 0) f.novel = true;
        if (secK[k] === 1) f.alertBeforeReady = true;
        out.push(f);
      }
      // Learn.
      learnSources = undefined;
      learnLastSrc = -1;
      for (let k = 0; k < n; k += 1) {
        const s = acc.order[w.from + k]!;
        const e = acc.edge[s]!;
        if (inMaint && prodKnown[e] === 0) learn(w, s, e, true, false);
        else if (inMaint) learn(w, s, e, true, true);
        else learn(w, s, e, false, false);
      }
    },
    save: (): NoveltyJSON => {
      const sets: NoveltyJSON['sets'] = [];
      const fresh: NoveltyJSON['fresh'] = [];
      for (let e = 0; e < used; e += 1) {
        if (setHead[e * 4] !== -1 || setHead[e * 4 + 1] !== -1 || setHead[e * 4 + 2] !== -1 || setHead[e * 4 + 3] !== -1) {
          sets.push([e, ...[0, 1, 2, 3].map((x) => values(e, x).map(numToJson))] as NoveltyJSON['sets'][number]);
        }
        if (!Number.isNaN(freshFirst[e]!)) fresh.push([e, numToJson(freshFirst[e]!), numToJson(freshConns[e]!), numToJson(freshLastEnd[e]!)]);
      }
      return {
        edges: used, prod: colToJson(prodKnown, used), maint: colToJson(maintKnown, used), sets, fresh,
        sources: [...sources].sort((a, b) => a[0] - b[0]).map(([c, set]) => [c, [...set]]),
      };
    },
    load: (json) => {
      const j = json as NoveltyJSON;
      used = j.edges;
      prodKnown = colFromJson(Uint8Array, j.prod, used);
      maintKnown = colFromJson(Uint8Array, j.maint, used);
      const size = prodKnown.length;
      setHead = new Int32Array(size * 4).fill(-1);
      vN = 0;
      freshFirst = new Float64Array(size).fill(NaN);
      freshConns = new Float64Array(size);
      freshLastEnd = new Float64Array(size);
      for (const [e, ...lists] of j.sets) lists.forEach((l, x) => { for (const v of l) addTo(e, x, numFromJson(v)); });
      for (const [e, a, b, c] of j.fresh) { freshFirst[e] = numFromJson(a); freshConns[e] = numFromJson(b); freshLastEnd[e] = numFromJson(c); }
      sources.clear();
      for (const [c, list] of j.sources) sources.set(c, new Set(list));
      // Pair counts are derived: rebuilt on the first window from the edge table (pairs of known edges).
      pairsStale = true;
    },
  };
};

/** A novelty detector from raw settings (parsed here; throws on invalid ones). */
export const createNovelty = (input: unknown = {}, securityOp?: ProtocolSecurity): WindowDetector => buildNovelty(NoveltyConfig.parse(input), securityOp);

/** The registry entry (cli/registry.ts). */
export const noveltyDetector = defineDetector({
  name: NAME,
  summary: 'New edges, services, directions, operations and unit ids; undeclared conduits; new connections on unbaselined edges.',
  config: NoveltyConfig,
  create: (cfg, ctx) => buildNovelty(cfg, ctx.securityOp),
});
