/**
 * IPv4/IPv6 addresses and CIDR blocks, as big integers so one code path serves both families; and the
 * text of an address from its bytes (packet and NetFlow decoders).
 */
import { isIPv4, isIPv6 } from 'node:net';

export interface Cidr {
  family: 4 | 6;
  base: bigint;
  bits: number;
  text: string;
}

const v4ToBig = (ip: string): bigint =>
  ip.split('.').reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n);

const v6ToBig = (ip: string): bigint => {
  let s = ip;
  const v4tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4tail) {
    const n = v4ToBig(v4tail[1]!);
    s = s.slice(0, -v4tail[1]!.length) + `${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head, tail] = s.includes('::') ? s.split('::') as [string, string] : [s, undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g || '0', 16)), 0n);
};

/** The address as (family, integer), or undefined when it is not an IP address. */
export const ipToBig = (ip: string): { family: 4 | 6; value: bigint } | undefined => {
  if (isIPv4(ip)) return { family: 4, value: v4ToBig(ip) };
  if (isIPv6(ip)) return { family: 6, value: v6ToBig(ip) };
  return undefined;
};

/** Parses '10.0.0.0/8', '2001:db8::/32' or a bare address (a /32 or /128). Throws RangeError with a fix. */
export const parseCidr = (text: string): Cidr => {
  const [addr, len] = text.split('/');
  const ip = addr ? ipToBig(addr) : undefined;
  if (!ip) throw new RangeError(`"${text}" is not an IP address or CIDR block; write e.g. 10.1.2.0/24 or 10.1.2.7`);
  const max = ip.family === 4 ? 32 : 128;
  const bits = len === undefined ? max : Number(len);
  if (!Number.isInteger(bits) || bits < 0 || bits > max) {
    throw new RangeError(`"${text}" has prefix length ${len}; IPv${ip.family} takes 0 to ${max}`);
  }
  const mask = bits === 0 ? 0n : ((1n << BigInt(bits)) - 1n) << BigInt(max - bits);
  return { family: ip.family, base: ip.value & mask, bits, text };
};

export const cidrContains = (c: Cidr, ip: { family: 4 | 6; value: bigint }): boolean => {
  if (c.family !== ip.family) return false;
  const max = c.family === 4 ? 32 : 128;
  const shift = BigInt(max - c.bits);
  return c.bits === 0 || ip.value >> shift === c.base >> shift;
};

const V4_CACHE_BITS = 12;
const V4_CACHE_MASK = (1 << V4_CACHE_BITS) - 1;
/** Direct-mapped cache of dotted quads by address (bounded: 4096 slots, a collision overwrites). */
const v4Keys = new Float64Array(1 << V4_CACHE_BITS).fill(-1);
const v4Text: string[] = new Array<string>(1 << V4_CACHE_BITS).fill('');

/** Dotted quad of 4 bytes at `off`. Plant exporters repeat a few hundred addresses: the text is cached. */
export const ipv4At = (b: Uint8Array, off: number): string => {
  const a = b[off]!, c = b[off + 1]!, d = b[off + 2]!, e = b[off + 3]!;
  const key = a * 16_777_216 + ((c << 16) | (d << 8) | e);
  const slot = ((key >>> 0) ^ (key >>> V4_CACHE_BITS) ^ (key >>> 24)) & V4_CACHE_MASK;
  if (v4Keys[slot] === key) return v4Text[slot]!;
  const text = `${a}.${c}.${d}.${e}`;
  v4Keys[slot] = key;
  v4Text[slot] = text;
  return text;
};

/** Lower-case hex of 16-bit groups `from`..`to` of `g`, joined by ':'. */
const hexGroups = (g: Uint16Array, from: number, to: number): string => {
  let s = '';
  for (let i = from; i < to; i++) s += (i > from ? ':' : '') + g[i]!.toString(16);
  return s;
};

const v6Groups = new Uint16Array(8);

/** RFC 5952 text of 16 bytes at `off`: lower case, longest run (≥2) of zero groups as `::`. */
export const ipv6At = (b: Uint8Array, off: number): string => {
  const g = v6Groups;
  for (let i = 0; i < 8; i++) g[i] = (b[off + 2 * i]! << 8) | b[off + 2 * i + 1]!;
  let best = -1, bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  if (best < 0) return hexGroups(g, 0, 8);
  return `${hexGroups(g, 0, best)}::${hexGroups(g, best + bestLen, 8)}`;
};
