/**
 * Size (payload envelope): bytes per packet of each edge, per direction (`request` = initiator →
 * responder, `response` = back), and bytes per l7 request, against the envelope learned for the
 * edge: [smallest, largest] window average, plus a Welford mean and std. Inside the envelope the
 * deviation is 0; outside it, z = distance beyond the envelope / std_eff with
 * std_eff = max(std, relativeFloor · mean, absoluteFloor). So a window only scores when its
 * packets are bigger (or smaller) than any baseline window's, by several spreads: an exfiltration,
 * a program block where registers were read, a payload that changed shape.
 *
 * State: per edge and channel, columns n, mean, m2, min, max (a channel exists once n > 0).
 */
import { round, zToScore } from '../calibration.ts';
import { colFromJson, colToJson, grow, type NumJSON } from '../columns.ts';
import { defineDetector, num, type ConduitWindow, type FindingSink, type WindowContext, type WindowDetector } from '../detector.ts';
import type { WindowAcc } from '../features.ts';
import { SizeConfig } from './config.ts';

export const NAME = 'size';

const CHANNELS = ['request', 'response', 'per_request'] as const;
const CHANNEL_TEXT = ['request bytes per packet', 'response bytes per packet', 'bytes per l7 request'];
const C = CHANNELS.length;

interface SizeJSON { edges: number; n: NumJSON[]; mean: NumJSON[]; m2: NumJSON[]; min: NumJSON[]; max: NumJSON[] }

const buildSize = (cfg: SizeConfig): WindowDetector => {
  // Index edge · 3 + channel.
  let cap = 0;
  let n = new Int32Array(0);
  let mean = new Float64Array(0);
  let m2 = new Float64Array(0);
  let min = new Float64Array(0);
  let max = new Float64Array(0);
  const ensure = (edges: number): void => {
    if (edges <= cap) return;
    const need = edges * C;
    n = grow(n, need); mean = grow(mean, need); m2 = grow(m2, need); min = grow(min, need); max = grow(max, need);
    cap = Math.floor(n.length / C);
  };
  const std = (i: number): number => (n[i]! > 1 ? Math.sqrt(m2[i]! / (n[i]! - 1)) : 0);
  const x = new Float64Array(C);
  const has = new Uint8Array(C);

  /** One edge's window (a function of its own, so the JIT optimizes it within the first window). */
  const scoreEdge = (w: ConduitWindow, acc: WindowAcc, s: number, ctx: WindowContext, out: FindingSink): void => {
    const e = acc.edge[s]!;
    const fwdPackets = acc.packets[s]! - acc.packetsRev[s]!;
    const fwdBytes = acc.bytes[s]! - acc.bytesRev[s]!;
    has[0] = fwdPackets >= cfg.minPackets ? 1 : 0;
    x[0] = fwdBytes / fwdPackets;
    has[1] = acc.packetsRev[s]! >= cfg.minPackets ? 1 : 0;
    x[1] = acc.bytesRev[s]! / acc.packetsRev[s]!;
    has[2] = acc.requests[s]! >= cfg.minPackets ? 1 : 0;
    x[2] = fwdBytes / acc.requests[s]!;
    if (has[0]! + has[1]! + has[2]! === 0) return;
    let worstZ = 0;
    let worst = -1;
    let ready = false;
    for (let c = 0; c < C; c += 1) {
      if (!has[c]) continue;
      const i = e * C + c;
      if (n[i]! < cfg.minWindows) continue;
      ready = true;
      const eff = Math.max(std(i), cfg.relativeFloor * mean[i]!, cfg.absoluteFloor);
      const v = x[c]!;
      const outside = v > max[i]! ? v - max[i]! : v < min[i]! ? min[i]! - v : 0;
      const z = outside / eff;
      if (z >= worstZ) { worstZ = z; worst = c; }
    }
    const score = ready ? zToScore(worstZ) : 0;
    // Inside the envelope there is nothing to say: no finding (and no score row).
    if (ready && score > 0 && out.wants(score, undefined, e)) {
      const features: Record<string, number> = {};
      for (let c = 0; c < C; c += 1) {
        if (!has[c]) continue;
        features[`${CHANNELS[c]}_bytes`] = round(x[c]!, 1);
        const i = e * C + c;
        if (n[i]! >= cfg.minWindows) features[`${CHANNELS[c]}_expected_bytes`] = round(mean[i]!, 1);
      }
      features.z = round(worstZ);
      const i = e * C + worst;
      const t = w.edges;
      out.push({
        edge: t.idOf(e), score, features,
        explanation: `${t.text(e)}: ${CHANNEL_TEXT[worst]} ${num(mean[i]!)} ± ${num(std(i))} expected (envelope ${num(min[i]!)}–${num(max[i]!)}), ${num(x[worst]!)} seen`,
      });
    }
    // Channels still learning are always learned; ready ones only from unremarkable windows.
    if (ctx.maintenance !== undefined) return;
    for (let c = 0; c < C; c += 1) {
      if (!has[c]) continue;
      const i = e * C + c;
      const v = x[c]!;
      if (n[i] === 0) { min[i] = v; max[i] = v; mean[i] = 0; m2[i] = 0; }
      if (n[i]! >= cfg.minWindows && !ctx.learning && score >= cfg.learnBelow) continue;
      n[i] = n[i]! + 1;
      const d = v - mean[i]!;
      mean[i] = mean[i]! + (d / n[i]!);
      m2[i] = m2[i]! + (d * (v - mean[i]!));
      min[i] = Math.min(min[i]!, v);
      max[i] = Math.max(max[i]!, v);
    }
  };

  return {
    name: NAME,
    scoreWindow(w, ctx, out) {
      const acc = w.acc;
      if (!acc) return;
      ensure(w.edges.count);
      for (let k = w.from; k < w.to; k += 1) scoreEdge(w, acc, acc.order[k]!, ctx, out);
    },
    save: (): SizeJSON => {
      // Trailing edges never measured are left out.
      let edges = cap;
      while (edges > 0 && n[(edges - 1) * C]! + n[(edges - 1) * C + 1]! + n[(edges - 1) * C + 2]! === 0) edges -= 1;
      const k = edges * C;
      return { edges, n: colToJson(n, k), mean: colToJson(mean, k), m2: colToJson(m2, k), min: colToJson(min, k), max: colToJson(max, k) };
    },
    load: (json) => {
      const j = json as SizeJSON;
      const k = j.edges * C;
      n = colFromJson(Int32Array, j.n, k); mean = colFromJson(Float64Array, j.mean, k); m2 = colFromJson(Float64Array, j.m2, k);
      min = colFromJson(Float64Array, j.min, k); max = colFromJson(Float64Array, j.max, k);
      cap = Math.floor(n.length / C);
    },
  };
};

/** A size detector from raw settings (parsed here; throws on invalid ones). */
export const createSize = (input: unknown = {}): WindowDetector => buildSize(SizeConfig.parse(input));

/** The registry entry (cli/registry.ts). */
export const sizeDetector = defineDetector({
  name: NAME,
  summary: 'Payload envelope: bytes per packet per direction and bytes per request.',
  config: SizeConfig,
  create: (cfg) => buildSize(cfg),
});
