/**
 * Cuts one direction of a TCP stream into length-prefixed frames with bounded memory: a frame that
 * spans segments is copied into a buffer of at most `cap` bytes; bytes of a frame beyond `cap` are
 * counted but not kept. Shared by the length-prefixed dissectors (IEC 104, DNP3, S7comm).
 */

/** Total frame length read from a complete header, or a violation code when the header is bad. */
export type SizeOf = (buf: Buffer, off: number) => number | string;

/**
 * Where the next frame may start in `buf[from, end)` after a bad header (e.g. the next start octet),
 * or -1 when no candidate is left in the chunk.
 */
export type Resync = (buf: Buffer, from: number, end: number) => number;

/** A complete frame: its first `kept` bytes at `buf[off, off + kept)`, and its real length `total`. */
export type OnFrame = (buf: Buffer, off: number, kept: number, total: number) => void;

const EMPTY = Buffer.alloc(0);

export class Framer {
  private head: Buffer = EMPTY;
  private headLen = 0;
  /** Length of the frame being assembled; -1 until its header is complete. */
  private total = -1;
  /** Bytes of the current frame consumed so far (kept or not). */
  private got = 0;

  /**
   * `headerLen` bytes decide the frame length (`sizeOf`); frames are at least that long. With `resync`,
   * a bad header skips to the next candidate start instead of dropping the rest of the chunk.
   */
  constructor(
    private readonly cap: number,
    private readonly headerLen: number,
    private readonly sizeOf: SizeOf,
    private readonly resync?: Resync,
  ) {
    if (headerLen > cap) throw new RangeError(`header length ${headerLen} exceeds cap ${cap}`);
  }

  /** Bytes of an incomplete frame held (0 = between frames). */
  get pending(): number {
    return this.got;
  }

  /** Forgets a partial frame (stream gap, end of datagram). */
  reset(): void {
    this.headLen = 0;
    this.got = 0;
    this.total = -1;
  }

  /**
   * Consumes `buf[off, off + len)`, calling `onFrame` for each complete frame. A bad header calls
   * `onViolation` and drops the rest of the chunk (no frame boundary can be trusted after it), or
   * skips to the next candidate start when the framer has a `resync`.
   */
  push(buf: Buffer, off: number, len: number, onFrame: OnFrame, onViolation: (code: string) => void): void {
    let p = off;
    const end = off + len;
    while (p < end) {
      if (this.got === 0) {
        const avail = end - p;
        if (avail >= this.headerLen) {
          const t = this.sizeOf(buf, p);
          if (typeof t === 'string') {
            onViolation(t);
            if (!this.resync) return;
            p = this.resync(buf, p + 1, end);
            if (p < 0) return;
            continue;
          }
          if (avail >= t) {
            onFrame(buf, p, Math.min(t, this.cap), t);
            p += t;
            continue;
          }
          this.total = t;
        }
        if (this.head.length === 0) this.head = Buffer.alloc(this.cap);
        const keep = Math.min(avail, this.cap);
        buf.copy(this.head, 0, p, p + keep);
        this.headLen = keep;
        this.got = avail;
        return;
      }
      if (this.total < 0) {
        const take = Math.min(this.headerLen - this.headLen, end - p);
        buf.copy(this.head, this.headLen, p, p + take);
        this.headLen += take;
        this.got += take;
        p += take;
        if (this.headLen < this.headerLen) return;
        const t = this.sizeOf(this.head, 0);
        if (typeof t === 'string') {
          this.reset();
          onViolation(t);
          if (!this.resync) return;
          p = this.resync(buf, p, end);
          if (p < 0) return;
          continue;
        }
        this.total = t;
      }
      const take = Math.min(this.total - this.got, end - p);
      const keep = Math.min(take, this.cap - this.headLen);
      if (keep > 0) {
        buf.copy(this.head, this.headLen, p, p + keep);
        this.headLen += keep;
      }
      this.got += take;
      p += take;
      if (this.got === this.total) {
        const kept = this.headLen;
        const total = this.total;
        this.reset();
        onFrame(this.head, 0, kept, total);
      }
    }
  }
}
