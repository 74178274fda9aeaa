/**
 * Templates compiled for speed, and the data-record walk shared by NetFlow v9 (RFC 3954 §5.3–5.4)
 * and IPFIX (RFC 7011 §3.4). A compiled template is two arrays: an operation code per field (what
 * the field's bytes mean for a {@link FlowRecord}) and its length (65535 = variable, IPFIX only).
 * A template without variable-length fields is also compiled, once when it arrives, into a flat
 * plan of only the fields we use: op, byte offset inside the record and length, and from that plan
 * into a generated reader function: one assignment per used field with constant offsets (a softflowd
 * record: 11 of 11 fields; an exporter sending 40 IEs of which we use 12: 12 statements, not 40).
 * Reading a record is then one bounds check and one call. A template re-sent unchanged keeps its
 * compiled form ({@link sameLayout}); readers are cached by plan and bounded.
 *
 * Hot-path rules (decoding runs at ten million records/s): no closures or objects created per record
 * beyond the record itself; records are object literals with one fixed key order (one hidden class);
 * fidelity notes are bits until a record actually has one; no float `%` (a runtime call in V8).
 *
 * Variable-length encoding (RFC 7011 §7):
 *
 *   len < 255:   [len:1][value:len]
 *   len ≥ 255:   [255:1][len:2][value:len]
 */
import type { FlowSource } from '../../core/records.ts';
import {
  countError, countFidelity, ipv4At, ipv6At, u16, u32, uintAt,
  type DecodeResult, type FidelityNote, type NetflowRecord,
} from './common.ts';
import { IE, REVERSE_PEN } from './ie.ts';

/** A template field specifier as sent. */
export interface FieldSpec {
  id: number;
  /** Private Enterprise Number; 0 for IANA elements. */
  pen: number;
  /** Bytes, or {@link VARLEN}. */
  length: number;
}

/** Field length meaning "variable length" in IPFIX. */
export const VARLEN = 65535;

/** The per-template cap on field count. */
export const MAX_FIELDS = 512;

/** What a field's value is used for. */
const enum Op {
  Skip, Bytes, Packets, BytesTotal, PacketsTotal, BytesRev, PacketsRev, Proto, Flags, SrcPort, DstPort,
  Src4, Dst4, Src6, Dst6, StartUp, EndUp, StartSec, EndSec, StartMs, EndMs, StartNtp, EndNtp,
  StartDeltaUs, EndDeltaUs, SysInit, SamplingInterval, SamplingAlgorithm, SamplerRandomInterval,
  PacketInterval, PacketSpace, IcmpTypeCode,
}

const OPS: Record<number, Op> = {
  1: Op.Bytes, 2: Op.Packets, 4: Op.Proto, 6: Op.Flags, 7: Op.SrcPort, 8: Op.Src4, 11: Op.DstPort,
  12: Op.Dst4, 21: Op.EndUp, 22: Op.StartUp, 27: Op.Src6, 28: Op.Dst6, 32: Op.IcmpTypeCode,
  34: Op.SamplingInterval, 35: Op.SamplingAlgorithm, 50: Op.SamplerRandomInterval, 85: Op.BytesTotal,
  86: Op.PacketsTotal, 139: Op.IcmpTypeCode, 150: Op.StartSec, 151: Op.EndSec, 152: Op.StartMs,
  153: Op.EndMs, 154: Op.StartNtp, 155: Op.EndNtp, 156: Op.StartNtp, 157: Op.EndNtp,
  158: Op.StartDeltaUs, 159: Op.EndDeltaUs, 160: Op.SysInit, 305: Op.PacketInterval, 306: Op.PacketSpace,
};

const REVERSE_OPS: Record<number, Op> = { 1: Op.BytesRev, 2: Op.PacketsRev, 85: Op.BytesRev, 86: Op.PacketsRev };

/** A template ready for data records. */
export interface Template {
  id: number;
  /** An options template: its records describe the exporter, not flows. */
  options: boolean;
  /** IPFIX: scope field count; v9: scope field count derived from the scope length. */
  scopeCount: number;
  fields: FieldSpec[];
  ops: Uint8Array;
  lens: Uint16Array;
  /** Bytes of the shortest possible record (a variable-length field counts 1). */
  minLength: number;
  /** True when any field is variable length. */
  varlen: boolean;
  /** Identity of the definition, to tell a refresh from a change. */
  signature: string;
  /** Fields whose length does not fit their IE (skipped when reading). */
  invalidFields: number;
  /** Fixed-length templates: the used fields only (op, offset in the record, length); empty when `varlen`. */
  planOps: Uint8Array;
  planOffs: Uint16Array;
  planLens: Uint16Array;
  /** Fixed-length templates: sets the used {@link Acc} fields from one record (after `reset`); a no-op when `varlen`. */
  read: RecordReader;
}

/** Reads the used fields of one fixed-length record at `off` into `a` (already reset); no bounds check. */
export type RecordReader = (b: Uint8Array, off: number, a: Acc) => void;

/** Whether `length` is a valid encoding for the IE behind `op` (RFC 7011 §6.2 reduced size). */
const lengthFits = (id: number, length: number): boolean => {
  const ie = IE.get(id);
  if (!ie) return true;
  switch (ie.type) {
    case 'unsigned': return length >= 1 && length <= ie.size;
    case 'string': case 'octets': return true;
    default: return length === ie.size;
  }
};

/** Compiles field specifiers; `scopeCount` leading fields are opaque scope fields in v9 (`v9Scope`). */
export const compileTemplate = (
  id: number, fields: FieldSpec[], options: boolean, scopeCount: number, v9Scope = false,
): Template => {
  const ops = new Uint8Array(fields.length);
  const lens = new Uint16Array(fields.length);
  let minLength = 0, varlen = false, invalidFields = 0;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i]!;
    lens[i] = f.length;
    if (f.length === VARLEN) { varlen = true; minLength += 1; } else minLength += f.length;
    if (v9Scope && i < scopeCount) continue; // v9 scope types (system, interface …) are not IEs
    const op = f.pen === 0 ? OPS[f.id] : f.pen === REVERSE_PEN ? REVERSE_OPS[f.id] : undefined;
    if (op === undefined) continue;
    if (!lengthFits(f.id, f.length)) { invalidFields++; continue; }
    ops[i] = op;
  }
  const plan = varlen ? { ops: new Uint8Array(0), offs: new Uint16Array(0), lens: new Uint16Array(0) } : flatPlan(ops, lens);
  const signature = `${options ? 'o' : 'd'}${scopeCount}:` + fields.map((f) => `${f.pen}.${f.id}.${f.length}`).join(',');
  return {
    id, options, scopeCount, fields, ops, lens, minLength, varlen, signature, invalidFields,
    planOps: plan.ops, planOffs: plan.offs, planLens: plan.lens,
    read: varlen ? noRead : recordReader(plan.ops, plan.offs, plan.lens),
  };
};

const noRead: RecordReader = () => undefined;

/**
 * Whether `t` was compiled from exactly these field specifiers, kind and scope count: a template
 * re-sent unchanged (exporters repeat them every few datagrams) reuses its compiled form.
 */
export const sameLayout = (t: Template, fields: FieldSpec[], options: boolean, scopeCount: number): boolean => {
  if (t.options !== options || t.scopeCount !== scopeCount || t.fields.length !== fields.length) return false;
  for (let i = 0; i < fields.length; i++) {
    const a = t.fields[i]!, f = fields[i]!;
    if (a.id !== f.id || a.pen !== f.pen || a.length !== f.length) return false;
  }
  return true;
};

/** The used fields of a fixed-length template with their offsets inside the record. */
const flatPlan = (ops: Uint8Array, lens: Uint16Array): { ops: Uint8Array; offs: Uint16Array; lens: Uint16Array } => {
  let used = 0;
  for (let i = 0; i < ops.length; i++) if (ops[i] !== Op.Skip) used++;
  const out = { ops: new Uint8Array(used), offs: new Uint16Array(used), lens: new Uint16Array(used) };
  let off = 0, k = 0;
  for (let i = 0; i < ops.length; i++) {
    if (ops[i] !== Op.Skip) { out.ops[k] = ops[i]!; out.offs[k] = off; out.lens[k] = lens[i]!; k++; }
    off += lens[i]!; // < 65 535: compileTemplate's callers reject longer records (MAX_RECORD)
  }
  return out;
};

/** Field values of one record; reused across records to avoid allocation. */
export class Acc {
  bytes = -1; packets = -1; bytesTotal = -1; packetsTotal = -1; bytesRev = 0; packetsRev = 0;
  proto = 0; flags = 0; srcPort = 0; dstPort = 0; icmp = -1; src = ''; dst = '';
  startUp = -1; endUp = -1; startAbs = -1; endAbs = -1; startDeltaUs = -1; endDeltaUs = -1; sysInit = -1;
  samplingInterval = -1; samplingAlgorithm = -1; samplerRandomInterval = -1; packetInterval = -1; packetSpace = -1;

  reset(): void {
    this.bytes = this.packets = this.bytesTotal = this.packetsTotal = -1;
    this.bytesRev = this.packetsRev = this.proto = this.flags = this.srcPort = this.dstPort = 0;
    this.icmp = -1; this.src = this.dst = '';
    this.startUp = this.endUp = this.startAbs = this.endAbs = this.startDeltaUs = this.endDeltaUs = this.sysInit = -1;
    this.samplingInterval = this.samplingAlgorithm = this.samplerRandomInterval = this.packetInterval = this.packetSpace = -1;
  }
}

const NTP_EPOCH_S = 2_208_988_800;
const ntpMs = (b: Uint8Array, off: number): number => (u32(b, off) - NTP_EPOCH_S) * 1000 + Math.floor(u32(b, off + 4) / 4_294_967.296);

const apply = (a: Acc, op: Op, b: Uint8Array, off: number, len: number): void => {
  switch (op) {
    case Op.Skip: return;
    case Op.Bytes: a.bytes = uintAt(b, off, len); return;
    case Op.Packets: a.packets = uintAt(b, off, len); return;
    case Op.BytesTotal: a.bytesTotal = uintAt(b, off, len); return;
    case Op.PacketsTotal: a.packetsTotal = uintAt(b, off, len); return;
    case Op.BytesRev: a.bytesRev = uintAt(b, off, len); return;
    case Op.PacketsRev: a.packetsRev = uintAt(b, off, len); return;
    case Op.Proto: a.proto = uintAt(b, off, len); return;
    case Op.Flags: a.flags = uintAt(b, off, len) & 0xff; return;
    case Op.SrcPort: a.srcPort = uintAt(b, off, len); return;
    case Op.DstPort: a.dstPort = uintAt(b, off, len); return;
    case Op.IcmpTypeCode: a.icmp = uintAt(b, off, len); return;
    case Op.Src4: a.src = ipv4At(b, off); return;
    case Op.Dst4: a.dst = ipv4At(b, off); return;
    case Op.Src6: a.src = ipv6At(b, off); return;
    case Op.Dst6: a.dst = ipv6At(b, off); return;
    case Op.StartUp: a.startUp = uintAt(b, off, len); return;
    case Op.EndUp: a.endUp = uintAt(b, off, len); return;
    case Op.StartSec: a.startAbs = u32(b, off) * 1000; return;
    case Op.EndSec: a.endAbs = u32(b, off) * 1000; return;
    case Op.StartMs: a.startAbs = uintAt(b, off, 8); return;
    case Op.EndMs: a.endAbs = uintAt(b, off, 8); return;
    case Op.StartNtp: a.startAbs = ntpMs(b, off); return;
    case Op.EndNtp: a.endAbs = ntpMs(b, off); return;
    case Op.StartDeltaUs: a.startDeltaUs = uintAt(b, off, len); return;
    case Op.EndDeltaUs: a.endDeltaUs = uintAt(b, off, len); return;
    case Op.SysInit: a.sysInit = uintAt(b, off, 8); return;
    case Op.SamplingInterval: a.samplingInterval = uintAt(b, off, len); return;
    case Op.SamplingAlgorithm: a.samplingAlgorithm = uintAt(b, off, len); return;
    case Op.SamplerRandomInterval: a.samplerRandomInterval = uintAt(b, off, len); return;
    case Op.PacketInterval: a.packetInterval = uintAt(b, off, len); return;
    case Op.PacketSpace: a.packetSpace = uintAt(b, off, len); return;
  }
};

/** The interpreted reader of a flat plan: one {@link apply} per used field. */
const planReader = (ops: Uint8Array, offs: Uint16Array, lens: Uint16Array): RecordReader => (b, off, a) => {
  for (let k = 0; k < ops.length; k++) apply(a, ops[k]! as Op, b, off + offs[k]!, lens[k]!);
};

/** The {@link Acc} field each op sets (ops that read a fixed encoding ignore the field length). */
const FIELD: Partial<Record<Op, keyof Acc>> = {
  [Op.Bytes]: 'bytes', [Op.Packets]: 'packets', [Op.BytesTotal]: 'bytesTotal', [Op.PacketsTotal]: 'packetsTotal',
  [Op.BytesRev]: 'bytesRev', [Op.PacketsRev]: 'packetsRev', [Op.Proto]: 'proto', [Op.Flags]: 'flags',
  [Op.SrcPort]: 'srcPort', [Op.DstPort]: 'dstPort', [Op.IcmpTypeCode]: 'icmp', [Op.Src4]: 'src', [Op.Dst4]: 'dst',
  [Op.Src6]: 'src', [Op.Dst6]: 'dst', [Op.StartUp]: 'startUp', [Op.EndUp]: 'endUp', [Op.StartSec]: 'startAbs',
  [Op.EndSec]: 'endAbs', [Op.StartMs]: 'startAbs', [Op.EndMs]: 'endAbs', [Op.StartNtp]: 'startAbs', [Op.EndNtp]: 'endAbs',
  [Op.StartDeltaUs]: 'startDeltaUs', [Op.EndDeltaUs]: 'endDeltaUs', [Op.SysInit]: 'sysInit',
  [Op.SamplingInterval]: 'samplingInterval', [Op.SamplingAlgorithm]: 'samplingAlgorithm',
  [Op.SamplerRandomInterval]: 'samplerRandomInterval', [Op.PacketInterval]: 'packetInterval', [Op.PacketSpace]: 'packetSpace',
};

/** JS expression of the big-endian unsigned of `len` bytes at `o + at` (same values as {@link uintAt}). */
const uintExpr = (at: number, len: number): string => {
  switch (len) {
    case 1: return `b[o + ${at}]`;
    case 2: return `((b[o + ${at}] << 8) | b[o + ${at + 1}])`;
    case 4: return `(((b[o + ${at}] << 24) >>> 0) + ((b[o + ${at + 1}] << 16) | (b[o + ${at + 2}] << 8) | b[o + ${at + 3}]))`;
    default: return `uintAt(b, o + ${at}, ${len})`;
  }
};

/** JS expression of the value `op` stores, for a field at `o + at` of `len` bytes (mirrors {@link apply}). */
const valueExpr = (op: Op, at: number, len: number): string => {
  switch (op) {
    case Op.Flags: return `(${uintExpr(at, len)} & 0xff)`;
    case Op.Src4: case Op.Dst4: return `ipv4At(b, o + ${at})`;
    case Op.Src6: case Op.Dst6: return `ipv6At(b, o + ${at})`;
    case Op.StartSec: case Op.EndSec: return `${uintExpr(at, 4)} * 1000`;
    case Op.StartMs: case Op.EndMs: case Op.SysInit: return uintExpr(at, 8);
    case Op.StartNtp: case Op.EndNtp: return `ntpMs(b, o + ${at})`;
    default: return uintExpr(at, len);
  }
};

/** Generated readers by plan, so a template re-sent every few datagrams is compiled once (bounded). */
const readers = new Map<string, RecordReader>();
const MAX_READERS = 1024;

/**
 * A fixed-length template's reader: straight-line code generated from its flat plan (one
 * assignment per used field, offsets as constants), so a record costs no per-field dispatch.
 * The generated text holds only numbers from the plan and the names above, never exporter bytes.
 * Past {@link MAX_READERS} distinct plans, or where code generation is disallowed, the interpreted
 * {@link planReader} is used.
 */
const recordReader = (ops: Uint8Array, offs: Uint16Array, lens: Uint16Array): RecordReader => {
  const lines: string[] = [];
  for (let k = 0; k < ops.length; k++) {
    const op = ops[k]! as Op;
    const field = FIELD[op];
    if (field !== undefined) lines.push(`a.${field} = ${valueExpr(op, offs[k]!, lens[k]!)};`);
  }
  const body = lines.join('\n');
  const cached = readers.get(body);
  if (cached) return cached;
  if (readers.size >= MAX_READERS) return planReader(ops, offs, lens);
  let read: RecordReader;
  try {
    const make = new Function('uintAt', 'ipv4At', 'ipv6At', 'ntpMs', `return function readRecordFields(b, o, a) {\n${body}\n};`) as
      (...h: unknown[]) => RecordReader;
    read = make(uintAt, ipv4At, ipv6At, ntpMs);
  } catch {
    read = planReader(ops, offs, lens); // code generation disallowed (--disallow-code-generation-from-strings)
  }
  readers.set(body, read);
  return read;
};

/**
 * Reads one data record at `off` into `acc` (reset first). Returns the offset after it, or -1 when
 * the record (or a variable-length field's length) runs past `end`.
 */
export const readRecord = (b: Uint8Array, off: number, end: number, t: Template, acc: Acc): number => {
  acc.reset();
  if (!t.varlen) {
    const next = off + t.minLength;
    if (next > end) return -1;
    t.read(b, off, acc);
    return next;
  }
  const { ops, lens } = t;
  for (let i = 0; i < ops.length; i++) {
    let len = lens[i]!;
    if (len === VARLEN) {
      if (off >= end) return -1;
      len = b[off++]!;
      if (len === 255) {
        if (off + 2 > end) return -1;
        len = u16(b, off);
        off += 2;
      }
      if (off + len > end) return -1;
    }
    const op = ops[i]! as Op;
    if (op !== Op.Skip) apply(acc, op, b, off, len);
    off += len;
  }
  return off;
};

/** How times of one datagram are turned into epoch ms. */
export interface TimeBase {
  /** Export time from the header, epoch ms. */
  exportMs: number;
  /** v5/v9 header sysUptime (ms), or -1 for IPFIX. */
  sysUptime: number;
  /** IPFIX: systemInitTimeMilliseconds known for the domain, or -1. */
  sysInitMs: number;
}

/** What an exporter's options records told us about one observation domain. */
export interface DomainInfo {
  sysInitMs: number;
  samplingInterval: number;
  samplingAlgorithm: number;
}

/**
 * Applies an options data record to the domain's state. Sampling from samplingInterval (34),
 * samplerRandomInterval (50) or PSAMP samplingPacketInterval/Space (305/306: 1 in (i+s)/i).
 */
export const applyOptions = (acc: Acc, info: DomainInfo, r: DecodeResult): void => {
  if (acc.sysInit >= 0) info.sysInitMs = acc.sysInit;
  let interval = -1;
  if (acc.samplingInterval >= 0) interval = Math.max(1, acc.samplingInterval);
  else if (acc.samplerRandomInterval >= 0) interval = Math.max(1, acc.samplerRandomInterval);
  else if (acc.packetInterval > 0) interval = (acc.packetInterval + Math.max(0, acc.packetSpace)) / acc.packetInterval;
  if (interval >= 0) {
    if (info.samplingInterval >= 0 && info.samplingInterval !== interval) countFidelity(r, 'sampling_changed');
    info.samplingInterval = interval;
  }
  if (acc.samplingAlgorithm >= 0) info.samplingAlgorithm = acc.samplingAlgorithm;
};

const MAX_UPTIME_SPAN = 4_294_967_296;

/**
 * Epoch ms of a sysUpTime value: before the export by (uptime − value) mod 2^32 (v5/v9), or base + value
 * (IPFIX). Both are below 2^32 (a header u32; an unsigned32 IE), so the modulo is one conditional add
 * (a float `%` is a runtime call in V8).
 */
const fromUptime = (v: number, base: TimeBase, sysInit: number): number => {
  if (base.sysUptime < 0) return sysInit + v;
  const back = base.sysUptime - v;
  return base.exportMs - (back < 0 ? back + MAX_UPTIME_SPAN : back);
};

/** Fidelity notes as bits while a record is built; {@link NOTE_ORDER} turns them into the array. */
const enum Note { NoUptimeBase = 1, NoFlowTimes = 2, StartAfterEnd = 4, DurationInvalid = 8, Sampled = 16 }
const NOTE_ORDER: readonly [Note, FidelityNote][] = [
  [Note.NoUptimeBase, 'no_uptime_base'], [Note.NoFlowTimes, 'no_flow_times'], [Note.StartAfterEnd, 'start_after_end'],
  [Note.DurationInvalid, 'duration_invalid'], [Note.Sampled, 'sampled'],
];

/**
 * Epoch ms of one flow time from whichever field the template had: absolute, sysUpTime-relative
 * (the export time when `needsBase`: no base known) or a delta before the export; -1 when none.
 */
const flowTime = (abs: number, up: number, deltaUs: number, base: TimeBase, sysInit: number, needsBase: boolean): number => {
  if (abs >= 0) return abs;
  if (up >= 0) return needsBase ? base.exportMs : fromUptime(up, base, sysInit);
  if (deltaUs >= 0) return base.exportMs - Math.floor(deltaUs / 1000);
  return -1;
};

/** Turns the accumulated fields into a record, or undefined when it has no addresses (not a flow). */
export const buildRecord = (
  a: Acc, base: TimeBase, info: DomainInfo | undefined, source: FlowSource, exporter: string,
  domain: number, r: DecodeResult,
): NetflowRecord | undefined => {
  if (a.src === '' || a.dst === '') return undefined;
  let notes = 0;
  const sysInit = a.sysInit >= 0 ? a.sysInit : base.sysInitMs >= 0 ? base.sysInitMs : (info?.sysInitMs ?? -1);
  const needsBase = base.sysUptime < 0 && sysInit < 0;
  if (needsBase && ((a.startAbs < 0 && a.startUp >= 0) || (a.endAbs < 0 && a.endUp >= 0))) notes |= Note.NoUptimeBase;
  let start = flowTime(a.startAbs, a.startUp, a.startDeltaUs, base, sysInit, needsBase);
  let end = flowTime(a.endAbs, a.endUp, a.endDeltaUs, base, sysInit, needsBase);
  if (start < 0 && end < 0) { start = end = base.exportMs; notes |= Note.NoFlowTimes; }
  else if (start < 0) start = end;
  else if (end < 0) end = start;
  if (start > end) notes |= Note.StartAfterEnd;
  else if (end - start >= MAX_UPTIME_SPAN) notes |= Note.DurationInvalid;
  let dstPort = a.dstPort, srcPort = a.srcPort;
  if (a.icmp >= 0 && dstPort === 0) { dstPort = a.icmp; srcPort = 0; }
  const rec: NetflowRecord = {
    id: '', tsStart: start, tsEnd: end, srcIp: a.src, srcPort, dstIp: a.dst, dstPort, proto: a.proto,
    packets: a.packets >= 0 ? a.packets : Math.max(0, a.packetsTotal),
    bytes: a.bytes >= 0 ? a.bytes : Math.max(0, a.bytesTotal),
    packetsRev: a.packetsRev, bytesRev: a.bytesRev,
    tcpFlags: a.proto === 6 ? a.flags : 0,
    exporter, observationDomain: domain, source,
  };
  const interval = a.samplingInterval >= 0 ? Math.max(1, a.samplingInterval) : (info?.samplingInterval ?? -1);
  if (interval > 1) { rec.samplingInterval = interval; notes |= Note.Sampled; }
  if (notes !== 0) rec.fidelity = fidelityNotes(notes, r);
  return rec;
};

/** The notes of `bits` in their fixed order, each counted once in `r`. */
const fidelityNotes = (bits: number, r: DecodeResult): FidelityNote[] => {
  const out: FidelityNote[] = [];
  for (const [bit, note] of NOTE_ORDER) {
    if ((bits & bit) === 0) continue;
    out.push(note);
    countFidelity(r, note);
  }
  return out;
};

/**
 * Walks the records of one data set (`off`..`end`, header excluded) with template `t`. Flow records
 * go to `r.records`; options records update `info`. Trailing bytes shorter than a record are padding.
 * Returns how many records were read (for IPFIX sequence numbers).
 */
export const readDataSet = (
  b: Uint8Array, off: number, end: number, t: Template, acc: Acc, base: TimeBase, info: DomainInfo,
  source: FlowSource, exporter: string, domain: number, r: DecodeResult, budget: { records: number },
): number => {
  if (t.minLength === 0) { countError(r, 'template_zero_length'); return 0; }
  let n = 0;
  while (off < end) {
    if (end - off < t.minLength) {
      // Padding is zero-filled and shorter than any record (RFC 7011 §3.3.1); other leftovers are a cut record.
      if (!isZero(b, off, end)) countError(r, 'record_truncated');
      break;
    }
    if (budget.records <= 0) { countError(r, 'iteration_cap'); break; }
    budget.records--;
    const next = readRecord(b, off, end, t, acc);
    if (next < 0) {
      if (!isZero(b, off, end)) countError(r, 'record_truncated');
      break;
    }
    off = next;
    n++;
    if (t.options) { applyOptions(acc, info, r); continue; }
    const rec = buildRecord(acc, base, info, source, exporter, domain, r);
    if (rec) r.records.push(rec);
    else countError(r, 'record_no_address');
  }
  return n;
};

const isZero = (b: Uint8Array, from: number, to: number): boolean => {
  for (let i = from; i < to; i++) if (b[i] !== 0) return false;
  return true;
};

/** Per-(session, domain) options state, bounded (oldest dropped first). */
export class DomainInfos {
  private readonly map = new Map<string, DomainInfo>();
  constructor(private readonly cap = 4096) {}
  get(key: string): DomainInfo {
    let info = this.map.get(key);
    if (!info) {
      if (this.map.size >= this.cap) {
        const oldest = this.map.keys().next().value;
        if (oldest !== undefined) this.map.delete(oldest);
      }
      this.map.set(key, (info = { sysInitMs: -1, samplingInterval: -1, samplingAlgorithm: -1 }));
    }
    return info;
  }
}
