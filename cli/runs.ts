/**
 * Runs in one store. Every replay (and demo, and serve sink) writes its rows under its own run id
 * and one `runs` row per state change (running → complete | interrupted | failed); several runs
 * live side by side in one data directory. `conduitwatch runs list|show|delete` manage them, and
 * `conduitwatch sql` reads the newest run unless `--run` says otherwise (`scopeRun`).
 *
 * Runs written before the runs table existed (or by a serve sink that never recorded one) are
 * still listed, from their flows, with status `unrecorded`.
 */
import { existsSync } from 'node:fs';
import { isChdbStore, openChdb } from '../store/chdb.ts';
import { parseChTime, runRow, tables, type RunInfo } from '../store/schema.ts';
import type { Store } from '../store/store.ts';
import { PipelineError } from '../core/errors.ts';
import { DEFAULT_DATA_DIR, nearest, str, usageError } from './args.ts';
import { fmtInt } from './progress.ts';

export const sqlString = (s: string): string => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

const R = tables.runs.columns;
const F = tables.flows.columns;

/** A run as listed: the runs row (or what its flows say), with the newest first. */
export interface RunListing extends Omit<RunInfo, 'status'> {
  status: RunInfo['status'] | 'unrecorded';
}

/** Tables that hold rows per run (a `run_id` column), except `runs` itself. */
export const runTables = async (store: Pick<Store, 'query'>): Promise<string[]> => {
  const rows = await store.query<{ table: string }>(
    `SELECT table FROM system.columns WHERE database = currentDatabase() AND name = 'run_id' AND table != ${sqlString(tables.runs.name)} ORDER BY table`);
  return rows.map((r) => r.table);
};

const ms = (t: string | undefined): number => (t ? parseChTime(t) : 0);

/** Every run in the store, newest first (by start, then id). */
export const listRuns = async (store: Pick<Store, 'query'>): Promise<RunListing[]> => {
  const recorded = !(await hasTable(store, tables.runs.name)) ? [] : await store.query<Record<string, string | string[]>>(
    `SELECT ${Object.values(R).filter((c) => c !== R.version).join(', ')} FROM ${tables.runs.name} FINAL`);
  const out: RunListing[] = recorded.map((r) => ({
    runId: String(r[R.runId]), command: String(r[R.command]), site: String(r[R.site]), inputs: r[R.inputs] as string[],
    startedAt: ms(r[R.startedAt] as string), finishedAt: ms(r[R.finishedAt] as string), status: r[R.status] as RunInfo['status'],
    flows: Number(r[R.flows]), alerts: Number(r[R.alerts]), incidents: Number(r[R.incidents]),
    firstTs: ms(r[R.firstTs] as string), lastTs: ms(r[R.lastTs] as string), note: String(r[R.note]),
  }));
  const known = new Set(out.map((r) => r.runId));
  const fromFlows = await store.query<{ run: string; n: string; first: string; last: string; from: string; to: string }>(
    `SELECT ${F.runId} AS run, count() AS n, min(${F.observedAt}) AS first, max(${F.observedAt}) AS last, min(${F.tsStart}) AS from, max(${F.tsEnd}) AS to
     FROM ${tables.flows.name} GROUP BY run`);
  for (const r of fromFlows) {
    if (known.has(r.run)) continue;
    out.push({
      runId: r.run, command: '', site: '', inputs: [], startedAt: ms(r.first), finishedAt: ms(r.last), status: 'unrecorded',
      flows: Number(r.n), alerts: 0, incidents: 0, firstTs: ms(r.from), lastTs: ms(r.to), note: 'no runs row (written before runs were recorded, or by a serve sink)',
    });
  }
  return out.sort((a, b) => b.startedAt - a.startedAt || (a.runId < b.runId ? 1 : -1));
};

/**
 * Resolves `--run`: undefined or 'latest' → the newest run; 'all' → undefined (no scope); an id,
 * or a prefix that names exactly one run. Unknown ids are an error that lists the runs.
 */
export const resolveRun = async (store: Pick<Store, 'query'>, spec: string | undefined, command: string, label = '--run'): Promise<string[] | undefined> => {
  if (spec === 'all') return undefined;
  const runs = await listRuns(store);
  if (spec === undefined || spec === 'latest') return runs.length ? [runs[0]!.runId] : [];
  const ids = runs.map((r) => r.runId);
  return spec.split(',').map((s) => s.trim()).filter(Boolean).map((want) => {
    if (ids.includes(want)) return want;
    const byPrefix = ids.filter((id) => id.startsWith(want));
    if (byPrefix.length === 1) return byPrefix[0]!;
    const near = nearest(want, ids);
    throw usageError(command, `${label} ${want}: ${byPrefix.length > 1 ? `${byPrefix.length} runs start with it` : 'no such run in this store'}` +
      `${near.length && byPrefix.length <= 1 ? ` (did you mean ${near[0]}?)` : ''}. ` +
      `Runs, newest first: ${ids.slice(0, 5).join(', ') || 'none'}${ids.length > 5 ? ' …' : ''} ('conduitwatch runs list'; --run all for every run).`);
  });
};

/** Records a run's state; the newest `version` wins. */
export const recordRun = async (store: Store, run: RunInfo, version: number): Promise<void> => {
  await store.insertRows(tables.runs.name, [runRow(run, version)]);
};

/** Deletes every row of a run from every table that holds rows per run, and its runs rows. */
export const deleteRun = async (store: Store, runId: string): Promise<Record<string, number>> => {
  const deleted: Record<string, number> = {};
  const all = [...await runTables(store), ...(await hasTable(store, tables.runs.name) ? [tables.runs.name] : [])];
  for (const t of all) {
    const [row] = await store.query<{ n: string }>(`SELECT count() AS n FROM ${t} WHERE run_id = ${sqlString(runId)}`);
    const n = Number(row?.n ?? 0);
    if (n === 0) continue;
    await store.exec(`ALTER TABLE ${t} DELETE WHERE run_id = ${sqlString(runId)} SETTINGS mutations_sync = 1`);
    deleted[t] = n;
  }
  return deleted;
};

/** Rows per table of one run. */
export const runCounts = async (store: Pick<Store, 'query'>, runId: string): Promise<Record<string, number>> => {
  const out: Record<string, number> = {};
  for (const t of await runTables(store)) {
    const [row] = await store.query<{ n: string }>(`SELECT count() AS n FROM ${t} WHERE run_id = ${sqlString(runId)}`);
    const n = Number(row?.n ?? 0);
    if (n) out[t] = n;
  }
  return out;
};

const when = (t: number): string => (t ? new Date(t).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-');

/** Opens an existing store (never creates one): the data directory must hold a conduitwatch store. */
export const openExistingStore = async (dir: string, command: string): Promise<Store> => {
  if (!existsSync(dir)) {
    throw usageError(command, `No store at ${dir}: run 'conduitwatch replay … --data ${dir}' (or the demo) first, or pass --data DIR.`);
  }
  if (!isChdbStore(dir)) {
    throw usageError(command, `${dir} is not a conduitwatch store (no schema_migrations table in it), and is left as it is. ` +
      `Pass --data with the directory replay wrote (default ./${DEFAULT_DATA_DIR}).`);
  }
  // Not migrated: reading a store must not change it (an older store lacks newer tables; the
  // readers below allow for that).
  return openChdb(dir);
};

const hasTable = async (store: Pick<Store, 'query'>, table: string): Promise<boolean> =>
  (await store.query(`SELECT 1 FROM system.tables WHERE database = currentDatabase() AND name = ${sqlString(table)}`)).length > 0;

const renderList = (runs: RunListing[]): string => {
  if (runs.length === 0) return 'No runs in this store.\n';
  const lines = runs.map((r, i) => `${i === 0 ? '*' : ' '} ${r.runId}  ${r.status.padEnd(11)} ${(r.command || '-').padEnd(7)} ${when(r.startedAt)}  ` +
    `${fmtInt(r.flows).padStart(9)} flows ${fmtInt(r.alerts).padStart(5)} alerts ${fmtInt(r.incidents).padStart(4)} incidents  ${r.inputs.map((f) => f.split('/').pop()).join(', ')}`);
  return `${lines.join('\n')}\n(* the newest run: what 'conduitwatch sql' and 'runs show' read unless --run says otherwise)\n`;
};

const renderShow = (r: RunListing, counts: Record<string, number>, incidents: { severity: string; summary: string }[]): string => {
  const out = [
    `Run ${r.runId}: ${r.status}${r.note ? ` (${r.note})` : ''}`,
    `  command ${r.command || '-'}, site ${r.site || '-'}; started ${when(r.startedAt)}, finished ${when(r.finishedAt)}`,
    `  inputs: ${r.inputs.join(', ') || '-'}`,
    `  event time ${when(r.firstTs)} → ${when(r.lastTs)}; ${fmtInt(r.flows)} flows, ${fmtInt(r.alerts)} alerts, ${fmtInt(r.incidents)} incidents`,
    `  rows stored: ${Object.entries(counts).map(([t, n]) => `${t} ${fmtInt(n)}`).join(', ') || 'none'}`,
  ];
  if (incidents.length) out.push('  most severe incidents:', ...incidents.map((i) => `    ${i.summary}`));
  return `${out.join('\n')}\n`;
};

export const runRunsCommand = async (v: Record<string, unknown>, positionals: string[]): Promise<number> => {
  const [sub, ...args] = positionals;
  if (!sub || !['list', 'show', 'delete'].includes(sub)) {
    throw usageError('runs', `${sub ? `Unknown subcommand "${sub}"` : 'Missing subcommand'}: use list, show [RUN] or delete RUN.`);
  }
  const dir = str(v.data) ?? DEFAULT_DATA_DIR;
  const store = await openExistingStore(dir, 'runs');
  try {
    if (sub === 'list') {
      const runs = await listRuns(store);
      process.stdout.write(v.json ? `${JSON.stringify(runs, null, 2)}\n` : renderList(runs));
      return 0;
    }
    if (sub === 'delete' && args.length === 0) throw usageError('runs', "Name the run to delete, e.g. 'conduitwatch runs delete run-2026-…' (see 'conduitwatch runs list').");
    if (args.length > 1) throw usageError('runs', `Name one run, not ${args.length}.`);
    const ids = await resolveRun(store, args[0] ?? 'latest', 'runs', 'run');
    const id = ids?.[0];
    if (!id) throw new PipelineError('input_invalid', `No runs in ${dir}.`, { dir });
    const run = (await listRuns(store)).find((r) => r.runId === id)!;
    if (sub === 'show') {
      const counts = await runCounts(store, id);
      const incidents = !(await hasTable(store, tables.incidents.name)) ? [] : await store.query<{ severity: string; summary: string }>(
        `SELECT severity, summary FROM ${tables.incidents.name} FINAL WHERE run_id = ${sqlString(id)}
         ORDER BY indexOf(['info', 'low', 'medium', 'high', 'critical'], severity) DESC, risk DESC, first_seen LIMIT 5`);
      process.stdout.write(v.json ? `${JSON.stringify({ ...run, rows: counts, topIncidents: incidents }, null, 2)}\n` : renderShow(run, counts, incidents));
      return 0;
    }
    const deleted = await deleteRun(store, id);
    process.stdout.write(v.json ? `${JSON.stringify({ runId: id, deleted }, null, 2)}\n`
      : `Deleted run ${id}: ${Object.entries(deleted).map(([t, n]) => `${t} ${fmtInt(n)}`).join(', ') || 'no rows'}.\n`);
    return 0;
  } finally {
    await store.close();
  }
};
