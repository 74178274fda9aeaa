/** Picks the reader for a flow file (or a Zeek log folder) by its header line or first bytes. */
import { statSync } from 'node:fs';
import { basename } from 'node:path';
import { PipelineError } from '../../core/errors.ts';
import { firstLine, headText, readHead } from './csv.ts';
import { IEC104_HEADERS } from './but-iec104.ts';
import { MMS_HEADER } from './but-mms.ts';
import { isNfdumpHeader } from './nfdump-csv.ts';
import { isZeekDir } from './zeek.ts';
import { sniffZeekFormat } from './zeek-log.ts';

/** Which BUT reader fits a file, judged by its header line; undefined when none does or it cannot be read. */
export const sniffCsvKind = (path: string): 'but-iec104' | 'but-mms' | undefined => {
  const header = firstLine(path);
  if (header === undefined) return undefined;
  if ((IEC104_HEADERS as readonly string[]).includes(header)) return 'but-iec104';
  if (header === MMS_HEADER) return 'but-mms';
  return undefined;
};

/** Every flow-file kind this folder reads (generic CSV is never sniffed: it needs a mapping). */
export type FlowFileKind = 'but-iec104' | 'but-mms' | 'zeek' | 'nfdump-csv' | 'ipfix';

/** What each kind is recognised by, for error messages. */
export const FLOW_FILE_KINDS: Readonly<Record<FlowFileKind, string>> = {
  'but-iec104': 'BUT IEC 104 message CSV (header "TimeStamp;Relative Time;srcIP;…;asduType;…")',
  'but-mms': 'BUT MMS message CSV (header "TimeStamp;Relative Time;srcIP;…;MMS Type;…")',
  zeek: 'Zeek conn.log, TSV ("#separator \\x09") or JSON ({"ts":…,"uid":…,"id.orig_h":…}), plain or .gz, or a folder holding one',
  'nfdump-csv': 'nfdump CSV (`nfdump -o csv`, header "ts,te,td,sa,da,sp,dp,pr,flg,…")',
  ipfix: 'IPFIX file (RFC 5655: IPFIX messages back to back, first two bytes 00 0a)',
};

/** True when the file starts with what looks like an IPFIX message header (version 10, length ≥ 16). */
const isIpfix = (path: string): boolean => {
  const h = readHead(path, 4);
  return h !== undefined && h.length === 4 && h.readUInt16BE(0) === 10 && h.readUInt16BE(2) >= 16;
};

/**
 * The kind of a flow file, or of a folder of Zeek logs; undefined when nothing fits or it cannot
 * be read. Zeek is recognised by `#separator` or a JSON first line with `ts` and `uid`/`id.orig_h`.
 */
export const sniffFlowFile = (path: string): FlowFileKind | undefined => {
  let dir: boolean;
  try {
    dir = statSync(path).isDirectory();
  } catch {
    return undefined;
  }
  if (dir) return isZeekDir(path) ? 'zeek' : undefined;
  if (isIpfix(path)) return 'ipfix';
  const csv = sniffCsvKind(path);
  if (csv) return csv;
  if (sniffZeekFormat(path)) return 'zeek';
  const line = firstLine(path);
  if (line !== undefined && isNfdumpHeader(line)) return 'nfdump-csv';
  return undefined;
};

/** `input_invalid` naming what `path` starts with and every kind that is accepted. */
export const unknownFlowFile = (path: string): PipelineError => {
  let found: string;
  try {
    if (statSync(path).isDirectory()) found = 'a folder without conn.log, conn.log.gz or conn.*.log';
    else {
      const head = readHead(path, 8);
      const text = headText(path, 200);
      found = head === undefined || head.length === 0 ? 'an empty file'
        : `first bytes ${head.toString('hex')}${text && /^[\x20-\x7e\t]+/.test(text) ? `, first line "${(text.split('\n', 1)[0] ?? '').slice(0, 80)}"` : ''}`;
    }
  } catch (e) {
    found = `nothing readable (${(e as NodeJS.ErrnoException).code ?? e})`;
  }
  return new PipelineError('input_invalid',
    `${basename(path)} is no flow file conduitwatch can read: ${found}. Accepted: ${Object.values(FLOW_FILE_KINDS).join('; ')}; ` +
    'any other CSV with --mapping (see ingest/files/README.md).', { file: path, found, accepted: Object.keys(FLOW_FILE_KINDS) });
};
