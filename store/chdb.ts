/**
 * The embedded store: ClickHouse in-process through chDB, on a data directory on disk.
 *
 * chDB binds one data directory per process and locks it against other processes, so a
 * conduitwatch process opens at most one store. A directory locked by another process is a
 * `config_invalid` error, not `not_connected`: retrying with backoff would wait forever on a
 * running replay or server, and the fix is an operator's (stop that process or pass another
 * data directory).
 *
 * Row objects go through chDB's raw JSONEachRow passthrough: JS serialises the rows once and the
 * engine parses them on its own threads. Native blocks (store/native.ts; chdb 3.4's Node API takes
 * only text formats as a buffer) are written to a file on tmpfs (/dev/shm, else the temp dir) and
 * inserted with `INSERT INTO t (columns) SELECT * FROM file(path, 'Native')`, then the file is
 * removed. Every insert runs synchronously in the engine
 * (`async_insert=0`, so the promise settles once the part is written) and with
 * `input_format_skip_unknown_fields=0` (a misspelt column is an error, never silently dropped).
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Session } from 'chdb';
import { errorMessage, PipelineError } from '../core/errors.ts';
import { isNativeBlock, type NativeBlock } from './native.ts';
import { tables } from './schema.ts';
import { jsonEachRow, type InsertOptions, type RawOptions, type Receipt, type Store } from './store.ts';

/**
 * chdb loads libchdb.so (566 MB) when it is imported, and the loader touches ~140 MB of it: loaded
 * on the first `openChdb`, so a process that never opens a store (replay without --data) does not pay it.
 */
let chdbModule: Promise<typeof import('chdb')> | undefined;
const loadChdb = (): Promise<typeof import('chdb')> => (chdbModule ??= import('chdb'));

/** Settings for every insert; see the module comment. */
const INSERT_SETTINGS = { async_insert: 0, input_format_skip_unknown_fields: 0 } as const;

/** Where Native blocks wait for the engine: memory-backed when the machine has /dev/shm. */
const BLOCK_DIR = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();

/** A ClickHouse string literal. */
const literal = (s: string): string => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

let blockSeq = 0;

/** Engine arguments: load tables at open, so the first query never races table loading. */
const CONNECTION_ARGS = ['--async_load_databases=0'] as const;

const quoteSnippet = (sql: string): string => (sql.length > 200 ? `${sql.slice(0, 200)}…` : sql).replace(/\s+/g, ' ').trim();

/** First line of an engine message, without the stack of "While executing …" frames. */
const engineMessage = (e: unknown): string => errorMessage(e).split('\n')[0]!.trim();

/**
 * The process holding `dir`, from the `status` file the engine writes while it has the
 * directory open ("PID: 1234"); chDB's error itself only says the connection failed.
 */
const holderOf = async (dir: string): Promise<number | undefined> => {
  let text: string;
  try {
    text = await readFile(join(dir, 'status'), 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number(/^PID:\s*(\d+)/m.exec(text)?.[1]);
  if (!pid || pid === process.pid) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM' ? pid : undefined;
  }
};

const openError = async (dir: string, e: unknown): Promise<PipelineError> => {
  const msg = errorMessage(e);
  if (/only one active data directory per process/i.test(msg)) {
    return new PipelineError('config_invalid',
      `Cannot open chDB data directory ${dir}: this process already has another chDB store open ` +
      '(chDB allows one data directory per process). Close it first.', { dir }, { cause: e });
  }
  const pid = await holderOf(dir);
  if (pid !== undefined) {
    return new PipelineError('config_invalid',
      `chDB data directory ${dir} is in use: another conduitwatch process holds it (pid ${pid}). ` +
      'Stop that process, or pass a different data directory.', { dir, pid }, { cause: e });
  }
  return new PipelineError('not_connected', `Cannot open chDB data directory ${dir}: ${engineMessage(e)}`, { dir }, { cause: e });
};

class ChdbStore implements Store {
  private session: Session | undefined;

  constructor(readonly dir: string, session: Session) {
    this.session = session;
  }

  private live(): Session {
    if (!this.session) throw new PipelineError('not_connected', `The chDB store at ${this.dir} is closed.`, { dir: this.dir });
    return this.session;
  }

  async text(sql: string, format: string): Promise<string> {
    const s = this.live();
    try {
      return (await s.queryAsync(sql, { format })).text();
    } catch (e) {
      throw new PipelineError('unrecoverable', `Query failed: ${engineMessage(e)} (query: ${quoteSnippet(sql)})`,
        { dir: this.dir, sql }, { cause: e });
    }
  }

  async raw(sql: string, format: string, opts: RawOptions = {}): Promise<Uint8Array> {
    const s = this.live();
    const o = { format, ...(opts.timeoutMs ? { timeout: opts.timeoutMs } : {}) };
    try {
      const r = opts.params && Object.keys(opts.params).length ? await s.queryBindAsync(sql, opts.params, o) : await s.queryAsync(sql, o);
      return r.bytes();
    } catch (e) {
      throw new PipelineError('unrecoverable', `Query failed: ${engineMessage(e)} (query: ${quoteSnippet(sql)})`,
        { dir: this.dir, sql }, { cause: e });
    }
  }

  async query<T = Record<string, unknown>>(sql: string): Promise<T[]> {
    return jsonEachRow<T>(await this.text(sql, 'JSONEachRow'));
  }

  async exec(sql: string): Promise<void> {
    await this.text(sql, 'JSONEachRow');
  }

  async insertRows(table: string, rows: readonly object[] | NativeBlock, opts: InsertOptions = {}): Promise<Receipt> {
    if (isNativeBlock(rows)) return this.insertNative(table, rows, opts);
    const s = this.live();
    if (rows.length === 0) return { records: 0, bytes: 0 };
    let payload = '';
    for (const r of rows) payload += `${JSON.stringify(r)}\n`;
    const values = Buffer.from(payload, 'utf8');
    try {
      const settings = opts.dedupToken === undefined ? INSERT_SETTINGS : { ...INSERT_SETTINGS, insert_deduplicate: 1, insert_deduplication_token: opts.dedupToken };
      await s.insert({ table, values, format: 'JSONEachRow', settings });
    } catch (e) {
      throw new PipelineError('write_rejected',
        `Insert into ${table} rejected (${rows.length} rows): ${engineMessage(e)}`,
        { table, rows: rows.length, dir: this.dir }, { cause: e });
    }
    return { records: rows.length, bytes: values.length };
  }

  private async insertNative(table: string, block: NativeBlock, opts: InsertOptions): Promise<Receipt> {
    const s = this.live();
    if (block.rows === 0) return { records: 0, bytes: 0 };
    const path = join(BLOCK_DIR, `conduitwatch-${process.pid}-${++blockSeq}.native`);
    const settings = ['async_insert = 0'];
    if (opts.dedupToken !== undefined) settings.push('insert_deduplicate = 1', `insert_deduplication_token = ${literal(opts.dedupToken)}`);
    const sql = `INSERT INTO ${table} (${block.columns.join(', ')}) SETTINGS ${settings.join(', ')} SELECT * FROM file(${literal(path)}, 'Native')`;
    try {
      await writeFile(path, block.bytes);
    } catch (e) {
      throw new PipelineError('write_rejected',
        `Insert into ${table} (${block.rows} rows) could not stage its block in ${BLOCK_DIR}: ${(e as NodeJS.ErrnoException).code ?? errorMessage(e)}. ` +
        'Free space there (tmpfs is memory) or make it writable.', { table, rows: block.rows, dir: BLOCK_DIR }, { cause: e });
    }
    try {
      await s.queryAsync(sql, { format: 'JSONEachRow' });
    } catch (e) {
      throw new PipelineError('write_rejected',
        `Insert into ${table} rejected (${block.rows} rows): ${engineMessage(e)}`,
        { table, rows: block.rows, dir: this.dir }, { cause: e });
    } finally {
      await unlink(path).catch(() => undefined);
    }
    return { records: block.rows, bytes: block.bytes.length };
  }

  async close(): Promise<void> {
    const s = this.session;
    this.session = undefined;
    if (!s) return;
    s.close();
    // close() may defer the native teardown behind running operations; wait, so that the
    // process can open a store again (any directory) as soon as this resolves.
    await (await loadChdb()).drainPending();
  }
}

/**
 * Opens (creating if needed) a chDB data directory. Does not migrate: call `migrate(store)`.
 * Throws `config_invalid` when another process holds the directory.
 */
export const openChdb = async (dir: string): Promise<Store> => {
  const abs = resolve(dir);
  try {
    await mkdir(abs, { recursive: true });
  } catch (e) {
    throw new PipelineError('config_invalid',
      `Cannot create chDB data directory ${abs}: ${(e as NodeJS.ErrnoException).code ?? errorMessage(e)}. ` +
      'Pass a writable directory.', { dir: abs }, { cause: e });
  }
  const { Session: ChdbSession } = await loadChdb();
  let session: Session;
  try {
    session = new ChdbSession(abs, { connectionArgs: CONNECTION_ARGS });
  } catch (e) {
    throw await openError(abs, e);
  }
  return new ChdbStore(abs, session);
};

/**
 * True when `dir` holds a chDB store that conduitwatch migrated (its `schema_migrations` table),
 * read from the directory without opening it: opening would create the engine's files in any
 * directory, which a command that only reads (`conduitwatch sql`) must not do.
 */
export const isChdbStore = (dir: string): boolean => existsSync(join(resolve(dir), 'metadata', 'default', `${tables.schemaMigrations.name}.sql`));
