/**
 * The pcap/pcapng source as the CLI uses it: a capture file in, batches of {@link FlowRecord} out.
 * Reader (`reader.ts`) → frame decoder (`decode.ts`) → flow assembly (`flows.ts`) with the OT
 * dissectors wired in {@link PCAP_ANALYZERS}.
 */
import { basename } from 'node:path';
import type { FlowRecord } from '../../core/records.ts';
import { dnp3Analyzer, dnp3UdpAnalyzer } from '../protocols/dnp3/dissect.ts';
import { iec104Analyzer } from '../protocols/iec104/dissect.ts';
import { modbusAnalyzer } from '../protocols/modbus/dissect.ts';
import { s7commAnalyzer } from '../protocols/s7comm/dissect.ts';
import { mmsAnalyzer } from '../protocols/mms/dissect.ts';
import { enipAnalyzer, enipUdpAnalyzer } from '../protocols/enip/dissect.ts';
import { bacnetAnalyzer } from '../protocols/bacnet/dissect.ts';
import { opcuaAnalyzer } from '../protocols/opcua/dissect.ts';
import { DecodedPacket, decodeFrame, isDecodeViolation } from './decode.ts';
import { DEFAULT_FLOW_OPTIONS, FlowAssembler, type FlowOptions } from './flows.ts';
import { sharedPort, type L7Analyzer } from './l7.ts';
import { readCaptureChunks, type RawPacket, type Truncation } from './reader.ts';

export type { FlowOptions } from './flows.ts';
export { DEFAULT_FLOW_OPTIONS } from './flows.ts';

/** What a read has seen so far; filled while the generator runs. */
export interface PcapStats {
  /** The capture's file name (the records' `exporter`). */
  file: string;
  /** Packets read from the file (decodable or not). */
  packets: number;
  /** Sum of the packets' original (wire) lengths. */
  bytes: number;
  /** Flow records emitted. */
  flows: number;
  /** The file ended inside a record, or an unrecoverable header stopped the read early. */
  truncated: boolean;
  /** Where the end of the file cut a record or block (reader.ts `truncationText` says it in words). */
  truncation?: Truncation;
  /** Malformed input counted by code: reader, decoder and L7 (e.g. `modbus_protocol_id`). */
  violations: Record<string, number>;
  /** Benign conditions counted by code: `non_ip`, `ip_fragment`, `late_packet`, `unsupported_link_type`. */
  notes: Record<string, number>;
  /** Event time of the first and last packet, epoch ms. */
  firstTs?: number;
  lastTs?: number;
  /** File bytes read so far and the file size: progress = bytesRead / fileSize. */
  bytesRead: number;
  fileSize: number;
}

export const newPcapStats = (file: string): PcapStats => ({
  file: basename(file), packets: 0, bytes: 0, flows: 0, truncated: false, violations: {}, notes: {},
  bytesRead: 0, fileSize: 0,
});

/** Dissectors tried on every new flow, first match wins. */
/**
 * The dissectors flow assembly tries, first match wins. S7comm and MMS share port 102 and decide on
 * the payload; OPC UA matches any TCP flow that starts like OPC UA, so it comes last.
 */
export const PCAP_ANALYZERS: readonly L7Analyzer[] = [
  modbusAnalyzer, iec104Analyzer, dnp3Analyzer, dnp3UdpAnalyzer,
  sharedPort('iso-tsap', [s7commAnalyzer, mmsAnalyzer]),
  enipAnalyzer, enipUdpAnalyzer, bacnetAnalyzer, opcuaAnalyzer,
];

/**
 * Reads a pcap or pcapng file and yields its flow records in emission order, one batch per read chunk
 * (1 MiB of file, `CHUNK_BYTES`). Throws `PipelineError('input_invalid')` when the file cannot be read as a capture;
 * everything else bad is counted in `stats`.
 */
export async function* readPcapFlows(
  path: string,
  opts: Partial<FlowOptions> = {},
  stats: PcapStats = newPcapStats(path),
  analyzers: readonly L7Analyzer[] = PCAP_ANALYZERS,
): AsyncGenerator<FlowRecord[]> {
  const options: FlowOptions = { ...DEFAULT_FLOW_OPTIONS, ...opts };
  const flows = new FlowAssembler(basename(path), options, analyzers, stats);
  const decoded = new DecodedPacket();
  // Per-packet totals live in a typed array: a double stored in a closure variable or a plain
  // object field is boxed on every store, 16 bytes of garbage per packet. Copied to `stats` per chunk.
  const totals = new Float64Array(4); // packets, bytes, first ts, last ts
  totals[2] = Number.NaN;
  const publish = (): void => {
    stats.packets = totals[0]!;
    stats.bytes = totals[1]!;
    if (!Number.isNaN(totals[2]!)) { stats.firstTs = totals[2]!; stats.lastTs = totals[3]!; }
    stats.flows = flows.emitted;
  };
  const sink = (p: RawPacket): void => {
    totals[0]!++;
    totals[1] = totals[1]! + p.origLen;
    const ts = p.tsMs;
    if (Number.isNaN(totals[2]!)) totals[2] = ts;
    totals[3] = ts;
    const outcome = decodeFrame(p.linkType, p.buf, p.off, p.caplen, 0, decoded);
    decoded.ts = ts;
    decoded.index = totals[0]! | 0; // a small integer: a double field would box on every store
    if (outcome === 'ok') {
      flows.add(decoded);
      return;
    }
    const into = isDecodeViolation(outcome) ? stats.violations : stats.notes;
    into[outcome] = (into[outcome] ?? 0) + 1;
  };
  for await (const _ of readCaptureChunks(path, sink, stats, stats)) {
    publish();
    const batch = flows.drain();
    if (batch.length > 0) yield batch;
  }
  flows.finish();
  publish();
  const last = flows.drain();
  if (last.length > 0) yield last;
}
