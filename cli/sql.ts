/**
 * `conduitwatch sql`: one query on the store, printed in a ClickHouse format.
 *
 * - Read-only unless `--write`: one statement of a kind ClickHouse's `readonly=1` allows (the
 *   query endpoint's gate, dashboards/http/readonly.ts), run with `readonly=1`, so `DROP TABLE`,
 *   `INSERT`, a second statement after `;`, table functions and `INTO OUTFILE` are refused.
 * - Scoped to one run: the tables that hold rows per run are filtered to the newest run (or
 *   `--run ID`; `--run all` reads every run) through ClickHouse's `additional_table_filters`, so
 *   the README's queries give one run's answer in a store that holds several.
 * - Only on a conduitwatch store: a directory without one is refused and left untouched.
 * - While another process (`serve`) holds the directory, the query goes to that process's
 *   read-only endpoint, with the same scope.
 */
import { endpointOf, queryEndpoint } from '../dashboards/http/client.ts';
import { readOnlyGate } from '../dashboards/http/readonly.ts';
import { PipelineError } from '../core/errors.ts';
import type { Store } from '../store/store.ts';
import { DEFAULT_DATA_DIR, str, usageError } from './args.ts';
import { listRuns, openExistingStore, resolveRun, runTables, sqlString } from './runs.ts';
import { isChdbStore } from '../store/chdb.ts';
import { existsSync } from 'node:fs';

/** The `additional_table_filters` map that limits every per-run table to `runs`. */
export const runFilter = (tablesWithRuns: readonly string[], runs: readonly string[]): string => {
  const cond = runs.length ? `run_id IN (${runs.map(sqlString).join(', ')})` : '0';
  return `{${tablesWithRuns.map((t) => `${sqlString(t)}: ${sqlString(cond)}`).join(', ')}}`;
};

const scopeNote = (v: Record<string, unknown>, runs: string[] | undefined, total: number): void => {
  if (v.quiet === true || total <= 1) return;
  if (runs === undefined) { process.stderr.write(`conduitwatch sql: reading all ${total} runs.\n`); return; }
  const what = runs.length === 1 ? `run ${runs[0]} (${v.run === undefined || v.run === 'latest' ? `the newest of ${total}` : `1 of ${total}`})` : `${runs.length} of ${total} runs`;
  process.stderr.write(`conduitwatch sql: reading ${what}; --run all for every run, --run ID for another ('conduitwatch runs list').\n`);
};

export const runSqlCommand = async (v: Record<string, unknown>, positionals: string[]): Promise<number> => {
  const sql = positionals.join(' ').trim();
  if (!sql) throw usageError('sql', 'No query: pass SQL in quotes, e.g. "SELECT count() FROM alerts".');
  const dir = str(v.data) ?? DEFAULT_DATA_DIR;
  const format = v.json === true ? 'JSONEachRow' : str(v.format) ?? 'PrettyCompactMonoBlock';
  const write = v.write === true;
  if (!write) {
    const gate = readOnlyGate(sql);
    if (!gate.ok) throw usageError('sql', `${gate.reason.replace(/^Cannot execute query in readonly mode: /, '').replace('this endpoint answers', 'sql answers')} conduitwatch sql is read-only; pass --write to change the store.`);
  }
  if (existsSync(dir) && !isChdbStore(dir) && (await endpointOf(dir)) === undefined) {
    await openExistingStore(dir, 'sql'); // throws the "not a conduitwatch store" error
  }

  const served = existsSync(dir) ? await endpointOf(dir) : undefined;
  if (served) {
    if (write) throw usageError('sql', `${dir} is held by a running conduitwatch process (pid ${served.pid}), which answers read-only: stop it to write, or drop --write.`);
    const env = process.env;
    const auth = {
      user: served.user,
      ...(env.CONDUITWATCH_QUERY_PASSWORD !== undefined ? { password: env.CONDUITWATCH_QUERY_PASSWORD } : {}),
      ...(env.CONDUITWATCH_QUERY_TOKEN !== undefined ? { token: env.CONDUITWATCH_QUERY_TOKEN } : {}),
    };
    const remote: Pick<Store, 'query'> = {
      query: async <T>(q: string) => (await queryEndpoint(served.url, q, 'JSONEachRow', auth)).split('\n').filter(Boolean).map((l) => JSON.parse(l) as T),
    };
    const runs = await resolveRun(remote, str(v.run), 'sql');
    scopeNote(v, runs, (await listRuns(remote)).length);
    const settings: Record<string, string> = runs === undefined ? {} : { additional_table_filters: runFilter(await runTables(remote), runs) };
    process.stdout.write(await queryEndpoint(served.url, sql, format, auth, settings));
    return 0;
  }

  const store = await openExistingStore(dir, 'sql');
  try {
    const runs = await resolveRun(store, str(v.run), 'sql');
    scopeNote(v, runs, (await listRuns(store)).length);
    if (runs !== undefined) {
      const scoped = await runTables(store);
      if (scoped.length) await store.exec(`SET additional_table_filters = ${runFilter(scoped, runs)}`);
    }
    // After the scope: readonly=1 also forbids changing settings, so the query cannot lift it.
    if (!write) await store.exec('SET readonly = 1');
    try {
      process.stdout.write(await store.text(sql, format));
    } catch (e) {
      if (/\(READONLY\)/.test((e as Error).message)) {
        throw new PipelineError('config_invalid', `${(e as Error).message.replace(/^Query failed: /, '')}\nconduitwatch sql is read-only; pass --write to change the store.`, {}, { cause: e });
      }
      throw e;
    }
  } finally {
    await store.close();
  }
  return 0;
};
