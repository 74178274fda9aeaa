/**
 * Zones and conduits of flow addresses by number, for the store's blocks (store/blocks.ts): an IPv4
 * dotted quad is read as its 32-bit value and matched against the site's IPv4 blocks, longest prefix
 * first (exactly `SiteMap.zoneOf`'s rule), through a direct-mapped memo of recent addresses; any other
 * text (IPv6, a spelling with leading zeros, not an address) asks `SiteMap.zoneOf`. A zone is an index
 * into `names`, a conduit an index into `conduits`, so a block's zone and conduit columns are written
 * as LowCardinality indexes without a string lookup per row. No Map of every address seen: a plant's
 * 65 536 sources cost a few comparisons each, not a hash of a fresh string.
 */
import { conduitId, UNKNOWN_ZONE, type SiteMap } from '../core/config.ts';
import { parseCidr } from '../core/net.ts';

const MEMO_BITS = 14;
const MEMO_MASK = (1 << MEMO_BITS) - 1;

/** The 32-bit value of a canonical dotted quad ('10.1.2.3'), or -1 for any other text. */
export const ipv4Value = (s: string): number => {
  const n = s.length;
  if (n < 7 || n > 15) return -1;
  let v = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) return -1;
      v = v * 256 + part;
      part = 0;
      digits = 0;
      dots++;
      continue;
    }
    const d = c - 48;
    if (d < 0 || d > 9 || (digits > 0 && part === 0)) return -1;
    part = part * 10 + d;
    if (++digits > 3 || part > 255) return -1;
  }
  if (dots !== 3 || digits === 0) return -1;
  return v * 256 + part;
};

export class ZoneIndex {
  /** Zone names by index: the site's zones in order, then `unknown`. */
  readonly names: string[];
  /** Conduit ids by index: `conduitOf(a, b)` = a · zones + b. */
  readonly conduits: string[];
  private readonly byName = new Map<string, number>();
  private readonly unknown: number;
  /** The site's IPv4 blocks, longest prefix first: value & mask === base → zone. */
  private readonly base: Uint32Array;
  private readonly mask: Uint32Array;
  private readonly zone: Uint16Array;
  private readonly memoKey = new Float64Array(1 << MEMO_BITS).fill(-1);
  private readonly memoZone = new Uint16Array(1 << MEMO_BITS);

  constructor(private readonly siteMap: SiteMap) {
    const zones = siteMap.site.zones;
    this.names = [...zones.map((z) => z.name), ...(zones.some((z) => z.name === UNKNOWN_ZONE) ? [] : [UNKNOWN_ZONE])];
    this.names.forEach((z, i) => this.byName.set(z, i));
    this.unknown = this.byName.get(UNKNOWN_ZONE)!;
    // SiteMap's order: every zone's cidrs then assets, stably sorted by prefix length, longest first.
    const blocks = zones
      .flatMap((z, zi) => [...z.cidrs, ...z.assets].map((c) => ({ cidr: parseCidr(c), zone: zi })))
      .sort((a, b) => b.cidr.bits - a.cidr.bits)
      .filter((b) => b.cidr.family === 4);
    this.base = Uint32Array.from(blocks, (b) => Number(b.cidr.base));
    this.mask = Uint32Array.from(blocks, (b) => (b.cidr.bits === 0 ? 0 : (0xffffffff << (32 - b.cidr.bits)) >>> 0));
    this.zone = Uint16Array.from(blocks, (b) => b.zone);
    const z = this.names.length;
    this.conduits = Array.from({ length: z * z }, (_, i) => conduitId(this.names[Math.floor(i / z)]!, this.names[i % z]!));
  }

  /** Zone index of an address (text as a flow record holds it). */
  of(ip: string): number {
    const v = ipv4Value(ip);
    if (v < 0) return this.byName.get(this.siteMap.zoneOf(ip)) ?? this.unknown;
    const slot = (v ^ (v >>> MEMO_BITS) ^ (v >>> 28)) & MEMO_MASK;
    if (this.memoKey[slot] === v) return this.memoZone[slot]!;
    let z = this.unknown;
    const { base, mask } = this;
    for (let i = 0; i < base.length; i++) {
      if (((v & mask[i]!) >>> 0) === base[i]) { z = this.zone[i]!; break; }
    }
    this.memoKey[slot] = v;
    this.memoZone[slot] = z;
    return z;
  }

  /** Conduit index of a zone pair. */
  conduitOf(from: number, to: number): number {
    return from * this.names.length + to;
  }
}

const compiled = new WeakMap<SiteMap, ZoneIndex>();

/** The site map's zone index, compiled once per site map. */
export const zoneIndexOf = (siteMap: SiteMap): ZoneIndex => {
  let z = compiled.get(siteMap);
  if (!z) compiled.set(siteMap, (z = new ZoneIndex(siteMap)));
  return z;
};
