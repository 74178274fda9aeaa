/**
 * Scan (burst and fan-out): per source and window, the distinct destinations (dst host, dst port,
 * proto) it reached and how many of them were never reached before on this conduit. A source with
 * at least `minDestinations` destinations in the window gets ONE finding (edge `src>*\/proto/0/scan`)
 * that lists them, however many new edges it opened: a SYN scan of 8 PLCs × 15 ports is one alert,
 * not 120. Learned sources are judged against their own per-window fan-out (z with floors); a
 * source without statistics by its new destinations alone (z = new / `newSourceSpread`).
 * On an undeclared conduit the finding says so and alerts even while learning and in maintenance.
 */
import { hostPort, protoName } from '../../core/records.ts';
import { round, zToScore } from '../calibration.ts';
import { byString, listText, num, type Finding, defineDetector, type WindowDetector } from '../detector.ts';
import type { EdgeFeatures } from '../features.ts';
import { addMoment, emptyMoments, momentStd, type Moments } from '../rate/detector.ts';
import { ScanConfig } from './config.ts';

export const NAME = 'scan';

export interface ScanState {
  /** Per source: distinct destinations per window (windows where the source talked). */
  sources: Map<string, Moments>;
  /** Edge ids ever seen on the conduit. */
  known: Set<string>;
}

/** Edge id of a source's aggregated scan finding. */
export const scanEdgeId = (src: string, proto: number): string => `${src}>*/${proto}/0/scan`;

const buildScan = (cfg: ScanConfig): WindowDetector<ScanState> => {

  return {
    name: NAME,
    reportsScans: true,
    init: () => ({ sources: new Map(), known: new Set() }),
    scoreWindow(cw, state, ctx) {
      const bySource = new Map<string, EdgeFeatures[]>();
      for (const e of cw.edges.values()) {
        const list = bySource.get(e.key.src);
        if (list) list.push(e);
        else bySource.set(e.key.src, [e]);
      }
      const findings: Finding[] = [];
      for (const src of [...bySource.keys()].sort(byString)) {
        const edges = bySource.get(src)!.sort((a, b) => byString(a.edge, b.edge));
        const x = edges.length;
        const fresh = edges.filter((e) => !state.known.has(e.edge));
        let m = state.sources.get(src);
        const learned = m !== undefined && m.n >= cfg.minWindows;
        let score = 0;
        if (x >= cfg.minDestinations) {
          const z = learned
            ? Math.max(0, x - m!.mean) / Math.max(momentStd(m!), cfg.relativeFloor * m!.mean, cfg.absoluteFloor)
            : fresh.length / cfg.newSourceSpread;
          score = zToScore(z);
          const hosts = [...new Set(edges.map((e) => e.key.dst))].sort(byString);
          const ports = [...new Set(edges.map((e) => e.key.dstPort))].sort((a, b) => a - b);
          const protoCount = new Map<number, number>();
          for (const e of edges) protoCount.set(e.key.proto, (protoCount.get(e.key.proto) ?? 0) + 1);
          const proto = [...protoCount].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]![0];
          const expected = learned ? `expected ${num(m!.mean)} ± ${num(momentStd(m!))} per window` : 'no fan-out learned for this source';
          const [from, to] = ctx.conduit.split('->');
          const undeclared = ctx.declared ? '' : `; undeclared conduit ${ctx.conduit} (no conduit is declared from zone ${from} to zone ${to})`;
          const sample = listText(edges.map((e) => `${hostPort(e.key.dst, e.key.dstPort)}${e.key.l7 ? ` ${e.key.l7}` : ` ${protoName(e.key.proto)}`}`), 8);
          findings.push({
            edge: scanEdgeId(src, proto), score,
            alertWhileLearning: !ctx.declared, alertInMaintenance: !ctx.declared,
            explanation: `scan/fan-out: ${src} reached ${x} destinations (${hosts.length} host${hosts.length > 1 ? 's' : ''} × ${ports.length} port${ports.length > 1 ? 's' : ''}: ${listText(ports, 10)}) this window, ${fresh.length} never reached before; ${expected} (z ${num(z)})${undeclared}; ${sample}`,
            features: { destinations: x, new_destinations: fresh.length, hosts: hosts.length, ports: ports.length, expected: learned ? round(m!.mean) : 0, z: round(z), undeclared: ctx.declared ? 0 : 1 },
          });
        }
        if (ctx.maintenance === undefined && (ctx.learning || score < cfg.learnBelow || !learned)) {
          if (!m) state.sources.set(src, (m = emptyMoments()));
          if (score < cfg.learnBelow || ctx.learning) addMoment(m, x);
        }
        for (const e of edges) state.known.add(e.edge);
      }
      return { findings, state };
    },
    save: (s) => ({ sources: [...s.sources], known: [...s.known] }),
    load: (json) => {
      const j = json as { sources: [string, Moments][]; known: string[] };
      return { sources: new Map(j.sources.map(([k, m]) => [k, { ...m }])), known: new Set(j.known) };
    },
  };
};

/** A scan detector from raw settings (parsed here; throws on invalid ones). */
export const createScan = (input: unknown = {}): WindowDetector<ScanState> => buildScan(ScanConfig.parse(input));

/** The registry entry (cli/registry.ts). */
export const scanDetector = defineDetector({
  name: NAME,
  summary: 'Fan-out per source: one aggregated finding for a scan or burst of destinations.',
  config: ScanConfig,
  create: (cfg) => buildScan(cfg) as WindowDetector<unknown>,
});
