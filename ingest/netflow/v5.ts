/**
 * NetFlow v5 export datagram (Cisco "NetFlow Export Datagram Format", version 5).
 *
 * Header, 24 bytes:
 *   off len field              notes
 *   0   2   version            must be 5, else `bad_version`
 *   2   2   count              flow records that follow, 1..30, else `count_invalid`
 *   4   4   sysUptime          ms since the exporter booted, at export
 *   8   4   unix_secs          export time, seconds since the epoch
 *   12  4   unix_nsecs         residual nanoseconds
 *   16  4   flow_sequence      flows exported before this datagram (sequence gaps count flows)
 *   20  1   engine_type        observationDomain = engine_type << 8 | engine_id
 *   21  1   engine_id
 *   22  2   sampling           top 2 bits mode, low 14 bits interval
 *
 * Record, 48 bytes:
 *   0 srcaddr(4) 4 dstaddr(4) 8 nexthop(4) 12 input(2) 14 output(2) 16 dPkts(4) 20 dOctets(4)
 *   24 First(4) 28 Last(4) (sysUptime at first/last packet) 32 srcport(2) 34 dstport(2) 36 pad(1)
 *   37 tcp_flags(1) 38 prot(1) 39 tos(1) 40 src_as(2) 42 dst_as(2) 44 src_mask(1) 45 dst_mask(1) 46 pad(2)
 *
 * A datagram shorter than `count` records says: the records that fit are decoded, the rest counted `truncated`.
 */
import {
  DatagramDecoder, countError, countFidelity, ipv4At, u16, u32,
  type DecodeResult, type DecoderOptions, type FidelityNote, type NetflowRecord,
} from './common.ts';

const HEADER = 24;
const RECORD = 48;
const MAX_COUNT = 30;
const SPAN = 4_294_967_296;

export class V5Decoder extends DatagramDecoder {
  protected readonly idHeader = { sequence: 16, exportTime: 8 };
  private readonly sampling = new Map<string, number>();

  constructor(options: Partial<DecoderOptions> = {}) {
    super(options);
  }

  protected decodeInto(b: Uint8Array, exporter: string, receivedAt: number, session: string, r: DecodeResult): void {
    if (b.length < HEADER) { countError(r, 'truncated'); return; }
    if (u16(b, 0) !== 5) { countError(r, 'bad_version'); return; }
    const count = u16(b, 2);
    const sysUptime = u32(b, 4);
    const exportMs = u32(b, 8) * 1000 + Math.floor(u32(b, 12) / 1e6);
    const domain = (b[20]! << 8) | b[21]!;
    const samplingWord = u16(b, 22);
    if (count === 0 || count > MAX_COUNT) countError(r, 'count_invalid');
    const fits = Math.floor((b.length - HEADER) / RECORD);
    const n = Math.min(count, fits, MAX_COUNT);
    if (count > fits && count <= MAX_COUNT) countError(r, 'truncated');
    if (Math.abs(exportMs - receivedAt) > this.options.clockSkewMs) countFidelity(r, 'clock_skew');
    const key = this.domainKey(session, domain);
    r.sequenceGap = this.seq.check(key, u32(b, 16), n);

    const interval = samplingWord & 0x3fff;
    const prev = this.sampling.get(key);
    if (prev !== undefined && prev !== interval) countFidelity(r, 'sampling_changed');
    if (prev === undefined && this.sampling.size >= 4096) this.sampling.clear();
    this.sampling.set(key, interval);

    for (let i = 0; i < n; i++) {
      const o = HEADER + i * RECORD;
      const notes: FidelityNote[] = [];
      const tsStart = exportMs - ((sysUptime - u32(b, o + 24) + SPAN) % SPAN);
      const tsEnd = exportMs - ((sysUptime - u32(b, o + 28) + SPAN) % SPAN);
      if (tsStart > tsEnd) notes.push('start_after_end');
      const proto = b[o + 38]!;
      const rec: NetflowRecord = {
        id: '', tsStart, tsEnd,
        srcIp: ipv4At(b, o), srcPort: u16(b, o + 32), dstIp: ipv4At(b, o + 4), dstPort: u16(b, o + 34),
        proto, packets: u32(b, o + 16), bytes: u32(b, o + 20), packetsRev: 0, bytesRev: 0,
        tcpFlags: proto === 6 ? b[o + 37]! : 0,
        exporter, observationDomain: domain, source: 'netflow5',
      };
      if (interval > 1) { rec.samplingInterval = interval; notes.push('sampled'); }
      if (notes.length > 0) {
        rec.fidelity = notes;
        for (const note of notes) countFidelity(r, note);
      }
      r.records.push(rec);
    }
  }
}
