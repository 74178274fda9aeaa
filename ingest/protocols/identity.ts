/**
 * Helpers the dissectors share to read device identity (`FlowRecord.identity`) out of payload:
 * bounded, printable text from bytes that a device (or an attacker) chose.
 */

/** Longest identity text kept, in characters. */
export const MAX_IDENTITY_TEXT = 96;

/**
 * Text of `buf[start, end)` as latin1 (ASCII for every protocol here), control characters and NULs
 * dropped, runs of spaces folded, trimmed, at most {@link MAX_IDENTITY_TEXT} characters; '' when
 * nothing printable is left.
 */
export const identityText = (buf: Buffer, start: number, end: number): string => {
  const stop = Math.min(end, buf.length);
  if (start >= stop) return '';
  return clean(buf.toString('latin1', start, stop));
};

/** UCS-2 (big-endian) text of `buf[start, end)`, cleaned as {@link identityText}. */
export const identityTextUcs2 = (buf: Buffer, start: number, end: number): string => {
  const stop = Math.min(end, buf.length);
  let s = '';
  for (let p = start; p + 1 < stop; p += 2) s += String.fromCharCode((buf[p]! << 8) | buf[p + 1]!);
  return clean(s);
};

/** UTF-8 text of `buf[start, end)`, cleaned as {@link identityText}. */
export const identityTextUtf8 = (buf: Buffer, start: number, end: number): string => {
  const stop = Math.min(end, buf.length);
  if (start >= stop) return '';
  return clean(buf.toString('utf8', start, stop));
};

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\ufffd]/g;

const clean = (s: string): string => s.replace(CONTROL, ' ').replace(/ {2,}/g, ' ').trim().slice(0, MAX_IDENTITY_TEXT);

/** Copies the set (non-empty) string fields of `fields` into a new object. */
export const nonEmpty = <T extends Record<string, string | undefined>>(fields: T): Partial<T> => {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(fields)) if (v !== undefined && v !== '') (out as Record<string, string>)[k] = v;
  return out;
};
