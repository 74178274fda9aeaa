/**
 * What the three decoders share: the result shape, the closed sets of error and fidelity reasons
 * (they become metric labels), the record type and small byte helpers.
 */
import { flowId, type DirectionNote, type FlowRecord } from '../../core/records.ts';

import { orient, senderIsClientByFlags } from '../direction.ts';

export { ipv4At, ipv6At } from '../../core/net.ts';

/**
 * Malformed or unusable input, counted per reason; never an exception. Snake_case, closed set.
 *
 * - `truncated`: a header or record ends before its declared length (or a DataView read ran off the end)
 * - `bad_version`: the version field is not the decoder's
 * - `count_invalid`: a v5 count of 0 or above 30
 * - `length_mismatch`: the IPFIX header Length differs from the datagram length
 * - `set_too_short`: a set (flowset) length below 4; the rest of the message is dropped
 * - `set_past_end`: a set runs past the message end; the rest of the message is dropped
 * - `reserved_set_id`: set id 0–1 (IPFIX), 4–255 (IPFIX) or 2–255 (v9)
 * - `template_id_invalid`: a template id below 256
 * - `template_invalid`: a template record cut short, with no fields, or longer than any message
 * - `template_too_many_fields`: more fields than the per-template cap (512)
 * - `options_template_invalid`: scope count 0 or above the field count, scope/option length not a multiple of 4 or past the set
 * - `field_length_invalid`: a field whose length does not fit its IE (IPv4 address not 4 bytes, unsigned above its natural size …); the field is skipped
 * - `withdrawal_ignored`: a template withdrawal (field count 0) over UDP, ignored as RFC 7011 §8.4 says
 * - `template_missing`: a data set whose template is unknown (or expired); the set is skipped
 * - `template_zero_length`: a data set whose template has a record length of 0; the set is skipped
 * - `record_truncated`: a data record (or a variable-length field) runs past the set end
 * - `record_no_address`: a data record with no source or destination address (not a flow); skipped
 * - `iteration_cap`: the per-datagram cap on sets or records was reached; the rest is dropped
 * - `template_evicted`: a template was dropped to keep the cache within its caps
 * - `unknown_version`, `exporter_denied`: counted by the collector before decoding
 */
export type DecodeError =
  | 'truncated' | 'bad_version' | 'count_invalid' | 'length_mismatch'
  | 'set_too_short' | 'set_past_end' | 'reserved_set_id'
  | 'template_id_invalid' | 'template_invalid' | 'template_too_many_fields' | 'options_template_invalid'
  | 'field_length_invalid' | 'withdrawal_ignored' | 'template_missing' | 'template_zero_length'
  | 'record_truncated' | 'record_no_address' | 'iteration_cap' | 'template_evicted' | 'unknown_version' | 'exporter_denied';

/**
 * Values that look wrong but are passed on unchanged (flagged, never fixed):
 *
 * - `start_after_end`: the record's start time is after its end time
 * - `duration_invalid`: the flow lasts longer than an uptime counter can express (2^32 ms, 49.7 days)
 * - `clock_skew`: the export time in the header differs from the receive time by more than the threshold (counted per datagram)
 * - `sampling_changed`: an exporter's sampling interval changed
 * - `sampled`: the record comes from a sampled exporter (interval > 1); counters are NOT scaled
 * - `no_uptime_base`: sysUpTime-relative times with no known base (IPFIX without systemInitTimeMilliseconds); export time used
 * - `no_flow_times`: the record has no start/end fields; export time used
 * - `direction_port`, `direction_lower_port`, `direction_group`: the record was not a SYN-only one, so
 *   its client side was decided by the port rule of ingest/direction.ts (and the sides swapped when the
 *   sender was the server); counted per record
 */
export type FidelityNote =
  | 'start_after_end' | 'duration_invalid' | 'clock_skew' | 'sampling_changed' | 'sampled'
  | 'no_uptime_base' | 'no_flow_times' | DirectionNote;

/** A decoded flow: a {@link FlowRecord} plus what the exporter told us about sampling and fidelity. */
export interface NetflowRecord extends FlowRecord {
  /** 1-in-N packet sampling in force at the exporter when known and above 1; counters are as exported. */
  samplingInterval?: number;
  /** Fidelity notes for this record, when any. */
  fidelity?: FidelityNote[];
}

/** What one datagram gave. */
export interface DecodeResult {
  records: NetflowRecord[];
  /** Malformed input by reason. */
  errors: Partial<Record<DecodeError, number>>;
  /** Fidelity flags by reason. */
  fidelity: Partial<Record<FidelityNote, number>>;
  /** Records (v5: flows, v9: export packets, IPFIX: data records) the sequence number says were lost. */
  sequenceGap: number;
  /** Templates (data + options) learned or refreshed by this datagram. */
  templates: number;
}

export const emptyResult = (): DecodeResult => ({ records: [], errors: {}, fidelity: {}, sequenceGap: 0, templates: 0 });

export const countError = (r: DecodeResult, reason: DecodeError, n = 1): void => {
  r.errors[reason] = (r.errors[reason] ?? 0) + n;
};

export const countFidelity = (r: DecodeResult, note: FidelityNote, n = 1): void => {
  r.fidelity[note] = (r.fidelity[note] ?? 0) + n;
};

/** Options shared by the decoders. */
export interface DecoderOptions {
  /** |export time − receive time| above this flags `clock_skew` (ms). */
  clockSkewMs: number;
  /** Cap on data records decoded from one datagram. */
  maxRecordsPerDatagram: number;
  /** Cap on sets walked in one datagram. */
  maxSetsPerDatagram: number;
}

export const DEFAULT_DECODER_OPTIONS: DecoderOptions = {
  clockSkewMs: 300_000,
  maxRecordsPerDatagram: 4096,
  maxSetsPerDatagram: 1024,
};

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16));

/** Big-endian unsigned of 1..8 bytes (exact to 2^53). */
export const uintAt = (b: Uint8Array, off: number, len: number): number => {
  switch (len) {
    case 1: return b[off]!;
    case 2: return (b[off]! << 8) | b[off + 1]!;
    case 4: return ((b[off]! << 24) >>> 0) + ((b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!);
  }
  let v = 0;
  for (let i = 0; i < len; i++) v = v * 256 + b[off + i]!;
  return v;
};

export const u16 = (b: Uint8Array, off: number): number => (b[off]! << 8) | b[off + 1]!;
export const u32 = (b: Uint8Array, off: number): number =>
  ((b[off]! << 24) >>> 0) + ((b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!);

/** Hex of a byte range, for messages only. */
export const hexOf = (b: Uint8Array, off: number, len: number): string => {
  let s = '';
  for (let i = off; i < off + len && i < b.length; i++) s += HEX[b[i]!]!.padStart(2, '0');
  return s;
};

/** Per-(session, domain) sequence tracking, bounded (oldest entries dropped first). */
export class SequenceTracker {
  private readonly next = new Map<string, number>();
  constructor(private readonly cap = 4096) {}
  /**
   * Checks `seq` against the expectation for `key`, then expects `seq + advance` next.
   * Returns how many units went missing (0 when in order, on the first message, or after a reset).
   */
  check(key: string, seq: number, advance: number): number {
    const expected = this.next.get(key);
    if (expected === undefined && this.next.size >= this.cap) {
      const oldest = this.next.keys().next().value;
      if (oldest !== undefined) this.next.delete(oldest);
    }
    this.next.set(key, (seq + advance) % 4_294_967_296);
    if (expected === undefined) return 0;
    const d = (seq - expected + 4_294_967_296) % 4_294_967_296;
    // A forward jump below 2^31 is loss; anything else is a reorder or an exporter restart.
    return d < 2_147_483_648 ? d : 0;
  }
}

/** Whether `b[from, to)` is all zero bytes (set padding). */
export const allZero = (b: Uint8Array, from: number, to: number): boolean => {
  for (let i = from; i < to; i++) if (b[i] !== 0) return false;
  return true;
};

/**
 * `first|second`, rebuilt only when either part changes: an exporter sends runs of datagrams, and a
 * reused string keeps its hash for Map lookups.
 */
export class PairKey {
  private first = '';
  private second = -1;
  private key = '';

  of(first: string, second: number): string {
    if (first !== this.first || second !== this.second) {
      this.first = first;
      this.second = second;
      this.key = `${first}|${second}`;
    }
    return this.key;
  }
}

/**
 * Export records are unidirectional and say their sender: a TCP record whose flags show SYN without
 * ACK is the client's; any other (the SYN+ACK side, a flow whose start the exporter did not see, UDP)
 * is oriented by the port rule (ingest/direction.ts): the side on a service port is the server, the
 * sides and counters are swapped when that is the sender, and the record notes how it was decided.
 */
const orientRecords = (r: DecodeResult): void => {
  for (const rec of r.records) {
    if (senderIsClientByFlags(rec.proto, rec.tcpFlags)) continue;
    const before = rec.fidelity?.length ?? 0;
    orient(rec);
    if ((rec.fidelity?.length ?? 0) > before) countFidelity(r, rec.fidelity!.at(-1) as FidelityNote);
  }
};

/**
 * What every export decoder shares: `decode` never throws. A bounds error inside one datagram (a
 * DataView/array RangeError) is counted as `truncated`; anything else is a programmer error.
 */
export abstract class DatagramDecoder {
  readonly options: DecoderOptions;
  /**
   * Header offsets of the export sequence number and the export time (seconds) that go into record
   * ids: v5 16/8, v9 12/8, IPFIX 8/4.
   */
  protected abstract readonly idHeader: { readonly sequence: number; readonly exportTime: number };
  protected readonly seq = new SequenceTracker();
  private readonly domainKeys = new PairKey();

  constructor(options: Partial<DecoderOptions>) {
    this.options = { ...DEFAULT_DECODER_OPTIONS, ...options };
  }

  /**
   * Decodes one datagram. `exporter` is the exporter's IP (goes into records); `session` keys the
   * exporter's state, templates and sequence numbers (default `exporter`; the collector passes ip:port).
   */
  decode(buf: Uint8Array, exporter: string, receivedAt: number, session = exporter): DecodeResult {
    const r = emptyResult();
    try {
      this.decodeInto(buf, exporter, receivedAt, session, r);
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
      countError(r, 'truncated');
    }
    if (r.records.length > 0) {
      this.stampIds(buf, session, r.records);
      orientRecords(r);
    }
    return r;
  }

  /**
   * `FlowRecord.id` = flowId(source, session, observation domain, export sequence, export time,
   * record index in the datagram). The same datagram decoded again (a producer-side double, a replay)
   * gives the same ids; the export time keeps an exporter that restarts its sequence numbers from
   * reusing the ids of its previous run.
   */
  private stampIds(b: Uint8Array, session: string, recs: NetflowRecord[]): void {
    const seq = u32(b, this.idHeader.sequence), time = u32(b, this.idHeader.exportTime);
    for (let i = 0; i < recs.length; i++) {
      const rec = recs[i]!;
      rec.id = flowId(rec.source, session, rec.observationDomain, seq, time, i);
    }
  }

  /**
   * `session|domain`, the key of per-domain state (sequence numbers, options). The last key is
   * reused: an exporter sends runs of datagrams, and a reused string keeps its hash for Map lookups.
   */
  protected domainKey(session: string, domain: number): string {
    return this.domainKeys.of(session, domain);
  }

  protected abstract decodeInto(b: Uint8Array, exporter: string, receivedAt: number, session: string, r: DecodeResult): void;
}
