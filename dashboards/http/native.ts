/**
 * ClickHouse's Native format, as chDB writes it, re-framed for a client of a given protocol
 * revision (clickhouse-go, inside Grafana's ClickHouse plugin, asks with `client_protocol_version`).
 *
 * chDB writes Native for revision 0. A client at revision R > 0 expects two more things, and
 * nothing else changes (ClickHouse NativeWriter):
 *
 *   per block   BlockInfo before the column count: field 1 is_overflows UInt8 (0),
 *               field 2 bucket_num Int32 (−1), field 0 (end); field numbers are varints
 *   per column  R ≥ 54454 (custom serialization): a UInt8 after the type, 0 = dense
 *
 *   revision-0 block:  varint columns · varint rows · per column: String name · String type · data
 *
 * Inserting those bytes needs each column's data length, so this module walks the data of every
 * type the store's tables and the dashboards' queries produce (numbers, dates, strings,
 * Nullable, Array, Map, Tuple, LowCardinality, Enum, Decimal, UUID, IP, SimpleAggregateFunction).
 * Others (Dynamic, Variant, JSON, AggregateFunction states) are refused with a clear error.
 */
import { PipelineError } from '../../core/errors.ts';

/** ClickHouse's DBMS_MIN_REVISION_WITH_CUSTOM_SERIALIZATION. */
export const REVISION_WITH_CUSTOM_SERIALIZATION = 54454;

interface TypeNode {
  name: string;
  args: string[];
}

/** Splits `a, b(c, d), 'e,f'` at top-level commas. */
const splitArgs = (s: string): string[] => {
  const out: string[] = [];
  let depth = 0;
  let quote = '';
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = '';
    } else if (c === "'" || c === '`' || c === '"') quote = c;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      out.push(s.slice(start, i).trim());
      start = i + 1;
    }
  }
  const last = s.slice(start).trim();
  if (last) out.push(last);
  return out;
};

const parseType = (t: string): TypeNode => {
  const open = t.indexOf('(');
  if (open === -1) return { name: t.trim(), args: [] };
  return { name: t.slice(0, open).trim(), args: splitArgs(t.slice(open + 1, t.lastIndexOf(')'))) };
};

/** A Tuple element `name Type` (named tuples) → `Type`. */
const elementType = (arg: string): string => {
  const m = /^(`[^`]*`|[A-Za-z_]\w*)\s+(\S[\s\S]*)$/.exec(arg);
  return m && !/^[A-Za-z_]\w*\(/.test(arg) ? m[2]! : arg;
};

const FIXED: Record<string, number> = {
  UInt8: 1, Int8: 1, Bool: 1, Enum8: 1, UInt16: 2, Int16: 2, Enum16: 2, Date: 2, BFloat16: 2,
  UInt32: 4, Int32: 4, Float32: 4, Date32: 4, DateTime: 4, IPv4: 4, Time: 4, Decimal32: 4,
  UInt64: 8, Int64: 8, Float64: 8, DateTime64: 8, Time64: 8, Decimal64: 8,
  UInt128: 16, Int128: 16, UUID: 16, IPv6: 16, Decimal128: 16, UInt256: 32, Int256: 32, Decimal256: 32,
};

const decimalWidth = (precision: number): number => (precision <= 9 ? 4 : precision <= 18 ? 8 : precision <= 38 ? 16 : 32);

class Reader {
  constructor(readonly buf: Uint8Array, public pos = 0) {}

  need(n: number): void {
    if (this.pos + n > this.buf.length) throw new PipelineError('unrecoverable', `Native output ends early at byte ${this.pos} (needs ${n} more).`);
  }

  varint(): number {
    let x = 0;
    let shift = 0;
    for (;;) {
      this.need(1);
      const b = this.buf[this.pos++]!;
      x += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return x;
      shift += 7;
    }
  }

  u64(): number {
    this.need(8);
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 8).getBigUint64(0, true);
    this.pos += 8;
    return Number(v);
  }

  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }

  string(): string {
    const n = this.varint();
    this.need(n);
    const s = Buffer.from(this.buf.buffer, this.buf.byteOffset + this.pos, n).toString('utf8');
    this.pos += n;
    return s;
  }
}

/** Walks past `rows` values of `type` (one bulk stream, as NativeWriter writes a column). */
const skipData = (r: Reader, type: string, rows: number): void => {
  const t = parseType(type);
  const fixed = FIXED[t.name];
  if (fixed !== undefined) return r.skip(fixed * rows);
  switch (t.name) {
    case 'String':
      for (let i = 0; i < rows; i++) r.skip(r.varint());
      return;
    case 'FixedString':
      return r.skip(Number(t.args[0]) * rows);
    case 'Decimal':
      return r.skip(decimalWidth(Number(t.args[0])) * rows);
    case 'Nothing':
      return r.skip(rows);
    case 'Nullable':
      r.skip(rows);
      return skipData(r, t.args[0]!, rows);
    case 'SimpleAggregateFunction':
      return skipData(r, t.args.at(-1)!, rows);
    case 'Array':
    case 'Map': {
      let total = 0;
      for (let i = 0; i < rows; i++) total = r.u64();
      if (t.name === 'Array') return skipData(r, t.args[0]!, total);
      skipData(r, t.args[0]!, total);
      return skipData(r, t.args[1]!, total);
    }
    case 'Tuple':
      for (const a of t.args) skipData(r, elementType(a), rows);
      return;
    case 'LowCardinality':
      return skipLowCardinality(r, t.args[0]!, rows);
    default:
      throw new PipelineError('unrecoverable',
        `Type ${type} cannot be re-framed for this Native client; CAST the column (e.g. toString(x)) or ask for another format.`);
  }
};

/**
 * LowCardinality bulk data (SerializationLowCardinality): UInt64 key version, then pieces until
 * `rows` indexes were read: UInt64 index type and flags (bits 0–7: index width 1/2/4/8 bytes;
 * bit 9: additional keys follow), [UInt64 key count, keys of the dictionary type], UInt64 index
 * count, the indexes. The dictionary of LowCardinality(Nullable(T)) holds T.
 */
const skipLowCardinality = (r: Reader, inner: string, rows: number): void => {
  r.u64();
  const it = parseType(inner);
  const dictType = it.name === 'Nullable' ? it.args[0]! : inner;
  let read = 0;
  while (read < rows) {
    const flags = r.u64();
    const width = [1, 2, 4, 8][flags & 0xff];
    if (width === undefined) throw new PipelineError('unrecoverable', `LowCardinality index type ${flags & 0xff} unknown in Native output.`);
    if (flags & (1 << 9)) skipData(r, dictType, r.u64());
    const n = r.u64();
    r.skip(n * width);
    read += n;
  }
};


/** BlockInfo: field 1 is_overflows = 0, field 2 bucket_num = −1, end. */
const BLOCK_INFO = Uint8Array.from([1, 0, 2, 0xff, 0xff, 0xff, 0xff, 0]);

const stringBytes = (s: string): Buffer => {
  const b = Buffer.from(s, 'utf8');
  const len: number[] = [];
  let x = b.length;
  while (x >= 0x80) { len.push((x & 0x7f) | 0x80); x >>>= 7; }
  len.push(x);
  return Buffer.concat([Uint8Array.from(len), b]);
};

/**
 * The header block (no rows) a ClickHouse server sends for an empty Native result, which chDB
 * leaves out: the client still learns the columns and their types.
 */
export const nativeHeader = (columns: { name: string; type: string }[], revision: number): Buffer => {
  const parts: Uint8Array[] = [];
  if (revision > 0) parts.push(BLOCK_INFO);
  const count: number[] = [];
  let x = columns.length;
  while (x >= 0x80) { count.push((x & 0x7f) | 0x80); x >>>= 7; }
  count.push(x);
  parts.push(Uint8Array.from(count), Uint8Array.of(0));
  for (const c of columns) {
    parts.push(stringBytes(c.name), stringBytes(c.type));
    if (revision >= REVISION_WITH_CUSTOM_SERIALIZATION) parts.push(Uint8Array.of(0));
  }
  return Buffer.concat(parts);
};

/** chDB's revision-0 Native output → the same blocks for a client at `revision`. */
export const nativeForRevision = (src: Uint8Array, revision: number): Buffer => {
  if (revision <= 0) return Buffer.from(src);
  const r = new Reader(src);
  const parts: Uint8Array[] = [];
  const custom = revision >= REVISION_WITH_CUSTOM_SERIALIZATION;
  while (r.pos < src.length) {
    const blockStart = r.pos;
    const columns = r.varint();
    const rows = r.varint();
    parts.push(BLOCK_INFO, src.subarray(blockStart, r.pos));
    for (let c = 0; c < columns; c++) {
      const headStart = r.pos;
      r.string();
      const type = r.string();
      parts.push(src.subarray(headStart, r.pos));
      if (custom) parts.push(Uint8Array.of(0));
      const dataStart = r.pos;
      // Zero rows are always zero bytes of data (NativeWriter).
      if (rows > 0) skipData(r, type, rows);
      parts.push(src.subarray(dataStart, r.pos));
    }
  }
  return Buffer.concat(parts);
};

export const _forTests = { skipData, Reader, parseType, elementType };
