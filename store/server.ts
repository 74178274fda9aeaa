/**
 * The server store: a ClickHouse server over HTTP through `@clickhouse/client`, behind the same
 * `Store` interface as chDB (store/chdb.ts), for a real deployment (infra/docker-compose.yml).
 *
 * - Inserts: row objects as JSONEachRow, Native blocks (store/native.ts) as
 *   `INSERT INTO t (columns) FORMAT Native` with the block as the request body. Batching is the
 *   caller's (`BatchWriter`, the Kafka sink): one call is one block.
 * - Retries: a transport failure (connection refused or reset, a timeout, the server restarting,
 *   HTTP 502/503/504, "too many simultaneous queries") is retried with backoff (`retry`), the same
 *   block with the same `insert_deduplication_token`, so a retry of an insert that did land is
 *   skipped by the server. When the budget is spent the call rejects `not_connected` naming the
 *   URL; an engine refusal (bad value, unknown column or table) rejects `write_rejected` at once.
 * - Dedup tokens need ClickHouse 22.2+ (`insert_deduplication_token`) and a table with a
 *   deduplication window (every hot table here). An older server cannot skip a retried block: a
 *   token then rejects `config_invalid` unless the store was opened with `atLeastOnce: true`,
 *   which sends the block without it (a retry after an ambiguous failure may store it twice).
 * - Reads: `query` returns JSONEachRow rows with 64-bit integers as numbers, as chDB does.
 */
import { Readable } from 'node:stream';
import { ClickHouseLogLevel, createClient, type ClickHouseClient, type ClickHouseSettings } from '@clickhouse/client';
import { errorMessage, PipelineError } from '../core/errors.ts';
import { isNativeBlock, type NativeBlock } from './native.ts';
import { jsonEachRow, type InsertOptions, type Receipt, type Store } from './store.ts';

export interface RetryPolicy {
  /** Attempts per call, the first included. Default 8. */
  attempts: number;
  /** Wait before the first retry, ms; doubles per retry. Default 100. */
  baseMs: number;
  /** Longest wait between attempts, ms. Default 5000. */
  maxMs: number;
}

export interface ServerStoreOptions {
  /** The HTTP interface, e.g. `http://127.0.0.1:8123`. */
  url: string;
  username?: string;
  password?: string;
  database?: string;
  /** Per request, ms. Default 30 000. */
  requestTimeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  /** Accept inserts without deduplication on a server older than 22.2 (see the module comment). */
  atLeastOnce?: boolean;
  /** Injected for tests; default setTimeout. */
  sleep?: (ms: number) => Promise<void>;
}

/** What the server store adds to `Store`. */
export interface ServerStore extends Store {
  /** The server's `version()`, e.g. '18.16.1'. */
  readonly version: string;
  /** True when the server takes `insert_deduplication_token` (22.2+). */
  readonly dedupTokens: boolean;
  /** Attempts that failed and were retried since the store opened (every call). */
  readonly retried: number;
}

/** ClickHouse error codes that mean "not now", not "never": retried. */
const TRANSIENT_CODES = new Set([
  '202', // TOO_MANY_SIMULTANEOUS_QUERIES
  '203', // NO_FREE_CONNECTION
  '209', // SOCKET_TIMEOUT
  '210', // NETWORK_ERROR
  '252', // TOO_MANY_PARTS
  '394', // QUERY_WAS_CANCELLED (server shutting down)
  '159', // TIMEOUT_EXCEEDED
]);
const TRANSIENT_ERRNO = /ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|socket hang up|Timeout error|other side closed|aborted/i;

const codeOf = (e: unknown): string | undefined => {
  const c = (e as { code?: unknown }).code;
  return typeof c === 'string' || typeof c === 'number' ? String(c) : undefined;
};

/** Whether an error is worth retrying (transport, or an engine "not now"). */
export const isTransient = (e: unknown): boolean => {
  const code = codeOf(e);
  if (code && TRANSIENT_CODES.has(code)) return true;
  if (code && TRANSIENT_ERRNO.test(code)) return true;
  const msg = errorMessage(e);
  if (/^Code: \d+/.test(msg) || /DB::Exception/.test(msg)) return /Code: (202|203|209|210|252|394|159)\b/.test(msg);
  return TRANSIENT_ERRNO.test(msg) || /\b(502|503|504)\b/.test(msg);
};

/** First line of the engine's message, without "e.what() = DB::Exception" and stack frames. */
const engineLine = (e: unknown): string =>
  errorMessage(e).split('\n')[0]!.replace(/,? e\.what\(\) = DB::Exception/, '').replace(/^Error: /, '').trim();

const quoteSnippet = (sql: string): string => (sql.length > 200 ? `${sql.slice(0, 200)}…` : sql).replace(/\s+/g, ' ').trim();

const versionAtLeast = (v: string, major: number, minor: number): boolean => {
  const [a = 0, b = 0] = v.split('.').map(Number);
  return a > major || (a === major && b >= minor);
};

/** Advice for an engine refusal, by ClickHouse error code (in the message). */
const advice = (msg: string): string => {
  if (/Code: 60\b|doesn't exist/.test(msg)) return ' The table is missing: run the migrations (migrate(store)) against this server.';
  if (/Code: 16\b|No such column|There is no column/.test(msg)) return ' A column is missing: run the migrations, or the writer is newer than the schema.';
  if (/Code: (516|192|193|194)\b|Authentication failed|Unknown user|Wrong password/.test(msg)) return ' Check the user name and password (or the server\'s users.xml).';
  if (/Code: 50\b|Unknown data type/.test(msg)) return ' This server is too old for the type: the conduitwatch schema needs ClickHouse 22.2 or newer.';
  return '';
};

class ClickHouseServerStore implements ServerStore {
  retried = 0;
  private closed = false;
  private readonly policy: RetryPolicy;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    readonly dir: string,
    private readonly client: ClickHouseClient,
    readonly version: string,
    private readonly opts: ServerStoreOptions,
  ) {
    this.policy = { attempts: 8, baseMs: 100, maxMs: 5_000, ...opts.retry };
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  get dedupTokens(): boolean {
    return versionAtLeast(this.version, 22, 2);
  }

  private live(): void {
    if (this.closed) throw new PipelineError('not_connected', `The ClickHouse store at ${this.dir} is closed.`, { url: this.dir });
  }

  /**
   * Runs `fn` until it succeeds, a non-transient error, or the attempts run out. `what` names the
   * call in errors; `refused` builds the error for an engine refusal.
   */
  private async withRetry<T>(what: string, fn: () => Promise<T>, refused: (e: unknown) => PipelineError): Promise<T> {
    let wait = this.policy.baseMs;
    for (let attempt = 1; ; attempt++) {
      this.live();
      try {
        return await fn();
      } catch (e) {
        if (!isTransient(e)) throw refused(e);
        if (attempt >= this.policy.attempts) {
          throw new PipelineError('not_connected',
            `${what}: ClickHouse at ${this.dir} did not answer after ${attempt} attempts (${engineLine(e)}). ` +
            'Check that clickhouse-server runs and listens there; the caller may retry the same block later.',
            { url: this.dir, attempts: attempt }, { cause: e });
        }
        this.retried += 1;
        await this.sleep(wait);
        wait = Math.min(wait * 2, this.policy.maxMs);
      }
    }
  }

  async text(sql: string, format: string): Promise<string> {
    return this.withRetry(`Query`, async () => {
      const r = await this.client.exec({ query: `${sql}\nFORMAT ${format}`, clickhouse_settings: { output_format_json_quote_64bit_integers: 0 } });
      const chunks: Buffer[] = [];
      for await (const c of r.stream) chunks.push(c as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    }, (e) => new PipelineError('unrecoverable', `Query failed: ${engineLine(e)}${advice(errorMessage(e))} (query: ${quoteSnippet(sql)})`,
      { url: this.dir, sql }, { cause: e }));
  }

  async query<T = Record<string, unknown>>(sql: string): Promise<T[]> {
    return jsonEachRow<T>(await this.text(sql, 'JSONEachRow'));
  }

  async exec(sql: string): Promise<void> {
    await this.withRetry('Statement', () => this.client.command({ query: sql }),
      (e) => new PipelineError('unrecoverable', `Statement failed: ${engineLine(e)}${advice(errorMessage(e))} (query: ${quoteSnippet(sql)})`,
        { url: this.dir, sql }, { cause: e }));
  }

  private settings(table: string, opts: InsertOptions): ClickHouseSettings {
    const s: ClickHouseSettings = { input_format_skip_unknown_fields: 0 };
    if (versionAtLeast(this.version, 21, 11)) s.async_insert = 0;
    if (opts.dedupToken === undefined) return s;
    if (this.dedupTokens) return { ...s, insert_deduplicate: 1, insert_deduplication_token: opts.dedupToken };
    if (this.opts.atLeastOnce) return s;
    throw new PipelineError('config_invalid',
      `Insert into ${table} carries a deduplication token, but ClickHouse ${this.version} at ${this.dir} has no ` +
      'insert_deduplication_token (22.2+), so a retried block could be stored twice. Upgrade the server, or open the ' +
      'store with atLeastOnce: true to accept that.', { url: this.dir, table, version: this.version });
  }

  async insertRows(table: string, rows: readonly object[] | NativeBlock, opts: InsertOptions = {}): Promise<Receipt> {
    this.live();
    const native = isNativeBlock(rows);
    const n = native ? rows.rows : rows.length;
    if (n === 0) return { records: 0, bytes: 0 };
    const clickhouse_settings = this.settings(table, opts);
    let body: Buffer;
    let query: string;
    if (native) {
      body = Buffer.from(rows.bytes.buffer, rows.bytes.byteOffset, rows.bytes.byteLength);
      query = `INSERT INTO ${table} (${rows.columns.join(', ')}) FORMAT Native`;
    } else {
      let payload = '';
      for (const r of rows) payload += `${JSON.stringify(r)}\n`;
      body = Buffer.from(payload, 'utf8');
      query = `INSERT INTO ${table} FORMAT JSONEachRow`;
    }
    await this.withRetry(`Insert into ${table} (${n} rows)`, async () => {
      const r = await this.client.exec({ query, values: Readable.from([body]), clickhouse_settings });
      for await (const _ of r.stream) { /* drain */ }
    }, (e) => new PipelineError('write_rejected',
      `Insert into ${table} rejected (${n} rows): ${engineLine(e)}.${advice(errorMessage(e))}`,
      { table, rows: n, url: this.dir }, { cause: e }));
    return { records: n, bytes: body.length };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.client.close();
  }
}

/**
 * Connects to a ClickHouse server and reads its version. Rejects `not_connected` naming the URL
 * when nothing answers (after the retry budget), `config_invalid` when the credentials are refused.
 * Does not migrate: call `migrate(store)` (the schema needs ClickHouse 22.2+).
 */
export const openServer = async (opts: ServerStoreOptions): Promise<ServerStore> => {
  let url: URL;
  try {
    url = new URL(opts.url);
  } catch (e) {
    throw new PipelineError('config_invalid', `ClickHouse URL ${JSON.stringify(opts.url)} is not a URL: use e.g. http://127.0.0.1:8123.`, { url: opts.url }, { cause: e });
  }
  const client = createClient({
    url: url.toString(), username: opts.username ?? 'default', password: opts.password ?? '', database: opts.database ?? 'default',
    request_timeout: opts.requestTimeoutMs ?? 30_000,
    compression: { request: false, response: false },
    log: { level: ClickHouseLogLevel.OFF },
  });
  const probe = new ClickHouseServerStore(opts.url, client, '0.0', opts);
  try {
    const [v] = await probe.query<{ v: string }>('SELECT version() AS v');
    return new ClickHouseServerStore(opts.url, client, v!.v, opts);
  } catch (e) {
    await client.close().catch(() => undefined);
    const msg = errorMessage(e);
    if (/Code: (516|192|193|194)\b|Authentication failed|Unknown user|Wrong password/.test(msg)) {
      throw new PipelineError('config_invalid', `ClickHouse at ${opts.url} refused user ${opts.username ?? 'default'}: ${engineLine(e)}. Check the user name and password.`,
        { url: opts.url }, { cause: e });
    }
    throw e;
  }
};
