/**
 * Frame decoder: link layer → IPv4/IPv6 → TCP/UDP/ICMP, into one reused {@link DecodedPacket}.
 * Addresses stay as offsets into the frame buffer; `srcIp`/`dstIp` strings are built only on demand
 * (flow assembly builds them once per new flow), so the hot path allocates nothing.
 *
 * Link layers (https://www.tcpdump.org/linktypes.html):
 *
 *   type     name           header
 *   1        Ethernet       dst 6, src 6, ethertype 2; 802.1Q/802.1ad/QinQ tags (8100, 88a8, 9100) are
 *                           4 bytes each (TCI 2, inner ethertype 2), up to {@link MAX_VLAN_TAGS}
 *   113      Linux SLL      packet type 2, arphrd 2, addr len 2, addr 8, protocol 2  (16 bytes)
 *   276      Linux SLL2     protocol 2, reserved 2, ifindex 4, arphrd 2, packet type 1, addr len 1,
 *                           addr 8  (20 bytes)
 *   101, 12, 14  raw IP     version nibble picks IPv4 or IPv6
 *   228 / 229    raw IPv4 / raw IPv6
 *   0        BSD NULL       4-byte address family in the writer's byte order (2 = IPv4; 24, 28, 30 = IPv6)
 *   108      OpenBSD LOOP   same, network byte order
 *
 * IPv4 (RFC 791): version/IHL 1, TOS 1, total length 2, id 2, flags/fragment offset 2, TTL 1, protocol 1,
 *   checksum 2, src 4 (offset 12), dst 4 (offset 16), options (IHL*4 − 20).
 * IPv6 (RFC 8200): version/class/flow 4, payload length 2, next header 1, hop limit 1, src 16 (offset 8),
 *   dst 16 (offset 24); extension headers hop-by-hop 0, routing 43, fragment 44, destination options 60,
 *   mobility 135, HIP 139, shim6 140 (length (n+1)*8), AH 51 (length (n+2)*4) are skipped.
 * TCP (RFC 9293): src port 2, dst port 2, seq 4, ack 4, data offset 4 bits, flags (low 8 bits of 2 bytes).
 * UDP (RFC 768): src port 2, dst port 2, length 2, checksum 2.
 * ICMP / ICMPv6: type 1, code 1; reported NetFlow-style as srcPort 0, dstPort = type * 256 + code.
 *
 * Fragments are counted, not reassembled: the first fragment is decoded with its ports (its L4 header is
 * there); later fragments carry no ports and are reported as `ip_fragment` notes, so flow assembly skips
 * them.
 */
import { ipv4At, ipv6At } from '../../core/net.ts';

/** Malformed input: counted in `violations` (snake_case, closed set). */
export type DecodeViolation =
  | 'link_truncated' // frame shorter than its link header
  | 'ipv4_truncated' // shorter than 20 bytes or than IHL*4
  | 'ipv4_ihl' // IHL < 5
  | 'ipv4_total_length' // total length < IHL*4
  | 'ipv6_truncated'
  | 'ipv6_ext_truncated' // an extension header runs past the captured bytes
  | 'ip_version' // version nibble is neither 4 nor 6 where IP was expected
  | 'tcp_truncated' // TCP header past the captured bytes
  | 'tcp_data_offset' // data offset < 5 (header shorter than 20 bytes)
  | 'udp_truncated'
  | 'icmp_truncated';

/** Benign conditions, counted in `notes`: the frame is well-formed but carries nothing for flows. */
export type DecodeNote =
  | 'non_ip' // ARP, LLDP, STP, IPX …
  | 'unsupported_link_type'
  | 'ip_fragment'; // a non-first fragment: no ports

export type DecodeOutcome = 'ok' | DecodeViolation | DecodeNote;

const VIOLATIONS: ReadonlySet<string> = new Set<DecodeViolation>([
  'link_truncated', 'ipv4_truncated', 'ipv4_ihl', 'ipv4_total_length', 'ipv6_truncated', 'ipv6_ext_truncated',
  'ip_version', 'tcp_truncated', 'tcp_data_offset', 'udp_truncated', 'icmp_truncated',
]);

/** True for outcomes that mean malformed input (as opposed to benign notes). */
export const isDecodeViolation = (o: DecodeOutcome): o is DecodeViolation => VIOLATIONS.has(o);

/** The link types {@link decodeFrame} reads (the table above). */
export const SUPPORTED_LINK_TYPES: ReadonlySet<number> = new Set([1, 113, 276, 101, 12, 14, 228, 229, 0, 108]);

/** Names of common link types (LINKTYPE_* of https://www.tcpdump.org/linktypes.html), for error messages. */
const LINK_TYPE_NAMES: Record<number, string> = {
  0: 'BSD loopback', 1: 'Ethernet', 6: 'IEEE 802.5 Token Ring', 8: 'SLIP', 9: 'PPP', 10: 'FDDI', 12: 'raw IP', 14: 'raw IP',
  50: 'PPP in HDLC framing', 51: 'PPPoE', 101: 'raw IP', 104: 'Cisco HDLC', 105: 'IEEE 802.11', 108: 'OpenBSD loopback',
  113: 'Linux cooked (SLL)', 119: 'IEEE 802.11 with Prism header', 127: 'IEEE 802.11 with radiotap header', 187: 'Bluetooth HCI H4',
  189: 'Linux USB', 195: 'IEEE 802.15.4 with FCS', 201: 'Bluetooth HCI H4 with pseudo-header', 220: 'Linux USB (memory-mapped)',
  228: 'raw IPv4', 229: 'raw IPv6', 230: 'IEEE 802.15.4 without FCS', 252: 'Wireshark upper PDU', 253: 'Linux netlink',
  254: 'Bluetooth Linux monitor', 276: 'Linux cooked v2 (SLL2)',
};

/** "IEEE 802.11 with radiotap header", "user-defined (DLT_USER3)", or "unknown". */
export const linkTypeName = (t: number): string =>
  LINK_TYPE_NAMES[t] ?? (t >= 147 && t <= 162 ? `user-defined (DLT_USER${t - 147})` : 'unknown');

/** What the reader says about a link type it cannot decode: what it reads instead. */
export const SUPPORTED_LINK_TYPES_TEXT = 'Ethernet (1), Linux cooked SLL (113) and SLL2 (276), raw IP (101, 12, 14, 228, 229) and BSD/OpenBSD loopback (0, 108)';

/** Largest number of stacked VLAN tags we walk through (QinQ is 2). */
export const MAX_VLAN_TAGS = 4;

/** One decoded frame. Reused between calls: copy what you keep. */
export class DecodedPacket {
  /** Event time, epoch ms. */
  ts = 0;
  /** The packet's record number in its capture file, from 1 (tshark's `frame.number`). */
  index = 0;
  ipVersion: 4 | 6 = 4;
  /** The frame buffer; addresses are read from it. */
  buf: Buffer = Buffer.alloc(0);
  /** A DataView of `buf`, for the reader's reads. */
  view: DataView = new DataView(new ArrayBuffer(0));
  srcOff = 0;
  dstOff = 0;
  proto = 0;
  srcPort = 0;
  dstPort = 0;
  tcpFlags = 0;
  seq = 0;
  /** Transport payload: offset into `buf` and bytes captured. */
  payloadOff = 0;
  payloadLen = 0;
  /** IP length from the header (total length for IPv4, 40 + payload length for IPv6). */
  ipLen = 0;
  /** 0 not a fragment, 1 first fragment. */
  fragment = 0;
  /** 802.1Q VLAN id of the outermost tag, or -1. */
  vlan = -1;
  /** Offset of the Ethernet header in `buf` (destination MAC, then source MAC), or -1 without one. */
  macOff = -1;

  get srcIp(): string {
    return ipString(this.buf, this.srcOff, this.ipVersion);
  }

  get dstIp(): string {
    return ipString(this.buf, this.dstOff, this.ipVersion);
  }
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** The MAC address at `buf[off, off + 6)` as `aa:bb:cc:dd:ee:ff`; '' for a group (multicast or broadcast) address. */
export const macAt = (buf: Buffer, off: number): string => {
  if (buf[off]! & 0x01) return '';
  return `${HEX[buf[off]!]}:${HEX[buf[off + 1]!]}:${HEX[buf[off + 2]!]}:${HEX[buf[off + 3]!]}:${HEX[buf[off + 4]!]}:${HEX[buf[off + 5]!]}`;
};

/** Formats an address at `off`: dotted quad for IPv4, RFC 5952 text for IPv6. */
export const ipString = (buf: Buffer, off: number, version: 4 | 6): string =>
  (version === 4 ? ipv4At(buf, off) : ipv6At(buf, off));

/**
 * Reads go through a DataView of the frame's buffer (compiled to plain loads; Buffer#readUInt16BE
 * validates its argument on every call). The reader alternates between two buffers, so a one-entry
 * cache of the view is nearly always a hit.
 */
let viewBuf: Buffer | undefined;
let view: DataView = new DataView(new ArrayBuffer(0));
const viewOf = (b: Buffer): DataView => {
  if (b !== viewBuf) { viewBuf = b; view = new DataView(b.buffer, b.byteOffset, b.byteLength); }
  return view;
};

const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;

/**
 * Decodes a frame of `linkType` at `buf[off, off + caplen)` into `out`. Returns 'ok' when `out` holds an
 * IP packet with its transport fields, otherwise the violation or note code (the caller counts it).
 */
export const decodeFrame = (
  linkType: number, buf: Buffer, off: number, caplen: number, tsMs: number, out: DecodedPacket,
): DecodeOutcome => {
  const end = off + caplen;
  const dv = viewOf(buf);
  out.buf = buf;
  out.view = dv;
  out.ts = tsMs;
  out.vlan = -1;
  out.macOff = -1;
  let p = off;
  let ethertype: number;
  switch (linkType) {
    case 1: {
      if (caplen < 14) return 'link_truncated';
      out.macOff = p;
      ethertype = dv.getUint16(p + 12);
      p += 14;
      for (let tags = 0; (ethertype === 0x8100 || ethertype === 0x88a8 || ethertype === 0x9100) && tags < MAX_VLAN_TAGS; tags++) {
        if (end - p < 4) return 'link_truncated';
        if (out.vlan < 0) out.vlan = dv.getUint16(p) & 0x0fff;
        ethertype = dv.getUint16(p + 2);
        p += 4;
      }
      break;
    }
    case 113:
      if (caplen < 16) return 'link_truncated';
      ethertype = dv.getUint16(p + 14);
      p += 16;
      break;
    case 276:
      if (caplen < 20) return 'link_truncated';
      ethertype = dv.getUint16(p);
      p += 20;
      break;
    case 101: case 12: case 14:
      if (caplen < 1) return 'link_truncated';
      ethertype = buf[p]! >> 4 === 6 ? ETH_IPV6 : ETH_IPV4;
      break;
    case 228:
      ethertype = ETH_IPV4;
      break;
    case 229:
      ethertype = ETH_IPV6;
      break;
    case 0: case 108: {
      if (caplen < 4) return 'link_truncated';
      // NULL: host byte order of the writer; LOOP: network order. Either way the family is small.
      const be = dv.getUint32(p);
      const af = linkType === 108 || be < 0x10000 ? be : dv.getUint32(p, true);
      p += 4;
      if (af === 2) ethertype = ETH_IPV4;
      else if (af === 24 || af === 28 || af === 30 || af === 10) ethertype = ETH_IPV6;
      else return 'non_ip';
      break;
    }
    default:
      return 'unsupported_link_type';
  }
  if (ethertype === ETH_IPV4) return decodeIpv4(buf, dv, p, end, out);
  if (ethertype === ETH_IPV6) return decodeIpv6(buf, dv, p, end, out);
  return 'non_ip';
};

const decodeIpv4 = (buf: Buffer, dv: DataView, p: number, end: number, out: DecodedPacket): DecodeOutcome => {
  if (end - p < 20) return 'ipv4_truncated';
  const vihl = buf[p]!;
  if (vihl >> 4 !== 4) return 'ip_version';
  const ihl = (vihl & 0x0f) * 4;
  if (ihl < 20) return 'ipv4_ihl';
  if (end - p < ihl) return 'ipv4_truncated';
  const total = dv.getUint16(p + 2);
  if (total < ihl) return 'ipv4_total_length';
  const frag = dv.getUint16(p + 6);
  const fragOffset = frag & 0x1fff;
  out.ipVersion = 4;
  out.srcOff = p + 12;
  out.dstOff = p + 16;
  out.proto = buf[p + 9]!;
  out.ipLen = total;
  out.fragment = (frag & 0x2000) !== 0 || fragOffset !== 0 ? 1 : 0;
  if (fragOffset !== 0) return 'ip_fragment';
  // Ethernet pads short frames; the IP total length bounds the transport.
  const l3end = Math.min(end, p + total);
  return decodeTransport(buf, dv, p + ihl, l3end, out);
};

const decodeIpv6 = (buf: Buffer, dv: DataView, p: number, end: number, out: DecodedPacket): DecodeOutcome => {
  if (end - p < 40) return 'ipv6_truncated';
  if (buf[p]! >> 4 !== 6) return 'ip_version';
  const payloadLen = dv.getUint16(p + 4);
  out.ipVersion = 6;
  out.srcOff = p + 8;
  out.dstOff = p + 24;
  out.ipLen = 40 + payloadLen;
  out.fragment = 0;
  const l3end = Math.min(end, p + 40 + payloadLen);
  let next = buf[p + 6]!;
  let q = p + 40;
  for (let hops = 0; hops < 16; hops++) {
    if (next === 0 || next === 43 || next === 60 || next === 135 || next === 139 || next === 140) {
      if (l3end - q < 8) return 'ipv6_ext_truncated';
      const len = (buf[q + 1]! + 1) * 8;
      next = buf[q]!;
      q += len;
    } else if (next === 51) {
      if (l3end - q < 8) return 'ipv6_ext_truncated';
      const len = (buf[q + 1]! + 2) * 4;
      next = buf[q]!;
      q += len;
    } else if (next === 44) {
      if (l3end - q < 8) return 'ipv6_ext_truncated';
      const offFlags = dv.getUint16(q + 2);
      next = buf[q]!;
      q += 8;
      out.fragment = 1;
      if (offFlags >> 3 !== 0) { out.proto = next; return 'ip_fragment'; }
    } else break;
  }
  if (q > l3end) return 'ipv6_ext_truncated';
  out.proto = next;
  return decodeTransport(buf, dv, q, l3end, out);
};

const decodeTransport = (buf: Buffer, dv: DataView, p: number, end: number, out: DecodedPacket): DecodeOutcome => {
  out.tcpFlags = 0;
  out.seq = 0;
  out.srcPort = 0;
  out.dstPort = 0;
  out.payloadOff = p;
  out.payloadLen = 0;
  switch (out.proto) {
    case 6: {
      if (end - p < 20) return 'tcp_truncated';
      const dataOff = (buf[p + 12]! >> 4) * 4;
      if (dataOff < 20) return 'tcp_data_offset';
      if (end - p < dataOff) return 'tcp_truncated';
      out.srcPort = dv.getUint16(p);
      out.dstPort = dv.getUint16(p + 2);
      out.seq = dv.getUint32(p + 4);
      out.tcpFlags = buf[p + 13]!;
      out.payloadOff = p + dataOff;
      out.payloadLen = end - p - dataOff;
      return 'ok';
    }
    case 17: {
      if (end - p < 8) return 'udp_truncated';
      out.srcPort = dv.getUint16(p);
      out.dstPort = dv.getUint16(p + 2);
      out.payloadOff = p + 8;
      out.payloadLen = end - p - 8;
      return 'ok';
    }
    case 1: case 58: {
      if (end - p < 2) return 'icmp_truncated';
      out.dstPort = buf[p]! * 256 + buf[p + 1]!;
      return 'ok';
    }
    default:
      // Other protocols (SCTP, GRE, ESP …) become flows on addresses and protocol alone.
      return 'ok';
  }
};
