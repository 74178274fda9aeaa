/**
 * Shared plumbing of the message-record CSV readers: streaming lines, splitting fields, strict
 * number parsing, per-file statistics with sampled bad rows, and the time-of-day clock that turns
 * `TimeStamp` + `Relative Time` into epoch milliseconds.
 */
import { createReadStream, openSync, readSync, closeSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { constants as zlibConstants, createGunzip, gunzipSync } from 'node:zlib';
import { PipelineError } from '../../core/errors.ts';
import type { Logger, UnitEvents } from '../../core/telemetry.ts';

/** What one file read gave: rows seen, rows skipped by reason, records emitted, progress. */
export interface FileStats {
  /** File base name (also the records' `exporter`). */
  file: string;
  /** Data rows read (header excluded, blank lines excluded), good or bad. */
  rows: number;
  /** Rows skipped, by reason (snake_case, closed set per reader). */
  badRows: Record<string, number>;
  /** Up to `MAX_SAMPLES` skipped rows as `line N: reason: text`, for the warning. */
  badSamples: string[];
  /** FlowRecords emitted. */
  records: number;
  /** Bytes of the file consumed so far. */
  bytesRead: number;
  /** File size at open. */
  fileSize: number;
  /** Times the clock was re-anchored because `Relative Time` and `TimeStamp` disagreed by > 1 s. */
  reanchors: number;
  /**
   * Records emitted although their `tsStart` is before a record already emitted (Zeek connections
   * logged later than the reorder horizon); they are kept, not dropped. 0 for the other readers.
   */
  late: number;
}

const MAX_SAMPLES = 5;

export const newFileStats = (file: string): FileStats => ({
  file, rows: 0, badRows: {}, badSamples: [], records: 0, bytesRead: 0, fileSize: 0, reanchors: 0, late: 0,
});

/** Options every message-record reader takes. */
export interface ReaderOptions {
  /** Slice length in ms; records never span a multiple of it (epoch-aligned). Default 60000. */
  sliceMs?: number;
  /** Capture date `YYYY-MM-DD` for the time-of-day column; see `resolveDate`. */
  date?: string;
  /** Gets one `violation` per skipped row (the events rate-limit their own log lines). */
  events?: UnitEvents;
  /** Gets one warning at the end of the file when rows were skipped, with samples. */
  log?: Logger;
}

export const DEFAULT_SLICE_MS = 60_000;

/** Counts a skipped row in `stats` (and `events`), keeping a few samples. */
export const countBadRow = (stats: FileStats, reason: string, lineNo: number, text: string, events?: UnitEvents): void => {
  stats.badRows[reason] = (stats.badRows[reason] ?? 0) + 1;
  if (stats.badSamples.length < MAX_SAMPLES) stats.badSamples.push(`line ${lineNo}: ${reason}: ${text.slice(0, 200)}`);
  events?.violation({ code: reason, where: `${stats.file}:${lineNo}` });
};

/** Logs one warning naming the skipped rows, if any. */
export const warnBadRows = (stats: FileStats, log?: Logger): void => {
  const skipped = Object.values(stats.badRows).reduce((a, b) => a + b, 0);
  if (!log || skipped === 0) return;
  log.warn({ file: stats.file, rows: stats.rows, skipped, badRows: stats.badRows, samples: stats.badSamples },
    'Bad rows skipped.');
};

/** Whether the file starts with the gzip magic (1f 8b). */
export const isGzip = (path: string): boolean => {
  const head = readHead(path, 2);
  return head !== undefined && head.length === 2 && head[0] === 0x1f && head[1] === 0x8b;
};

/** Up to `bytes` raw bytes from the start of a file, or undefined when it cannot be read. */
export const readHead = (path: string, bytes: number): Buffer | undefined => {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const buf = Buffer.alloc(bytes);
    const n = readSync(fd, buf, 0, bytes, 0);
    return buf.subarray(0, n);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
};

/**
 * The first `bytes` (or so) of a file as text, gunzipped when it is gzip-compressed; undefined
 * when it cannot be read. A cut-off gzip stream decodes as far as it goes.
 */
export const headText = (path: string, bytes = 8192): string | undefined => {
  const raw = readHead(path, bytes);
  if (raw === undefined) return undefined;
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      return gunzipSync(raw, { finishFlush: zlibConstants.Z_SYNC_FLUSH }).toString('utf8');
    } catch {
      return undefined;
    }
  }
  return raw.toString('utf8');
};

/**
 * Limits of every text reader (Zeek, nfdump CSV, mapped CSV, BUT message files), so a hostile file
 * cannot make a read grow without bound. A line longer than `maxLineChars` is skipped (counted
 * `line_too_long`, the rest of the file read on); a row with a field longer than `maxFieldChars` is
 * skipped by its reader (`field_too_long`); a gzip stream that inflates past `maxInflateRatio` × its
 * compressed size (once past `ratioAfterBytes`) or past `maxInflatedBytes` stops the read with
 * `input_invalid` naming the file and the limit.
 */
export interface TextLimits {
  maxLineChars: number;
  maxFieldChars: number;
  maxInflateRatio: number;
  ratioAfterBytes: number;
  maxInflatedBytes: number;
}

export const TEXT_LIMITS: TextLimits = {
  // 1 MiB: the longest real lines are Zeek JSON rows of a few KiB.
  maxLineChars: 1 << 20,
  // 4 KiB: addresses, names and numbers; the longest real field is a Zeek history or an s7comm item.
  maxFieldChars: 4096,
  // Text logs deflate 5–20×; a run of one byte deflates about 1000×.
  maxInflateRatio: 200,
  ratioAfterBytes: 16 << 20,
  maxInflatedBytes: 64 * 2 ** 30,
};

/** True when some field is longer than the limit (the row is then skipped as `field_too_long`). */
export const hasLongField = (fields: readonly string[], limits: TextLimits = TEXT_LIMITS): boolean => {
  for (const f of fields) if (f.length > limits.maxFieldChars) return true;
  return false;
};

/**
 * Lines of a text file, without `\r\n`/`\n`; updates `stats.bytesRead`/`fileSize` as it goes
 * (compressed bytes for a gzip file, which is gunzipped on the fly). A corrupt gzip stream throws
 * `input_invalid` after the lines before the damage. Bounded by `limits` ({@link TextLimits}): a line
 * too long is yielded as '' (so line numbers stay right; every reader skips empty lines) and counted
 * `line_too_long`; memory stays within about 2 × `maxLineChars` chars plus one read chunk.
 */
export async function* readLines(path: string, stats: FileStats, limits: TextLimits = TEXT_LIMITS): AsyncGenerator<string> {
  try {
    stats.fileSize = statSync(path).size;
  } catch (e) {
    throw new PipelineError('input_invalid', `Cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? e}.`, { file: path }, { cause: e });
  }
  const gz = isGzip(path);
  const raw = createReadStream(path, { highWaterMark: 1 << 16 });
  const source = gz ? raw.pipe(createGunzip({ chunkSize: 1 << 16 })) : raw;
  if (gz) raw.on('error', (e) => source.destroy(e));
  source.setEncoding('utf8');
  const name = basename(path);
  let rest = '';
  /** Inside a line already too long: drop text until its newline. */
  let skipping = false;
  let lineNo = 0;
  let inflated = 0;
  const tooLong = (line: number): void => {
    countBadRow(stats, 'line_too_long', line, `longer than ${limits.maxLineChars} characters (TextLimits.maxLineChars); skipped`);
  };
  try {
    for await (const chunk of source as AsyncIterable<string>) {
      stats.bytesRead = raw.bytesRead;
      if (gz) {
        inflated += chunk.length;
        if (inflated > limits.maxInflatedBytes || (inflated > limits.ratioAfterBytes && inflated > limits.maxInflateRatio * Math.max(1, raw.bytesRead))) {
          throw new PipelineError('input_invalid',
            `${name}: the gzip stream inflates to more than ${inflated > limits.maxInflatedBytes ? `${limits.maxInflatedBytes} bytes (TextLimits.maxInflatedBytes)` : `${limits.maxInflateRatio}× its compressed size (${inflated} characters from ${raw.bytesRead} bytes; TextLimits.maxInflateRatio)`}: refused as a decompression bomb. If the file is genuine, gunzip it and read the plain file.`,
            { file: path, limit: inflated > limits.maxInflatedBytes ? 'maxInflatedBytes' : 'maxInflateRatio', inflated, compressed: raw.bytesRead });
        }
      }
      let start = 0;
      let text = chunk;
      if (skipping) {
        const nl = chunk.indexOf('\n');
        if (nl < 0) continue;
        skipping = false;
        lineNo++;
        yield '';
        start = nl + 1;
      } else text = rest + chunk;
      for (let nl = text.indexOf('\n', start); nl >= 0; nl = text.indexOf('\n', start)) {
        lineNo++;
        if (nl - start > limits.maxLineChars) { tooLong(lineNo); yield ''; } else yield text.charCodeAt(nl - 1) === 13 ? text.slice(start, nl - 1) : text.slice(start, nl);
        start = nl + 1;
      }
      rest = text.slice(start);
      if (rest.length > limits.maxLineChars) { tooLong(lineNo + 1); rest = ''; skipping = true; }
    }
  } catch (e) {
    if (e instanceof PipelineError) throw e;
    throw new PipelineError('input_invalid', `Cannot read ${name}: ${(e as Error).message}${gz ? ' (corrupt or truncated gzip)' : ''}.`,
      { file: path }, { cause: e });
  } finally {
    raw.destroy();
    if (gz) source.destroy();
  }
  if (skipping) yield '';
  else if (rest.length > 0) yield rest.endsWith('\r') ? rest.slice(0, -1) : rest;
}

/** The first line of a file (BOM and `\r` stripped, gunzipped if needed), or undefined when unreadable or empty. */
export const firstLine = (path: string): string | undefined => {
  const text = headText(path, 4096);
  if (text === undefined) return undefined;
  const line = text.split('\n', 1)[0] ?? '';
  return cleanHeader(line) || undefined;
};

/** Header text as compared with known layouts: no BOM, no trailing `\r` or spaces. */
export const cleanHeader = (line: string): string => line.replace(/^\uFEFF/, '').trimEnd();

/** Throws `input_invalid` naming the file, the header found and the layouts expected. */
export const unknownHeader = (path: string, found: string, expected: readonly string[]): PipelineError =>
  new PipelineError('input_invalid',
    `${basename(path)}: unknown CSV header "${found.slice(0, 300)}"; expected one of: ${expected.map((h) => `"${h}"`).join(' or ')}.`,
    { file: path, header: found, expected });

/**
 * Splits one CSV line. Fields may be double-quoted (a doubled quote is a literal quote); the
 * BUT message records never quote, the attack-interval file does.
 */
export const splitCsv = (line: string, sep: string): string[] => {
  if (!line.includes('"')) return line.split(sep);
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') { cur += '"'; i++; } else if (c === '"') quoted = false; else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === sep) { out.push(cur); cur = ''; } else cur += c;
  }
  out.push(cur);
  return out;
};

const UINT = /^\d+$/;
const HEX = /^0x[0-9a-fA-F]+$/;
const DECIMAL = /^\d+(\.\d+)?$/;

/** Non-negative decimal integer, or undefined (empty and anything else). */
export const parseUint = (s: string | undefined): number | undefined =>
  s !== undefined && UINT.test(s) ? Number(s) : undefined;

/** `0x…` hexadecimal integer, or undefined. */
export const parseHex = (s: string | undefined): number | undefined =>
  s !== undefined && HEX.test(s) ? parseInt(s.slice(2), 16) : undefined;

/** Non-negative decimal number (`12.5`), or undefined. */
export const parseDecimal = (s: string | undefined): number | undefined =>
  s !== undefined && DECIMAL.test(s) ? Number(s) : undefined;

/** A TCP/UDP port 0–65535, or undefined. */
export const parsePort = (s: string | undefined): number | undefined => {
  const n = parseUint(s);
  return n !== undefined && n <= 65_535 ? n : undefined;
};

const TOD = /^(\d{1,2}):(\d{2}):(\d{2})(?:[.,](\d+))?$/;

/** `HH:MM:SS[.fraction]` → ms since midnight (fraction of any length), or undefined. */
export const parseTimeOfDay = (s: string | undefined): number | undefined => {
  const m = s === undefined ? null : TOD.exec(s);
  if (!m) return undefined;
  const h = Number(m[1]), min = Number(m[2]), sec = Number(m[3]);
  if (h > 23 || min > 59 || sec > 59) return undefined;
  const frac = m[4] ? Number(`0.${m[4]}`) * 1000 : 0;
  return h * 3_600_000 + min * 60_000 + sec * 1000 + frac;
};

export const DAY_MS = 86_400_000;
const HALF_DAY_MS = DAY_MS / 2;

/** Date used when neither the option nor the file name gives one. */
export const DEFAULT_DATE = '1970-01-01';

/** `YYYY-MM-DD` → epoch ms of its UTC midnight; throws `config_invalid` on anything else. */
export const dateToEpoch = (date: string): number => {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  const ms = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : NaN;
  if (!m || Number.isNaN(ms) || new Date(ms).getUTCDate() !== Number(m[3])) {
    throw new PipelineError('config_invalid', `date "${date}" is not a calendar date; write YYYY-MM-DD, e.g. 2018-12-14.`, { date });
  }
  return ms;
};

/** A `DD-MM-YY` date in a file name (`mega104-14-12-18.csv` → `2018-12-14`), or undefined. */
export const dateFromFileName = (path: string): string | undefined => {
  const m = /(?:^|\D)(\d{2})-(\d{2})-(\d{2})(?:\D|$)/.exec(basename(path));
  if (!m) return undefined;
  const [d, mo] = [Number(m[1]), Number(m[2])];
  if (d < 1 || d > 31 || mo < 1 || mo > 12) return undefined;
  return `20${m[3]}-${m[2]}-${m[1]}`;
};

/** The capture date: the option, else a date in the file name, else `DEFAULT_DATE`. */
export const resolveDate = (path: string, date?: string): string => date ?? dateFromFileName(path) ?? DEFAULT_DATE;

/**
 * Event time of message records that carry a time of day (no date) and seconds since capture start.
 *
 * `Relative Time` is the clock: it has µs–ns resolution and is monotonic in every shared file,
 * while `TimeStamp` is truncated to 10 ms in the IEC 104 files. The first row anchors it:
 * `epoch = date + TimeStamp₀ − Relative₀ + Relative`. `TimeStamp` then cross-checks every row,
 * with a day added whenever it steps back by more than 12 h (midnight); when the two disagree by
 * more than 1 s (relative time reset, spliced captures) the clock re-anchors on `TimeStamp`.
 * Without a `Relative Time` the (rolled-over) `TimeStamp` alone is used.
 */
export class CaptureClock {
  private dayOffset = 0;
  private lastTod: number | undefined;
  private anchor: number | undefined;

  constructor(private readonly midnight: number, private readonly stats: FileStats) {}

  /** Epoch ms for one row; `tod` ms since midnight, `rel` seconds (or undefined). */
  at(tod: number, rel: number | undefined): number {
    if (this.lastTod !== undefined && tod < this.lastTod - HALF_DAY_MS) this.dayOffset += DAY_MS;
    this.lastTod = tod;
    const wall = this.midnight + this.dayOffset + tod;
    if (rel === undefined) return wall;
    const relMs = rel * 1000;
    if (this.anchor === undefined) this.anchor = wall - relMs;
    else if (Math.abs(this.anchor + relMs - wall) > 1000) {
      this.anchor = wall - relMs;
      this.stats.reanchors += 1;
    }
    return this.anchor + relMs;
  }
}
