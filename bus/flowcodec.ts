/**
 * The flows topic's columnar codec, `flows-col/2` (issue 15 item 3): a batch of FlowRecords as
 * typed-array columns and one string dictionary, written in one pass into one growing buffer and
 * read back without a schema engine (the Arrow codec, `flows-arrow/1`, built its columns row by row
 * through apache-arrow's builders: about 140 µs of CPU per flow to encode and decode).
 *
 * Layout, little-endian, every column 8-byte aligned from the start of the value:
 *
 *   u32 magic 'CWF2' · u32 rows · u32 dictionary entries · u32 flags (bit 0: link section present)
 *   dictionary: u32 byte length, then per entry u32 length + UTF-8 bytes (padded to 8)
 *   f64[rows] tsStart, tsEnd, packets, bytes, packetsRev, bytesRev
 *   u32[rows] srcIp, dstIp, exporter, source, l7, id (dictionary indexes; 0xffffffff = absent),
 *             observationDomain
 *   u16[rows] srcPort, dstPort, tcpFlags · u8[rows] proto       (each padded to 8)
 *   maps l7Ops, l7OpsRev, l7Errors, l7Violations: u32[rows + 1] offsets (0xffffffff at a row = absent),
 *             then u32 keys (dictionary), then f64 values
 *   l7Units: u32[rows + 1] offsets (same absent mark), u32 values
 *   requestIntervalsMs: u8[rows] present, f64[5 × rows] count, mean, m2, min, max
 *   fidelity: u32[rows + 1] offsets (same absent mark), u32 dictionary indexes
 *   link section, only with flag bit 0 (a batch where some record has a MAC or an identity report):
 *             u32[rows] srcMac, dstMac, identity (dictionary indexes; identity as its JSON text)
 *
 * `id` goes through the dictionary too (each id appears once, the cost is the same as a string column).
 * Decoding returns FlowRecords (the detector engine and the row mappers take objects) or, with
 * `decodeFlowColumns`, the typed columns themselves for a consumer that stays columnar. Decoding never
 * throws: a damaged value gives `{ ok: false, reason }` to dead-letter.
 */
import type { FlowRecord, FlowSource } from '../core/records.ts';
import type { Decoded } from './bus.ts';

export const FLOWS_COL_SCHEMA = 'flows-col/2';
const MAGIC = 0x32465743; // 'CWF2' little-endian
const ABSENT = 0xffffffff;
const F64_COLS = ['tsStart', 'tsEnd', 'packets', 'bytes', 'packetsRev', 'bytesRev'] as const;
const STR_COLS = ['srcIp', 'dstIp', 'exporter', 'source', 'l7', 'id'] as const;
const U16_COLS = ['srcPort', 'dstPort', 'tcpFlags'] as const;
const MAP_COLS = ['l7Ops', 'l7OpsRev', 'l7Errors', 'l7Violations'] as const;
/** Flag bit: the value ends with the link section (srcMac, dstMac, identity). */
const HAS_LINK = 1;

type MapCol = (typeof MAP_COLS)[number];
type StrCol = (typeof STR_COLS)[number];

/** The decoded columns: what a columnar consumer reads without building a FlowRecord per row. */
export interface FlowColumns {
  rows: number;
  dict: string[];
  f64: Record<(typeof F64_COLS)[number], Float64Array>;
  str: Record<StrCol, Uint32Array>;
  observationDomain: Uint32Array;
  u16: Record<(typeof U16_COLS)[number], Uint16Array>;
  proto: Uint8Array;
  maps: Record<MapCol, { offsets: Uint32Array; keys: Uint32Array; values: Float64Array }>;
  units: { offsets: Uint32Array; values: Uint32Array };
  intervals: { present: Uint8Array; values: Float64Array };
  fidelity: { offsets: Uint32Array; values: Uint32Array };
  /** Ethernet addresses and identity reports (JSON text), when the batch carried any. */
  link?: { srcMac: Uint32Array; dstMac: Uint32Array; identity: Uint32Array };
}

const pad8 = (n: number): number => (n + 7) & ~7;

/** A little-endian byte sink that grows by doubling. */
class Out {
  buf: Buffer;
  at = 0;
  constructor(size: number) { this.buf = Buffer.allocUnsafe(size); }
  need(n: number): void {
    if (this.at + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.at + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.at);
    this.buf = next;
  }
  align(): void {
    const to = pad8(this.at);
    this.need(to - this.at);
    this.buf.fill(0, this.at, to);
    this.at = to;
  }
  u32(v: number): void { this.need(4); this.buf.writeUInt32LE(v, this.at); this.at += 4; }
  /** Copies a typed array's bytes (the first `n` elements), then aligns. */
  array(a: Float64Array | Uint32Array | Uint16Array | Uint8Array, n = a.length): void {
    const bytes = n * a.BYTES_PER_ELEMENT;
    this.need(bytes + 8);
    this.buf.set(new Uint8Array(a.buffer, a.byteOffset, bytes), this.at);
    this.at += bytes;
    this.align();
  }
}

/** Encodes flows as one `flows-col/2` value. */
export const encodeFlowColumns = (flows: readonly FlowRecord[]): Buffer => {
  const rows = flows.length;
  const dict = new Map<string, number>();
  const words: string[] = [];
  const ref = (s: string | undefined): number => {
    if (s === undefined) return ABSENT;
    let i = dict.get(s);
    if (i === undefined) { i = words.length; dict.set(s, i); words.push(s); }
    return i;
  };
  const f64 = F64_COLS.map(() => new Float64Array(rows));
  const str = STR_COLS.map(() => new Uint32Array(rows));
  const domain = new Uint32Array(rows);
  const u16 = U16_COLS.map(() => new Uint16Array(rows));
  const proto = new Uint8Array(rows);
  let mapPairs = 0;
  let unitCount = 0;
  let fidCount = 0;
  for (const f of flows) {
    for (const m of MAP_COLS) { const v = f[m]; if (v) for (const _ in v) mapPairs++; }
    if (f.l7Units) unitCount += f.l7Units.length;
    if (f.fidelity) fidCount += f.fidelity.length;
  }
  const mapOff = MAP_COLS.map(() => new Uint32Array(rows + 1));
  const mapKeys = MAP_COLS.map(() => new Uint32Array(mapPairs));
  const mapVals = MAP_COLS.map(() => new Float64Array(mapPairs));
  const mapAt = [0, 0, 0, 0];
  const unitOff = new Uint32Array(rows + 1);
  const unitVals = new Uint32Array(unitCount);
  let unitAt = 0;
  const fidOff = new Uint32Array(rows + 1);
  const fidVals = new Uint32Array(fidCount);
  let fidAt = 0;
  const present = new Uint8Array(rows);
  const iv = new Float64Array(5 * rows);
  let link: Uint32Array[] | undefined;
  for (let r = 0; r < rows; r++) {
    const f = flows[r]!;
    f64[0]![r] = f.tsStart; f64[1]![r] = f.tsEnd; f64[2]![r] = f.packets; f64[3]![r] = f.bytes;
    f64[4]![r] = f.packetsRev; f64[5]![r] = f.bytesRev;
    str[0]![r] = ref(f.srcIp); str[1]![r] = ref(f.dstIp); str[2]![r] = ref(f.exporter); str[3]![r] = ref(f.source);
    str[4]![r] = ref(f.l7); str[5]![r] = ref(f.id);
    domain[r] = f.observationDomain;
    u16[0]![r] = f.srcPort; u16[1]![r] = f.dstPort; u16[2]![r] = f.tcpFlags;
    proto[r] = f.proto;
    for (let m = 0; m < 4; m++) {
      const v = f[MAP_COLS[m]!];
      if (!v) { mapOff[m]![r] = ABSENT; continue; }
      mapOff[m]![r] = mapAt[m]!;
      for (const k in v) { mapKeys[m]![mapAt[m]!] = ref(k); mapVals[m]![mapAt[m]!++] = v[k]!; }
    }
    if (f.l7Units) {
      unitOff[r] = unitAt;
      for (const u of f.l7Units) unitVals[unitAt++] = u;
    } else unitOff[r] = ABSENT;
    if (f.fidelity) {
      fidOff[r] = fidAt;
      for (const n of f.fidelity) fidVals[fidAt++] = ref(n);
    } else fidOff[r] = ABSENT;
    if (f.srcMac !== undefined || f.dstMac !== undefined || f.identity !== undefined) {
      link ??= [0, 1, 2].map(() => new Uint32Array(rows).fill(ABSENT));
      link[0]![r] = ref(f.srcMac); link[1]![r] = ref(f.dstMac);
      link[2]![r] = f.identity === undefined ? ABSENT : ref(JSON.stringify(f.identity));
    }
    const s = f.requestIntervalsMs;
    if (s) {
      present[r] = 1;
      iv[r] = s.count; iv[rows + r] = s.mean; iv[2 * rows + r] = s.m2; iv[3 * rows + r] = s.min; iv[4 * rows + r] = s.max;
    }
  }
  for (let m = 0; m < 4; m++) mapOff[m]![rows] = mapAt[m]!;
  unitOff[rows] = unitAt;
  fidOff[rows] = fidAt;

  const out = new Out(256 + rows * 120);
  out.u32(MAGIC); out.u32(rows); out.u32(words.length); out.u32(link ? HAS_LINK : 0);
  const dictStart = out.at;
  out.u32(0);
  for (const w of words) {
    const len = Buffer.byteLength(w, 'utf8');
    out.need(4 + len);
    out.buf.writeUInt32LE(len, out.at);
    out.buf.write(w, out.at + 4, 'utf8');
    out.at += 4 + len;
  }
  out.buf.writeUInt32LE(out.at - dictStart - 4, dictStart);
  out.align();
  for (const a of f64) out.array(a);
  for (const a of str) out.array(a);
  out.array(domain);
  for (const a of u16) out.array(a);
  out.array(proto);
  for (let m = 0; m < 4; m++) { out.array(mapOff[m]!); out.array(mapKeys[m]!, mapAt[m]!); out.array(mapVals[m]!, mapAt[m]!); }
  out.array(unitOff); out.array(unitVals, unitAt);
  out.array(present); out.array(iv);
  out.array(fidOff); out.array(fidVals, fidAt);
  if (link) for (const a of link) out.array(a);
  return out.buf.subarray(0, out.at);
};

/** Reads a typed array view (copying when the buffer's offset is not aligned for it). */
class In {
  at = 0;
  constructor(readonly buf: Buffer) {}
  need(bytes: number, what: string): void {
    if (this.at + bytes > this.buf.length) throw new RangeError(`value ends inside ${what} (offset ${this.at}, ${bytes} bytes wanted, ${this.buf.length} present)`);
  }
  array<T extends Float64Array | Uint32Array | Uint16Array | Uint8Array>(Ctor: { new (b: ArrayBuffer, o: number, n: number): T; new (n: number): T; BYTES_PER_ELEMENT: number }, n: number, what: string): T {
    const bytes = n * Ctor.BYTES_PER_ELEMENT;
    this.need(bytes, what);
    const off = this.buf.byteOffset + this.at;
    let a: T;
    if (off % Ctor.BYTES_PER_ELEMENT === 0) a = new Ctor(this.buf.buffer as ArrayBuffer, off, n);
    else {
      a = new Ctor(n);
      new Uint8Array(a.buffer).set(this.buf.subarray(this.at, this.at + bytes));
    }
    this.at = pad8(this.at + bytes);
    return a;
  }
}

/** The columns of a `flows-col/2` value, views into its buffer where alignment allows. */
export const decodeFlowColumns = (value: Buffer): Decoded<FlowColumns> => {
  try {
    if (value.length < 20 || value.readUInt32LE(0) !== MAGIC) return { ok: false, reason: `not a ${FLOWS_COL_SCHEMA} value (bad magic)` };
    const rows = value.readUInt32LE(4);
    const entries = value.readUInt32LE(8);
    const flags = value.readUInt32LE(12);
    const inp = new In(value);
    inp.at = 16;
    inp.need(4, 'the dictionary');
    const dictBytes = value.readUInt32LE(16);
    inp.at = 20;
    inp.need(dictBytes, 'the dictionary');
    const dict: string[] = new Array<string>(entries);
    const end = 20 + dictBytes;
    for (let i = 0; i < entries; i++) {
      if (inp.at + 4 > end) throw new RangeError(`dictionary entry ${i} of ${entries} is cut short`);
      const len = value.readUInt32LE(inp.at);
      if (inp.at + 4 + len > end) throw new RangeError(`dictionary entry ${i} of ${entries} is cut short`);
      dict[i] = value.toString('utf8', inp.at + 4, inp.at + 4 + len);
      inp.at += 4 + len;
    }
    inp.at = pad8(end);
    const f64 = Object.fromEntries(F64_COLS.map((c) => [c, inp.array(Float64Array, rows, c)])) as FlowColumns['f64'];
    const str = Object.fromEntries(STR_COLS.map((c) => [c, inp.array(Uint32Array, rows, c)])) as FlowColumns['str'];
    const observationDomain = inp.array(Uint32Array, rows, 'observationDomain');
    const u16 = Object.fromEntries(U16_COLS.map((c) => [c, inp.array(Uint16Array, rows, c)])) as FlowColumns['u16'];
    const proto = inp.array(Uint8Array, rows, 'proto');
    const maps = {} as FlowColumns['maps'];
    for (const m of MAP_COLS) {
      const offsets = inp.array(Uint32Array, rows + 1, m);
      const pairs = offsets[rows]!;
      maps[m] = { offsets, keys: inp.array(Uint32Array, pairs, m), values: inp.array(Float64Array, pairs, m) };
    }
    const unitOffsets = inp.array(Uint32Array, rows + 1, 'l7Units');
    const units = { offsets: unitOffsets, values: inp.array(Uint32Array, unitOffsets[rows]!, 'l7Units') };
    const intervals = { present: inp.array(Uint8Array, rows, 'requestIntervalsMs'), values: inp.array(Float64Array, 5 * rows, 'requestIntervalsMs') };
    const fidOffsets = inp.array(Uint32Array, rows + 1, 'fidelity');
    const fidelity = { offsets: fidOffsets, values: inp.array(Uint32Array, fidOffsets[rows]!, 'fidelity') };
    for (let i = 0; i < fidelity.values.length; i++) if (fidelity.values[i]! >= entries) throw new RangeError('a fidelity note points past the dictionary');
    let link: FlowColumns['link'];
    if (flags & HAS_LINK) {
      link = { srcMac: inp.array(Uint32Array, rows, 'srcMac'), dstMac: inp.array(Uint32Array, rows, 'dstMac'), identity: inp.array(Uint32Array, rows, 'identity') };
      for (const [c, a] of Object.entries(link)) for (let r = 0; r < rows; r++) if (a[r] !== ABSENT && a[r]! >= entries) throw new RangeError(`${c} of row ${r} points past the dictionary`);
    }
    for (const c of STR_COLS) {
      const a = str[c];
      for (let r = 0; r < rows; r++) if (a[r] !== ABSENT && a[r]! >= entries) throw new RangeError(`${c} of row ${r} points past the dictionary`);
    }
    for (const c of ['srcIp', 'dstIp', 'exporter', 'source', 'id'] as const) {
      if (str[c].includes(ABSENT)) throw new RangeError(`a row lacks ${c}`);
    }
    for (const m of MAP_COLS) {
      const { keys } = maps[m];
      for (let i = 0; i < keys.length; i++) if (keys[i]! >= entries) throw new RangeError(`a ${m} key points past the dictionary`);
    }
    return { ok: true, value: { rows, dict, f64, str, observationDomain, u16, proto, maps, units, intervals, fidelity, ...(link ? { link } : {}) } };
  } catch (e) {
    return { ok: false, reason: `corrupt ${FLOWS_COL_SCHEMA} value: ${(e as Error).message}` };
  }
};

/** Offsets of row `r`, or undefined when the row has no value (offsets of the rows after it skip the mark). */
const span = (offsets: Uint32Array, r: number, rows: number): [number, number] | undefined => {
  const s = offsets[r]!;
  if (s === ABSENT) return undefined;
  let e = ABSENT;
  for (let n = r + 1; n <= rows && e === ABSENT; n++) e = offsets[n]!;
  return [s, e];
};

/** FlowRecords of a `flows-col/2` value, field for field as they were encoded. */
export const decodeFlowRecords = (value: Buffer): Decoded<FlowRecord[]> => {
  const d = decodeFlowColumns(value);
  if (!d.ok) return d;
  const c = d.value;
  const { rows, dict } = c;
  const out = new Array<FlowRecord>(rows);
  const [tsStart, tsEnd, packets, bytes, packetsRev, bytesRev] = F64_COLS.map((k) => c.f64[k]) as Float64Array[];
  const { srcIp, dstIp, exporter, source, l7, id } = c.str;
  for (let r = 0; r < rows; r++) {
    const f: FlowRecord = {
      id: dict[id[r]!]!, tsStart: tsStart![r]!, tsEnd: tsEnd![r]!, srcIp: dict[srcIp[r]!]!, srcPort: c.u16.srcPort[r]!, dstIp: dict[dstIp[r]!]!,
      dstPort: c.u16.dstPort[r]!, proto: c.proto[r]!, packets: packets![r]!, bytes: bytes![r]!, packetsRev: packetsRev![r]!,
      bytesRev: bytesRev![r]!, tcpFlags: c.u16.tcpFlags[r]!, exporter: dict[exporter[r]!]!, observationDomain: c.observationDomain[r]!,
      source: dict[source[r]!] as FlowSource,
    };
    if (l7[r] !== ABSENT) f.l7 = dict[l7[r]!]!;
    for (const m of MAP_COLS) {
      const col = c.maps[m];
      const sp = span(col.offsets, r, rows);
      if (!sp) continue;
      const o: Record<string, number> = {};
      for (let i = sp[0]; i < sp[1]; i++) o[dict[col.keys[i]!]!] = col.values[i]!;
      f[m] = o;
    }
    const us = span(c.units.offsets, r, rows);
    if (us) f.l7Units = Array.from(c.units.values.subarray(us[0], us[1]));
    const fs = span(c.fidelity.offsets, r, rows);
    if (fs) f.fidelity = Array.from(c.fidelity.values.subarray(fs[0], fs[1]), (i) => dict[i]!);
    if (c.link) {
      const { srcMac, dstMac, identity } = c.link;
      if (srcMac[r] !== ABSENT) f.srcMac = dict[srcMac[r]!]!;
      if (dstMac[r] !== ABSENT) f.dstMac = dict[dstMac[r]!]!;
      const k = identity[r]!;
      if (k !== ABSENT) {
        let parsed: unknown;
        try { parsed = JSON.parse(dict[k]!); } catch { parsed = undefined; }
        if (!Array.isArray(parsed)) return { ok: false, reason: `corrupt ${FLOWS_COL_SCHEMA} value: identity of row ${r} is not a list of reports` };
        f.identity = parsed as FlowRecord['identity'];
      }
    }
    if (c.intervals.present[r]) {
      const v = c.intervals.values;
      f.requestIntervalsMs = { count: v[r]!, mean: v[rows + r]!, m2: v[2 * rows + r]!, min: v[3 * rows + r]!, max: v[4 * rows + r]! };
    }
    out[r] = f;
  }
  return { ok: true, value: out };
};
