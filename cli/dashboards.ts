/**
 * `conduitwatch dashboards build [--out DIR] [--check]`: writes the Grafana dashboards of
 * dashboards/ as JSON (default: this checkout's infra/grafana/dashboards/). `--check` writes
 * nothing and exits 1 when a file there differs from a fresh build.
 */
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildDashboards } from '../dashboards/index.ts';
import { usageError } from './args.ts';

/** This checkout's infra/grafana/dashboards/, wherever the command runs from. */
export const DASHBOARDS_DIR = fileURLToPath(new URL('../infra/grafana/dashboards/', import.meta.url));

/** Files in `dir` that a fresh build would change, add or remove. */
export const staleDashboards = async (dir: string): Promise<string[]> => {
  const built = buildDashboards();
  const present = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.json'));
  const stale: string[] = [];
  for (const [file, text] of built) {
    const old = await readFile(join(dir, file), 'utf8').catch(() => undefined);
    if (old !== text) stale.push(file);
  }
  for (const f of present) if (!built.has(f)) stale.push(f);
  return stale.sort();
};

export const runDashboardsCommand = async (v: Record<string, unknown>, positionals: string[]): Promise<number> => {
  const [sub, ...extra] = positionals;
  if (sub !== 'build' || extra.length) throw usageError('dashboards', `Expected "dashboards build", got "dashboards ${positionals.join(' ')}".`);
  const dir = typeof v.out === 'string' ? v.out : DASHBOARDS_DIR;
  if (v.check) {
    const stale = await staleDashboards(dir);
    if (stale.length) {
      process.stderr.write(`conduitwatch dashboards: ${stale.length} file(s) in ${dir} differ from dashboards/: ${stale.join(', ')}.\n` +
        "Run 'conduitwatch dashboards build' and commit the JSON.\n");
      return 1;
    }
    process.stdout.write(`${dir}: up to date.\n`);
    return 0;
  }
  const built = buildDashboards();
  await mkdir(dir, { recursive: true });
  for (const f of await readdir(dir)) if (f.endsWith('.json') && !built.has(f)) await rm(join(dir, f));
  for (const [file, text] of built) await writeFile(join(dir, file), text);
  process.stdout.write(`Wrote ${built.size} dashboards to ${dir}: ${[...built.keys()].join(', ')}\n`);
  return 0;
};
