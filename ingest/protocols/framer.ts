/**
 * Bounded framing of length-prefixed PDUs over both directions of an in-order TCP byte stream, shared by
 * the stream dissectors (IEC 104 APDUs, DNP3 link frames, TPKT for S7comm and MMS, EtherNet/IP
 * encapsulation, OPC UA chunks).
 *
 * A protocol describes its framing with {@link Framing}: how many header bytes tell the frame length and
 * how to read it. Each direction keeps at most `keep` bytes of one frame, so memory per flow is bounded
 * however large the peer says its frame is: a longer frame is handed over with only its first `keep`
 * bytes, the rest is consumed as it arrives without being stored. Several frames in one segment and a
 * frame split across segments (even inside its header) are both handled.
 *
 * A bad header is a violation. Then the rest of the segment is dropped (no frame boundary can be trusted
 * after it; the next segment is assumed to start a frame), or, with `resync`, parsing resumes at the next
 * candidate start. Bytes missing mid-stream ({@link Framer.gap}) drop the partial frame.
 */

/** How one protocol frames its PDUs. */
export interface Framing<V extends string> {
  /** Bytes needed to know a frame's total length (≤ keep). */
  readonly headerLen: number;
  /** Bytes of each frame kept for parsing; the rest is consumed unread. */
  readonly keep: number;
  /** Total length of the frame whose header is at `buf[off, off + headerLen)`, or a violation code. */
  length(buf: Buffer, off: number): number | V;
  /**
   * Where the next frame may start in `buf[from, end)` after a bad header (e.g. the next start octet), or
   * -1 when no candidate is left in the segment. Without it the rest of the segment is dropped.
   */
  resync?(buf: Buffer, from: number, end: number): number;
  /**
   * When a frame longer than `keep` is handed over: 'kept' as soon as its first `keep` bytes are in (its
   * tail is then skipped as it arrives), 'whole' only once its last byte has arrived (a gap or the end
   * of the flow inside the tail drops it). Frames within `keep` are handed over whole either way.
   */
  readonly handOver: 'kept' | 'whole';
}

/**
 * Receives one frame of one direction: its first `kept` bytes are at `buf[off, off + kept)` (a view:
 * copy what must outlive the call), `total` is its length on the wire (`kept < total` when it was cut at
 * `keep`), `ts` the time of the segment that handed it over.
 */
export type FrameHandler = (fromInitiator: boolean, buf: Buffer, off: number, kept: number, total: number, ts: number) => void;

const EMPTY = Buffer.alloc(0);

/** The partial frame of one direction. */
class Direction {
  buf: Buffer = EMPTY;
  /** Bytes of the current frame held in `buf` (≤ keep). */
  have = 0;
  /** Total length of the current frame once its header is complete, else -1. */
  total = -1;
  /** Bytes of the current frame consumed so far, held or not (0 = between frames). */
  got = 0;
  /** The current frame was handed over already ('kept'): the rest of it is skipped. */
  handed = false;

  reset(): void {
    this.have = 0;
    this.total = -1;
    this.got = 0;
    this.handed = false;
  }

  /** Holds `src[p, p + n)`, growing the buffer to at most `cap` bytes. */
  hold(src: Buffer, p: number, n: number, cap: number): void {
    if (this.have + n > this.buf.length) {
      // Unzeroed: only the `have` bytes written below are ever read.
      const grown = Buffer.allocUnsafe(Math.min(cap, Math.max(256, 2 * (this.have + n))));
      this.buf.copy(grown, 0, 0, this.have);
      this.buf = grown;
    }
    src.copy(this.buf, this.have, p, p + n);
    this.have += n;
  }
}

/** Both directions of one flow. */
export class Framer<V extends string> {
  private readonly init = new Direction();
  private readonly resp = new Direction();

  constructor(
    private readonly framing: Framing<V>,
    private readonly onFrame: FrameHandler,
    private readonly onViolation: (code: V) => void,
  ) {
    if (framing.headerLen > framing.keep) throw new RangeError(`header length ${framing.headerLen} exceeds keep ${framing.keep}`);
  }

  /** New in-order bytes `buf[off, off + len)` of one direction, seen at `ts`. */
  push(fromInitiator: boolean, buf: Buffer, off: number, len: number, ts: number): void {
    const d = fromInitiator ? this.init : this.resp;
    const { headerLen, keep } = this.framing;
    let p = off;
    const end = off + len;
    while (p < end) {
      if (d.got === 0) {
        // Between frames: a frame whole in this segment is handed over from it without copying.
        const avail = end - p;
        if (avail >= headerLen) {
          const t = this.framing.length(buf, p);
          if (typeof t === 'string') {
            p = this.bad(t, buf, p + 1, end);
            if (p < 0) return;
            continue;
          }
          if (avail >= t) {
            this.onFrame(fromInitiator, buf, p, Math.min(t, keep), t, ts);
            p += t;
            continue;
          }
          d.total = t;
          if (this.framing.handOver === 'kept' && avail >= keep) {
            d.got = avail;
            d.handed = true;
            this.onFrame(fromInitiator, buf, p, keep, t, ts);
            return;
          }
        }
        d.hold(buf, p, Math.min(avail, keep), keep);
        d.got = avail;
        return;
      }
      if (d.total < 0) {
        const n = Math.min(headerLen - d.have, end - p);
        d.hold(buf, p, n, keep);
        d.got += n;
        p += n;
        if (d.have < headerLen) return;
        const t = this.framing.length(d.buf, 0);
        if (typeof t === 'string') {
          d.reset();
          p = this.bad(t, buf, p, end);
          if (p < 0) return;
          continue;
        }
        d.total = t;
      }
      const n = Math.min(d.total - d.got, end - p);
      const held = d.handed ? 0 : Math.min(n, keep - d.have);
      if (held > 0) d.hold(buf, p, held, keep);
      d.got += n;
      p += n;
      if (!d.handed && (d.got === d.total || (this.framing.handOver === 'kept' && d.have === keep))) {
        d.handed = true;
        this.onFrame(fromInitiator, d.buf, 0, d.have, d.total, ts);
      }
      if (d.got === d.total) d.reset();
    }
  }

  /** Reports a bad header; returns where to go on in `buf[from, end)`, or -1 to drop the rest. */
  private bad(code: V, buf: Buffer, from: number, end: number): number {
    this.onViolation(code);
    return this.framing.resync ? this.framing.resync(buf, from, end) : -1;
  }

  /** Bytes of one direction went missing: drops its partial frame; true when there was one. */
  gap(fromInitiator: boolean): boolean {
    const d = fromInitiator ? this.init : this.resp;
    const partial = d.got > 0;
    d.reset();
    return partial;
  }

  /** Whether a frame of this direction is incomplete (partial, or its tail not yet skipped). */
  partial(fromInitiator: boolean): boolean {
    return (fromInitiator ? this.init : this.resp).got > 0;
  }

  /** Forgets partial frames of both directions. */
  reset(): void {
    this.init.reset();
    this.resp.reset();
  }
}
