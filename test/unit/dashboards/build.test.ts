import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { DASHBOARDS_DIR, staleDashboards } from '../../../cli/dashboards.ts';
import { DATASOURCE_UID, PLUGIN_ID, UID } from '../../../dashboards/common.ts';
import { buildDashboards } from '../../../dashboards/index.ts';
import { dashboardModel, loadDashboards } from '../../../dashboards/model.ts';
import { projectRoot } from '../../support/data.ts';

test('the committed dashboard JSON equals a fresh build of dashboards/ (run `conduitwatch dashboards build`)', async () => {
  assert.deepEqual(await staleDashboards(DASHBOARDS_DIR), []);
});

test('a changed panel makes the committed JSON stale', async () => {
  const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const dir = await mkdtemp(join(tmpdir(), 'cw-dash-'));
  try {
    for (const [f, text] of buildDashboards()) await writeFile(join(dir, f), f === 'soc-overview.json' ? text.replace('"Alerts"', '"Alarms"') : text);
    await writeFile(join(dir, 'old-dashboard.json'), '{}');
    assert.deepEqual(await staleDashboards(dir), ['old-dashboard.json', 'soc-overview.json']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('every panel has a title, a description, a unit and one ClickHouse SQL target on the site data source', () => {
  const dashboards = [...buildDashboards()].map(([f, text]) => dashboardModel(f, text));
  assert.ok(dashboards.length >= 8);
  for (const d of dashboards) {
    assert.ok(d.panels.length > 0, d.file);
    const json = JSON.parse(readFileSync(join(DASHBOARDS_DIR, d.file), 'utf8')) as { panels: { datasource: unknown; targets: { datasource: unknown; editorType: string }[] }[] };
    for (const [i, p] of d.panels.entries()) {
      const where = `${d.file} panel ${p.id} "${p.title}"`;
      assert.ok(p.title.length > 2, where);
      assert.ok(p.description.length > 20, `${where}: description`);
      assert.ok(p.unit.length > 0, `${where}: unit`);
      assert.match(p.sql, /^SELECT\b/, `${where}: SQL`);
      const raw = json.panels[i]!;
      assert.deepEqual(raw.datasource, { type: PLUGIN_ID, uid: '${site}' }, where);
      assert.equal(raw.targets.length, 1, where);
      assert.deepEqual(raw.targets[0]!.datasource, { type: PLUGIN_ID, uid: '${site}' }, where);
      assert.equal(raw.targets[0]!.editorType, 'sql', where);
      if (p.type === 'timeseries') assert.equal(p.format, 0, `${where}: time series format`);
    }
    const names = d.variables.map((v) => v.name);
    assert.equal(names[0], 'site', `${d.file}: site first`);
    if (d.uid !== UID.audit) assert.equal(names[1], 'run', `${d.file}: then run`);
  }
});

test('drill-down links lead from the overview to a conduit and from a conduit to an alert', () => {
  const byUid = new Map(loadDashboards(DASHBOARDS_DIR).map((d) => [d.uid, d]));
  const linksTo = (from: string, to: string) => byUid.get(from)!.panels.flatMap((p) => p.links).filter((u) => u.startsWith(`/d/${to}/`));
  assert.ok(linksTo(UID.soc, UID.conduit).length > 0, 'overview → conduit');
  assert.ok(linksTo(UID.soc, UID.alert).length > 0, 'overview → alert');
  assert.ok(linksTo(UID.conduit, UID.alert).length > 0, 'conduit → alert');
  for (const u of linksTo(UID.soc, UID.conduit)) assert.match(u, /var-conduit=\$\{__data\.fields\.conduit\}/);
  for (const u of [...linksTo(UID.soc, UID.alert), ...linksTo(UID.conduit, UID.alert)]) assert.match(u, /var-alert=\$\{__data\.fields\.id\}/);
  // Every link keeps the site, run and time range.
  for (const d of byUid.values()) for (const u of d.panels.flatMap((p) => p.links)) assert.match(u, /var-site=\$\{site\}&var-run=\$\{run\}&\$\{__url_time_range\}/);
});

test('provisioning loads the built dashboards and a ClickHouse data source with the uid the dashboards name', () => {
  const prov = join(projectRoot, 'infra/grafana/provisioning');
  const ds = parse(readFileSync(join(prov, 'datasources/conduitwatch.yaml'), 'utf8')) as { datasources: { uid: string; type: string; jsonData: { protocol: string } }[] };
  assert.equal(ds.datasources[0]!.uid, DATASOURCE_UID);
  assert.equal(ds.datasources[0]!.type, PLUGIN_ID);
  assert.equal(ds.datasources[0]!.jsonData.protocol, 'http');
  const dash = parse(readFileSync(join(prov, 'dashboards/conduitwatch.yaml'), 'utf8')) as { providers: { type: string; options: { path: string } }[] };
  assert.equal(dash.providers[0]!.type, 'file');
  assert.equal(dash.providers[0]!.options.path, '/var/lib/grafana/dashboards/conduitwatch');
});
