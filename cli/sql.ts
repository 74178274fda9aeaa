/**
 * `conduitwatch sql`: one query on the chDB store, printed in a ClickHouse format. While another
 * process (`serve`) holds the directory, the query goes to that process's read-only endpoint.
 */
import { existsSync } from 'node:fs';
import { endpointOf, queryEndpoint } from '../dashboards/http/client.ts';
import { openChdb } from '../store/chdb.ts';
import { usageError } from './args.ts';
import { DEFAULT_DATA_DIR } from './replay-command.ts';

export const runSqlCommand = async (v: Record<string, unknown>, positionals: string[]): Promise<number> => {
  const sql = positionals.join(' ').trim();
  if (!sql) throw usageError('sql', 'No query: pass SQL in quotes, e.g. "SELECT count() FROM alerts".');
  const dir = typeof v.data === 'string' ? v.data : DEFAULT_DATA_DIR;
  if (!existsSync(dir)) throw usageError('sql', `No store at ${dir}: run 'conduitwatch replay … --data ${dir}' first, or pass --data.`);
  const format = typeof v.format === 'string' ? v.format : 'PrettyCompactMonoBlock';
  const served = await endpointOf(dir);
  if (served) {
    const env = process.env;
    process.stdout.write(await queryEndpoint(served.url, sql, format, {
      user: served.user,
      ...(env.CONDUITWATCH_QUERY_PASSWORD !== undefined ? { password: env.CONDUITWATCH_QUERY_PASSWORD } : {}),
      ...(env.CONDUITWATCH_QUERY_TOKEN !== undefined ? { token: env.CONDUITWATCH_QUERY_TOKEN } : {}),
    }));
    return 0;
  }
  const store = await openChdb(dir);
  try {
    process.stdout.write(await store.text(sql, format));
  } finally {
    await store.close();
  }
  return 0;
};
