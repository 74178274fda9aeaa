/**
 * `npm run docs:pictures`: what each dashboard shows on a replayed shared capture, as PNG under
 * docs/pictures/. Grafana cannot run here, so each panel's query (expanded as Grafana and the
 * ClickHouse plugin would, dashboards/model.ts) runs on chDB, and its result is drawn with Apache
 * ECharts in headless Debian Chromium (playwright-core, no browser download) on the panel's grid
 * position — a faithful picture of the data, not of Grafana's exact styling.
 *
 *   npm run docs:pictures [-- --out docs/pictures]
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';
import { DASHBOARDS_DIR } from '../cli/dashboards.ts';
import { runReplay } from '../cli/replay.ts';
import { fakeClock } from '../core/clock.ts';
import { loadSite } from '../core/config.ts';
import type { VarValue } from '../dashboards/macros.ts';
import { loadDashboards, panelQuery, resolveVariables, type RunQuery } from '../dashboards/model.ts';
import { openChdb } from '../store/chdb.ts';
import { TABLES, tables } from '../store/schema.ts';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const exec = promisify(execFile);
const CAPTURE = resolve(root, '../shared/data/lemay/send_a_fake_command_modbus_6RTU_with_operate.pcap');
const SITE = join(root, 'examples/lemay/site.yaml');
/** The Debian browser; the flags keep it from reaching out or needing a GPU. */
export const CHROMIUM = { executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] };

const main = async (): Promise<void> => {
  const outArg = process.argv.indexOf('--out');
  const out = resolve(outArg > 0 ? process.argv[outArg + 1]! : join(root, 'docs/pictures'));
  const dir = await mkdtemp(join(tmpdir(), 'cw-pictures-'));
  try {
    const t0 = performance.now();
    const report = await runReplay({ inputs: [CAPTURE], site: loadSite(SITE), dataDir: dir, clock: fakeClock('2026-01-01T00:00:00Z') });
    const env = { ...process.env, TZ: 'UTC', CONDUITWATCH_LOG: 'warn' };
    for (const step of ['propose', 'whatif']) {
      await exec(process.execPath, [join(root, 'bin/conduitwatch.mjs'), 'rules', step, '--conduit', 'control->field', '--site', SITE, '--data', dir], { env }).catch(() => undefined);
    }
    const store = await openChdb(dir);
    const browser = await chromium.launch(CHROMIUM);
    try {
      const query = async (sql: string) => JSON.parse(await store.text(sql, 'JSONCompact')) as { meta: { name: string; type: string }[]; data: unknown[][] };
      const run: RunQuery = async (sql) => (await query(sql)).data;
      const f = tables.flows.columns;
      const a = tables.alerts.columns;
      const [[polled]] = (await run(`SELECT ${f.conduit} FROM ${TABLES.flows} GROUP BY 1 ORDER BY count() DESC LIMIT 1`)) as [[string]];
      const [[alerted]] = (await run(`SELECT ${a.conduit} FROM ${TABLES.alerts} FINAL GROUP BY 1 ORDER BY count() DESC, 1 LIMIT 1`)) as [[string]];
      const capture = { from: Math.floor(report.firstTs!), to: Math.ceil(report.lastTs!) };
      const recent = { from: Date.now() - 30 * 86_400_000, to: Date.now() + 60_000 };
      await mkdir(out, { recursive: true });
      const page = await browser.newPage({ viewport: { width: 1600, height: 900 }, deviceScaleFactor: 1 });
      await page.setContent('<!doctype html><html><head><meta charset="utf-8"></head><body></body></html>');
      await page.addScriptTag({ path: join(root, 'node_modules/echarts/dist/echarts.min.js') });
      await page.addScriptTag({ path: join(root, 'scripts/docs-pictures-page.js') });
      for (const d of loadDashboards(DASHBOARDS_DIR)) {
        const enforcement = d.uid === 'conduitwatch-rules' || d.uid === 'conduitwatch-audit';
        const range = enforcement ? recent : capture;
        const choose: Record<string, VarValue> = d.uid === 'conduitwatch-conduit' ? { conduit: polled } : d.uid === 'conduitwatch-alert' ? { conduit: alerted } : {};
        const vars = await resolveVariables(d, run, range, choose);
        const panels = [];
        for (const p of d.panels) panels.push({ ...p, result: await query(panelQuery(p, range, vars, 200)) });
        const scope = Object.entries(vars).filter(([k]) => k !== 'run').map(([k, v]) => `${k}: ${typeof v === 'string' ? v : Array.isArray(v) ? v.join(', ') : 'All'}`).join(' · ');
        const subtitle = `${enforcement ? 'last 30 days' : `${new Date(range.from).toISOString().slice(0, 16).replace('T', ' ')} – ${new Date(range.to).toISOString().slice(11, 16)} UTC`} · Lemay fake-command capture${scope ? ` · ${scope}` : ''}`;
        // Expressions as text: a function would be serialised with the TypeScript loader's helpers.
        const model = { title: d.title.replace('conduitwatch / ', ''), subtitle, panels };
        const height = Number(await page.evaluate(`document.body.innerHTML = ''; window.renderDashboard(${JSON.stringify(model)})`));
        await page.setViewportSize({ width: 1600, height: Math.ceil(height) });
        const file = join(out, d.file.replace(/\.json$/, '.png'));
        await page.screenshot({ path: file, fullPage: true });
        process.stdout.write(`${file} (${panels.length} panels)\n`);
      }
      process.stdout.write(`Done in ${((performance.now() - t0) / 1000).toFixed(1)} s.\n`);
    } finally {
      await browser.close();
      await store.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
};

await main();
