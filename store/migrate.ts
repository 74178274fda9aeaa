/**
 * Versioned schema migrations. Each file `infra/clickhouse/ddl/NNN_name.sql` is one version;
 * `migrate` applies the versions a database lacks, in order, and records each in
 * `schema_migrations` (version, name, sha256 of the file, applied_at). Running it again
 * applies nothing. It refuses a database whose newest recorded version is newer than any
 * file here (written by a newer conduitwatch), and one whose applied file has since changed.
 *
 * Files hold plain ClickHouse DDL that runs on chDB and on a server alike; statements are
 * split on `;` at the end of a line and sent one at a time (the HTTP interface takes one
 * statement per request). Write `CREATE TABLE IF NOT EXISTS` so that a migration interrupted
 * between its DDL and its record can simply run again.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { PipelineError } from '../core/errors.ts';
import { tables } from './schema.ts';
import type { Store } from './store.ts';

/** Where the DDL files live in the source tree. */
export const DDL_DIR = fileURLToPath(new URL('../infra/clickhouse/ddl/', import.meta.url));

export interface Migration {
  version: number;
  /** File name without the number and extension, e.g. 'flows'. */
  name: string;
  file: string;
  sql: string;
  /** sha256 of the file, hex. */
  checksum: string;
}

export interface MigrateResult {
  /** Versions applied by this call, in order. */
  applied: number[];
  /** The database's version after the call. */
  version: number;
}

const FILE_RE = /^(\d{3})_([a-z0-9_]+)\.sql$/;

/** Reads and orders the migration files; a gap or a duplicate version is a build error. */
export const loadMigrations = async (dir = DDL_DIR): Promise<Migration[]> => {
  const out: Migration[] = [];
  for (const file of (await readdir(dir)).sort()) {
    if (!file.endsWith('.sql')) continue;
    const m = FILE_RE.exec(file);
    if (!m) {
      throw new PipelineError('config_invalid', `Migration file ${file} in ${dir} is misnamed: use NNN_name.sql, e.g. 006_baselines.sql.`, { dir, file });
    }
    const sql = await readFile(`${dir}/${file}`, 'utf8');
    out.push({ version: Number(m[1]), name: m[2]!, file, sql, checksum: createHash('sha256').update(sql).digest('hex') });
  }
  out.forEach((mig, i) => {
    if (mig.version !== i + 1) {
      throw new PipelineError('config_invalid',
        `Migration ${mig.file} has version ${mig.version}, expected ${i + 1}: versions must run 001, 002, … with no gap or duplicate.`,
        { dir, file: mig.file });
    }
  });
  return out;
};

/**
 * Splits a DDL file into statements: on `;` outside quotes and comments. `--` comments are
 * dropped; the engine would ignore them anyway.
 */
export const splitStatements = (sql: string): string[] => {
  const out: string[] = [];
  let cur = '';
  let quote: string | undefined;
  for (let i = 0; i < sql.length; i++) {
    const ch = sql[i]!;
    if (quote) {
      cur += ch;
      if (ch === '\\') { cur += sql[++i] ?? ''; continue; }
      if (ch === quote) quote = undefined;
    } else if (ch === '-' && sql[i + 1] === '-') {
      while (i < sql.length && sql[i] !== '\n') i++;
      cur += '\n';
    } else if (ch === "'" || ch === '"' || ch === '`') {
      quote = ch;
      cur += ch;
    } else if (ch === ';') {
      if (cur.trim()) out.push(cur.trim());
      cur = '';
    } else {
      cur += ch;
    }
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
};

const M = tables.schemaMigrations;

const BOOTSTRAP = `CREATE TABLE IF NOT EXISTS ${M.name} (
  ${M.columns.version} UInt32, ${M.columns.name} String, ${M.columns.checksum} String,
  ${M.columns.appliedAt} DateTime64(3, 'UTC')
) ENGINE = MergeTree ORDER BY ${M.columns.version}`;

interface Applied { version: number; name: string; checksum: string }

/**
 * Brings the store's schema up to the newest migration. Idempotent. Throws `config_invalid`
 * when the database is newer than this code or an applied file has changed.
 */
export const migrate = async (
  store: Store,
  opts: { dir?: string; now?: () => number } = {},
): Promise<MigrateResult> => {
  const migrations = await loadMigrations(opts.dir);
  const now = opts.now ?? Date.now;
  await store.exec(BOOTSTRAP);
  const c = M.columns;
  const applied = await store.query<Applied>(
    `SELECT ${c.version} AS version, ${c.name} AS name, ${c.checksum} AS checksum FROM ${M.name} ORDER BY ${c.version}`);
  const known = migrations.at(-1)?.version ?? 0;
  const newest = applied.at(-1)?.version ?? 0;
  if (newest > known) {
    throw new PipelineError('config_invalid',
      `The database in ${store.dir} is at schema version ${newest}, newer than this conduitwatch knows (${known}). ` +
      'Upgrade conduitwatch, or point it at another data directory.', { dir: store.dir, version: newest, known });
  }
  for (const a of applied) {
    const mig = migrations[a.version - 1];
    if (mig && mig.checksum !== a.checksum) {
      throw new PipelineError('config_invalid',
        `Migration ${mig.file} changed after it was applied to ${store.dir}. ` +
        'Applied migrations are immutable: restore the file and add a new NNN_*.sql for the change.',
        { dir: store.dir, file: mig.file });
    }
  }
  const done = new Set(applied.map((a) => a.version));
  const ran: number[] = [];
  for (const mig of migrations) {
    if (done.has(mig.version)) continue;
    for (const stmt of splitStatements(mig.sql)) await store.exec(stmt);
    await store.insertRows(M.name, [{
      [c.version]: mig.version, [c.name]: mig.name, [c.checksum]: mig.checksum, [c.appliedAt]: now(),
    }]);
    ran.push(mig.version);
  }
  return { applied: ran, version: Math.max(newest, ...ran) };
};
