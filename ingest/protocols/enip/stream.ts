/**
 * Bounded PDU framing over an in-order TCP byte stream, shared by the length-prefixed OT dissectors
 * (EtherNet/IP encapsulation, OPC UA chunks, TPKT for MMS).
 *
 * A protocol describes its framing with {@link Framing}: how many header bytes tell the PDU length and
 * how to read it. Each direction keeps at most `keep` bytes of one PDU: a PDU longer than that is handed
 * to the protocol with only its first `keep` bytes (the rest is skipped as it arrives), so memory per flow
 * is bounded however large the peer says its PDU is. Several PDUs in one segment and a PDU split across
 * segments (even inside its header) are both handled.
 *
 * After a framing violation the rest of the segment is dropped: the next segment is assumed to start a
 * PDU (as the Modbus dissector does). Bytes missing mid-stream ({@link PduStream.gap}) drop the partial PDU.
 */

/** How one protocol frames its PDUs. */
export interface Framing<V extends string> {
  /** Bytes needed to know a PDU's total length. */
  readonly headerLen: number;
  /** Bytes of each PDU kept for parsing (≥ headerLen); the rest is skipped. */
  readonly keep: number;
  /** Total length of the PDU whose header is at `buf[off, off + headerLen)`, or a framing violation. */
  length(buf: Buffer, off: number): number | V;
}

/**
 * Receives one PDU: its first `kept` bytes are at `buf[off, off + kept)` (a view: copy what must
 * outlive the call), `total` is its length on the wire (`kept < total` when it was cut at `keep`).
 */
export type PduHandler = (fromInitiator: boolean, buf: Buffer, off: number, kept: number, total: number, ts: number) => void;

const EMPTY = Buffer.alloc(0);

class Direction {
  buf: Buffer = EMPTY;
  /** Bytes of the current partial PDU held in `buf`. */
  have = 0;
  /** Total length of the partial PDU once its header is complete, else -1. */
  total = -1;
  /** Bytes of an already-handled PDU still to skip. */
  skip = 0;

  reset(): void {
    this.have = 0;
    this.total = -1;
    this.skip = 0;
  }

  /** Appends `buf[p, p + n)`, growing the buffer to at most `cap`. */
  append(src: Buffer, p: number, n: number, cap: number): void {
    if (this.have + n > this.buf.length) {
      const grown = Buffer.alloc(Math.min(cap, Math.max(256, 2 * (this.have + n))));
      this.buf.copy(grown, 0, 0, this.have);
      this.buf = grown;
    }
    src.copy(this.buf, this.have, p, p + n);
    this.have += n;
  }
}

/** Both directions of one flow. */
export class PduStream<V extends string> {
  private readonly init = new Direction();
  private readonly resp = new Direction();

  constructor(
    private readonly framing: Framing<V>,
    private readonly onPdu: PduHandler,
    private readonly onViolation: (code: V) => void,
  ) {}

  /** New in-order bytes `buf[off, off + len)` of one direction. */
  push(fromInitiator: boolean, buf: Buffer, off: number, len: number, ts: number): void {
    const d = fromInitiator ? this.init : this.resp;
    const { headerLen, keep } = this.framing;
    let p = off;
    const end = off + len;
    while (p < end) {
      if (d.skip > 0) {
        const n = Math.min(d.skip, end - p);
        d.skip -= n;
        p += n;
        continue;
      }
      if (d.have > 0) {
        if (d.total < 0) {
          const n = Math.min(headerLen - d.have, end - p);
          d.append(buf, p, n, keep);
          p += n;
          if (d.have < headerLen) return;
          const t = this.framing.length(d.buf, 0);
          if (typeof t === 'string') {
            this.onViolation(t);
            d.reset();
            return;
          }
          d.total = t;
        }
        const want = Math.min(d.total, keep);
        const n = Math.min(want - d.have, end - p);
        d.append(buf, p, n, keep);
        p += n;
        if (d.have < want) return;
        const total = d.total;
        d.reset();
        d.skip = total - want;
        this.onPdu(fromInitiator, d.buf, 0, want, total, ts);
        continue;
      }
      const avail = end - p;
      if (avail < headerLen) {
        d.append(buf, p, avail, keep);
        return;
      }
      const t = this.framing.length(buf, p);
      if (typeof t === 'string') {
        this.onViolation(t);
        return;
      }
      const want = Math.min(t, keep);
      if (avail >= want) {
        this.onPdu(fromInitiator, buf, p, want, t, ts);
        p += want;
        d.skip = t - want;
        continue;
      }
      d.total = t;
      d.append(buf, p, avail, keep);
      return;
    }
  }

  /** Bytes of one direction went missing: drops its partial PDU; true when there was one. */
  gap(fromInitiator: boolean): boolean {
    const d = fromInitiator ? this.init : this.resp;
    const partial = d.have > 0 || d.skip > 0;
    d.reset();
    return partial;
  }

  /** Whether a PDU of this direction is incomplete (partial, or its tail not yet skipped). */
  partial(fromInitiator: boolean): boolean {
    const d = fromInitiator ? this.init : this.resp;
    return d.have > 0 || d.skip > 0;
  }

  /** Forgets partial PDUs of both directions. */
  reset(): void {
    this.init.reset();
    this.resp.reset();
  }
}
