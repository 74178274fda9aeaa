/**
 * Scan (burst and fan-out): per source and window, the distinct destinations (dst host, dst port,
 * proto) it reached and how many of them were never reached before on this conduit. A source with
 * at least `minDestinations` destinations in the window gets ONE finding (edge `src>*\/proto/0/scan`)
 * that lists them, however many new edges it opened: a SYN scan of 8 PLCs × 15 ports is one alert,
 * not 120. Learned sources are judged against their own per-window fan-out (z with floors); a
 * source without statistics by its new destinations alone (z = new / `newSourceSpread`).
 * On an undeclared conduit the finding says so and alerts even while learning and in maintenance.
 *
 * State: Welford moments of each (conduit, source)'s destinations per window. Whether an edge
 * was reached before is the edge index's own record (its first window is earlier than this one).
 */
import { protoName } from '../../core/records.ts';
import { round, zToScore } from '../calibration.ts';
import { colFromJson, colToJson, grow, type NumJSON } from '../columns.ts';
import { byString, defineDetector, listText, num, type WindowDetector } from '../detector.ts';
import { ScanConfig } from './config.ts';

export const NAME = 'scan';

/** Edge id of a source's aggregated scan finding. */
export const scanEdgeId = (src: string, proto: number): string => `${src}>*/${proto}/0/scan`;

interface ScanJSON {
  /** [conduit id, source address id] per moments row. */
  keys: [number, number][];
  n: NumJSON[];
  mean: NumJSON[];
  m2: NumJSON[];
}

const KEY = 2 ** 32;

const buildScan = (cfg: ScanConfig): WindowDetector => {
  const rows = new Map<number, number>();
  const keys: [number, number][] = [];
  let n = new Int32Array(16);
  let mean = new Float64Array(16);
  let m2 = new Float64Array(16);
  const rowOf = (conduit: number, src: number, create: boolean): number => {
    const k = conduit * KEY + src;
    let r = rows.get(k);
    if (r === undefined && create) {
      r = keys.length;
      keys.push([conduit, src]);
      rows.set(k, r);
      n = grow(n, r + 1); mean = grow(mean, r + 1); m2 = grow(m2, r + 1);
    }
    return r ?? -1;
  };
  const std = (r: number): number => (n[r]! > 1 ? Math.sqrt(m2[r]! / (n[r]! - 1)) : 0);

  return {
    name: NAME,
    reportsScans: true,
    scoreWindow(w, ctx, out) {
      const acc = w.acc;
      if (!acc || w.to === w.from) return;
      const t = w.edges;
      // Per source: destinations this window and those never reached before.
      const bySource = new Map<number, [number, number]>();
      for (let k = w.from; k < w.to; k += 1) {
        const e = acc.edge[acc.order[k]!]!;
        const src = t.pairSrc[t.pair[e]!]!;
        let c = bySource.get(src);
        if (!c) bySource.set(src, (c = [0, 0]));
        c[0] = c[0]! + 1;
        if (!(t.firstWindow[e]! < w.windowStart)) c[1] = c[1]! + 1;
      }
      // The edges of each source, collected in one pass when a finding needs them.
      let lists: Map<number, number[]> | undefined;
      const edgesOf = (src: number): number[] => {
        if (!lists) {
          lists = new Map();
          for (let k = w.from; k < w.to; k += 1) {
            const e = acc.edge[acc.order[k]!]!;
            const sx = t.pairSrc[t.pair[e]!]!;
            const l = lists.get(sx);
            if (l) l.push(e);
            else lists.set(sx, [e]);
          }
        }
        return lists.get(src)!;
      };
      for (const [src, [x, fresh]] of bySource) {
        let r = rowOf(w.conduit, src, false);
        const learned = r >= 0 && n[r]! >= cfg.minWindows;
        let score = 0;
        if (x >= cfg.minDestinations) {
          const z = learned
            ? Math.max(0, x - mean[r]!) / Math.max(std(r), cfg.relativeFloor * mean[r]!, cfg.absoluteFloor)
            : fresh / cfg.newSourceSpread;
          score = zToScore(z);
          if (out.wants(score, !ctx.declared ? 'always' : undefined)) {
            const srcIp = t.ips.list[src]!;
            const edges = edgesOf(src).map((e) => [t.idOf(e), e] as const).sort((a, b) => byString(a[0], b[0])).map(([, e]) => e);
            const hosts = [...new Set(edges.map((e) => t.dst(e)))].sort(byString);
            const ports = [...new Set(edges.map((e) => t.port[e]!))].sort((a, b) => a - b);
            const protoCount = new Map<number, number>();
            for (const e of edges) protoCount.set(t.proto[e]!, (protoCount.get(t.proto[e]!) ?? 0) + 1);
            const proto = [...protoCount].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]![0];
            const expected = learned ? `expected ${num(mean[r]!)} ± ${num(std(r))} per window` : 'no fan-out learned for this source';
            const [from, to] = ctx.conduit.split('->');
            const undeclared = ctx.declared ? '' : `; undeclared conduit ${ctx.conduit} (no conduit is declared from zone ${from} to zone ${to})`;
            // listText(every destination, 8), building only the 8 it shows.
            const shown = edges.slice(0, 8).map((e) => `${t.dstText(e)}${t.l7Name(e) ? ` ${t.l7Name(e)}` : ` ${protoName(t.proto[e]!)}`}`);
            const sample = edges.length > 8 ? `${shown.join(', ')} (+${edges.length - 8} more)` : listText(shown, 8);
            out.push({
              edge: scanEdgeId(srcIp, proto), score,
              alertWhileLearning: !ctx.declared, alertInMaintenance: !ctx.declared,
              explanation: `scan/fan-out: ${srcIp} reached ${x} destinations (${hosts.length} host${hosts.length > 1 ? 's' : ''} × ${ports.length} port${ports.length > 1 ? 's' : ''}: ${listText(ports, 10)}) this window, ${fresh} never reached before; ${expected} (z ${num(z)})${undeclared}; ${sample}`,
              features: { destinations: x, new_destinations: fresh, hosts: hosts.length, ports: ports.length, expected: learned ? round(mean[r]!) : 0, z: round(z), undeclared: ctx.declared ? 0 : 1 },
            });
          }
        }
        if (ctx.maintenance === undefined && (ctx.learning || score < cfg.learnBelow || !learned)) {
          if (r < 0) r = rowOf(w.conduit, src, true);
          if (score < cfg.learnBelow || ctx.learning) {
            n[r] = n[r]! + 1;
            const d = x - mean[r]!;
            mean[r] = mean[r]! + (d / n[r]!);
            m2[r] = m2[r]! + (d * (x - mean[r]!));
          }
        }
      }
    },
    save: (): ScanJSON => ({ keys: keys.map(([c, s]) => [c, s]), n: colToJson(n, keys.length), mean: colToJson(mean, keys.length), m2: colToJson(m2, keys.length) }),
    load: (json) => {
      const j = json as ScanJSON;
      rows.clear();
      keys.length = 0;
      j.keys.forEach(([c, s], i) => { keys.push([c, s]); rows.set(c * KEY + s, i); });
      n = colFromJson(Int32Array, j.n, keys.length);
      mean = colFromJson(Float64Array, j.mean, keys.length);
      m2 = colFromJson(Float64Array, j.m2, keys.length);
    },
  };
};

/** A scan detector from raw settings (parsed here; throws on invalid ones). */
export const createScan = (input: unknown = {}): WindowDetector => buildScan(ScanConfig.parse(input));

/** The registry entry (cli/registry.ts). */
export const scanDetector = defineDetector({
  name: NAME,
  summary: 'Fan-out per source: one aggregated finding for a scan or burst of destinations.',
  config: ScanConfig,
  create: (cfg) => buildScan(cfg),
});
