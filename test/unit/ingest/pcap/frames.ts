/** Builders for synthetic frames and capture files used by the pcap and dissector tests. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const TCP = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10 } as const;

const v4 = (ip: string): number[] => ip.split('.').map(Number);

export interface TcpOpts { sport: number; dport: number; flags?: number; seq?: number; payload?: Buffer; dataOffset?: number }

export const tcpSegment = (o: TcpOpts): Buffer => {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(o.sport, 0);
  h.writeUInt16BE(o.dport, 2);
  h.writeUInt32BE((o.seq ?? 1000) >>> 0, 4);
  h[12] = (o.dataOffset ?? 5) << 4;
  h[13] = o.flags ?? TCP.ACK;
  h.writeUInt16BE(65535, 14);
  return Buffer.concat([h, o.payload ?? Buffer.alloc(0)]);
};

export const udpDatagram = (sport: number, dport: number, payload = Buffer.alloc(0)): Buffer => {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(sport, 0);
  h.writeUInt16BE(dport, 2);
  h.writeUInt16BE(8 + payload.length, 4);
  return Buffer.concat([h, payload]);
};

export interface Ip4Opts { src: string; dst: string; proto: number; ihl?: number; fragOffset?: number; moreFragments?: boolean }

export const ipv4 = (o: Ip4Opts, l4: Buffer): Buffer => {
  const h = Buffer.alloc(20);
  h[0] = 0x40 | (o.ihl ?? 5);
  h.writeUInt16BE(20 + l4.length, 2);
  h.writeUInt16BE((o.moreFragments ? 0x2000 : 0) | (o.fragOffset ?? 0), 6);
  h[8] = 64;
  h[9] = o.proto;
  Buffer.from(v4(o.src)).copy(h, 12);
  Buffer.from(v4(o.dst)).copy(h, 16);
  return Buffer.concat([h, l4]);
};

/** IPv6 with optional extension headers given as [type, body] (body padded to 8-byte units). */
export const ipv6 = (src: Buffer, dst: Buffer, proto: number, l4: Buffer, ext: Array<[number, Buffer]> = []): Buffer => {
  const exts: Buffer[] = [];
  let first = proto;
  for (let i = ext.length - 1; i >= 0; i--) {
    const [type, body] = ext[i]!;
    const len = Math.ceil((body.length + 2) / 8) * 8;
    const e = Buffer.alloc(len);
    e[0] = first;
    e[1] = len / 8 - 1;
    body.copy(e, 2);
    exts.unshift(e);
    first = type;
  }
  const rest = Buffer.concat([...exts, l4]);
  const h = Buffer.alloc(40);
  h[0] = 0x60;
  h.writeUInt16BE(rest.length, 4);
  h[6] = first;
  h[7] = 64;
  src.copy(h, 8);
  dst.copy(h, 24);
  return Buffer.concat([h, rest]);
};

/** Ethernet II; `vlans` adds 802.1Q tags (two or more: the outer one is 802.1ad, QinQ). */
export const ether = (ip: Buffer, opts: { vlans?: number[]; ethertype?: number } = {}): Buffer => {
  const vlans = opts.vlans ?? [];
  const h = Buffer.alloc(14 + 4 * vlans.length);
  Buffer.from('020000000001020000000002', 'hex').copy(h, 0);
  let o = 12;
  vlans.forEach((id, i) => {
    h.writeUInt16BE(i === 0 && vlans.length > 1 ? 0x88a8 : 0x8100, o);
    h.writeUInt16BE(id, o + 2);
    o += 4;
  });
  h.writeUInt16BE(opts.ethertype ?? (ip[0]! >> 4 === 6 ? 0x86dd : 0x0800), o);
  return Buffer.concat([h, ip]);
};

export const sll = (ip: Buffer): Buffer => {
  const h = Buffer.alloc(16);
  h.writeUInt16BE(0, 0);
  h.writeUInt16BE(1, 2);
  h.writeUInt16BE(6, 4);
  h.writeUInt16BE(ip[0]! >> 4 === 6 ? 0x86dd : 0x0800, 14);
  return Buffer.concat([h, ip]);
};

export const sll2 = (ip: Buffer): Buffer => {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(ip[0]! >> 4 === 6 ? 0x86dd : 0x0800, 0);
  h.writeUInt32BE(3, 4);
  h.writeUInt16BE(1, 8);
  h[11] = 6;
  return Buffer.concat([h, ip]);
};

export const nullLoop = (ip: Buffer, le = true): Buffer => {
  const h = Buffer.alloc(4);
  if (le) h.writeUInt32LE(2, 0); else h.writeUInt32BE(2, 0);
  return Buffer.concat([h, ip]);
};

export interface PcapRecord { tsMs: number; frame: Buffer; inclLen?: number; origLen?: number }

/** A classic pcap file. */
export const pcapFile = (records: PcapRecord[], o: { le?: boolean; ns?: boolean; linkType?: number; snaplen?: number } = {}): Buffer => {
  const le = o.le ?? true;
  const w32 = (b: Buffer, v: number, off: number): void => { if (le) b.writeUInt32LE(v >>> 0, off); else b.writeUInt32BE(v >>> 0, off); };
  const w16 = (b: Buffer, v: number, off: number): void => { if (le) b.writeUInt16LE(v, off); else b.writeUInt16BE(v, off); };
  const hdr = Buffer.alloc(24);
  w32(hdr, o.ns ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  w16(hdr, 2, 4);
  w16(hdr, 4, 6);
  w32(hdr, o.snaplen ?? 65535, 16);
  w32(hdr, o.linkType ?? 1, 20);
  const parts: Buffer[] = [hdr];
  for (const r of records) {
    const rh = Buffer.alloc(16);
    const sec = Math.floor(r.tsMs / 1000);
    const frac = o.ns ? Math.round((r.tsMs - sec * 1000) * 1e6) : Math.round((r.tsMs - sec * 1000) * 1e3);
    w32(rh, sec, 0);
    w32(rh, frac, 4);
    w32(rh, r.inclLen ?? r.frame.length, 8);
    w32(rh, r.origLen ?? r.frame.length, 12);
    parts.push(rh, r.frame);
  }
  return Buffer.concat(parts);
};

/** pcapng block builder in either byte order. */
export class Pcapng {
  private readonly parts: Buffer[] = [];
  constructor(private readonly le = true) {}

  private w32(b: Buffer, v: number, off: number): void { if (this.le) b.writeUInt32LE(v >>> 0, off); else b.writeUInt32BE(v >>> 0, off); }
  private w16(b: Buffer, v: number, off: number): void { if (this.le) b.writeUInt16LE(v, off); else b.writeUInt16BE(v, off); }

  /** A raw block; `trailer` overrides the trailing length (to build a mismatch). */
  block(type: number, body: Buffer, trailer?: number): this {
    const padded = Buffer.concat([body, Buffer.alloc((4 - (body.length % 4)) % 4)]);
    const len = 12 + padded.length;
    const b = Buffer.alloc(len);
    this.w32(b, type, 0);
    this.w32(b, len, 4);
    padded.copy(b, 8);
    this.w32(b, trailer ?? len, len - 4);
    this.parts.push(b);
    return this;
  }

  shb(): this {
    const body = Buffer.alloc(16);
    this.w32(body, 0x1a2b3c4d, 0);
    this.w16(body, 1, 4);
    this.w16(body, 0, 6);
    body.fill(0xff, 8, 16);
    return this.block(0x0a0d0d0a, body);
  }

  /** Interface with link type and optional if_tsresol byte. */
  idb(linkType: number, tsresol?: number, snaplen = 0): this {
    const opts: Buffer[] = [];
    if (tsresol !== undefined) {
      const o = Buffer.alloc(8);
      this.w16(o, 9, 0);
      this.w16(o, 1, 2);
      o[4] = tsresol;
      opts.push(o, Buffer.alloc(4));
    }
    const body = Buffer.alloc(8);
    this.w16(body, linkType, 0);
    this.w32(body, snaplen, 4);
    return this.block(1, Buffer.concat([body, ...opts]));
  }

  /** Enhanced packet block; `ticks` is the raw timestamp in the interface's resolution. */
  epb(iface: number, ticks: bigint, frame: Buffer): this {
    const h = Buffer.alloc(20);
    this.w32(h, iface, 0);
    this.w32(h, Number(ticks >> 32n), 4);
    this.w32(h, Number(ticks & 0xffffffffn), 8);
    this.w32(h, frame.length, 12);
    this.w32(h, frame.length, 16);
    return this.block(6, Buffer.concat([h, frame]));
  }

  spb(frame: Buffer): this {
    const h = Buffer.alloc(4);
    this.w32(h, frame.length, 0);
    return this.block(3, Buffer.concat([h, frame]));
  }

  bytes(): Buffer {
    return Buffer.concat(this.parts);
  }
}

let dir: string | undefined;
/** Writes bytes to a fresh temp file and returns its path. */
export const tempFile = (name: string, bytes: Buffer): string => {
  dir ??= mkdtempSync(join(tmpdir(), 'conduitwatch-pcap-'));
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
};

/** A Modbus/TCP ADU: MBAP header + PDU. */
export const mbap = (transaction: number, unit: number, pdu: number[] | Buffer, protocol = 0, lengthOverride?: number): Buffer => {
  const p = Buffer.from(pdu);
  const h = Buffer.alloc(7);
  h.writeUInt16BE(transaction, 0);
  h.writeUInt16BE(protocol, 2);
  h.writeUInt16BE(lengthOverride ?? p.length + 1, 4);
  h[6] = unit;
  return Buffer.concat([h, p]);
};
