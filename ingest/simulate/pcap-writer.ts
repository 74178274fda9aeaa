/**
 * Streaming writer of classic pcap files carrying Ethernet/IPv4/TCP frames.
 *
 * Every packet is written straight into one large buffer from precomputed header templates, so
 * the hot path allocates nothing; the buffer goes to disk in multi-megabyte writes.
 *
 * pcap global header (libpcap file format, microsecond variant, little endian):
 *
 *   off len field          value
 *   0   4   magic          0xa1b2c3d4 (µs timestamps)
 *   4   2   version major  2
 *   6   2   version minor  4
 *   8   4   thiszone       0
 *   12  4   sigfigs        0
 *   16  4   snaplen        65535
 *   20  4   network        1 (LINKTYPE_ETHERNET)
 *
 * Record header: ts_sec(4) ts_usec(4) incl_len(4) orig_len(4), then the frame.
 *
 * Frame = Ethernet II (14) + IPv4 (20, no options, DF set) + TCP (20, or 24 with an MSS option on
 * SYNs) + payload. The IPv4 header checksum (RFC 791) and the TCP checksum over the pseudo header
 * (RFC 793 §3.1) are both computed, so checksum-validating peers (Zeek, tshark with
 * tcp.check_checksum) accept the frames.
 */
import { open, type FileHandle } from 'node:fs/promises';

/** TCP flag bits. */
export const FIN = 0x01;
export const SYN = 0x02;
export const RST = 0x04;
export const PSH = 0x08;
export const ACK = 0x10;

const ETH = 14;
const IP = 20;
const TCP = 20;
const REC = 16;
/** Largest frame we ever write: headers, MSS option and a 260-byte Modbus ADU, rounded up. */
export const MAX_FRAME = 512;

/** One direction of one TCP connection: its header template and running counters. */
export interface Half {
  /** Ethernet + IPv4 + TCP header with the constant fields filled in (54 bytes). */
  readonly tmpl: Buffer;
  /** One's-complement sum of the constant IPv4 header words (everything but length, id, checksum). */
  readonly ipSum: number;
  /** One's-complement sum of the pseudo header minus the TCP length: src, dst, protocol. */
  readonly pseudoSum: number;
  /** IPv4 identification of the next packet. */
  ipId: number;
  /** Advertised receive window. */
  readonly window: number;
}

const ipBytes = (ip: string): number[] => ip.split('.').map(Number);

/** Locally administered MAC derived from an IPv4 address: 02:00:a.b.c.d. */
export const macOf = (ip: string): number[] => [0x02, 0x00, ...ipBytes(ip)];

const sum16 = (b: Buffer, from: number, to: number): number => {
  let s = 0;
  for (let i = from; i < to; i += 2) s += (b[i]! << 8) | b[i + 1]!;
  return s;
};

const fold = (s: number): number => {
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
};

/** Builds the header template of one direction: `src:srcPort → dst:dstPort`. */
export const half = (src: string, srcPort: number, dst: string, dstPort: number, opts: { ttl: number; window: number; ipId: number }): Half => {
  const t = Buffer.alloc(ETH + IP + TCP);
  t.set(macOf(dst), 0);
  t.set(macOf(src), 6);
  t.writeUInt16BE(0x0800, 12);
  t[ETH] = 0x45; // version 4, IHL 5
  t[ETH + 1] = 0; // DSCP/ECN
  t.writeUInt16BE(0x4000, ETH + 6); // DF, fragment offset 0
  t[ETH + 8] = opts.ttl;
  t[ETH + 9] = 6; // TCP
  t.set(ipBytes(src), ETH + 12);
  t.set(ipBytes(dst), ETH + 16);
  t.writeUInt16BE(srcPort, ETH + IP);
  t.writeUInt16BE(dstPort, ETH + IP + 2);
  t.writeUInt16BE(opts.window, ETH + IP + 14);
  const ipSum = sum16(t, ETH, ETH + IP); // length, id, checksum are still zero here
  const pseudoSum = sum16(t, ETH + 12, ETH + 20) + 6;
  return { tmpl: t, ipSum, pseudoSum, ipId: opts.ipId & 0xffff, window: opts.window };
};

/** Writes packets into a large buffer and flushes it to a file in big chunks. */
export class PcapWriter {
  /** The output buffer; a caller fills a payload between `begin` and `commit`. */
  readonly buf: Buffer;
  /** Write position in `buf`. */
  off = 0;
  packets = 0;
  bytes = 0;
  private tcpStart = 0;
  private frameEnd = 0;
  private tcpLen = 0;
  private pseudoSum = 0;

  private constructor(private readonly fh: FileHandle, size: number) {
    this.buf = Buffer.alloc(size);
  }

  /** Opens (truncates) `path` and writes the global header. */
  static async create(path: string, bufferBytes = 8 << 20): Promise<PcapWriter> {
    const w = new PcapWriter(await open(path, 'w'), bufferBytes);
    const b = w.buf;
    b.writeUInt32LE(0xa1b2c3d4, 0);
    b.writeUInt16LE(2, 4);
    b.writeUInt16LE(4, 6);
    b.writeInt32LE(0, 8);
    b.writeUInt32LE(0, 12);
    b.writeUInt32LE(65535, 16);
    b.writeUInt32LE(1, 20);
    w.off = 24;
    w.bytes = 24;
    return w;
  }

  /** True when the next packet might not fit: the caller awaits `flush()` first. */
  get full(): boolean {
    return this.off + MAX_FRAME > this.buf.length;
  }

  async flush(): Promise<void> {
    let done = 0;
    while (done < this.off) done += (await this.fh.write(this.buf, done, this.off - done)).bytesWritten;
    this.off = 0;
  }

  async close(): Promise<void> {
    await this.flush();
    await this.fh.close();
  }

  /**
   * Starts a TCP segment at `tsUs` (epoch µs) and returns the offset where its payload of
   * `payloadLen` bytes goes. `mss` adds the MSS option (SYN and SYN-ACK only). Call `commit()`
   * once the payload is in place.
   */
  begin(tsUs: number, h: Half, flags: number, seq: number, ack: number, payloadLen: number, mss = 0): number {
    const b = this.buf;
    const tcpHdr = mss ? TCP + 4 : TCP;
    const frameLen = ETH + IP + tcpHdr + payloadLen;
    let o = this.off;
    const sec = Math.floor(tsUs / 1_000_000);
    b.writeUInt32LE(sec, o);
    b.writeUInt32LE(tsUs - sec * 1_000_000, o + 4);
    b.writeUInt32LE(frameLen, o + 8);
    b.writeUInt32LE(frameLen, o + 12);
    o += REC;
    h.tmpl.copy(b, o);
    const ip = o + ETH;
    const totalLen = IP + tcpHdr + payloadLen;
    const id = h.ipId;
    h.ipId = (id + 1) & 0xffff;
    b.writeUInt16BE(totalLen, ip + 2);
    b.writeUInt16BE(id, ip + 4);
    b.writeUInt16BE(~fold(h.ipSum + totalLen + id) & 0xffff, ip + 10);
    const tcp = ip + IP;
    b.writeUInt32BE(seq >>> 0, tcp + 4);
    b.writeUInt32BE(ack >>> 0, tcp + 8);
    b[tcp + 12] = (tcpHdr / 4) << 4;
    b[tcp + 13] = flags;
    b.writeUInt32BE(0, tcp + 16); // checksum and urgent pointer
    if (mss) {
      b[tcp + 20] = 2; // kind MSS
      b[tcp + 21] = 4;
      b.writeUInt16BE(mss, tcp + 22);
    }
    this.tcpStart = tcp;
    this.tcpLen = tcpHdr + payloadLen;
    this.frameEnd = o + frameLen;
    this.pseudoSum = h.pseudoSum;
    return tcp + tcpHdr;
  }

  /** Finishes the segment started by `begin`: TCP checksum, counters. */
  commit(): void {
    const b = this.buf;
    const start = this.tcpStart;
    const end = this.frameEnd;
    let s = this.pseudoSum + this.tcpLen + sum16(b, start, end - (this.tcpLen & 1));
    if (this.tcpLen & 1) s += b[end - 1]! << 8;
    b.writeUInt16BE(~fold(s) & 0xffff, start + 16);
    this.bytes += end - this.off;
    this.off = end;
    this.packets += 1;
  }

  /** A segment without payload (SYN, ACK, FIN, RST). */
  bare(tsUs: number, h: Half, flags: number, seq: number, ack: number, mss = 0): void {
    this.begin(tsUs, h, flags, seq, ack, 0, mss);
    this.commit();
  }
}
