/**
 * A read-only ClickHouse HTTP interface over the embedded store, served by the process that owns
 * the chDB data directory (chDB locks it against other processes), so that Grafana's ClickHouse
 * plugin (clickhouse-go over HTTP), `@clickhouse/client` and `conduitwatch sql` can read a one-box
 * install while `serve` writes it.
 *
 * What it answers (ClickHouse's HTTP interface, the part a reader needs):
 *   GET|HEAD /ping, /replicas_status, GET /   → "Ok.\n"
 *   POST|GET /?query=…  (or the query in the POST body; both: joined by a newline)
 *     default_format (else TabSeparated; a FORMAT clause in the query wins), database (only
 *     "default"), query_id, param_<name> (query parameters {name:Type}), settings as URL
 *     parameters (a safe subset, clamped to the caps below), enable_http_compression=1 with
 *     Accept-Encoding gzip, client_protocol_version (Native re-framed for that revision, native.ts).
 *   Credentials: HTTP Basic, X-ClickHouse-User/X-ClickHouse-Key, ?user=&password=, or
 *     Authorization: Bearer <token> (the token also works as the password).
 *   Errors: ClickHouse's text ("Code: 164. DB::Exception: … (READONLY)") with
 *     X-ClickHouse-Exception-Code, and 400/401/403/404/413/500/503 by kind.
 *
 * Read-only twice over: the gate (readonly.ts) lets one SELECT-like statement through, and the
 * engine runs it with `readonly=1`, `max_execution_time` and `max_result_rows/bytes`
 * (result_overflow_mode=throw) appended as a SETTINGS clause the query cannot override.
 */
import { rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { randomUUID, timingSafeEqual } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { z } from 'zod';
import { errorMessage, PipelineError } from '../../core/errors.ts';
import type { Logger, Metrics } from '../../core/telemetry.ts';
import type { Store } from '../../store/store.ts';
import { nativeForRevision, nativeHeader } from './native.ts';
import { readOnlyGate } from './readonly.ts';

/** The engine call the endpoint needs: bytes of one query's output in a format. */
export type RawQuery = (sql: string, format: string, opts: { params?: Record<string, string>; timeoutMs: number }) => Promise<Uint8Array>;

export const QueryEndpointConfig = z.object({
  listen: z.string().default('http://127.0.0.1:8123')
    .describe('http://HOST:PORT to listen on. Loopback by default; another address needs a password or a token.'),
  user: z.string().min(1).default('default').describe('The user name clients send (HTTP Basic, X-ClickHouse-User or ?user=).'),
  password: z.string().optional().describe('The password for `user`. Without password and token, only loopback clients are served, with no credentials.'),
  token: z.string().min(16).optional().describe('A bearer token (Authorization: Bearer …); it is also accepted as the password.'),
  maxExecutionTimeS: z.number().positive().default(30).describe('Longest a query may run (seconds); a client may ask for less, never more.'),
  maxResultRows: z.number().int().positive().default(1_000_000).describe('Most rows a result may have; a larger one is an error (TOO_MANY_ROWS_OR_BYTES), not a silent cut.'),
  maxResultBytes: z.number().int().positive().default(256 * 1024 * 1024).describe('Most bytes a result may hold in the engine.'),
  maxQueryBytes: z.number().int().positive().default(1024 * 1024).describe('Longest query text accepted (bytes, after decompression).'),
  maxConcurrent: z.number().int().positive().default(4).describe('Queries run at once; more wait, and past 8 × this the endpoint answers 503.'),
}).strict();
export type QueryEndpointConfig = z.output<typeof QueryEndpointConfig>;

const VERSION = '26.7.2.1';

/** A ClickHouse-style error with its numeric code and name. */
class HttpError extends Error {
  constructor(readonly status: number, readonly chCode: number, readonly chName: string, message: string) {
    super(message);
  }
}

const refuse = {
  auth: () => new HttpError(401, 516, 'AUTHENTICATION_FAILED', 'default: Authentication failed: password is incorrect, or there is no user with such name.'),
  readonly: (why: string) => new HttpError(403, 164, 'READONLY', why),
  tooBig: (n: number) => new HttpError(413, 307, 'TOO_LARGE_STRING_SIZE', `Query is ${n} bytes; this endpoint takes at most the configured maxQueryBytes.`),
  busy: () => new HttpError(503, 202, 'TOO_MANY_SIMULTANEOUS_QUERIES', 'Too many simultaneous queries; retry later.'),
  database: (db: string) => new HttpError(404, 81, 'UNKNOWN_DATABASE', `Database ${db} does not exist; the embedded store has only "default".`),
  setting: (name: string) => new HttpError(400, 115, 'UNKNOWN_SETTING', `Setting ${name} is not accepted by this read-only endpoint.`),
};

/** URL parameters that are not settings. */
const NOT_SETTINGS = new Set([
  'query', 'database', 'default_format', 'query_id', 'user', 'password', 'session_id', 'session_timeout', 'session_check',
  'compress', 'decompress', 'enable_http_compression', 'client_protocol_version', 'quota_key', 'buffer_size', 'wait_end_of_query',
  'send_progress_in_http_headers', 'http_headers_progress_interval_ms', 'http_zlib_compression_level', 'role', 'log_comment',
  'cancel_http_readonly_queries_on_client_close', 'http_wait_end_of_query', 'http_response_buffer_size',
]);

/** Settings a client may pass (clamped where they touch the caps); anything else is refused. */
const PASSED = /^(output_format_\w+|format_\w+|date_time_output_format|session_timezone|max_threads|max_block_size|limit|offset|extremes|join_use_nulls|readonly|max_execution_time|max_result_rows|max_result_bytes|result_overflow_mode|timeout_overflow_mode|use_client_time_zone|allow_experimental_\w+|enable_analyzer|allow_suspicious_low_cardinality_types|additional_table_filters)$/;

const literal = (v: string): string => (/^-?\d+(\.\d+)?$/.test(v) ? v : `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`);

/** TabSeparated escapes (\\t, \\n, \\\\, …) back to text. */
const unescapeTsv = (s: string): string =>
  s.replace(/\\(.)/g, (_, c: string) => ({ t: '\t', n: '\n', r: '\r', b: '\b', f: '\f', '0': '\0' }[c] ?? c));

const same = (a: string, b: string): boolean => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

const isLoopback = (addr: string | undefined): boolean =>
  !!addr && (addr.startsWith('127.') || addr === '::1' || addr.startsWith('::ffff:127.'));

const contentType = (format: string): string => {
  const f = format.toLowerCase();
  if (f.startsWith('json')) return 'application/json; charset=UTF-8';
  if (f.startsWith('csv')) return 'text/csv; charset=UTF-8';
  if (f.startsWith('tsv') || f.startsWith('tabseparated')) return 'text/tab-separated-values; charset=UTF-8';
  if (/^(native|rowbinary|parquet|arrow|avro|orc|msgpack|protobuf)/.test(f)) return 'application/octet-stream';
  return 'text/plain; charset=UTF-8';
};

/** The ClickHouse code and name in an engine message ("Code: 60. DB::Exception: … (UNKNOWN_TABLE) (version …)"). */
const engineError = (e: unknown): HttpError => {
  const root = errorMessage((e as { cause?: unknown }).cause ?? e).split('\n')[0]!;
  const code = Number(/Code: (\d+)\./.exec(root)?.[1] ?? 1000);
  const name = /\(([A-Z][A-Z0-9_]+)\)/.exec(root)?.[1] ?? 'UNKNOWN_EXCEPTION';
  // chDB nests the engine's text ("Code: 164. DB::Exception: Code: 164. DB::Exception: … (READONLY) (version …). (READONLY)").
  const text = root.replace(/(Code: \d+\. DB::Exception: )+/g, '').replace(/\s*\(version [^)]*\)/g, '')
    .replace(/\s*\([A-Z][A-Z0-9_]+\)\.?/g, '').replace(/[.\s]+$/, '');
  const status = code === 62 ? 400 : code === 164 ? 403 : code === 60 || code === 81 ? 404 : 500;
  return new HttpError(status, code, name, text);
};

export interface QueryEndpoint {
  /** http://host:port actually bound (port 0 picks one). */
  url: string;
  close(): Promise<void>;
}

export interface EndpointDeps {
  run: RawQuery;
  log?: Logger;
  metrics?: Metrics;
}

const readBody = async (req: IncomingMessage, limit: number): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    n += (c as Buffer).length;
    if (n > limit * 4) throw refuse.tooBig(n);
    chunks.push(c as Buffer);
  }
  let body = Buffer.concat(chunks);
  const enc = String(req.headers['content-encoding'] ?? '').toLowerCase();
  if (enc === 'gzip') body = gunzipSync(body, { maxOutputLength: limit + 1 });
  else if (enc && enc !== 'identity') throw new HttpError(400, 1000, 'UNKNOWN_EXCEPTION', `Content-Encoding ${enc} is not supported; use gzip or none.`);
  if (body.length > limit) throw refuse.tooBig(body.length);
  return body;
};

export const parseListen = (spec: string): { host: string; port: number } => {
  const m = /^(?:http:\/\/)?(\[[^\]]+\]|[^:/]+):(\d+)\/?$/.exec(spec);
  if (!m || Number(m[2]) > 65535) throw new PipelineError('config_invalid', `--listen "${spec}" must be http://HOST:PORT, e.g. http://127.0.0.1:8123`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
};

/** Starts the endpoint. Throws `config_invalid` for a non-loopback address without credentials. */
export const startQueryEndpoint = async (config: QueryEndpointConfig, deps: EndpointDeps): Promise<QueryEndpoint> => {
  const c = QueryEndpointConfig.parse(config);
  const { host, port } = parseListen(c.listen);
  const open = c.password === undefined && c.token === undefined;
  if (open && !isLoopback(host === 'localhost' ? '127.0.0.1' : host)) {
    throw new PipelineError('config_invalid',
      `The query endpoint would listen on ${host} without credentials. Listen on 127.0.0.1, or set a password or a token ` +
      '(--query-password / --query-token, or CONDUITWATCH_QUERY_PASSWORD / CONDUITWATCH_QUERY_TOKEN).', { listen: c.listen });
  }
  let running = 0;
  const waiting: (() => void)[] = [];
  const acquire = async (): Promise<void> => {
    if (running < c.maxConcurrent) { running++; return; }
    if (waiting.length >= c.maxConcurrent * 8) throw refuse.busy();
    await new Promise<void>((r) => waiting.push(r));
    running++;
  };
  const release = () => { running--; waiting.shift()?.(); };

  const authorize = (req: IncomingMessage, url: URL): void => {
    const h = req.headers;
    let user: string | undefined;
    let pass: string | undefined;
    const auth = String(h.authorization ?? '');
    if (/^bearer /i.test(auth)) {
      if (c.token !== undefined && same(auth.slice(7).trim(), c.token)) return;
      throw refuse.auth();
    }
    if (/^basic /i.test(auth)) {
      const text = Buffer.from(auth.slice(6).trim(), 'base64').toString('utf8');
      const i = text.indexOf(':');
      user = i === -1 ? text : text.slice(0, i);
      pass = i === -1 ? '' : text.slice(i + 1);
    } else if (h['x-clickhouse-user'] !== undefined) {
      user = String(h['x-clickhouse-user']);
      pass = String(h['x-clickhouse-key'] ?? '');
    } else if (url.searchParams.has('user')) {
      user = url.searchParams.get('user')!;
      pass = url.searchParams.get('password') ?? '';
    }
    if (open) {
      if (!isLoopback(req.socket.remoteAddress)) throw refuse.auth();
      if (user === undefined || (same(user, c.user) && !pass)) return;
      throw refuse.auth();
    }
    if (user !== undefined && same(user, c.user) && pass !== undefined &&
      ((c.password !== undefined && same(pass, c.password)) || (c.token !== undefined && same(pass, c.token)))) return;
    throw refuse.auth();
  };

  const settingsOf = (url: URL): string => {
    let maxTime = c.maxExecutionTimeS;
    let maxRows = c.maxResultRows;
    let maxBytes = c.maxResultBytes;
    const passed: string[] = [];
    for (const [k, v] of url.searchParams) {
      if (NOT_SETTINGS.has(k) || k.startsWith('param_')) continue;
      if (!/^[a-z_][a-z0-9_]*$/.test(k) || !PASSED.test(k)) throw refuse.setting(k);
      const num = Number(v);
      if (k === 'max_execution_time') { if (num > 0) maxTime = Math.min(maxTime, num); continue; }
      if (k === 'max_result_rows') { if (num > 0) maxRows = Math.min(maxRows, num); continue; }
      if (k === 'max_result_bytes') { if (num > 0) maxBytes = Math.min(maxBytes, num); continue; }
      if (k === 'readonly') { if (v === '0') throw refuse.readonly('Cannot modify \'readonly\' setting in readonly mode.'); continue; }
      if (k === 'result_overflow_mode' || k === 'timeout_overflow_mode') continue;
      passed.push(`${k} = ${literal(v)}`);
    }
    // Ours come last: within one SETTINGS clause the last assignment wins.
    return [...passed, `max_execution_time = ${maxTime}`, `max_result_rows = ${maxRows}`, `max_result_bytes = ${maxBytes}`,
      "result_overflow_mode = 'throw'", "timeout_overflow_mode = 'throw'", 'readonly = 1'].join(', ');
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    if ((req.method === 'GET' || req.method === 'HEAD') && (path === '/ping' || path === '/replicas_status' || (path === '/' && !url.searchParams.has('query')))) {
      res.writeHead(200, { 'content-type': 'text/plain; charset=UTF-8' }).end('Ok.\n');
      return;
    }
    const queryId = url.searchParams.get('query_id') || randomUUID();
    const started = performance.now();
    try {
      if (path !== '/') throw new HttpError(404, 1000, 'UNKNOWN_EXCEPTION', `There is no handler ${path}; use /, /ping.`);
      if (req.method !== 'GET' && req.method !== 'POST') throw new HttpError(405, 1000, 'UNKNOWN_EXCEPTION', `Method ${req.method} is not allowed; use GET or POST.`);
      authorize(req, url);
      const db = url.searchParams.get('database');
      if (db && db !== 'default') throw refuse.database(db);
      const body = req.method === 'POST' ? (await readBody(req, c.maxQueryBytes)).toString('utf8') : '';
      const text = [url.searchParams.get('query') ?? '', body].filter((s) => s.trim()).join('\n');
      if (Buffer.byteLength(text) > c.maxQueryBytes) throw refuse.tooBig(Buffer.byteLength(text));
      const gate = readOnlyGate(text);
      if (!gate.ok) throw refuse.readonly(gate.reason);
      const settings = settingsOf(url);
      const format = gate.format ?? url.searchParams.get('default_format') ?? 'TabSeparated';
      const params: Record<string, string> = {};
      for (const [k, v] of url.searchParams) if (k.startsWith('param_')) params[k.slice(6)] = v;
      await acquire();
      let out: Uint8Array;
      try {
        out = await deps.run(`${gate.sql}\nSETTINGS ${settings}`, format, { params, timeoutMs: c.maxExecutionTimeS * 1_000 + 1_000 })
          .catch((e: unknown) => { throw engineError(e); });
      } finally {
        release();
      }
      const revision = Number(url.searchParams.get('client_protocol_version') ?? 0);
      const native = /^native$/i.test(format);
      let payload: Buffer = native && revision > 0 ? nativeForRevision(out, revision) : Buffer.from(out);
      if (native && out.length === 0) {
        // chDB writes nothing for an empty result; a server sends the header block (names and types).
        const desc = await deps.run(`DESCRIBE TABLE (${gate.sql})\nSETTINGS ${settings}`, 'TabSeparated', { timeoutMs: 10_000 })
          .catch((e: unknown) => { throw engineError(e); });
        const columns = Buffer.from(desc).toString('utf8').split('\n').filter(Boolean)
          .map((l) => l.split('\t')).map(([name, type]) => ({ name: unescapeTsv(name!), type: unescapeTsv(type!) }));
        payload = nativeHeader(columns, revision);
      }
      const headers: Record<string, string> = {
        'content-type': contentType(format), 'x-clickhouse-format': format, 'x-clickhouse-query-id': queryId,
        'x-clickhouse-timezone': 'UTC', 'x-clickhouse-server-display-name': 'conduitwatch',
        'x-clickhouse-summary': JSON.stringify({ result_bytes: String(payload.length), elapsed_ns: String(Math.round((performance.now() - started) * 1e6)) }),
      };
      if (url.searchParams.get('enable_http_compression') === '1' && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
        payload = gzipSync(payload, { level: 1 });
        headers['content-encoding'] = 'gzip';
      }
      headers['content-length'] = String(payload.length);
      res.writeHead(200, headers).end(payload);
      deps.metrics?.add('conduitwatch_query_endpoint_queries_total', { outcome: 'ok' }, 1);
    } catch (e) {
      const err = e instanceof HttpError ? e : new HttpError(500, 1000, 'UNKNOWN_EXCEPTION', errorMessage(e));
      deps.metrics?.add('conduitwatch_query_endpoint_queries_total', { outcome: err.chName.toLowerCase() }, 1);
      if (err.status >= 500) deps.log?.warn({ queryId, code: err.chCode, error: err.message }, 'Query failed.');
      if (res.headersSent) { res.destroy(); return; }
      res.writeHead(err.status, {
        'content-type': 'text/plain; charset=UTF-8', 'x-clickhouse-exception-code': String(err.chCode),
        'x-clickhouse-query-id': queryId, 'x-clickhouse-server-display-name': 'conduitwatch',
      }).end(`Code: ${err.chCode}. DB::Exception: ${err.message.replace(/[.\s]+$/, '')}. (${err.chName}) (version ${VERSION})\n`);
    }
  };

  const server: Server = createServer((req, res) => { void handle(req, res); });
  server.requestTimeout = (c.maxExecutionTimeS + 30) * 1_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => reject(new PipelineError('config_invalid', `The query endpoint cannot listen on ${c.listen}: ${(e as NodeJS.ErrnoException).code}`, { listen: c.listen }, { cause: e })));
    server.listen(port, host, resolve);
  });
  const a = server.address();
  const bound = typeof a === 'object' && a ? `${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}` : `${host}:${port}`;
  deps.log?.info({ url: `http://${bound}`, auth: open ? 'loopback, no credentials' : 'credentials' }, 'ClickHouse HTTP endpoint (read-only) listening.');
  return {
    url: `http://${bound}`,
    close: () => new Promise((r) => { server.close(() => r()); server.closeAllConnections(); }),
  };
};

/** The file in a data directory that tells `conduitwatch sql` where its owner answers queries. */
export const ENDPOINT_FILE = 'query-endpoint.json';

export interface EndpointFile {
  url: string;
  user: string;
  pid: number;
  /** Whether the endpoint wants a password or token (never written here). */
  credentials: boolean;
}

/**
 * Serves a store read-only (it must implement `raw`: chDB does) and writes `ENDPOINT_FILE` into
 * its data directory, removed again on close.
 */
export const serveStore = async (store: Store, config: QueryEndpointConfig, deps: Omit<EndpointDeps, 'run'> = {}): Promise<QueryEndpoint> => {
  const raw = store.raw?.bind(store);
  if (!raw) throw new PipelineError('config_invalid', `The store at ${store.dir} cannot be served over HTTP (only the embedded chDB store can).`);
  const ep = await startQueryEndpoint(config, { ...deps, run: (sql, format, o) => raw(sql, format, o) });
  const file = join(store.dir, ENDPOINT_FILE);
  const info: EndpointFile = { url: ep.url, user: config.user, pid: process.pid, credentials: config.password !== undefined || config.token !== undefined };
  await writeFile(file, `${JSON.stringify(info)}\n`, { mode: 0o644 });
  return {
    url: ep.url,
    close: async () => {
      await rm(file, { force: true });
      await ep.close();
    },
  };
};
