/**
 * Columns: growable typed arrays indexed by a small integer (an edge, a window slot, a pool
 * entry), and their plain-JSON form for snapshots. Detectors keep one column per field instead of
 * one object per edge, so a hundred thousand edges are a few arrays, not a hundred thousand heaps
 * of Maps.
 *
 * JSON: numbers are written as they are; the non-finite ones (an empty summary's ±Infinity, an
 * unset time's NaN) as the strings "inf", "-inf" and "nan" — the same spelling as the bus codec's
 * `encodeJson`, whose reviver may already have turned them back into numbers when `fromJson` sees
 * them, so both forms are read.
 */

type TypedArray = Float64Array | Int32Array | Uint32Array | Uint16Array | Uint8Array;
type TypedCtor<T extends TypedArray> = { new(n: number): T };

/** Grows `a` (copying) so that index `need - 1` fits; new cells hold `fill`. */
export const grow = <T extends TypedArray>(a: T, need: number, fill = 0): T => {
  if (need <= a.length) return a;
  const next = new (a.constructor as TypedCtor<T>)(Math.max(need, Math.ceil(a.length * 1.5), 16));
  next.set(a);
  if (fill !== 0) next.fill(fill, a.length);
  return next;
};

/** A number or its non-finite spelling. */
export type NumJSON = number | 'inf' | '-inf' | 'nan';

const enc = (x: number): NumJSON => (Number.isFinite(x) ? x : Number.isNaN(x) ? 'nan' : x > 0 ? 'inf' : '-inf');

/** Reads a number written by `numToJson` (or already revived to one). */
export const numFromJson = (v: unknown): number => {
  if (typeof v === 'number') return v;
  if (v === 'inf') return Infinity;
  if (v === '-inf') return -Infinity;
  if (v === 'nan' || v === null) return NaN;
  throw new RangeError(`not a number in engine state: ${JSON.stringify(v)}`);
};

export const numToJson = enc;

/** The first `n` cells of a column as JSON numbers. */
export const colToJson = (a: TypedArray, n: number): NumJSON[] => {
  const out = new Array<NumJSON>(n);
  if (a instanceof Float64Array) for (let i = 0; i < n; i += 1) out[i] = enc(a[i]!);
  else for (let i = 0; i < n; i += 1) out[i] = a[i]!;
  return out;
};

/** A column of `ctor` holding `json` (at least `min` cells). */
export const colFromJson = <T extends TypedArray>(ctor: TypedCtor<T>, json: readonly unknown[] | undefined, min = 0, fill = 0): T => {
  const list = json ?? [];
  const a = new ctor(Math.max(16, min, list.length));
  if (fill !== 0) a.fill(fill);
  for (let i = 0; i < list.length; i += 1) a[i] = numFromJson(list[i]);
  return a;
};
