/**
 * Reader for the BUT IEC 60870-5-104 message records (`scada-iec104/iec104-traffic/` of
 * github.com/matousp/datasets): one `;`-separated row per APDU, exported by an IPFIX probe.
 *
 *   col  name           notes
 *   0    TimeStamp      time of day, 10 ms, no date (see `CaptureClock`)
 *   1    Relative Time  seconds since capture start; the clock
 *   2-5  srcIP;dstIP;srcPort;dstPort   the side on port 2404 is the server (controlled station)
 *   6    ipLen          IP total length of the packet; repeated on every APDU of one packet
 *   7    len            APDU length octet (ignored)
 *   8    fmt            0x0 I-format, 0x1 S-format, 0x3 U-format; else violation 'bad_format'
 *   9    uType          U-format function, first control octet >> 2 (0x01 STARTDT act … 0x20 TESTFR con)
 *   10   asduType       I-format type identification 1–127 (IEC 60870-5-101 §7.2.1.1)
 *   11   numix          number of information objects (ignored)
 *   12   cot            cause of transmission; 44–47 and P/N=1 go to l7Errors
 *   13   oa             originator address (ignored)
 *   14   addr           common address of the ASDU → l7Units
 *   15   ioa            information object addresses (iec104-ioa.csv only; ignored)
 */
import type { FlowRecord } from '../../core/records.ts';
import { basename } from 'node:path';
import { newFileStats, parseHex, parseUint, type FileStats, type ReaderOptions } from './csv.ts';
import { S_FRAME, asduTypeName, causeError, uFunctionName } from '../protocols/iec104/codes.ts';
import { readMessageFile, type DecodedOp, type LayoutSpec } from './reader.ts';

/** IEC 104 server port (IEC 60870-5-104 §10.2). */
export const IEC104_PORT = 2404;

/** The two header layouts of the BUT IEC 104 files. */
export const IEC104_HEADERS = [
  'TimeStamp;Relative Time;srcIP;dstIP;srcPort;dstPort;ipLen;len;fmt;uType;asduType;numix;cot;oa;addr',
  'TimeStamp;Relative Time;srcIP;dstIP;srcPort;dstPort;ipLen;len;fmt;uType;asduType;numix;cot;oa;addr;ioa',
] as const;

/** Optional decimal column: undefined when empty, NaN when present but not a number. */
const optionalUint = (s: string | undefined): number | undefined =>
  s === undefined || s === '' ? undefined : parseUint(s) ?? NaN;

/**
 * Decodes the IEC 104 columns of one row. I- and U-format APDUs are the initiator's "requests"
 * for `requestIntervalsMs` (commands, interrogations, keep-alives); S-format acknowledgements are
 * left out because their timing follows the peer's I-frames (w / t2), not the initiator's cadence.
 */
export const decodeIec104 = (f: string[]): DecodedOp | string => {
  const fmt = parseHex(f[8]);
  if (fmt === 1) return { op: S_FRAME, cadence: false };
  if (fmt === 3) {
    const u = parseHex(f[9]);
    return u === undefined ? 'bad_type' : { op: uFunctionName(u), cadence: true };
  }
  if (fmt !== 0) return 'bad_format';
  const type = parseUint(f[10]);
  if (type === undefined || type > 255) return 'bad_type';
  const cot = optionalUint(f[12]);
  const addr = optionalUint(f[14]);
  if (Number.isNaN(cot) || Number.isNaN(addr)) return 'bad_number';
  const op: DecodedOp = { op: asduTypeName(type), cadence: true };
  const error = cot === undefined ? undefined : causeError(cot);
  if (error) op.error = error;
  if (addr !== undefined) op.unit = addr;
  return op;
};

const IEC104: LayoutSpec = { l7: 'iec104', serverPort: IEC104_PORT, headers: IEC104_HEADERS, decode: decodeIec104 };

/**
 * Reads a BUT IEC 104 message-record CSV into FlowRecords per (conversation, `sliceMs` slice).
 * `date` defaults to a DD-MM-YY date in the file name (mega104-14-12-18.csv → 2018-12-14), else
 * 1970-01-01. Bad rows are counted in `stats.badRows` and skipped.
 */
export function readButIec104(path: string, opts: ReaderOptions = {}, stats: FileStats = newFileStats(basename(path))): AsyncGenerator<FlowRecord[]> {
  return readMessageFile(path, IEC104, opts, stats);
}

export { newFileStats, type FileStats, type ReaderOptions };
