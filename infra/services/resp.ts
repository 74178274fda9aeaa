/**
 * A tiny RESP2 client (Redis serialization protocol spec): enough for the launcher's readiness PING and
 * for tests that read CONFIG GET, with no Redis library.
 *
 *   first byte  type           rest of the line / payload
 *   '+'         simple string  text up to CRLF
 *   '-'         error          text up to CRLF
 *   ':'         integer        decimal up to CRLF
 *   '$'         bulk string    decimal length (-1 = null) CRLF, that many bytes, CRLF
 *   '*'         array          decimal count (-1 = null) CRLF, then count replies
 *
 * Commands go out as an array of bulk strings.
 */
import { connect } from 'node:net';

/** A decoded reply; errors are values, the caller decides (a LOADING error just means "not yet"). */
export type RespValue = string | number | null | RespError | RespValue[];

/** A '-' reply. */
export class RespError {
  constructor(readonly message: string) {}
}

/** Encodes a command as a RESP array of bulk strings. */
export const encodeCommand = (args: readonly string[]): Buffer => {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = Buffer.from(a, 'utf8');
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
};

/** One parsed reply and the bytes it used; `undefined` = incomplete; a string = protocol violation. */
type Parsed = { value: RespValue; end: number } | undefined | 'resp_bad_type' | 'resp_bad_length';

const parseAt = (buf: Buffer, start: number): Parsed => {
  const eol = buf.indexOf('\r\n', start);
  if (eol < 0) return undefined;
  const line = buf.toString('utf8', start + 1, eol);
  const next = eol + 2;
  switch (buf[start]) {
    case 0x2b: // '+'
      return { value: line, end: next };
    case 0x2d: // '-'
      return { value: new RespError(line), end: next };
    case 0x3a: // ':'
      return { value: Number(line), end: next };
    case 0x24: { // '$'
      const len = Number(line);
      if (!Number.isInteger(len) || len < -1) return 'resp_bad_length';
      if (len === -1) return { value: null, end: next };
      if (buf.length < next + len + 2) return undefined;
      return { value: buf.toString('utf8', next, next + len), end: next + len + 2 };
    }
    case 0x2a: { // '*'
      const count = Number(line);
      if (!Number.isInteger(count) || count < -1) return 'resp_bad_length';
      if (count === -1) return { value: null, end: next };
      const items: RespValue[] = [];
      let at = next;
      for (let i = 0; i < count; i++) {
        const item = parseAt(buf, at);
        if (item === undefined || typeof item === 'string') return item;
        items.push(item.value);
        at = item.end;
      }
      return { value: items, end: at };
    }
    default:
      return 'resp_bad_type';
  }
};

/**
 * Parses the first complete reply in `buf`: `{ value, end }`, `undefined` while more bytes are needed,
 * or a violation code for bytes that are not RESP.
 */
export const parseReply = (buf: Buffer): Parsed => (buf.length === 0 ? undefined : parseAt(buf, 0));

/** Sends one command to 127.0.0.1:`port` on a fresh connection and resolves with its reply. */
export const redisCommand = (port: number, args: readonly string[], timeoutMs = 3_000, host = '127.0.0.1'): Promise<RespValue> =>
  new Promise((resolvePromise, reject) => {
    const socket = connect({ port, host });
    let buf = Buffer.alloc(0);
    const finish = (err: Error | undefined, value?: RespValue): void => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolvePromise(value!);
    };
    const timer = setTimeout(() => finish(new Error(`no reply to ${args[0]} from ${host}:${port} within ${timeoutMs} ms`)), timeoutMs);
    socket.on('connect', () => socket.write(encodeCommand(args)));
    socket.on('error', (e) => finish(e));
    socket.on('close', () => finish(new Error(`${host}:${port} closed the connection before replying to ${args[0]}`)));
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const parsed = parseReply(buf);
      if (parsed === undefined) return;
      if (typeof parsed === 'string') return finish(new Error(`reply from ${host}:${port} is not RESP (${parsed})`));
      finish(undefined, parsed.value);
    });
  });
