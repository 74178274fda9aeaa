/**
 * ClickHouse Native format, written straight into one buffer: the binary block the store inserts
 * for the hot tables (flows, windows, series) instead of JSON text. A block is
 *
 *   varUInt columns, varUInt rows, then per column: String name, String type, the column's data
 *
 * with each type's data laid out as ClickHouse serialises it (all little-endian):
 * - UInt8/16/32, Float64: the values back to back; UInt64 and DateTime64(3) (an Int64 of ms) too;
 * - String: per row varUInt byte length + UTF-8 bytes;
 * - LowCardinality(String): version UInt64 = 1, then one granule: flags UInt64 (need dictionary
 *   update | has additional keys | index width), key count UInt64, the keys as a String column
 *   (key 0 is the default ''), row count UInt64, the row indexes (UInt8/16/32);
 * - Array(T): the cumulative end offset per row (UInt64), then every element as a T column;
 *   Map(K, V): the same offsets, then all keys as a K column, then all values as a V column;
 * - Nullable(T): a null byte per row (1 = null), then the T column (0 where null).
 *
 * A table's writer (store/blocks.ts) calls `column(name, type)` and then one put per row (or a
 * whole-column helper), column after column; no intermediate arrays, so the only garbage is the
 * block itself.
 */

/** An encoded block, ready for `Store.insertRows(table, block)`. */
export interface NativeBlock {
  readonly format: 'Native';
  /** Column names in block order; the insert names them, so order is never guessed. */
  readonly columns: readonly string[];
  readonly rows: number;
  readonly bytes: Uint8Array;
}

export const isNativeBlock = (x: unknown): x is NativeBlock =>
  typeof x === 'object' && x !== null && !Array.isArray(x) && (x as { format?: unknown }).format === 'Native';

/** Rows in what `Store.insertRows` takes: an array of row objects or a Native block. */
export const rowCount = (rows: readonly object[] | NativeBlock): number => (isNativeBlock(rows) ? rows.rows : rows.length);

const TWO32 = 4_294_967_296;
const textEncoder = new TextEncoder();

/** Flags of a LowCardinality granule: NeedUpdateDictionary (1 << 10) | HasAdditionalKeys (1 << 9). */
const LC_FLAGS = 0x600;

/**
 * Block buffers handed back with `releaseBlock` once a block is written, reused by the next
 * builder: a writer then allocates its multi-megabyte buffers once, not per block (each would
 * be old-space garbage and bring major GCs sooner).
 */
const pool: Uint8Array[] = [];
const POOL_MAX = 4;
/** The pool keeps at most this many bytes: a flows block of 50 000 rows is ~15 MB, and idle buffers are resident memory. */
const POOL_BYTES = 24 * 1_048_576;
let pooled = 0;

const takeBuffer = (size: number): Uint8Array => {
  for (let i = 0; i < pool.length; i++) {
    if (pool[i]!.length >= size) {
      const buf = pool.splice(i, 1)[0]!;
      pooled -= buf.length;
      return buf;
    }
  }
  return new Uint8Array(size);
};

/** Hands a written block's buffer back for reuse. The block must not be used afterwards. */
export const releaseBlock = (block: NativeBlock): void => {
  putBuffer(new Uint8Array(block.bytes.buffer, 0, block.bytes.buffer.byteLength));
};

const putBuffer = (buf: Uint8Array): void => {
  if (pool.length < POOL_MAX && buf.length >= 1 << 16 && pooled + buf.length <= POOL_BYTES) {
    pool.push(buf);
    pooled += buf.length;
  }
};

/**
 * Native blocks of the same columns appended into one buffer: a Native stream of several blocks,
 * which one insert reads to the end. Each appended block's buffer goes back to the pool at once, and
 * the stream's own buffer is taken from it (sized for `expectRows` from the first block's bytes per
 * row), so a writer that encodes every batch as it comes makes no per-batch garbage.
 */
export class NativeStream {
  private buf: Uint8Array | undefined;
  private len = 0;
  rows = 0;
  private columns: readonly string[] = [];

  /** Bytes held so far. */
  get bytes(): number {
    return this.len;
  }

  /** Appends `block` (its buffer is handed back: the block must not be used afterwards). */
  append(block: NativeBlock, expectRows: number): void {
    if (this.rows === 0) this.columns = block.columns;
    else if (block.columns.length !== this.columns.length || block.columns.some((c, i) => c !== this.columns[i])) {
      throw new Error(`NativeStream: a block of other columns (${block.columns.join(', ')}; the stream has ${this.columns.join(', ')})`);
    }
    const need = this.len + block.bytes.length;
    if (!this.buf || need > this.buf.length) {
      const perRow = need / Math.max(1, this.rows + block.rows);
      const next = takeBuffer(Math.max(need, Math.ceil(perRow * expectRows * 1.1)));
      if (this.buf) {
        next.set(this.buf.subarray(0, this.len));
        putBuffer(this.buf);
      }
      this.buf = next;
    }
    this.buf.set(block.bytes, this.len);
    this.len = need;
    this.rows += block.rows;
    releaseBlock(block);
  }

  /** What was appended, as one block; the stream starts empty again. `releaseBlock` it once written. */
  seal(): NativeBlock {
    const block: NativeBlock = { format: 'Native', columns: this.columns, rows: this.rows, bytes: (this.buf ?? new Uint8Array(0)).subarray(0, this.len) };
    this.buf = undefined;
    this.len = 0;
    this.rows = 0;
    return block;
  }
}

/** Reused across blocks: LowCardinality row indexes; Int64 words. */
let lcScratch = new Uint32Array(1024);
let lcRemap = new Int32Array(64);
let i64Scratch = new Int32Array(2048);

export class NativeBuilder {
  buf: Uint8Array;
  private view: DataView;
  pos = 0;
  private readonly names: string[] = [];

  /** `bytesPerRow`: a guess of the block's size, so the buffer rarely grows. */
  constructor(readonly rows: number, columns: number, bytesPerRow = 64) {
    this.buf = takeBuffer(Math.max(1024, 256 + rows * bytesPerRow));
    this.view = new DataView(this.buf.buffer);
    this.varUInt(columns);
    this.varUInt(rows);
  }

  /** The block. Call once, after the last column. */
  seal(): NativeBlock {
    return { format: 'Native', columns: this.names, rows: this.rows, bytes: this.buf.subarray(0, this.pos) };
  }

  /** Makes room for `n` more bytes. The fixed-width puts below assume the column reserved its room. */
  reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  /** Starts a column and reserves `bytesPerRow` × rows for its values. */
  column(name: string, type: string, bytesPerRow = 0): this {
    this.names.push(name);
    this.str(name);
    this.str(type);
    this.reserve(bytesPerRow * this.rows);
    return this;
  }

  varUInt(v: number): void {
    this.reserve(10);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }

  /** A String value: varUInt length + UTF-8; ASCII is copied char by char (no native call). */
  str(s: string): void {
    const n = s.length;
    if (n < 128) {
      this.reserve(n + 1);
      const b = this.buf;
      let p = this.pos + 1;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c > 0x7f) break;
        b[p++] = c;
      }
      if (i === n) {
        b[this.pos] = n;
        this.pos = p;
        return;
      }
    }
    const bytes = textEncoder.encode(s);
    this.varUInt(bytes.length);
    this.reserve(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  u8(v: number): void {
    this.buf[this.pos++] = v;
  }

  u16(v: number): void {
    this.view.setUint16(this.pos, v, true);
    this.pos += 2;
  }

  u32(v: number): void {
    this.view.setUint32(this.pos, v, true);
    this.pos += 4;
  }

  /** UInt64 / Int64 from a whole number (exact below 2^53; fractions truncated toward -∞). */
  i64(v: number): void {
    const x = Math.floor(v);
    this.view.setUint32(this.pos, x >>> 0, true);
    this.view.setInt32(this.pos + 4, Math.floor(x / TWO32), true);
    this.pos += 8;
  }

  f64(v: number): void {
    this.view.setFloat64(this.pos, v, true);
    this.pos += 8;
  }

  /** A fixed-width column from the first `n` values of a typed array of its type (a memory copy). */
  fixed(name: string, type: 'UInt8' | 'UInt16' | 'UInt32' | 'Float64', values: Uint8Array | Uint16Array | Uint32Array | Float64Array, n: number): this {
    this.column(name, type);
    const bytes = n * values.BYTES_PER_ELEMENT;
    this.reserve(bytes);
    this.buf.set(new Uint8Array(values.buffer, values.byteOffset, bytes), this.pos);
    this.pos += bytes;
    return this;
  }

  /**
   * A UInt64, Int64 or DateTime64(3) column from the first `n` whole numbers of a Float64Array
   * (fractions truncated toward -∞), as Int32 word pairs in a scratch array, then one copy.
   */
  int64s(name: string, type: string, values: Float64Array, n: number): this {
    this.column(name, type, 8);
    if (i64Scratch.length < 2 * n) i64Scratch = new Int32Array(2 * n);
    const w = i64Scratch;
    for (let i = 0; i < n; i++) {
      const x = Math.floor(values[i]!);
      w[2 * i] = x >>> 0;
      w[2 * i + 1] = x >= 0 && x < TWO32 ? 0 : Math.floor(x / TWO32);
    }
    this.buf.set(new Uint8Array(w.buffer, 0, 8 * n), this.pos);
    this.pos += 8 * n;
    return this;
  }

  /** A String column of `rows` copies of one value. */
  stringConst(name: string, value: string): this {
    this.column(name, 'String');
    const start = this.pos;
    this.str(value);
    const len = this.pos - start;
    this.reserve(len * this.rows);
    for (let i = 1; i < this.rows; i++) {
      this.buf.copyWithin(this.pos, start, start + len);
      this.pos += len;
    }
    if (this.rows === 0) this.pos = start;
    return this;
  }

  /** A DateTime64(3, 'UTC') column of `rows` copies of one time (epoch ms). */
  dateTime64Const(name: string, ms: number): this {
    this.column(name, "DateTime64(3, 'UTC')", 8);
    for (let i = 0; i < this.rows; i++) this.i64(ms);
    return this;
  }

  /** A LowCardinality(String) column from one value per row. */
  lowCardinality(name: string, values: readonly string[]): this {
    this.column(name, 'LowCardinality(String)');
    const n = this.rows;
    if (lcScratch.length < n) lcScratch = new Uint32Array(n);
    const idx = lcScratch;
    const dict = new Map<string, number>([['', 0]]);
    const keys = [''];
    let prev = '';
    let prevK = 0;
    for (let i = 0; i < n; i++) {
      const v = values[i]!;
      if (v !== prev) {
        let k = dict.get(v);
        if (k === undefined) {
          k = keys.length;
          dict.set(v, k);
          keys.push(v);
        }
        prev = v;
        prevK = k;
      }
      idx[i] = prevK;
    }
    this.lcTail(keys, idx, n);
    return this;
  }

  /**
   * A LowCardinality(String) column from indexes into `keys` (one per row, `n` rows): no string is
   * looked up per row. The dictionary holds '' and the keys used, in order of first use.
   */
  lowCardinalityIndexes(name: string, keys: readonly string[], idx: Uint16Array | Uint32Array, n: number): this {
    this.column(name, 'LowCardinality(String)');
    if (lcRemap.length < keys.length) lcRemap = new Int32Array(keys.length);
    const remap = lcRemap;
    remap.fill(-1, 0, keys.length);
    if (lcScratch.length < n) lcScratch = new Uint32Array(n);
    const out = lcScratch;
    const used = [''];
    for (let i = 0; i < n; i++) {
      const k = idx[i]!;
      let r = remap[k]!;
      if (r < 0) {
        const key = keys[k]!;
        r = key === '' ? 0 : used.length;
        if (r > 0) used.push(key);
        remap[k] = r;
      }
      out[i] = r;
    }
    this.lcTail(used, out, n);
    return this;
  }

  /** A LowCardinality granule: version, flags, the dictionary, then each row's index. */
  private lcTail(keys: readonly string[], idx: Uint32Array, n: number): void {
    const width = keys.length <= 0x100 ? 1 : keys.length <= 0x10000 ? 2 : 4;
    this.reserve(24);
    this.i64(1);
    this.i64(LC_FLAGS | (width === 1 ? 0 : width === 2 ? 1 : 2));
    this.i64(keys.length);
    for (const k of keys) this.str(k);
    this.reserve(8 + n * width);
    this.i64(n);
    if (width === 1) for (let i = 0; i < n; i++) this.u8(idx[i]!);
    else if (width === 2) for (let i = 0; i < n; i++) this.u16(idx[i]!);
    else for (let i = 0; i < n; i++) this.u32(idx[i]!);
  }

  /** A Nullable(Float64) column from one value per row, NaN for null. */
  nullableFloat64(name: string, values: ArrayLike<number>): this {
    this.column(name, 'Nullable(Float64)', 9);
    for (let i = 0; i < this.rows; i++) this.u8(Number.isNaN(values[i]!) ? 1 : 0);
    for (let i = 0; i < this.rows; i++) {
      const v = values[i]!;
      this.f64(Number.isNaN(v) ? 0 : v);
    }
    return this;
  }

  /** An Array(UInt32) column from one array per row (undefined = empty). */
  arrayUint32(name: string, values: readonly (readonly number[] | undefined)[]): this {
    this.column(name, 'Array(UInt32)', 8);
    let total = 0;
    for (let i = 0; i < this.rows; i++) this.i64(total += values[i]?.length ?? 0);
    this.reserve(total * 4);
    for (let i = 0; i < this.rows; i++) {
      const a = values[i];
      if (a) for (let j = 0; j < a.length; j++) this.u32(a[j]!);
    }
    return this;
  }

  /** An Array(String) column from one array per row (undefined = empty). */
  arrayString(name: string, values: readonly (readonly string[] | undefined)[]): this {
    this.column(name, 'Array(String)', 8);
    let total = 0;
    for (let i = 0; i < this.rows; i++) this.i64(total += values[i]?.length ?? 0);
    for (let i = 0; i < this.rows; i++) {
      const a = values[i];
      if (a) for (let j = 0; j < a.length; j++) this.str(a[j]!);
    }
    return this;
  }

  /**
   * A Map(String, UInt64 | Float64) column from one record per row (undefined = empty). One pass
   * over the records: offsets, keys and values go to scratch buffers, then three copies. A key's
   * bytes (varUInt length + UTF-8) are encoded once and remembered per position in the record, so a
   * column whose records repeat their keys (a dissector's operation names) copies them.
   */
  map(name: string, valueType: 'UInt64' | 'Float64', values: readonly (Readonly<Record<string, number>> | undefined)[]): this {
    this.column(name, `Map(String, ${valueType})`, 8);
    const n = this.rows;
    if (i64Scratch.length < 2 * n) i64Scratch = new Int32Array(2 * n);
    const off = i64Scratch;
    let kb = mapKeyBytes;
    let kp = 0;
    let vals = mapValues;
    let total = 0;
    for (let i = 0; i < n; i++) {
      const m = values[i];
      if (m !== undefined) {
        let j = 0;
        for (const k in m) {
          let enc: Uint8Array;
          if (j < KEY_SLOTS && lastKey[j] === k) enc = lastEnc[j]!;
          else {
            enc = encodedKey(k);
            if (j < KEY_SLOTS) { lastKey[j] = k; lastEnc[j] = enc; }
          }
          j++;
          const len = enc.length;
          if (kp + len > kb.length) mapKeyBytes = kb = growU8(kb, kp + len);
          kb.set(enc, kp);
          kp += len;
          if (total === vals.length) mapValues = vals = growF64(vals);
          vals[total++] = m[k]!;
        }
      }
      // The running entry count is the row's end offset (UInt64; fewer than 2^32 entries per block).
      off[2 * i] = total;
      off[2 * i + 1] = 0;
    }
    this.reserve(8 * n + kp + 8 * total);
    this.buf.set(new Uint8Array(off.buffer, 0, 8 * n), this.pos);
    this.pos += 8 * n;
    this.buf.set(kb.subarray(0, kp), this.pos);
    this.pos += kp;
    if (valueType === 'UInt64') {
      // Whole counts as Int32 word pairs, in place over the values (each pair overwrites its own value).
      const w = new Int32Array(vals.buffer, 0, 2 * total);
      for (let i = 0; i < total; i++) {
        const x = Math.floor(vals[i]!);
        w[2 * i] = x >>> 0;
        w[2 * i + 1] = x >= 0 && x < TWO32 ? 0 : Math.floor(x / TWO32);
      }
    }
    this.buf.set(new Uint8Array(vals.buffer, 0, 8 * total), this.pos);
    this.pos += 8 * total;
    return this;
  }
}

/** Reused across blocks: map keys (as bytes) and values of one column. */
let mapKeyBytes: Uint8Array = new Uint8Array(1 << 16);
let mapValues: Float64Array<ArrayBuffer> = new Float64Array(1024);
/** The last record's keys by position and their bytes: most records of a column repeat them. */
const KEY_SLOTS = 32;
const lastKey: string[] = new Array<string>(KEY_SLOTS).fill('');
const lastEnc: Uint8Array[] = new Array<Uint8Array>(KEY_SLOTS).fill(new Uint8Array(1));
/** Map keys as String bytes, at most KEYS_MAX remembered (then forgotten all at once). */
const keyBytes = new Map<string, Uint8Array>();
const KEYS_MAX = 4096;
const encodedKey = (k: string): Uint8Array => {
  let e = keyBytes.get(k);
  if (e) return e;
  const b = new NativeBuilder(0, 0, 0);
  b.pos = 0;
  b.str(k);
  e = b.buf.slice(0, b.pos);
  if (keyBytes.size >= KEYS_MAX) keyBytes.clear();
  keyBytes.set(k, e);
  return e;
};
const growU8 = (a: Uint8Array, need: number): Uint8Array => {
  const b = new Uint8Array(Math.max(need, a.length * 2));
  b.set(a);
  return b;
};
const growF64 = (a: Float64Array<ArrayBuffer>): Float64Array<ArrayBuffer> => {
  const b = new Float64Array(a.length * 2);
  b.set(a);
  return b;
};
