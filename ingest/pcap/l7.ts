/**
 * The contract between flow assembly and an application-protocol dissector (Modbus/TCP, S7comm, DNP3 …).
 * Flow assembly owns TCP sequence tracking: a session receives each direction's payload in order, with
 * retransmitted bytes removed, and is told when bytes are missing.
 */
import type { FlowRecord } from '../../core/records.ts';

/** Per-flow state of one dissector. */
export interface L7Session {
  /**
   * New in-order payload bytes `buf[off, off + len)` from one side, seen at `ts` (epoch ms). The bytes
   * are a view into the reader's buffer: copy what must outlive the call.
   */
  onPayload(fromInitiator: boolean, buf: Buffer, off: number, len: number, ts: number): void;
  /** Bytes of one direction were never seen (capture loss, out-of-order): drop partial messages. */
  onGap(fromInitiator: boolean): void;
  /**
   * Writes this slice's L7 fields (`l7`, `l7Ops` …) into `rec` and starts a new slice. `final` is true
   * when the flow ends: a message still incomplete then is a violation.
   */
  flush(rec: FlowRecord, final: boolean): void;
  /**
   * Optional: puts the session back into the state `create()` gives, after its flow ended (its last
   * `flush` was final). Flow assembly then hands it to the next flow of the same dissector instead of
   * creating one: on connection-per-poll traffic a session per connection is otherwise garbage.
   */
  reuse?(): void;
}

/** A dissector as flow assembly sees it. */
export interface L7Analyzer {
  /** The `l7` name it reports, e.g. 'modbus'. */
  readonly name: string;
  /** Whether a flow (initiator → responder ports) may carry this protocol; usually a port check. */
  matches(proto: number, srcPort: number, dstPort: number): boolean;
  create(): L7Session;
}

/**
 * Several dissectors that share a port (S7comm and IEC 61850 MMS on ISO-on-TCP 102): every session
 * sees the flow, and each stays silent (no ops, no violations) on a flow that is not its protocol,
 * so at most one of them writes the record's L7 fields.
 */
export const sharedPort = (name: string, analyzers: readonly L7Analyzer[]): L7Analyzer => ({
  name,
  matches: (proto, srcPort, dstPort) => analyzers.some((a) => a.matches(proto, srcPort, dstPort)),
  create(): L7Session {
    const sessions = analyzers.map((a) => a.create());
    return {
      onPayload: (fromInitiator, buf, off, len, ts) => { for (const s of sessions) s.onPayload(fromInitiator, buf, off, len, ts); },
      onGap: (fromInitiator) => { for (const s of sessions) s.onGap(fromInitiator); },
      flush: (rec, final) => { for (const s of sessions) s.flush(rec, final); },
    };
  },
});
