/**
 * Zeek `conn.log` (TSV or JSON, plain or gzip) → FlowRecords, one per connection, with the
 * operations of the Zeek / ICSNPP protocol logs beside it joined in by connection `uid`.
 *
 * conn.log fields used (Zeek `Conn::Info`):
 *
 *   field            FlowRecord                 notes
 *   ts               tsStart                    first packet, epoch s (µs); floored to ms
 *   duration         tsEnd = ts + duration      unset (single packet) → tsEnd = tsStart
 *   uid              join key                   protocol-log rows with the same uid
 *   id.orig_h/p      srcIp/srcPort              Zeek's originator = the initiator (client), unless
 *   id.resp_h/p      dstIp/dstPort              no handshake says so (see `connDirection`)
 *   proto            proto                      tcp 6, udp 17, icmp 1 (58 for an IPv6 address);
 *                                               unknown_transport → `ip_proto` (Zeek ≥ 7) or 0
 *   orig_pkts/orig_ip_bytes  packets/bytes      IP-level, like NetFlow; unset → 0
 *   resp_pkts/resp_ip_bytes  packetsRev/bytesRev
 *   history, conn_state      tcpFlags           best effort, see `historyFlags`
 *   service          l7                         first OT protocol named, else its first entry
 *
 * Direction (`connDirection`, rule of ingest/direction.ts): a history with `^` means Zeek flipped the
 * connection by its own rule — followed, noted `direction_flipped`; an originator SYN (`S` in the
 * history, or a conn_state that implies it: S0 S1 SF REJ S2 S3 RSTO RSTR SH RSTOS0) or a responder
 * SYN+ACK without one (RSTRH, SHR) is a handshake — kept, no note; the originator sending the SYN+ACK
 * (`H` without `S`) makes it the server — swapped, no note; anything else (OTH, a history with no
 * S/H such as `DdA`, UDP) is decided by the port rule — swapped when the originator is on the service
 * port, noted `direction_port` / `direction_lower_port`. A swap swaps packets/bytes and the joined
 * protocol-log operations (and takes the responder's cadence as the initiator's).
 *
 * ICMP: Zeek puts the ICMP type in `id.orig_p` and the code in `id.resp_p`; like the NetFlow
 * decoders the record gets srcPort 0, dstPort = type << 8 | code.
 *
 * Order: Zeek writes a connection when it ENDS, with `ts` = its START. Records pass through the
 * reorder buffer of `reorder.ts` (default 10 min, above Zeek's 5 min TCP inactivity timeout). A
 * connection that lasts longer than that may arrive after later-starting ones were emitted: it is
 * emitted anyway, as ONE record with its true span (splitting it into slices would invent a
 * timing Zeek never saw), and counted in `stats.late`; windows see it at its start. Memory: the
 * buffer, plus one entry per connection uid seen in the protocol logs (at most `maxJoin`).
 */
import { readdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { isIP } from 'node:net';
import { PipelineError } from '../../core/errors.ts';
import { flowId, type FlowRecord } from '../../core/records.ts';
import { addNote, orient, swapSides } from '../direction.ts';
import { countBadRow, warnBadRows, type FileStats, type ReaderOptions } from './csv.ts';
import { readZeekRows, sniffZeekFormat, zeekTime, type ZeekRow } from './zeek-log.ts';
import { ReorderQueue, type ReorderOptions } from './reorder.ts';
import { addEvents, newConnL7, PROTOCOL_LOGS, serviceL7, type ConnL7, type ProtocolLog } from './zeek-ops.ts';

/** Options of the Zeek reader. `sliceMs` and `date` are ignored: a conn.log row is one record. */
export interface ZeekOptions extends ReaderOptions, ReorderOptions {
  /** Most connection uids held from the protocol logs; rows of further uids are counted (`zeek_join_full`) and skipped. Default 1000000. */
  maxJoin?: number;
  /** Read the protocol logs beside the conn logs. Default true. */
  join?: boolean;
}

export const ZEEK_DEFAULTS = { maxJoin: 1_000_000 } as const;

const LOG_NAME = /^([a-z0-9_]+)((?:\.[^/]*)?)\.(log|json)(\.gz)?$/;

/** A directory's logs: the conn logs in name order (rotations sort by their time stamps) and the protocol logs by stream. */
export interface ZeekGroup {
  dir: string;
  conn: string[];
  protocol: Map<string, string[]>;
}

const byName = (a: string, b: string): number => {
  // The live `conn.log` comes after its rotated siblings (`conn.2024-…log.gz`).
  const live = (s: string): boolean => /^[a-z0-9_]+\.(log|json)(\.gz)?$/.test(basename(s));
  if (live(a) !== live(b)) return live(a) ? 1 : -1;
  return a < b ? -1 : a > b ? 1 : 0;
};

/** The logs of one directory (no recursion). */
const scanDir = (dir: string): ZeekGroup => {
  const g: ZeekGroup = { dir, conn: [], protocol: new Map() };
  for (const name of readdirSync(dir).sort()) {
    const m = LOG_NAME.exec(name);
    if (!m) continue;
    const full = join(dir, name);
    if (m[1] === 'conn') g.conn.push(full);
    else if (PROTOCOL_LOGS.some((p) => p.name === m[1])) {
      const list = g.protocol.get(m[1]!) ?? [];
      list.push(full);
      g.protocol.set(m[1]!, list);
    }
  }
  g.conn.sort(byName);
  return g;
};

/**
 * What a Zeek input holds: a conn log file (with the protocol logs of the same rotation beside
 * it), a log directory, or a directory of daily directories (zeekctl's `logs/2024-03-01/…`, read
 * in name order). Empty when there is no conn log.
 */
export const zeekGroups = (path: string): ZeekGroup[] => {
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch (e) {
    throw new PipelineError('input_invalid', `Cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? e}.`, { file: path }, { cause: e });
  }
  if (!isDir) {
    const dir = dirname(path);
    const m = LOG_NAME.exec(basename(path));
    const all = scanDir(dir);
    // Only the protocol logs of the same rotation (`modbus.<suffix>.log.gz` beside `conn.<suffix>.log.gz`).
    const suffix = m ? m[2] : undefined;
    const protocol = new Map<string, string[]>();
    for (const [name, files] of all.protocol) {
      const same = files.filter((f) => LOG_NAME.exec(basename(f))?.[2] === suffix);
      if (same.length > 0) protocol.set(name, same);
    }
    return [{ dir, conn: [path], protocol }];
  }
  const top = scanDir(path);
  if (top.conn.length > 0) return [top];
  return readdirSync(path).sort()
    .map((n) => join(path, n))
    .filter((p) => { try { return statSync(p).isDirectory(); } catch { return false; } })
    .map(scanDir)
    .filter((g) => g.conn.length > 0);
};

/** True when `path` is a directory holding a conn log (directly or one level down). */
export const isZeekDir = (path: string): boolean => {
  try {
    return statSync(path).isDirectory() && zeekGroups(path).length > 0;
  } catch {
    return false;
  }
};

/** Reads the protocol logs of a group into uid → operations. */
const readJoin = async (g: ZeekGroup, stats: FileStats, opts: ZeekOptions): Promise<Map<string, ConnL7>> => {
  const joined = new Map<string, ConnL7>();
  const maxJoin = opts.maxJoin ?? ZEEK_DEFAULTS.maxJoin;
  for (const spec of PROTOCOL_LOGS) {
    if (spec.unlessPresent !== undefined && g.protocol.has(spec.unlessPresent)) continue;
    for (const file of g.protocol.get(spec.name) ?? []) await joinFile(file, spec, joined, maxJoin, stats, opts);
  }
  return joined;
};

const joinFile = async (
  file: string, spec: ProtocolLog, joined: Map<string, ConnL7>, maxJoin: number, stats: FileStats, opts: ZeekOptions,
): Promise<void> => {
  if (sniffZeekFormat(file) === undefined) {
    countBadRow(stats, 'zeek_unreadable_log', 0, basename(file), opts.events);
    return;
  }
  // Protocol-log rows are not conn rows: count them apart so `stats.rows` stays the conn-log count.
  const side = { ...stats, rows: 0, bytesRead: 0, fileSize: 0 };
  let n = 0;
  for await (const row of readZeekRows(file, side, opts.events)) {
    n += 1;
    const uid = row.uid;
    if (uid === undefined) { countBadRow(stats, 'zeek_no_uid', n, `${basename(file)}`, opts.events); continue; }
    let c = joined.get(uid);
    if (!c) {
      if (joined.size >= maxJoin) { countBadRow(stats, 'zeek_join_full', n, basename(file), opts.events); continue; }
      c = newConnL7(spec.l7);
      joined.set(uid, c);
    }
    // A row whose direction comes from `is_orig` is relative to Zeek's originator (swapped with the
    // record); one read by request/response (pdu_type, request_response) is already the client's.
    if (row.is_orig !== undefined && row.pdu_type === undefined && row.request_response === undefined) c.directional = true;
    addEvents(c, spec.decode(row, c.state), zeekTime(row.ts));
  }
};

const PROTO: Readonly<Record<string, number>> = { tcp: 6, udp: 17, icmp: 1 };

/** TCP flag bits. */
const FIN = 0x01, SYN = 0x02, RST = 0x04, ACK = 0x10;

/**
 * TCP flags from Zeek's `history` (either case: upper = originator, lower = responder):
 * S → SYN, H → SYN|ACK, A and D (data packets carry ACK) → ACK, F → FIN, R → RST. Without a
 * history, from `conn_state`: S0 SYN; S1, S2, S3, SF, SH(R) with the handshake SYN|ACK (+FIN when
 * closed); REJ SYN|RST; RSTO/RSTR/RSTRH SYN|ACK|RST; RSTOS0 SYN|RST; OTH 0. PSH, URG, ECE and CWR
 * are not in Zeek's history, so they are never set.
 */
export const historyFlags = (history: string | undefined, state: string | undefined): number => {
  if (history !== undefined && history !== '') {
    let f = 0;
    for (const ch of history.toLowerCase()) {
      if (ch === 's') f |= SYN;
      else if (ch === 'h') f |= SYN | ACK;
      else if (ch === 'a' || ch === 'd') f |= ACK;
      else if (ch === 'f') f |= FIN;
      else if (ch === 'r') f |= RST;
    }
    return f;
  }
  switch (state) {
    case 'S0': return SYN;
    case 'S1': return SYN | ACK;
    case 'S2': case 'S3': case 'SF': case 'SHR': return SYN | ACK | FIN;
    case 'SH': return SYN | FIN;
    case 'REJ': case 'RSTOS0': return SYN | RST;
    case 'RSTO': case 'RSTR': case 'RSTRH': return SYN | ACK | RST;
    default: return 0;
  }
};

/** conn_states whose originator sent the SYN (or received the only SYN+ACK seen): a handshake. */
const HANDSHAKE_STATES: ReadonlySet<string> = new Set(['S0', 'S1', 'SF', 'REJ', 'S2', 'S3', 'RSTO', 'RSTR', 'SH', 'RSTOS0', 'RSTRH', 'SHR']);

/**
 * How a conn row's direction is decided (see the file comment): `keep` (a handshake), `swap` (the
 * originator sent the SYN+ACK), `flipped` (Zeek's `^`), or `infer` (the port rule).
 */
export const connDirection = (proto: number, history: string | undefined, state: string | undefined): 'keep' | 'swap' | 'flipped' | 'infer' => {
  const h = history ?? '';
  if (h.includes('^')) return 'flipped';
  if (proto !== 6) return 'infer';
  if (h !== '') return h.includes('S') ? 'keep' : h.includes('H') ? 'swap' : 'infer';
  return state !== undefined && HANDSHAKE_STATES.has(state) ? 'keep' : 'infer';
};

const count = (s: string | undefined): number | undefined => (s === undefined ? 0 : /^\d+$/.test(s) ? Number(s) : undefined);
const port = (s: string | undefined): number | undefined => {
  const n = s !== undefined && /^\d+$/.test(s) ? Number(s) : undefined;
  return n !== undefined && n <= 65_535 ? n : undefined;
};

/**
 * One conn row → a record (without l7 ops), its uid and whether its sides were swapped against
 * Zeek's originator/responder, or a bad-row reason.
 */
export const connRecord = (row: ZeekRow, exporter: string): { rec: FlowRecord; uid: string; swapped: boolean } | string => {
  const ts = zeekTime(row.ts);
  if (ts === undefined) return 'zeek_bad_time';
  const dur = row.duration === undefined ? 0 : /^\d+(\.\d+)?(e[-+]?\d+)?$/.test(row.duration) ? Number(row.duration) : undefined;
  if (dur === undefined) return 'zeek_bad_duration';
  const src = row['id.orig_h'], dst = row['id.resp_h'];
  if (src === undefined || dst === undefined || isIP(src) === 0 || isIP(dst) === 0) return 'zeek_bad_address';
  let srcPort = port(row['id.orig_p']), dstPort = port(row['id.resp_p']);
  if (srcPort === undefined || dstPort === undefined) return 'zeek_bad_port';
  const protoName = row.proto;
  let proto = protoName !== undefined ? PROTO[protoName] : undefined;
  if (protoName === 'unknown_transport') proto = count(row.ip_proto) ?? 0;
  if (proto === undefined) return 'zeek_bad_proto';
  if (proto === 1) {
    if (src.includes(':')) proto = 58;
    dstPort = (srcPort << 8) | dstPort;
    srcPort = 0;
  }
  const packets = count(row.orig_pkts), bytes = count(row.orig_ip_bytes);
  const packetsRev = count(row.resp_pkts), bytesRev = count(row.resp_ip_bytes);
  if (packets === undefined || bytes === undefined || packetsRev === undefined || bytesRev === undefined) return 'zeek_bad_number';
  const uid = row.uid ?? '';
  const rec: FlowRecord = {
    // Zeek's uid names one connection in all of a sensor's logs; a row without one gets its file and row (readZeek).
    id: uid === '' ? '' : flowId('zeek', uid),
    tsStart: Math.floor(ts), tsEnd: Math.floor(ts + dur * 1000),
    srcIp: src, srcPort, dstIp: dst, dstPort, proto,
    packets, bytes, packetsRev, bytesRev,
    tcpFlags: proto === 6 ? historyFlags(row.history, row.conn_state) : 0,
    exporter, observationDomain: 0, source: 'file',
  };
  const l7 = serviceL7(row.service);
  if (l7 !== undefined) rec.l7 = l7;
  let swapped = false;
  const how = proto === 1 || proto === 58 ? 'keep' : connDirection(proto, row.history, row.conn_state);
  if (how === 'flipped') addNote(rec, 'direction_flipped');
  else if (how === 'swap') { swapSides(rec); swapped = true; } else if (how === 'infer') swapped = orient(rec);
  return { rec, uid, swapped };
};

const sorted = (m: Record<string, number>): Record<string, number> =>
  Object.fromEntries(Object.entries(m).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

/**
 * Adds what the protocol logs said; the protocol log's l7 wins over `service`. `swapped`: the record's
 * client is Zeek's responder, so the responder's operations and cadence are the initiator's.
 */
const attachL7 = (rec: FlowRecord, c: ConnL7, swapped: boolean): void => {
  rec.l7 = c.l7;
  rec.l7Ops = sorted(swapped ? c.opsRev : c.ops);
  rec.l7OpsRev = sorted(swapped ? c.ops : c.opsRev);
  if (Object.keys(c.errors).length > 0) rec.l7Errors = sorted(c.errors);
  if (c.units.size > 0) rec.l7Units = [...c.units].sort((a, b) => a - b);
  const gaps = swapped ? c.gapsRev : c.gaps;
  if (gaps.count > 0) rec.requestIntervalsMs = { ...gaps };
};

/**
 * Streams a Zeek conn log, or a directory of Zeek logs, as FlowRecord batches in event-time order
 * (see the file comment for the exceptions). A file that is no Zeek log, or a directory without a
 * conn log, throws `input_invalid`; a bad row is counted in `stats.badRows` and skipped.
 */
export async function* readZeek(path: string, opts: ZeekOptions = {}, stats: FileStats): AsyncGenerator<FlowRecord[]> {
  const groups = zeekGroups(path);
  if (groups.length === 0) {
    throw new PipelineError('input_invalid',
      `${path}: no Zeek conn log found; expected conn.log, conn.log.gz, conn.<rotation>.log(.gz) or daily directories of them.`, { file: path });
  }
  const exporter = basename(path);
  const queue = new ReorderQueue(opts, stats);
  stats.fileSize = groups.flatMap((g) => g.conn).reduce((n, f) => n + statSync(f).size, 0);
  let bytesBefore = 0;
  for (const g of groups) {
    const joined = opts.join === false ? new Map<string, ConnL7>() : await readJoin(g, stats, opts);
    for (const file of g.conn) {
      if (sniffZeekFormat(file) === undefined) {
        throw new PipelineError('input_invalid',
          `${basename(file)} is not a Zeek log: its first line is neither "#separator \\x09" (TSV) nor a JSON object with "ts" and "uid".`,
          { file });
      }
      // Per-file progress; bad rows land in the shared counters (same objects).
      const side: FileStats = { ...stats, rows: 0, bytesRead: 0, fileSize: 0 };
      const rowsBefore = stats.rows;
      for await (const row of readZeekRows(file, side, opts.events)) {
        stats.rows = rowsBefore + side.rows;
        stats.bytesRead = bytesBefore + side.bytesRead;
        const r = connRecord(row, exporter);
        if (typeof r === 'string') { countBadRow(stats, r, side.rows, `${basename(file)}: ${JSON.stringify(row).slice(0, 200)}`, opts.events); continue; }
        if (r.rec.id === '') r.rec.id = flowId('zeek', exporter, basename(file), side.rows);
        const c = joined.get(r.uid);
        if (c) { attachL7(r.rec, c, r.swapped && c.directional); joined.delete(r.uid); }
        const out = queue.push(r.rec, `${r.uid}|${r.rec.srcIp}|${r.rec.srcPort}|${r.rec.dstIp}|${r.rec.dstPort}`);
        if (out) { stats.records += out.length; yield out; }
      }
      stats.rows = rowsBefore + side.rows;
      bytesBefore += side.fileSize;
      stats.bytesRead = bytesBefore;
    }
  }
  const rest = queue.flush();
  if (rest.length > 0) { stats.records += rest.length; yield rest; }
  warnBadRows(stats, opts.log);
}
