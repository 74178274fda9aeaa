/**
 * Zeek log files, either writer, as rows of named string fields.
 *
 * ASCII (TSV) writer — the default (Zeek `LogAscii`):
 *
 *   #separator \x09            field separator, written as a \x escape; always a tab in practice
 *   #set_separator	,           between the elements of set[...] / vector[...] fields
 *   #empty_field	(empty)      an empty set, vector or string
 *   #unset_field	-            a field with no value
 *   #path	conn                 the log stream
 *   #open	2024-03-01-10-00-00
 *   #fields	ts	uid	id.orig_h …   column names (records flattened with dots)
 *   #types	time	string	addr …  column types
 *   <rows>                      one line per log entry; a tab/newline inside a value is written as \x09/\x0a
 *   #close	2024-03-01-11-00-00  written when the file is rotated or Zeek stops
 *
 * A header may appear again mid-file (logs concatenated with `cat`); each `#fields` line starts a
 * new layout. JSON writer (`LogAscii::use_json=T`): one object per line with the same flattened
 * names (`"id.orig_h"`); `ts` is an epoch float by default, an ISO 8601 string with
 * `JSON::TS_ISO8601`. Unset fields are left out of the object.
 *
 * Either file may be gzip-compressed (rotated logs usually are): see `readLines`.
 */
import { countBadRow, hasLongField, headText, readLines, type FileStats } from './csv.ts';
import type { UnitEvents } from '../../core/telemetry.ts';

/** One log entry: field name → text. Unset fields are absent; `(empty)` reads as ''. Booleans are `T`/`F`. */
export type ZeekRow = Readonly<Record<string, string>>;

/** What a log file looks like, judged by its first bytes. */
export type ZeekFormat = 'tsv' | 'json';

/**
 * The writer format of a Zeek log, from its first line (gunzipped if needed): `#separator` → TSV,
 * a JSON object with `ts` and `uid` or `id.orig_h` → JSON; undefined otherwise.
 */
export const sniffZeekFormat = (path: string): ZeekFormat | undefined => {
  const head = headText(path, 8192);
  if (head === undefined) return undefined;
  const line = (head.replace(/^\uFEFF/, '').split('\n', 1)[0] ?? '').trim();
  if (line.startsWith('#separator')) return 'tsv';
  if (line.startsWith('{') && /"ts"\s*:/.test(line) && (/"uid"\s*:/.test(line) || /"id\.orig_h"\s*:/.test(line))) return 'json';
  return undefined;
};

/** The `#path` of a TSV log (e.g. `conn`), or undefined (JSON logs carry none). */
export const zeekLogPath = (path: string): string | undefined => {
  const head = headText(path, 8192);
  const m = head === undefined ? null : /^#path\t([^\t\r\n]+)/m.exec(head);
  return m ? m[1] : undefined;
};

const HEX_ESCAPE = /\\x([0-9a-fA-F]{2})/g;

/** Undoes Zeek's `\xHH` escaping of separators and non-printables. */
const unescape = (s: string): string => (s.includes('\\x') ? s.replace(HEX_ESCAPE, (_, h: string) => String.fromCharCode(parseInt(h, 16))) : s);

interface TsvLayout {
  sep: string;
  setSep: string;
  empty: string;
  unset: string;
  fields: string[];
}

/** JSON values flattened to the TSV text form: numbers as written, booleans T/F, arrays joined by ','. */
const jsonText = (v: unknown): string | undefined => {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  if (typeof v === 'boolean') return v ? 'T' : 'F';
  if (Array.isArray(v)) return v.map((x) => jsonText(x) ?? '').join(',');
  return JSON.stringify(v);
};

/** Flattens nested objects (`{"id": {"orig_h": …}}`, written by some shippers) into dotted names. */
const flatten = (o: Record<string, unknown>, prefix: string, into: Record<string, string>): void => {
  for (const [k, v] of Object.entries(o)) {
    const name = prefix + k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) flatten(v as Record<string, unknown>, `${name}.`, into);
    else {
      const t = jsonText(v);
      if (t !== undefined) into[name] = t;
    }
  }
};

/**
 * Streams the rows of one Zeek log (TSV or JSON, gzip or not). Lines that cannot be read are
 * counted in `stats.badRows` (`zeek_bad_json`, `zeek_column_count`, `zeek_no_header`) and skipped;
 * `stats.rows` counts data lines. Unknown format → yields nothing (the caller sniffs first).
 */
export async function* readZeekRows(path: string, stats: FileStats, events?: UnitEvents): AsyncGenerator<ZeekRow> {
  let layout: TsvLayout | undefined;
  let pending: Partial<TsvLayout> = { sep: '\t', setSep: ',', empty: '(empty)', unset: '-' };
  let lineNo = 0;
  for await (const line of readLines(path, stats)) {
    lineNo += 1;
    if (line.length === 0) continue;
    if (line.charCodeAt(0) === 35 /* # */) {
      const next = headerLine(line, pending);
      if (next === 'fields') layout = pending as TsvLayout;
      else if (next === 'new') { pending = { ...pending }; }
      continue;
    }
    stats.rows += 1;
    if (line.charCodeAt(0) === 123 /* { */) {
      let o: unknown;
      try {
        o = JSON.parse(line);
      } catch {
        countBadRow(stats, 'zeek_bad_json', lineNo, line, events);
        continue;
      }
      if (o === null || typeof o !== 'object' || Array.isArray(o)) { countBadRow(stats, 'zeek_bad_json', lineNo, line, events); continue; }
      const row: Record<string, string> = {};
      flatten(o as Record<string, unknown>, '', row);
      if (hasLongField(Object.values(row))) { countBadRow(stats, 'field_too_long', lineNo, line, events); continue; }
      yield row;
      continue;
    }
    if (!layout) { countBadRow(stats, 'zeek_no_header', lineNo, line, events); continue; }
    const values = line.split(layout.sep);
    if (values.length !== layout.fields.length) { countBadRow(stats, 'zeek_column_count', lineNo, line, events); continue; }
    if (hasLongField(values)) { countBadRow(stats, 'field_too_long', lineNo, line, events); continue; }
    const row: Record<string, string> = {};
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (v === layout.unset) continue;
      row[layout.fields[i]!] = v === layout.empty ? '' : unescape(v);
    }
    yield row;
  }
}

/**
 * Applies one `#…` header line to the layout being built. Returns 'fields' when the layout is
 * complete (a `#fields` line), 'new' when a `#separator` line starts another header block.
 */
const headerLine = (line: string, l: Partial<TsvLayout>): 'fields' | 'new' | undefined => {
  if (line.startsWith('#separator ')) {
    l.sep = unescape(line.slice(11).trim()) || '\t';
    return 'new';
  }
  const sep = l.sep ?? '\t';
  const cut = line.indexOf(sep);
  if (cut < 0) return undefined;
  const key = line.slice(1, cut);
  const value = line.slice(cut + sep.length);
  if (key === 'set_separator') l.setSep = unescape(value);
  else if (key === 'empty_field') l.empty = value;
  else if (key === 'unset_field') l.unset = value;
  else if (key === 'fields') {
    l.fields = value.split(sep);
    return 'fields';
  }
  return undefined;
};

/** Zeek `ts`: epoch seconds (`1546300800.123456`) or ISO 8601 → epoch ms (µs kept as a fraction); undefined if neither. */
export const zeekTime = (s: string | undefined): number | undefined => {
  if (s === undefined || s === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s) * 1000;
  if (/^\d{4}-\d{2}-\d{2}T/.test(s)) {
    const ms = Date.parse(s);
    return Number.isNaN(ms) ? undefined : ms;
  }
  return undefined;
};
