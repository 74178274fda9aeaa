/**
 * Streaming reader of classic pcap and pcapng capture files.
 *
 * The file is read in chunks (1 MiB) into two reused buffers, the next chunk read ahead while this
 * one is parsed; each packet is handed to a sink as a view (buffer + offset + length) into a buffer, with
 * no copy and no per-packet allocation. The sink must finish with the bytes before it returns: a later
 * chunk overwrites them.
 *
 * Classic pcap (https://datatracker.ietf.org/doc/draft-ietf-opsawg-pcap/):
 *
 *   file header (24 bytes)
 *   off len field          notes
 *   0   4   magic          a1b2c3d4 µs, a1b23c4d ns; read byte-swapped = the other byte order
 *   4   2   version major  2
 *   6   2   version minor  4
 *   8   8   thiszone, sigfigs (unused, 0)
 *   16  4   snaplen        largest incl_len the writer meant to produce
 *   20  4   network        link type (low 16 bits; upper bits carry FCS info)
 *
 *   record header (16 bytes) then incl_len bytes of frame
 *   0   4   ts_sec
 *   4   4   ts_usec        nanoseconds with the ns magic
 *   8   4   incl_len       bytes captured
 *   12  4   orig_len       bytes on the wire
 *
 * pcapng (https://datatracker.ietf.org/doc/draft-ietf-opsawg-pcapng/): a sequence of blocks
 *
 *   0   4   block type     0x0A0D0D0A SHB, 1 IDB, 6 EPB, 3 SPB, 2 obsolete PB; others are skipped
 *   4   4   total length   multiple of 4, ≥ 12; repeated in the last 4 bytes of the block
 *   8   …   body
 *
 *   SHB body: byte-order magic 1A2B3C4D (sets the byte order of the whole section), version, section
 *             length, options. A new SHB starts a new section and forgets its interfaces.
 *   IDB body: link type u16, reserved u16, snaplen u32, options (if_tsresol = 9, if_tsoffset = 14).
 *   EPB body: interface id u32, ts high u32, ts low u32, captured len u32, original len u32, data, pad.
 *   SPB body: original len u32, data (captured = min(original, block room, interface 0 snaplen)); no
 *             timestamp, so the previous packet's time is used.
 *
 * Bad input (shared/BAD-INPUT.md) is counted, never thrown: `incl_len > snaplen` and `incl_len >
 * orig_len` are counted and the packet is kept; an `incl_len` above {@link MAX_PACKET} (an allocation
 * bomb such as 2^31) stops the file, since a classic pcap cannot resynchronise; a record cut by the end
 * of the file is counted as `truncated`, and where it starts and how long it says it is are kept
 * (`ReaderCounters.truncation`). An unreadable file, a bad magic, and a link type the decoder does not
 * read (decode.ts `SUPPORTED_LINK_TYPES`: the classic header's, or that of the interface of a pcapng
 * packet) throw `PipelineError('input_invalid')`, naming the byte offset in the file where it applies.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import { PipelineError } from '../../core/errors.ts';
import { linkTypeName, SUPPORTED_LINK_TYPES, SUPPORTED_LINK_TYPES_TEXT } from './decode.ts';

/** Largest frame we accept (libpcap's MAXIMUM_SNAPLEN). Larger records are rejected, never allocated. */
export const MAX_PACKET = 262_144;
/**
 * Read size; also the buffer size, which is never grown (it always holds a whole packet record, as a
 * chunk is at least HEAD). The records a chunk's packets complete are held until the chunk ends (the
 * caller takes them per chunk): with 4 MiB on connection-per-poll traffic (9 packets per flow) about
 * 3,000 records lived long enough to be copied by one or two scavenges and promoted, and readPcapFlows
 * spent 2.71 CPU-s on bench/ingest --lemay-tiles 50 where 1 MiB chunks spend 2.15.
 */
export const CHUNK_BYTES = 1024 * 1024;
/** IDB/SHB blocks larger than this are skipped as unreadable. */
const MAX_META_BLOCK = 1024 * 1024;
/** Room in front of each chunk for the unparsed tail of the previous one: the largest record or block held. */
const HEAD = Math.max(MAX_META_BLOCK, MAX_PACKET + 64);

/** One captured frame: a view into the reader's buffer, valid only during the sink call. */
export interface RawPacket {
  linkType: number;
  /** Interface index (pcapng) or 0. */
  iface: number;
  /** Event time, epoch ms (fractional). */
  tsMs: number;
  buf: Buffer;
  off: number;
  /** Bytes captured (present in `buf`). */
  caplen: number;
  /** Bytes on the wire. */
  origLen: number;
}

export type PacketSink = (p: RawPacket) => void;

/** Codes the reader counts (snake_case, closed set). */
export type ReaderViolation =
  | 'truncated' // the file ended inside a record or block
  | 'pcap_incl_len_over_snaplen'
  | 'pcap_incl_len_over_orig_len'
  | 'pcap_record_too_large' // incl_len > MAX_PACKET: the rest of the file is not read
  | 'pcapng_block_length_invalid' // < 12, not a multiple of 4: the rest of the file is not read
  | 'pcapng_block_length_mismatch' // leading and trailing lengths differ: block skipped
  | 'pcapng_block_too_short' // body shorter than the block type needs: block skipped
  | 'pcapng_packet_too_large' // captured length > MAX_PACKET: packet skipped
  | 'pcapng_unknown_interface'; // EPB names an interface no IDB declared: packet skipped

/** Where the reader counts things; shared with the decoder and flow assembly. */
export interface ReaderCounters {
  violations: Record<string, number>;
  /** Set when the rest of the file could not be read (truncated record or an unrecoverable header). */
  truncated: boolean;
  /** When the file ended inside a record or block: where it starts, the length it states, the file size. */
  truncation?: Truncation;
}

/** A record or block the end of the file cut: byte offsets in the file. */
export interface Truncation {
  what: 'record' | 'block';
  offset: number;
  length: number;
  fileSize: number;
}

/** "the record at byte 1,024 is 1,516 bytes long but the file ends at byte 2,000 (976 of them are there)" */
export const truncationText = (t: Truncation): string => {
  const n = (x: number) => x.toLocaleString('en-US');
  return `the ${t.what} at byte ${n(t.offset)} is ${n(t.length)} bytes long but the file ends at byte ${n(t.fileSize)} ` +
    `(${n(Math.max(0, t.fileSize - t.offset))} of them are there)`;
};

const count = (c: ReaderCounters, code: ReaderViolation): void => {
  c.violations[code] = (c.violations[code] ?? 0) + 1;
};

interface Iface {
  linkType: number;
  /** Whether the decoder reads its link type; a packet of an interface it cannot read stops the file. */
  supported: boolean;
  snaplen: number;
  /** Divide a raw timestamp by this to get ms. */
  ticksPerMs: number;
  offsetMs: number;
}

const MAGIC_US = 0xa1b2c3d4;
const MAGIC_NS = 0xa1b23c4d;
const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BOM = 0x1a2b3c4d;
const TWO32 = 4294967296;

/**
 * Push parser: feed it bytes with {@link CaptureParser.parse}; it calls the sink per packet and tells the
 * caller how far it got. Holds the format state (byte order, interfaces) between calls.
 */
export class CaptureParser {
  private format: 'pcap' | 'pcapng' | undefined;
  private le = true;
  private headerDone = false;
  private snaplen = 0;
  private linkType = 0;
  private tsDivisor = 1000; // µs → ms
  private ifaces: Iface[] = [];
  private lastTs = 0;
  /** Set when parsing cannot continue (unrecoverable); the caller stops reading. */
  stopped = false;
  /** Packets handed to the sink. */
  packets = 0;
  /** File offset of buffer index 0 in the current `parse` call (errors name file offsets, not buffer ones). */
  private base = 0;
  /** The record or block the last `parse` stopped in front of (incomplete), file offset and stated length; -1 = none. */
  pendingAt = -1;
  pendingLength = 0;
  private pendingWhat: 'record' | 'block' = 'record';
  private readonly pkt: RawPacket = { linkType: 0, iface: 0, tsMs: 0, buf: Buffer.alloc(0), off: 0, caplen: 0, origLen: 0 };

  constructor(
    private readonly file: string,
    private readonly sink: PacketSink,
    private readonly counters: ReaderCounters,
  ) {}

  /**
   * Parses whole records in `buf[start, end)` and returns the position after the last one consumed. A
   * position beyond `end` means "skip that many bytes of the file" (a skipped block larger than what is
   * buffered). Throws `input_invalid` only when the first bytes are not a capture file.
   */
  parse(buf: Buffer, start: number, end: number, fileOffset = start): number {
    let p = start;
    this.base = fileOffset - start;
    // Nothing new to parse (the end of the file): what the last call stopped in front of still stands.
    if (end > start) this.pendingAt = -1;
    this.dv = this.view(buf);
    if (!this.format) {
      if (end - p < 4) return p;
      this.detect(buf, p, end);
    }
    if (this.format === 'pcap') {
      if (!this.headerDone) {
        if (end - p < 24) return p;
        p = this.pcapHeader(buf, p);
      }
      return this.pcapRecords(buf, p, end);
    }
    return this.pcapngBlocks(buf, p, end);
  }

  private detect(buf: Buffer, p: number, end: number): void {
    const m = buf.readUInt32LE(p);
    const mb = buf.readUInt32BE(p);
    if (mb === PCAPNG_SHB) { this.format = 'pcapng'; return; }
    if (m === MAGIC_US || m === MAGIC_NS) this.le = true;
    else if (mb === MAGIC_US || mb === MAGIC_NS) this.le = false;
    else {
      const head = buf.subarray(p, Math.min(end, p + 4)).toString('hex');
      throw new PipelineError('input_invalid',
        `${this.file} is not a pcap or pcapng capture (first bytes ${head}, expected a1b2c3d4, a1b23c4d, their byte-swapped forms or 0a0d0d0a). ` +
        'Export it from Wireshark as pcap or pcapng, or convert it with `editcap -F pcap in out.pcap`.',
        { file: this.file, magic: head });
    }
    this.format = 'pcap';
    this.tsDivisor = (this.le ? m : mb) === MAGIC_NS ? 1_000_000 : 1000;
  }

  private views = new WeakMap<Buffer, DataView>();

  /** A DataView over `buf`, made once per buffer (the reader reuses two). */
  private view(buf: Buffer): DataView {
    let v = this.views.get(buf);
    if (!v) { v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength); this.views.set(buf, v); }
    return v;
  }

  /** The view of the buffer being parsed; reads in the section's byte order. */
  private dv: DataView = new DataView(new ArrayBuffer(0));

  private u32(o: number): number {
    return this.dv.getUint32(o, this.le);
  }

  private u16(o: number): number {
    return this.dv.getUint16(o, this.le);
  }

  private pcapHeader(buf: Buffer, p: number): number {
    this.snaplen = this.u32(p + 16);
    this.linkType = this.u32(p + 20) & 0xffff;
    if (!SUPPORTED_LINK_TYPES.has(this.linkType)) {
      throw this.unsupportedLink(this.linkType, p + this.base + 20, 'its file header',
        'Capture on a wired (Ethernet) interface, or with `tcpdump -i any` (Linux cooked), and replay that.');
    }
    this.headerDone = true;
    return p + 24;
  }

  private unsupportedLink(linkType: number, offset: number, where: string, fix: string): PipelineError {
    return new PipelineError('input_invalid',
      `${this.file}: link type ${linkType} (${linkTypeName(linkType)}), named by ${where} at byte ${offset}, is not one conduitwatch decodes; ` +
      `it reads ${SUPPORTED_LINK_TYPES_TEXT}. ${fix}`, { file: this.file, linkType, offset });
  }

  /** Remembers the record or block that `parse` stops in front of, for the truncation report. */
  private pending(what: 'record' | 'block', p: number, length: number): void {
    this.pendingWhat = what;
    this.pendingAt = p + this.base;
    this.pendingLength = length;
  }

  /** The record or block the end of a file of `fileSize` bytes cut, if `parse` stopped in front of one. */
  truncation(fileSize: number): Truncation | undefined {
    return this.pendingAt < 0 ? undefined : { what: this.pendingWhat, offset: this.pendingAt, length: this.pendingLength, fileSize };
  }

  private pcapRecords(buf: Buffer, start: number, end: number): number {
    let p = start;
    const pkt = this.pkt;
    pkt.buf = buf;
    pkt.linkType = this.linkType;
    pkt.iface = 0;
    const le = this.le;
    const div = this.tsDivisor;
    const snaplen = this.snaplen;
    const sink = this.sink;
    // A DataView: its reads compile to single loads, where Buffer#readUInt32LE validates its
    // argument on every call, which costs more than the read itself at millions of records per second.
    const dv = this.dv;
    while (end - p >= 16) {
      const sec = dv.getUint32(p, le);
      const frac = dv.getUint32(p + 4, le);
      const incl = dv.getUint32(p + 8, le);
      const orig = dv.getUint32(p + 12, le);
      if (incl > MAX_PACKET) {
        count(this.counters, 'pcap_record_too_large');
        this.counters.truncated = true;
        this.stopped = true;
        return p;
      }
      if (end - p < 16 + incl) { this.pending('record', p, 16 + incl); return p; }
      if (incl > snaplen && snaplen > 0) count(this.counters, 'pcap_incl_len_over_snaplen');
      if (incl > orig) count(this.counters, 'pcap_incl_len_over_orig_len');
      pkt.tsMs = sec * 1000 + frac / div;
      pkt.off = p + 16;
      pkt.caplen = incl;
      pkt.origLen = orig < incl ? incl : orig;
      this.packets++;
      sink(pkt);
      p += 16 + incl;
    }
    if (p < end) this.pending('record', p, 16);
    return p;
  }

  private pcapngBlocks(buf: Buffer, start: number, end: number): number {
    let p = start;
    while (end - p >= 12) {
      const typeBE = this.dv.getUint32(p);
      if (typeBE === PCAPNG_SHB) {
        const bom = this.dv.getUint32(p + 8, true);
        if (bom === PCAPNG_BOM) this.le = true;
        else if (this.dv.getUint32(p + 8) === PCAPNG_BOM) this.le = false;
        else {
          throw new PipelineError('input_invalid',
            `${this.file}: pcapng section header at byte ${p + this.base} has no valid byte-order magic; the file is damaged. ` +
            'Try `pcapfix` or re-export it from Wireshark.', { file: this.file, offset: p + this.base });
        }
        this.ifaces = [];
      }
      const type = this.u32(p);
      const len = this.u32(p + 4);
      if (len < 12 || len % 4 !== 0) {
        count(this.counters, 'pcapng_block_length_invalid');
        this.counters.truncated = true;
        this.stopped = true;
        return p;
      }
      const isPacket = type === 6 || type === 3 || type === 2;
      const limit = isPacket ? MAX_PACKET + 64 : type === 1 || type === PCAPNG_SHB ? MAX_META_BLOCK : 0;
      if (len > limit) {
        // Skipped without reading it: an unknown block, or one too big to hold.
        if (isPacket) count(this.counters, 'pcapng_packet_too_large');
        if (p + len > end) { this.pending('block', p, len); return p + len; }
        p += len;
        continue;
      }
      if (end - p < len) { this.pending('block', p, len); return p; }
      if (this.u32(p + len - 4) !== len) {
        count(this.counters, 'pcapng_block_length_mismatch');
      } else if (type === PCAPNG_SHB) {
        // Section header: the byte order was set above.
      } else if (type === 1) {
        this.idb(buf, p, len);
      } else if (isPacket) {
        this.packetBlock(buf, p, len, type);
      }
      p += len;
    }
    if (p < end) this.pending('block', p, 12);
    return p;
  }

  private idb(buf: Buffer, p: number, len: number): void {
    if (len < 20) { count(this.counters, 'pcapng_block_too_short'); return; }
    const linkType = this.u16(p + 8);
    const iface: Iface = { linkType, supported: SUPPORTED_LINK_TYPES.has(linkType), snaplen: this.u32(p + 12), ticksPerMs: 1000, offsetMs: 0 };
    // Options: code u16, length u16, value padded to 4; code 0 ends them.
    let o = p + 16;
    const optEnd = p + len - 4;
    while (optEnd - o >= 4) {
      const code = this.u16(o);
      const olen = this.u16(o + 2);
      if (code === 0 || o + 4 + olen > optEnd) break;
      if (code === 9 && olen >= 1) {
        const v = buf[o + 4]!;
        const ticksPerSec = v & 0x80 ? 2 ** (v & 0x7f) : 10 ** v;
        iface.ticksPerMs = ticksPerSec / 1000;
      } else if (code === 14 && olen >= 8) {
        // Signed 64-bit seconds in the section's byte order.
        const first = this.u32(o + 4);
        const second = this.u32(o + 8);
        const hiWord = this.le ? second : first;
        const loWord = this.le ? first : second;
        iface.offsetMs = ((hiWord | 0) * TWO32 + loWord) * 1000;
      }
      o += 4 + ((olen + 3) & ~3);
    }
    this.ifaces.push(iface);
  }

  private packetBlock(buf: Buffer, p: number, len: number, type: number): void {
    const pkt = this.pkt;
    let iface: Iface | undefined;
    let dataOff: number;
    let caplen: number;
    let orig: number;
    if (type === 3) {
      // Simple Packet Block: interface 0, no timestamp.
      if (len < 16) { count(this.counters, 'pcapng_block_too_short'); return; }
      iface = this.ifaces[0];
      orig = this.u32(p + 8);
      dataOff = p + 12;
      caplen = Math.min(orig, len - 16, iface && iface.snaplen > 0 ? iface.snaplen : MAX_PACKET);
      pkt.iface = 0;
      pkt.tsMs = this.lastTs;
    } else {
      if (len < 32) { count(this.counters, 'pcapng_block_too_short'); return; }
      // EPB: interface u32; obsolete PB: interface u16 + drops u16.
      const ifIndex = type === 6 ? this.u32(p + 8) : this.u16(p + 8);
      iface = this.ifaces[ifIndex];
      const hi = this.u32(p + 12);
      const lo = this.u32(p + 16);
      caplen = this.u32(p + 20);
      orig = this.u32(p + 24);
      dataOff = p + 28;
      if (caplen > len - 32) { count(this.counters, 'pcapng_block_too_short'); return; }
      pkt.iface = ifIndex;
      if (iface) pkt.tsMs = (hi * TWO32 + lo) / iface.ticksPerMs + iface.offsetMs;
    }
    if (!iface) { count(this.counters, 'pcapng_unknown_interface'); return; }
    if (!iface.supported) {
      // An interface declared but never used is harmless; its first packet is not.
      const ifIndex = this.ifaces.indexOf(iface);
      throw this.unsupportedLink(iface.linkType, p + this.base, `the interface (#${ifIndex}) of the packet block`,
        `Keep only the interfaces it reads, e.g. \`tshark -r ${this.file} -Y 'frame.interface_id != ${ifIndex}' -w out.pcapng\`, and replay that.`);
    }
    this.lastTs = pkt.tsMs;
    pkt.buf = buf;
    pkt.linkType = iface.linkType;
    pkt.off = dataOff;
    pkt.caplen = caplen;
    pkt.origLen = orig < caplen ? caplen : orig;
    this.packets++;
    this.sink(pkt);
  }
}

/** How far a streaming read has got, for a progress bar. */
export interface ReadProgress {
  bytesRead: number;
  fileSize: number;
}

/**
 * Reads `path` chunk by chunk, calling `sink` for every packet; yields after each chunk so the caller can
 * hand on what the packets produced. Throws `input_invalid` for a missing, unreadable, empty or
 * non-capture file.
 */
export async function* readCaptureChunks(
  path: string,
  sink: PacketSink,
  counters: ReaderCounters,
  progress: ReadProgress = { bytesRead: 0, fileSize: 0 },
): AsyncGenerator<void> {
  const name = basename(path);
  let fh: FileHandle;
  let inflight: Promise<{ bytesRead: number }> | undefined;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw new PipelineError('input_invalid',
      `cannot open capture ${path}: ${(e as Error).message}. Check the path and that the file is readable.`,
      { file: path }, { cause: e });
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) {
      throw new PipelineError('input_invalid', `${path} is not a regular file; give the path of a .pcap or .pcapng file.`, { file: path });
    }
    progress.fileSize = st.size;
    if (st.size < 4) {
      throw new PipelineError('input_invalid',
        `${path} is ${st.size} bytes long, too short to be a capture; record it again or pick another file.`, { file: path });
    }
    const parser = new CaptureParser(name, sink, counters);
    // Two buffers: while one is parsed, the next chunk is read into the other (the read runs on
    // libuv's thread pool, so reading and parsing overlap). A chunk lands at HEAD; the unparsed tail
    // of the previous chunk (at most one record or block, ≤ HEAD bytes) is copied in front of it.
    let buf = Buffer.allocUnsafe(HEAD + CHUNK_BYTES);
    let spare = Buffer.allocUnsafe(HEAD + CHUNK_BYTES);
    let start = HEAD;
    let end = HEAD;
    let filePos = 0;
    inflight = fh.read(buf, HEAD, CHUNK_BYTES, 0);
    while (true) {
      const { bytesRead } = await inflight!;
      inflight = undefined;
      filePos += bytesRead;
      end += bytesRead;
      progress.bytesRead = Math.min(filePos, st.size);
      if (bytesRead > 0) inflight = fh.read(spare, HEAD, CHUNK_BYTES, filePos);
      // buf[HEAD] holds the byte at file offset filePos - bytesRead; the tail in front of it came just before.
      const pos = parser.parse(buf, start, end, filePos - bytesRead - (HEAD - start));
      let tail = 0;
      if (pos > end) {
        // A block too large to hold is skipped in the file: the chunk being read is not the next one.
        if (inflight) await inflight;
        filePos += pos - end;
        inflight = fh.read(spare, HEAD, CHUNK_BYTES, filePos);
      } else if (pos < end) {
        tail = end - pos;
        buf.copy(spare, HEAD - tail, pos, end);
      }
      [buf, spare] = [spare, buf];
      start = HEAD - tail;
      end = HEAD;
      yield;
      if (parser.stopped) return;
      if (bytesRead === 0) {
        if (tail > 0 || filePos > st.size) {
          counters.violations.truncated = (counters.violations.truncated ?? 0) + 1;
          counters.truncated = true;
          const t = parser.truncation(st.size);
          if (t) counters.truncation = t;
        }
        return;
      }
    }
  } finally {
    // A read still in flight (an early return) must finish before the file is closed.
    if (inflight) await inflight.catch(() => undefined);
    await fh.close();
  }
}
