/**
 * Any flow CSV, read through a mapping (`--mapping mapping.yaml`): which column holds which
 * FlowRecord field, how times are written, the delimiter, whether there is a header line.
 * The README has the field table and an example.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { basename } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { orient, senderIsClientByFlags } from '../direction.ts';
import { MAX_YAML_ALIASES } from '../../core/config.ts';
import { PipelineError } from '../../core/errors.ts';
import { flowId, type FlowRecord } from '../../core/records.ts';
import { cleanHeader, countBadRow, hasLongField, readLines, splitCsv, warnBadRows, type FileStats, type ReaderOptions } from './csv.ts';
import { nfdumpFlags, nfdumpProto } from './nfdump-csv.ts';
import { ReorderQueue, type ReorderOptions } from './reorder.ts';

const column = z.union([z.string().min(1), z.number().int().min(0)])
  .describe('Header name of the column, or its 0-based index (required when header is false).');

export const CsvMapping = z.object({
  delimiter: z.string().length(1).default(',').describe('Field separator, one character: "," ";" "\\t" "|".'),
  header: z.boolean().default(true).describe('Whether the first non-empty line names the columns.'),
  time: z.enum(['epoch_s', 'epoch_ms', 'iso']).default('epoch_s')
    .describe('How times are written: epoch seconds (fraction allowed), epoch milliseconds, or ISO 8601 (no zone = UTC).'),
  exporter: z.string().optional().describe('Exporter name for every record; default the file name (overridden by an exporter column).'),
  columns: z.object({
    tsStart: column.describe('Flow start time (required).'),
    tsEnd: column.optional().describe('Flow end time; or give duration; neither = a point in time.'),
    duration: column.optional().describe('Flow duration in seconds (fraction allowed), used when tsEnd is not mapped.'),
    srcIp: column.describe('Initiator address (required).'),
    srcPort: column.optional().describe('Initiator port; 0 when not mapped.'),
    dstIp: column.describe('Responder address (required).'),
    dstPort: column.optional().describe('Responder port; 0 when not mapped.'),
    proto: column.optional().describe('IP protocol, number or name (TCP, udp…); 6 when not mapped.'),
    packets: column.optional().describe('Packets initiator → responder; 0 when not mapped.'),
    bytes: column.optional().describe('Bytes initiator → responder; 0 when not mapped.'),
    packetsRev: column.optional().describe('Packets responder → initiator; 0 when not mapped.'),
    bytesRev: column.optional().describe('Bytes responder → initiator; 0 when not mapped.'),
    tcpFlags: column.optional().describe('TCP flags: a number, 0x.. hex, or letters like ".AP.SF"; 0 when not mapped.'),
    l7: column.optional().describe('Application protocol name (modbus, dnp3…); left out when empty.'),
    exporter: column.optional().describe('Exporter per row.'),
  }).strict().describe('Column of each FlowRecord field.'),
}).strict().superRefine((m, ctx) => {
  if (m.header) return;
  for (const [field, c] of Object.entries(m.columns)) {
    if (typeof c === 'string') {
      ctx.addIssue({ code: 'custom', path: ['columns', field],
        message: `columns.${field} is "${c}", a header name, but header is false; give its 0-based index instead.` });
    }
  }
});
export type CsvMapping = z.output<typeof CsvMapping>;

/** Parses a mapping (YAML or JSON text); `config_invalid` naming the file and the field at fault. */
export const parseCsvMapping = (text: string, source = 'mapping'): CsvMapping => {
  let raw: unknown;
  try {
    raw = parseYaml(text, { maxAliasCount: MAX_YAML_ALIASES });
  } catch (e) {
    const bomb = /alias/i.test((e as Error).message) ? ` (more than ${MAX_YAML_ALIASES} alias expansions: a YAML alias bomb?)` : '';
    throw new PipelineError('config_invalid', `${source}: not valid YAML: ${(e as Error).message.split('\n')[0]}${bomb}`, { file: source }, { cause: e });
  }
  const r = CsvMapping.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const field = issue.path.join('.') || '(top level)';
    throw new PipelineError('config_invalid', `${source}: ${field}: ${issue.message}`, { file: source, field, issues: r.error.issues });
  }
  return r.data;
};

/** Reads and parses a mapping file. */
export const loadCsvMapping = (path: string): CsvMapping => {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new PipelineError('config_invalid', `Cannot read mapping ${path}: ${(e as NodeJS.ErrnoException).code ?? e}.`, { file: path }, { cause: e });
  }
  return parseCsvMapping(text, path);
};

const NUMBER = /^\d+(\.\d+)?$/;

/** A time cell → epoch ms, or undefined. */
export const mappedTime = (s: string, format: CsvMapping['time']): number | undefined => {
  const t = s.trim();
  if (format === 'iso') {
    if (!/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/.test(t)) return undefined;
    const zoned = /(Z|[+-]\d{2}:?\d{2})$/.test(t) ? t : `${t.replace(' ', 'T')}Z`;
    const ms = Date.parse(zoned);
    return Number.isNaN(ms) ? undefined : ms;
  }
  if (!NUMBER.test(t)) return undefined;
  return format === 'epoch_s' ? Math.floor(Number(t) * 1000) : Math.floor(Number(t));
};

type Columns = CsvMapping['columns'];
type Resolved = { [K in keyof Columns]-?: number | undefined };

/** Column names → indexes; `config_invalid` naming the field whose column is not in the header. */
const resolve = (m: CsvMapping, header: string[] | undefined, path: string): Resolved => {
  const out: Record<string, number | undefined> = {};
  for (const [field, c] of Object.entries(m.columns) as [string, string | number | undefined][]) {
    if (c === undefined) { out[field] = undefined; continue; }
    if (typeof c === 'number') { out[field] = c; continue; }
    const i = header!.indexOf(c);
    if (i < 0) {
      throw new PipelineError('config_invalid',
        `mapping: columns.${field} names column "${c}", which ${basename(path)} does not have; its header has: ${header!.join(', ').slice(0, 300)}.`,
        { field: `columns.${field}`, column: c, file: path });
    }
    out[field] = i;
  }
  return out as Resolved;
};

const uint = (s: string | undefined): number | undefined => (s === undefined || s.trim() === '' ? 0 : /^\d+$/.test(s.trim()) ? Number(s.trim()) : undefined);

/** One row → a record or a bad-row reason. */
export const mappedRecord = (f: string[], c: Resolved, m: CsvMapping, exporter: string): FlowRecord | string => {
  const get = (i: number | undefined): string | undefined => (i === undefined ? undefined : f[i]?.trim());
  const ts = mappedTime(get(c.tsStart) ?? '', m.time);
  if (ts === undefined) return 'bad_time';
  let end = ts;
  if (c.tsEnd !== undefined) {
    const e = mappedTime(get(c.tsEnd) ?? '', m.time);
    if (e === undefined) return 'bad_time';
    end = e;
  } else if (c.duration !== undefined) {
    const d = get(c.duration) ?? '';
    if (!NUMBER.test(d)) return 'bad_time';
    end = ts + Math.round(Number(d) * 1000);
  }
  const src = get(c.srcIp) ?? '', dst = get(c.dstIp) ?? '';
  if (isIP(src) === 0 || isIP(dst) === 0) return 'bad_address';
  const sp = uint(get(c.srcPort)), dp = uint(get(c.dstPort));
  if (sp === undefined || dp === undefined || sp > 65_535 || dp > 65_535) return 'bad_port';
  const protoText = get(c.proto);
  const proto = protoText === undefined || protoText === '' ? 6 : nfdumpProto(protoText);
  if (proto === undefined) return 'bad_proto';
  const [packets, bytes, packetsRev, bytesRev] = [c.packets, c.bytes, c.packetsRev, c.bytesRev].map((i) => uint(get(i)));
  if (packets === undefined || bytes === undefined || packetsRev === undefined || bytesRev === undefined) return 'bad_number';
  const flagText = get(c.tcpFlags);
  const flags = flagText === undefined || flagText === '' ? 0 : /^\d+$/.test(flagText) ? Number(flagText) & 0xff : nfdumpFlags(flagText);
  if (flags === undefined) return 'bad_flags';
  const rec: FlowRecord = {
    id: '', tsStart: ts, tsEnd: end, srcIp: src, srcPort: sp, dstIp: dst, dstPort: dp, proto,
    packets, bytes, packetsRev, bytesRev, tcpFlags: proto === 6 ? flags : 0,
    exporter: get(c.exporter) || exporter, observationDomain: 0, source: 'file',
  };
  const l7 = get(c.l7);
  if (l7) rec.l7 = l7.toLowerCase();
  // Unless the flags show the client's SYN, the port rule decides who is the client (ingest/direction.ts).
  if (!senderIsClientByFlags(proto, rec.tcpFlags)) orient(rec);
  return rec;
};

export type GenericCsvOptions = ReorderOptions & Pick<ReaderOptions, 'events' | 'log'>;

/**
 * Streams a CSV through `mapping` as FlowRecord batches in event-time order. A header missing a
 * mapped column throws `config_invalid` naming the field; bad rows are counted per reason in
 * `stats.badRows` (`column_count`, `bad_time`, `bad_address`, `bad_port`, `bad_proto`,
 * `bad_number`, `bad_flags`) and skipped.
 */
export async function* readGenericCsv(path: string, mapping: CsvMapping, opts: GenericCsvOptions = {}, stats: FileStats): AsyncGenerator<FlowRecord[]> {
  const exporter = mapping.exporter ?? basename(path);
  const queue = new ReorderQueue(opts, stats);
  let cols: Resolved | undefined = mapping.header ? undefined : resolve(mapping, undefined, path);
  const need = (): number => Math.max(...Object.values(cols!).filter((i): i is number => i !== undefined)) + 1;
  let minColumns = cols ? need() : 0;
  let lineNo = 0;
  for await (const line of readLines(path, stats)) {
    lineNo += 1;
    if (line.trim() === '') continue;
    if (!cols) {
      cols = resolve(mapping, splitCsv(cleanHeader(line), mapping.delimiter).map((h) => h.trim()), path);
      minColumns = need();
      continue;
    }
    stats.rows += 1;
    const f = splitCsv(line, mapping.delimiter);
    if (f.length < minColumns) { countBadRow(stats, 'column_count', lineNo, line, opts.events); continue; }
    if (hasLongField(f)) { countBadRow(stats, 'field_too_long', lineNo, line, opts.events); continue; }
    const r = mappedRecord(f, cols, mapping, exporter);
    if (typeof r === 'string') { countBadRow(stats, r, lineNo, line, opts.events); continue; }
    r.id = flowId('csv', basename(path), lineNo);
    const out = queue.push(r, `${String(lineNo).padStart(12, '0')}`);
    if (out) { stats.records += out.length; yield out; }
  }
  const rest = queue.flush();
  if (rest.length > 0) { stats.records += rest.length; yield rest; }
  warnBadRows(stats, opts.log);
}
