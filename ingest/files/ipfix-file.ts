/**
 * IPFIX files (RFC 5655 §6–§8): IPFIX messages (RFC 7011) stored back to back, nothing between.
 *
 *   off len field     notes
 *   0   2   version   10, else the file is not IPFIX (or is damaged here): `ipfix_bad_header`, rest skipped
 *   2   2   length    whole message incl. this header, ≥ 16; a message cut by the end of the file: `ipfix_truncated_message`
 *   4   4   exportTime, 8 sequence, 12 domain — read by the decoder
 *
 * Each message goes through the collector's decoder (`ingest/netflow/ipfix.ts`), so templates,
 * options (systemInitTimeMilliseconds, sampling) and time handling are the collector's: times come
 * from the flow IEs, relative ones from the export time of their message. Templates are scoped to
 * the file (one decoder per file, session = file name) and never expire inside it (RFC 5655 §8:
 * a file's templates are valid until withdrawn; the decoder ignores withdrawals, as over UDP).
 * Processing time is never read: the decoder's clock is the export time of the current message,
 * which is also passed as the receive time, so no `clock_skew` is flagged.
 *
 * Decode errors are counted per reason in `stats.badRows` (the decoder's closed set); `stats.rows`
 * counts messages. Records keep `source: 'ipfix'` and get the file name as `exporter`.
 */
import { createReadStream, statSync } from 'node:fs';
import { basename } from 'node:path';
import { PipelineError } from '../../core/errors.ts';
import type { FlowRecord } from '../../core/records.ts';
import { IpfixDecoder } from '../netflow/ipfix.ts';
import { countBadRow, warnBadRows, type FileStats, type ReaderOptions } from './csv.ts';
import { ReorderQueue, type ReorderOptions } from './reorder.ts';

export type IpfixFileOptions = ReorderOptions & Pick<ReaderOptions, 'events' | 'log'>;

const HEADER = 16;

/** Streams an IPFIX file as FlowRecord batches in event-time order. A file not starting with an IPFIX header throws `input_invalid`. */
export async function* readIpfixFile(path: string, opts: IpfixFileOptions = {}, stats: FileStats): AsyncGenerator<FlowRecord[]> {
  const name = basename(path);
  try {
    stats.fileSize = statSync(path).size;
  } catch (e) {
    throw new PipelineError('input_invalid', `Cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? e}.`, { file: path }, { cause: e });
  }
  let exportMs = 0;
  const decoder = new IpfixDecoder({ now: () => exportMs }, { templates: { lifetimeMs: Number.POSITIVE_INFINITY } });
  const queue = new ReorderQueue(opts, stats);
  const stream = createReadStream(path, { highWaterMark: 1 << 16 });
  let pending: Buffer = Buffer.alloc(0);
  let offset = 0;
  let damaged = false;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      stats.bytesRead = stream.bytesRead;
      if (damaged) continue;
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      let p = 0;
      while (pending.length - p >= 4) {
        const version = pending.readUInt16BE(p), len = pending.readUInt16BE(p + 2);
        if (version !== 10 || len < HEADER) {
          if (offset + p === 0) {
            throw new PipelineError('input_invalid', `${name}: not an IPFIX file (first bytes ${pending.subarray(0, 4).toString('hex')}; expected version 00 0a).`, { file: path });
          }
          // No length to trust: the rest of the file cannot be framed.
          countBadRow(stats, 'ipfix_bad_header', offset + p, `offset ${offset + p}: ${pending.subarray(p, p + 16).toString('hex')}`, opts.events);
          damaged = true;
          break;
        }
        if (pending.length - p < len) break;
        const msg = pending.subarray(p, p + len);
        p += len;
        stats.rows += 1;
        exportMs = msg.readUInt32BE(4) * 1000;
        const r = decoder.decode(msg, name, exportMs, name);
        for (const [reason, n] of Object.entries(r.errors)) {
          for (let i = 0; i < (n ?? 0); i++) countBadRow(stats, reason, stats.rows, `message ${stats.rows} at offset ${offset + p - len}`, opts.events);
        }
        for (const rec of r.records) {
          const out = queue.push(rec, `${rec.srcIp}|${rec.srcPort}|${rec.dstIp}|${rec.dstPort}|${rec.proto}|${stats.rows}`);
          if (out) { stats.records += out.length; yield out; }
        }
      }
      offset += p;
      pending = pending.subarray(p);
    }
  } finally {
    stream.destroy();
  }
  if (!damaged && pending.length > 0) countBadRow(stats, 'ipfix_truncated_message', stats.rows + 1, `${pending.length} bytes at offset ${offset}`, opts.events);
  const rest = queue.flush();
  if (rest.length > 0) { stats.records += rest.length; yield rest; }
  warnBadRows(stats, opts.log);
}
