/**
 * The loop shared by the BUT message-record readers. Both layouts open with the same seven
 * columns, `TimeStamp;Relative Time;srcIP;dstIP;srcPort;dstPort;ipLen`, then protocol columns
 * that a `RowDecoder` turns into an operation name.
 */
import { isIP } from 'node:net';
import { basename } from 'node:path';
import type { FlowRecord } from '../../core/records.ts';
import {
  CaptureClock, DEFAULT_SLICE_MS, cleanHeader, countBadRow, dateToEpoch, hasLongField, parseDecimal, parsePort,
  parseTimeOfDay, parseUint, readLines, resolveDate, unknownHeader, warnBadRows,
  type FileStats, type ReaderOptions,
} from './csv.ts';
import { SliceAggregator } from './slices.ts';

/** What the protocol columns of one row say. */
export interface DecodedOp {
  op: string;
  error?: string;
  unit?: number;
  /** Counts in the initiator's `requestIntervalsMs` when the client sent it. */
  cadence: boolean;
}

/** A row decoder returns the operation, or a bad-row reason (snake_case). */
export type RowDecoder = (fields: string[]) => DecodedOp | string;

export interface LayoutSpec {
  /** `l7` of the records. */
  l7: string;
  /** Well-known server port; the other side is the initiator. */
  serverPort: number;
  /** Accepted header lines, each with its column count implied by its fields. */
  headers: readonly string[];
  decode: RowDecoder;
}

/**
 * Streams `path` and yields FlowRecord batches in event-time order (see `SliceAggregator`).
 * An unknown header throws `input_invalid`; a bad row is counted in `stats` and skipped.
 */
export async function* readMessageFile(path: string, spec: LayoutSpec, opts: ReaderOptions, stats: FileStats): AsyncGenerator<FlowRecord[]> {
  const midnight = dateToEpoch(resolveDate(path, opts.date));
  const agg = new SliceAggregator(opts.sliceMs ?? DEFAULT_SLICE_MS, { exporter: basename(path), l7: spec.l7 });
  const clock = new CaptureClock(midnight, stats);
  let columns = 0;
  let lineNo = 0;
  let prevPacket = '';
  const bad = (reason: string, line: string): void => countBadRow(stats, reason, lineNo, line, opts.events);

  for await (const line of readLines(path, stats)) {
    lineNo += 1;
    if (columns === 0) {
      const header = cleanHeader(line);
      if (header === '') continue;
      if (!spec.headers.includes(header)) throw unknownHeader(path, header, spec.headers);
      columns = header.split(';').length;
      continue;
    }
    if (line.trim() === '') continue;
    stats.rows += 1;
    // Some rows pad a field with spaces (gics-scanning.csv: "420.149985424 ").
    const f = line.split(';').map((s) => s.trim());
    if (f.length !== columns) { bad('column_count', line); continue; }
    if (hasLongField(f)) { bad('field_too_long', line); continue; }
    const tod = parseTimeOfDay(f[0]);
    const rel = f[1] === '' ? undefined : parseDecimal(f[1]);
    if (tod === undefined || (f[1] !== '' && rel === undefined)) { bad('bad_time', line); continue; }
    const [srcIp, dstIp] = [f[2]!, f[3]!];
    if (isIP(srcIp) === 0 || isIP(dstIp) === 0) { bad('bad_address', line); continue; }
    const srcPort = parsePort(f[4]), dstPort = parsePort(f[5]);
    if (srcPort === undefined || dstPort === undefined) { bad('bad_port', line); continue; }
    const ipLen = parseUint(f[6]);
    if (ipLen === undefined || ipLen > 65_535) { bad('bad_length', line); continue; }
    const op = spec.decode(f);
    if (typeof op === 'string') { bad(op, line); continue; }

    const ts = clock.at(tod, rel);
    if (agg.isLate(ts)) { bad('out_of_order', line); continue; }
    const fromClient = isClient(srcPort, dstPort, spec.serverPort);
    const packet = `${f[1]}|${srcIp}|${srcPort}|${dstIp}|${dstPort}|${ipLen}`;
    const closed = agg.push({
      ts, fromClient, ipLen, line: lineNo, newPacket: packet !== prevPacket || f[1] === '',
      clientIp: fromClient ? srcIp : dstIp, clientPort: fromClient ? srcPort : dstPort,
      serverIp: fromClient ? dstIp : srcIp, serverPort: fromClient ? dstPort : srcPort,
      ...op,
    });
    prevPacket = packet;
    if (closed.length > 0) { stats.records += closed.length; yield closed; }
  }
  if (columns === 0) throw unknownHeader(path, '', spec.headers);
  const rest = agg.flush();
  if (rest.length > 0) { stats.records += rest.length; yield rest; }
  warnBadRows(stats, opts.log);
}

/**
 * The sender is the client unless its port is the server port. When neither side uses the
 * server port, the lower port is taken as the server (ties: the destination).
 */
const isClient = (srcPort: number, dstPort: number, serverPort: number): boolean => {
  if (dstPort === serverPort) return true;
  if (srcPort === serverPort) return false;
  return dstPort <= srcPort;
};
