/**
 * nfdump CSV (`nfdump -r FILE -o csv`, nfdump 1.6/1.7) → FlowRecords, one per row.
 *
 * Layout as written by nfdump 1.7.1 (Debian bookworm):
 *
 *   ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,opkt,obyt,in,out,sas,das,…,ra,eng,exid,tr   header
 *   2024-03-01 10:00:00,2024-03-01 10:00:59,59.500,10.0.1.10,10.0.2.20,50210,502,TCP,...AP.SF,…    one row per flow
 *   Summary                                                                                      trailer:
 *   flows,bytes,packets,avg_bps,avg_pps,avg_bpp                                                  summary header
 *   729,153611,3315,6467,17,46                                                                   summary values
 *
 *   column  FlowRecord        notes
 *   ts      tsStart           `YYYY-MM-DD HH:MM:SS[.mmm]` in the zone nfdump ran in; read as UTC
 *                             (run nfdump with TZ=UTC). 1.7.1 prints whole seconds only.
 *   td      tsEnd = ts + td   duration in s with ms; `te` is only used when `td` is missing
 *   sa/sp   srcIp/srcPort     as exported: NetFlow records are unidirectional, src is the sender
 *   da/dp   dstIp/dstPort     ICMP: nfdump writes `type.code` in dp → dstPort type << 8 | code
 *   pr      proto             TCP/UDP/ICMP/… name or number
 *   flg     tcpFlags          `...AP.SF` (8 places CEUAPRSF, or 6 UAPRSF): each letter sets its bit
 *   ipkt    packets
 *   ibyt    bytes
 *   ra      exporter          the exporter address nfcapd received from (else the file name)
 *   —       packetsRev/bytesRev  0: unidirectional records (`opkt`/`obyt` are NSEL output counters, not a reverse direction)
 *
 * Columns are found by name, so extra or missing optional columns do not matter; the required
 * ones are ts, sa, da, sp, dp, pr, ipkt, ibyt and td or te. Rows come in nfdump's order (by file,
 * not by time), so they pass through the reorder buffer of the Zeek reader with the same rules:
 * released `reorderMs` behind the latest end time, late ones emitted and counted in `stats.late`.
 */
import { isIP } from 'node:net';
import { basename } from 'node:path';
import { orient, senderIsClientByFlags } from '../direction.ts';
import { PipelineError } from '../../core/errors.ts';
import { PROTO_NAMES, flowId, type FlowRecord } from '../../core/records.ts';
import { cleanHeader, countBadRow, hasLongField, readLines, splitCsv, warnBadRows, type FileStats, type ReaderOptions } from './csv.ts';
import { ReorderQueue, type ReorderOptions } from './reorder.ts';

/** Columns that must be in the header. */
export const NFDUMP_REQUIRED = ['ts', 'sa', 'da', 'sp', 'dp', 'pr', 'ipkt', 'ibyt'] as const;

/** True for a header line nfdump's csv output starts with. */
export const isNfdumpHeader = (line: string): boolean => {
  const cols = cleanHeader(line).split(',');
  return cols[0] === 'ts' && NFDUMP_REQUIRED.every((c) => cols.includes(c)) && (cols.includes('td') || cols.includes('te'));
};

const PROTO_BY_NAME: ReadonlyMap<string, number> = new Map([
  ...Object.entries(PROTO_NAMES).map(([n, name]) => [name.toUpperCase(), Number(n)] as [string, number]),
  ['IPV6-ICMP', 58], ['ICMP6', 58], ['GRE', 47], ['ESP', 50], ['AH', 51], ['IGMP', 2], ['OSPF', 89], ['PIM', 103],
]);

/** `TCP`, `6` → 6; undefined for an unknown name. */
export const nfdumpProto = (s: string): number | undefined => {
  const t = s.trim();
  if (/^\d+$/.test(t)) return Number(t) <= 255 ? Number(t) : undefined;
  return PROTO_BY_NAME.get(t.toUpperCase());
};

const FLAG_BITS: Readonly<Record<string, number>> = { F: 0x01, S: 0x02, R: 0x04, P: 0x08, A: 0x10, U: 0x20, E: 0x40, C: 0x80 };

/** `...AP.SF` → 0x1b; a `0x..` hex value as is; undefined for anything else. */
export const nfdumpFlags = (s: string): number | undefined => {
  const t = s.trim();
  if (t === '' || t === '0') return 0;
  if (/^0x[0-9a-fA-F]{1,2}$/.test(t)) return parseInt(t.slice(2), 16);
  let f = 0;
  for (const ch of t) {
    if (ch === '.') continue;
    const bit = FLAG_BITS[ch];
    if (bit === undefined) return undefined;
    f |= bit;
  }
  return f;
};

const TIME = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?$/;

/** `2024-03-01 10:00:00[.123]` → epoch ms (UTC); undefined otherwise. */
export const nfdumpTime = (s: string): number | undefined => {
  const m = TIME.exec(s.trim());
  if (!m) return undefined;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  if (Number.isNaN(ms)) return undefined;
  return ms + (m[7] ? Math.floor(Number(`0.${m[7]}`) * 1000) : 0);
};

const uint = (s: string | undefined): number | undefined => (s !== undefined && /^\d+$/.test(s.trim()) ? Number(s.trim()) : undefined);

/** `502` → 502; ICMP `8.0` → 8 << 8 | 0. */
const nfPort = (s: string | undefined): number | undefined => {
  if (s === undefined) return undefined;
  const t = s.trim();
  const icmp = /^(\d{1,3})\.(\d{1,3})$/.exec(t);
  if (icmp) return (Number(icmp[1]) << 8) | Number(icmp[2]);
  const n = uint(t);
  return n !== undefined && n <= 65_535 ? n : undefined;
};

/** Options of the nfdump CSV reader. */
export type NfdumpOptions = ReorderOptions & Pick<ReaderOptions, 'events' | 'log'>;

/** One row (split) → a record, or a bad-row reason. `col` maps column name → index. */
export const nfdumpRecord = (f: string[], col: ReadonlyMap<string, number>, exporter: string): FlowRecord | string => {
  const get = (name: string): string | undefined => { const i = col.get(name); return i === undefined ? undefined : f[i]; };
  const ts = nfdumpTime(get('ts') ?? '');
  if (ts === undefined) return 'bad_time';
  const tdText = get('td');
  let end: number | undefined;
  if (tdText !== undefined && /^\s*\d+(\.\d+)?\s*$/.test(tdText)) end = ts + Math.round(Number(tdText) * 1000);
  else if (tdText === undefined) end = nfdumpTime(get('te') ?? '');
  if (end === undefined) return 'bad_time';
  const sa = (get('sa') ?? '').trim(), da = (get('da') ?? '').trim();
  if (isIP(sa) === 0 || isIP(da) === 0) return 'bad_address';
  const proto = nfdumpProto(get('pr') ?? '');
  if (proto === undefined) return 'bad_proto';
  let sp = nfPort(get('sp'));
  const dp = nfPort(get('dp'));
  if (sp === undefined || dp === undefined) return 'bad_port';
  if ((proto === 1 || proto === 58) && /\./.test(get('dp') ?? '')) sp = 0;
  const packets = uint(get('ipkt')), bytes = uint(get('ibyt'));
  if (packets === undefined || bytes === undefined) return 'bad_number';
  const flg = get('flg');
  const flags = flg === undefined ? 0 : nfdumpFlags(flg);
  if (flags === undefined) return 'bad_flags';
  const ra = (get('ra') ?? '').trim();
  const rec: FlowRecord = {
    id: '', tsStart: ts, tsEnd: end, srcIp: sa, srcPort: sp, dstIp: da, dstPort: dp, proto,
    packets, bytes, packetsRev: 0, bytesRev: 0,
    tcpFlags: proto === 6 ? flags : 0,
    exporter: isIP(ra) !== 0 && ra !== '0.0.0.0' ? ra : exporter,
    observationDomain: 0, source: 'file',
  };
  // Exported flows are unidirectional: unless the flags show the client's SYN, the port rule decides (ingest/direction.ts).
  if (!senderIsClientByFlags(proto, rec.tcpFlags)) orient(rec);
  return rec;
};

/**
 * Streams an nfdump CSV as FlowRecord batches in event-time order. A first line that is not an
 * nfdump csv header throws `input_invalid`; the `Summary` trailer ends the data; bad rows are
 * counted in `stats.badRows` (`column_count`, `bad_time`, `bad_address`, `bad_port`, `bad_proto`,
 * `bad_number`, `bad_flags`, `late`… see the README) and skipped.
 */
export async function* readNfdumpCsv(path: string, opts: NfdumpOptions = {}, stats: FileStats): AsyncGenerator<FlowRecord[]> {
  const exporter = basename(path);
  const queue = new ReorderQueue(opts, stats);
  let col: Map<string, number> | undefined;
  let columns = 0;
  let lineNo = 0;
  let summary = false;
  for await (const line of readLines(path, stats)) {
    lineNo += 1;
    if (!col) {
      if (cleanHeader(line) === '') continue;
      if (!isNfdumpHeader(line)) {
        throw new PipelineError('input_invalid',
          `${exporter}: not an nfdump CSV: first line "${cleanHeader(line).slice(0, 120)}"; expected the header of \`nfdump -o csv\` (ts,te,td,sa,da,sp,dp,pr,flg,…).`,
          { file: path });
      }
      const names = cleanHeader(line).split(',');
      col = new Map(names.map((n, i) => [n, i]));
      columns = names.length;
      continue;
    }
    if (summary || line.trim() === '') continue;
    // nfdump ends the rows with "Summary", a summary header and its values (and 1.6 with "No matched flows").
    if (line.startsWith('Summary') || line.startsWith('No matched flows')) { summary = true; continue; }
    stats.rows += 1;
    const f = splitCsv(line, ',');
    if (f.length !== columns) { countBadRow(stats, 'column_count', lineNo, line, opts.events); continue; }
    if (hasLongField(f)) { countBadRow(stats, 'field_too_long', lineNo, line, opts.events); continue; }
    const r = nfdumpRecord(f, col, exporter);
    if (typeof r === 'string') { countBadRow(stats, r, lineNo, line, opts.events); continue; }
    r.id = flowId('nfdump', exporter, lineNo);
    const out = queue.push(r, `${r.srcIp}|${r.srcPort}|${r.dstIp}|${r.dstPort}|${r.proto}|${lineNo}`);
    if (out) { stats.records += out.length; yield out; }
  }
  if (!col) throw new PipelineError('input_invalid', `${exporter}: empty file; expected the header of \`nfdump -o csv\`.`, { file: path });
  const rest = queue.flush();
  if (rest.length > 0) { stats.records += rest.length; yield rest; }
  warnBadRows(stats, opts.log);
}
