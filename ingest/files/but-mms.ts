/**
 * Reader for the BUT IEC 61850 MMS message records (`mms-test/` of github.com/matousp/datasets,
 * traffic of the G-ICS lab): one `;`-separated row per MMS PDU, exported by an IPFIX probe.
 *
 *   col  name           notes
 *   0    TimeStamp      time of day, ns, no date (see `CaptureClock`)
 *   1    Relative Time  seconds since capture start; the clock
 *   2-5  srcIP;dstIP;srcPort;dstPort   the side on port 102 (ISO-TSAP) is the server
 *   6    ipLen          IP total length
 *   7    MMS Type       MMSpdu CHOICE tag: 0 confirmed-request, 1 -response, 2 -error, 3 unconfirmed,
 *                      8/9 initiate-request/-response, … (ISO 9506-2); else violation 'bad_type'
 *   8    MMS Service    service CHOICE tag (confirmed: 1 getNameList, 4 read, 5 write, 6
 *                      getVariableAccessAttributes …; unconfirmed: 0 informationReport); may be empty
 *   9    Invoke Id      (ignored)
 *   10-12 Domain Id;Item Id;Object Class   (ignored)
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { PipelineError } from '../../core/errors.ts';
import type { FlowRecord } from '../../core/records.ts';
import {
  DAY_MS, DEFAULT_DATE, cleanHeader, dateToEpoch, newFileStats, parseTimeOfDay, parseUint, splitCsv,
  unknownHeader, type FileStats, type ReaderOptions,
} from './csv.ts';
import { PDU_ERRORS, mmsOpName } from './mms-codes.ts';
import { readMessageFile, type DecodedOp, type LayoutSpec } from './reader.ts';

/** MMS over ISO-on-TCP (RFC 1006) server port. */
export const MMS_PORT = 102;

export const MMS_HEADER = 'TimeStamp;Relative Time;srcIP;dstIP;srcPort;dstPort;ipLen;MMS Type;MMS Service;Invoke Id;Domain Id;Item Id;Object Class';

/**
 * The gics-* captures carry no date anywhere (file names, README, data set README), so every
 * reader of them — flows and attack intervals alike — uses 1970-01-01 unless told otherwise.
 */
export const MMS_DEFAULT_DATE = DEFAULT_DATE;

/** Decodes the MMS columns of one row. Every PDU the initiator sends counts for its cadence. */
export const decodeMms = (f: string[]): DecodedOp | string => {
  const type = parseUint(f[7]);
  if (type === undefined) return 'bad_type';
  const service = f[8] === '' ? undefined : parseUint(f[8]);
  if (f[8] !== '' && service === undefined) return 'bad_number';
  const op: DecodedOp = { op: mmsOpName(type, service), cadence: true };
  const error = PDU_ERRORS[type];
  if (error) op.error = error;
  return op;
};

const MMS: LayoutSpec = { l7: 'mms', serverPort: MMS_PORT, headers: [MMS_HEADER], decode: decodeMms };

/**
 * Reads a BUT MMS message-record CSV into FlowRecords per (conversation, `sliceMs` slice).
 * `date` defaults as for IEC 104 (a DD-MM-YY in the file name, else `MMS_DEFAULT_DATE`).
 */
export function readButMms(path: string, opts: ReaderOptions = {}, stats: FileStats = newFileStats(basename(path))): AsyncGenerator<FlowRecord[]> {
  return readMessageFile(path, MMS, opts, stats);
}

/** One labelled attack of `attack_intervals.csv`, in epoch ms (both ends inclusive). */
export interface AttackInterval {
  /** Capture file the attack is in, e.g. `gics-scanning.csv`. */
  file: string;
  attack: string;
  startMs: number;
  endMs: number;
  /** Packets the attack added or removed, when given. */
  packetsAffected?: number;
}

const ATTACK_COLUMNS = ['file', 'attack', 'start_time_of_day', 'end_time_of_day'] as const;

/**
 * Parses `attack_intervals.csv` (`,`-separated, quoted text; times of day). The labels decide
 * what counts as a detection, so a row that cannot be read throws `input_invalid` with its line
 * instead of being skipped. An end before its start is taken to be past midnight.
 */
export const readButMmsAttackIntervals = (path: string, date: string = MMS_DEFAULT_DATE): AttackInterval[] => {
  const midnight = dateToEpoch(date);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new PipelineError('input_invalid', `Cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? e}.`, { file: path }, { cause: e });
  }
  const lines = text.split(/\r?\n/);
  const header = cleanHeader(lines[0] ?? '');
  const names = splitCsv(header, ',');
  const col = Object.fromEntries(ATTACK_COLUMNS.map((c) => [c, names.indexOf(c)])) as Record<(typeof ATTACK_COLUMNS)[number], number>;
  if (Object.values(col).some((i) => i < 0)) {
    throw unknownHeader(path, header, [`${ATTACK_COLUMNS.join(',')},packets_affected,… (any order)`]);
  }
  const packetsCol = names.indexOf('packets_affected');
  const out: AttackInterval[] = [];
  lines.slice(1).forEach((line, i) => {
    if (line.trim() === '') return;
    const f = splitCsv(line, ',');
    const start = parseTimeOfDay(f[col.start_time_of_day]);
    const end = parseTimeOfDay(f[col.end_time_of_day]);
    if (f.length !== names.length || start === undefined || end === undefined) {
      throw new PipelineError('input_invalid', `${basename(path)}:${i + 2}: cannot read attack interval "${line}"; expected ${names.length} fields with HH:MM:SS.ss times.`, { file: path, line: i + 2 });
    }
    const interval: AttackInterval = {
      file: f[col.file]!, attack: f[col.attack]!,
      startMs: midnight + start, endMs: midnight + end + (end < start ? DAY_MS : 0),
    };
    const packets = packetsCol >= 0 ? parseUint(f[packetsCol]) : undefined;
    if (packets !== undefined) interval.packetsAffected = packets;
    out.push(interval);
  });
  return out;
};

export { newFileStats, type FileStats, type ReaderOptions };
