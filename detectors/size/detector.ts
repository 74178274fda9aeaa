/**
 * Size (payload envelope): bytes per packet of each edge, per direction (`request` = initiator →
 * responder, `response` = back), and bytes per l7 request, against the envelope learned for the
 * edge: [smallest, largest] window average, plus a Welford mean and std. Inside the envelope the
 * deviation is 0; outside it, z = distance beyond the envelope / std_eff with
 * std_eff = max(std, relativeFloor · mean, absoluteFloor). So a window only scores when its
 * packets are bigger (or smaller) than any baseline window's, by several spreads: an exfiltration,
 * a program block where registers were read, a payload that changed shape.
 */
import { round, zToScore } from '../calibration.ts';
import { byString, num, type Finding, defineDetector, type WindowDetector } from '../detector.ts';
import type { EdgeFeatures } from '../features.ts';
import { edgeText } from '../novelty/detector.ts';
import { addMoment, emptyMoments, momentStd, type Moments } from '../rate/detector.ts';
import { SizeConfig } from './config.ts';

export const NAME = 'size';

/** One channel's envelope. */
export interface Envelope {
  m: Moments;
  min: number;
  max: number;
}

export interface SizeState {
  /** Edge id → channel ('request', 'response', 'per_request') → envelope. */
  edges: Map<string, Record<string, Envelope>>;
}

const CHANNELS: Record<string, string> = {
  request: 'request bytes per packet', response: 'response bytes per packet', per_request: 'bytes per l7 request',
};

const buildSize = (cfg: SizeConfig): WindowDetector<SizeState> => {

  const values = (e: EdgeFeatures): Record<string, number> => {
    const out: Record<string, number> = {};
    const fwdPackets = e.packets - e.packetsRev;
    const fwdBytes = e.bytes - e.bytesRev;
    if (fwdPackets >= cfg.minPackets) out.request = fwdBytes / fwdPackets;
    if (e.packetsRev >= cfg.minPackets) out.response = e.bytesRev / e.packetsRev;
    if (e.requests >= cfg.minPackets) out.per_request = fwdBytes / e.requests;
    return out;
  };

  return {
    name: NAME,
    init: () => ({ edges: new Map() }),
    scoreWindow(cw, state, ctx) {
      const findings: Finding[] = [];
      for (const e of [...cw.edges.values()].sort((a, b) => byString(a.edge, b.edge))) {
        const seen = values(e);
        const names = Object.keys(seen);
        if (names.length === 0) continue;
        let model = state.edges.get(e.edge);
        if (!model) state.edges.set(e.edge, (model = {}));
        let worst = { z: 0, text: '', ch: '' };
        const features: Record<string, number> = {};
        let ready = false;
        for (const ch of names) {
          const x = seen[ch]!;
          features[`${ch}_bytes`] = round(x, 1);
          const env = model[ch];
          if (!env || env.m.n < cfg.minWindows) continue;
          ready = true;
          const eff = Math.max(momentStd(env.m), cfg.relativeFloor * env.m.mean, cfg.absoluteFloor);
          const outside = x > env.max ? x - env.max : x < env.min ? env.min - x : 0;
          const z = outside / eff;
          features[`${ch}_expected_bytes`] = round(env.m.mean, 1);
          if (z >= worst.z) {
            worst = { z, ch, text: `${CHANNELS[ch]} ${num(env.m.mean)} ± ${num(momentStd(env.m))} expected (envelope ${num(env.min)}–${num(env.max)}), ${num(x)} seen` };
          }
        }
        const score = ready ? zToScore(worst.z) : 0;
        // Inside the envelope there is nothing to say: no finding (and no score row).
        if (ready && score > 0) {
          features.z = round(worst.z);
          findings.push({ edge: e.edge, score, features, explanation: `${edgeText(e.key)}: ${worst.text}` });
        }
        // Channels still learning are always learned; ready ones only from unremarkable windows.
        if (ctx.maintenance !== undefined) continue;
        for (const ch of names) {
          const x = seen[ch]!;
          const env = (model[ch] ??= { m: emptyMoments(), min: x, max: x });
          if (env.m.n >= cfg.minWindows && !ctx.learning && score >= cfg.learnBelow) continue;
          addMoment(env.m, x);
          env.min = Math.min(env.min, x);
          env.max = Math.max(env.max, x);
        }
      }
      return { findings, state };
    },
    save: (s) => [...s.edges],
    load: (json) => ({
      edges: new Map((json as [string, Record<string, Envelope>][]).map(([id, chans]) => [id,
        Object.fromEntries(Object.entries(chans).map(([k, env]) => [k, { ...env, m: { ...env.m } }]))])),
    }),
  };
};

/** A size detector from raw settings (parsed here; throws on invalid ones). */
export const createSize = (input: unknown = {}): WindowDetector<SizeState> => buildSize(SizeConfig.parse(input));

/** The registry entry (cli/registry.ts). */
export const sizeDetector = defineDetector({
  name: NAME,
  summary: 'Payload envelope: bytes per packet per direction and bytes per request.',
  config: SizeConfig,
  create: (cfg) => buildSize(cfg) as WindowDetector<unknown>,
});
