/**
 * Declared vs observed, both ways: what the site says against what the traffic shows.
 *
 *   unzoned          assets in no declared zone (they fall in 'unknown')
 *   unused           declared conduits that carried no traffic
 *   undeclared       traffic between zones with no declared conduit (and its services)
 *   contradictions   zones whose behaviour contradicts their SL-T: an asset of an SL ≥ 2 zone that
 *                    talks to a public (internet) address; engineering operations into a zone from a
 *                    zone of lower SL-T or from no zone; a PLC/RTU in an SL 1 zone
 */
import type { SiteMap } from '../core/config.ts';
import { UNKNOWN_ZONE } from '../core/config.ts';
import { protoName, type Asset } from '../core/records.ts';
import { isAssetAddress, type Communication } from './inventory.ts';
import { isEngineeringOp, ROLE_LABELS } from './roles.ts';

export interface Comparison {
  unzoned: { ip: string; role: string; flows: number }[];
  unused: { conduit: string; description: string }[];
  undeclared: { conduit: string; flows: number; services: string[] }[];
  contradictions: { zone: string; sl: number; ip: string; why: string }[];
}

const V4_PRIVATE = [[10, 8], [172, 12, 16], [192, 16, 168], [127, 8], [169, 16, 254], [100, 10, 64]] as const;

/** Whether an address is public (routable on the internet): not private, loopback, link-local, CGNAT, multicast or broadcast. */
export const isPublicAddress = (ip: string): boolean => {
  if (!isAssetAddress(ip)) return false;
  if (ip.includes(':')) return !/^(fe[89ab]|f[cd]|::1$|::ffff:)/i.test(ip);
  const [a, b] = ip.split('.').map(Number) as [number, number];
  for (const r of V4_PRIVATE) {
    if (r.length === 2 && a === r[0]) return false;
    if (r.length === 3) {
      const [first, bits, second] = r;
      const span = 1 << (16 - bits);
      if (a === first && b >= second && b < second + span) return false;
    }
  }
  return true;
};

export const compareSite = (map: SiteMap, assets: readonly Asset[], comms: readonly Communication[]): Comparison => {
  const sl = new Map(map.site.zones.map((z) => [z.name, z.sl]));
  const unzoned = assets.filter((a) => isAssetAddress(a.ip) && map.zoneOf(a.ip) === UNKNOWN_ZONE)
    .map((a) => ({ ip: a.ip, role: ROLE_LABELS[a.role], flows: a.flows }));
  const used = new Set<string>();
  const undeclared = new Map<string, { flows: number; services: Set<string> }>();
  const contradictions = new Map<string, { zone: string; sl: number; ip: string; why: string }>();
  const contradict = (zone: string, ip: string, why: string): void => {
    const k = `${zone}|${ip}|${why}`;
    if (!contradictions.has(k)) contradictions.set(k, { zone, sl: sl.get(zone) ?? 0, ip, why });
  };
  for (const c of comms) {
    const from = map.zoneOf(c.client);
    const to = map.zoneOf(c.server);
    const conduit = `${from}->${to}`;
    used.add(conduit);
    if (!map.isDeclared(conduit)) {
      const u = undeclared.get(conduit) ?? { flows: 0, services: new Set<string>() };
      u.flows += c.flows;
      u.services.add(`${c.l7 ? `${c.l7} ` : ''}${protoName(c.proto)}/${c.port}`);
      undeclared.set(conduit, u);
    }
    for (const [ip, zone, other] of [[c.client, from, c.server], [c.server, to, c.client]] as const) {
      if (zone !== UNKNOWN_ZONE && (sl.get(zone) ?? 0) >= 2 && isPublicAddress(other)) {
        contradict(zone, ip, `talks to the internet address ${other} (${protoName(c.proto)}/${c.port}) from an SL ${sl.get(zone)} zone`);
      }
    }
    const eng = Object.keys(c.ops).filter(isEngineeringOp);
    if (eng.length && to !== UNKNOWN_ZONE && from !== to && (from === UNKNOWN_ZONE || (sl.get(from) ?? 0) < (sl.get(to) ?? 0))) {
      contradict(to, c.server, `receives engineering operations (${eng.slice(0, 4).join(', ')}) from ${c.client} in ${from === UNKNOWN_ZONE ? 'no zone' : `${from} (SL ${sl.get(from)})`}, a lower level than ${to} (SL ${sl.get(to)})`);
    }
  }
  for (const a of assets) {
    const zone = map.zoneOf(a.ip);
    if (a.role === 'plc_rtu' && zone !== UNKNOWN_ZONE && sl.get(zone) === 1) contradict(zone, a.ip, `a PLC/RTU (${a.confidence}) in an SL 1 zone`);
  }
  return {
    unzoned,
    unused: map.site.conduits.filter((c) => !used.has(`${c.from}->${c.to}`)).map((c) => ({ conduit: `${c.from}->${c.to}`, description: c.description })),
    undeclared: [...undeclared].sort(([a], [b]) => a.localeCompare(b)).map(([conduit, u]) => ({ conduit, flows: u.flows, services: [...u.services].sort() })),
    contradictions: [...contradictions.values()].sort((a, b) => a.zone.localeCompare(b.zone) || a.ip.localeCompare(b.ip, 'en', { numeric: true }) || a.why.localeCompare(b.why)),
  };
};
