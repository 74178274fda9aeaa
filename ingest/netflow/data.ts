/**
 * Templates compiled for speed, and the data-record walk shared by NetFlow v9 (RFC 3954 §5.3–5.4)
 * and IPFIX (RFC 7011 §3.4). A compiled template is two arrays: an operation code per field (what
 * the field's bytes mean for a {@link FlowRecord}) and its length (65535 = variable, IPFIX only).
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
}

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
  fields.forEach((f, i) => {
    lens[i] = f.length;
    if (f.length === VARLEN) { varlen = true; minLength += 1; } else minLength += f.length;
    if (v9Scope && i < scopeCount) return; // v9 scope types (system, interface …) are not IEs
    const op = f.pen === 0 ? OPS[f.id] : f.pen === REVERSE_PEN ? REVERSE_OPS[f.id] : undefined;
    if (op === undefined) return;
    if (!lengthFits(f.id, f.length)) { invalidFields++; return; }
    ops[i] = op;
  });
  const signature = `${options ? 'o' : 'd'}${scopeCount}:` + fields.map((f) => `${f.pen}.${f.id}.${f.length}`).join(',');
  return { id, options, scopeCount, fields, ops, lens, minLength, varlen, signature, invalidFields };
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

/**
 * Reads one data record at `off` into `acc` (reset first). Returns the offset after it, or -1 when
 * the record (or a variable-length field's length) runs past `end`.
 */
export const readRecord = (b: Uint8Array, off: number, end: number, t: Template, acc: Acc): number => {
  acc.reset();
  const { ops, lens } = t;
  if (!t.varlen && off + t.minLength > end) return -1;
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

/** Epoch ms of a sysUpTime value: before the export by (uptime − value) mod 2^32 (v5/v9), or base + value (IPFIX). */
const fromUptime = (v: number, base: TimeBase, sysInit: number): number => {
  if (base.sysUptime >= 0) return base.exportMs - ((base.sysUptime - v + MAX_UPTIME_SPAN) % MAX_UPTIME_SPAN);
  return sysInit + v;
};

/** Turns the accumulated fields into a record, or undefined when it has no addresses (not a flow). */
export const buildRecord = (
  a: Acc, base: TimeBase, info: DomainInfo | undefined, source: FlowSource, exporter: string,
  domain: number, r: DecodeResult,
): NetflowRecord | undefined => {
  if (a.src === '' || a.dst === '') return undefined;
  const notes: FidelityNote[] = [];
  const sysInit = a.sysInit >= 0 ? a.sysInit : base.sysInitMs >= 0 ? base.sysInitMs : (info?.sysInitMs ?? -1);
  const needsBase = base.sysUptime < 0 && sysInit < 0;
  const time = (abs: number, up: number, deltaUs: number): number => {
    if (abs >= 0) return abs;
    if (up >= 0) {
      if (needsBase) { if (!notes.includes('no_uptime_base')) notes.push('no_uptime_base'); return base.exportMs; }
      return fromUptime(up, base, sysInit);
    }
    if (deltaUs >= 0) return base.exportMs - Math.floor(deltaUs / 1000);
    return -1;
  };
  let start = time(a.startAbs, a.startUp, a.startDeltaUs);
  let end = time(a.endAbs, a.endUp, a.endDeltaUs);
  if (start < 0 && end < 0) { start = end = base.exportMs; notes.push('no_flow_times'); }
  else if (start < 0) start = end;
  else if (end < 0) end = start;
  if (start > end) notes.push('start_after_end');
  else if (end - start >= MAX_UPTIME_SPAN) notes.push('duration_invalid');
  let dstPort = a.dstPort, srcPort = a.srcPort;
  if (a.icmp >= 0 && dstPort === 0) { dstPort = a.icmp; srcPort = 0; }
  const rec: NetflowRecord = {
    tsStart: start, tsEnd: end, srcIp: a.src, srcPort, dstIp: a.dst, dstPort, proto: a.proto,
    packets: a.packets >= 0 ? a.packets : Math.max(0, a.packetsTotal),
    bytes: a.bytes >= 0 ? a.bytes : Math.max(0, a.bytesTotal),
    packetsRev: a.packetsRev, bytesRev: a.bytesRev,
    tcpFlags: a.proto === 6 ? a.flags : 0,
    exporter, observationDomain: domain, source,
  };
  const interval = a.samplingInterval >= 0 ? Math.max(1, a.samplingInterval) : (info?.samplingInterval ?? -1);
  if (interval > 1) { rec.samplingInterval = interval; notes.push('sampled'); }
  if (notes.length > 0) {
    rec.fidelity = notes;
    for (const n of notes) countFidelity(r, n);
  }
  return rec;
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
