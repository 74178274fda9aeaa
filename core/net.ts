/** IPv4/IPv6 addresses and CIDR blocks, as big integers so one code path serves both families. */
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
