/**
 * Canonical JSON (RFC 8785, JCS) and the SHA-256 content hashes built on it.
 *
 * Every hash in enforce/ — a rule's content hash, a what-if result's hash, an audit entry's chain
 * hash — is SHA-256 over the canonical form, so the same data gives the same hash whatever the key
 * order or whitespace of the file it came from. The form: object keys sorted by UTF-16 code units,
 * no whitespace, strings as `JSON.stringify` writes them (which RFC 8785 §3.2.2.2 adopts), numbers as
 * ECMAScript prints them (§3.2.2.3; `-0` as `0`). `undefined` members are dropped like
 * `JSON.stringify` does; non-finite numbers, bigints, functions and symbols are refused, since
 * JSON has no spelling for them and a hash over a lossy form would hide a difference.
 */
import { createHash } from 'node:crypto';

/** Canonical JSON text of `value` (RFC 8785). Throws a TypeError on a value JSON cannot hold. */
export const canonicalJson = (value: unknown): string => {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`canonical JSON cannot hold the number ${value}`);
      return Object.is(value, -0) ? '0' : String(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
      const obj = value as Record<string, unknown>;
      const keys = Object.keys(obj);
      // Most objects here are built with their keys in order already: sort only when they are not.
      for (let i = 1; i < keys.length; i++) if (keys[i - 1]! > keys[i]!) { keys.sort(); break; }
      let out = '';
      for (const k of keys) {
        const v = obj[k];
        if (v === undefined) continue;
        out += `${out ? ',' : ''}${JSON.stringify(k)}:${canonicalJson(v)}`;
      }
      return `{${out}}`;
    }
    default:
      throw new TypeError(`canonical JSON cannot hold a ${typeof value}`);
  }
};

/** SHA-256 of a string or bytes, lowercase hex. */
export const sha256Hex = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** Content hash of a JSON value: `sha256:` + SHA-256 hex of its canonical form. */
export const contentHash = (value: unknown): string => `sha256:${sha256Hex(canonicalJson(value))}`;
