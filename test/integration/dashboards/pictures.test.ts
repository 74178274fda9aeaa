/**
 * `npm run docs:pictures` draws every dashboard from a replayed capture in headless Debian Chromium:
 * one PNG per dashboard, as tall as its panel grid.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { DASHBOARDS_DIR } from '../../../cli/dashboards.ts';
import { loadDashboards } from '../../../dashboards/model.ts';
import { projectRoot, requireTool, sharedData } from '../../support/data.ts';
import { LEMAY_FAKE_COMMAND } from '../../support/replayed.ts';

const exec = promisify(execFile);

test('docs:pictures renders one PNG per dashboard in headless Chromium', async (t) => {
  if (!sharedData(t, LEMAY_FAKE_COMMAND) || !(await requireTool(t, 'chromium', 'Debian package chromium'))) return;
  const out = await mkdtemp(join(tmpdir(), 'cw-pictures-'));
  t.after(() => rm(out, { recursive: true, force: true }));
  await exec(process.execPath, ['--import', 'tsx', join(projectRoot, 'scripts/docs-pictures.ts'), '--out', out],
    { cwd: projectRoot, env: { ...process.env, TZ: 'UTC', CONDUITWATCH_LOG: 'warn' }, timeout: 300_000 });
  const dashboards = loadDashboards(DASHBOARDS_DIR);
  assert.ok(dashboards.length >= 8);
  for (const d of dashboards) {
    const png = await readFile(join(out, d.file.replace(/\.json$/, '.png')));
    assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG', d.file);
    const width = png.readUInt32BE(16);
    const height = png.readUInt32BE(20);
    const rows = Math.max(...d.panels.map((p) => p.gridPos.y + p.gridPos.h));
    assert.equal(width, 1600, d.file);
    assert.ok(height >= rows * 34, `${d.file}: ${height} px for ${rows} grid rows`);
  }
});
