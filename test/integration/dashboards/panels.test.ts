/**
 * Every panel of every built dashboard (infra/grafana/dashboards/*.json, what Grafana is given)
 * runs on chDB over a replayed shared capture, with the ClickHouse plugin's macros and the
 * template variables expanded as Grafana and the plugin do: each returns rows, names no missing
 * column, and has the fields its links and series need.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { DASHBOARDS_DIR } from '../../../cli/dashboards.ts';
import { edgeId } from '../../../core/records.ts';
import { edgeOf } from '../../../dashboards/common.ts';
import { loadDashboards, panelQuery, resolveVariables, type RunQuery } from '../../../dashboards/model.ts';
import type { VarValue } from '../../../dashboards/macros.ts';
import { openChdb } from '../../../store/chdb.ts';
import { TABLES, tables } from '../../../store/schema.ts';
import { projectRoot } from '../../support/data.ts';
import { replayShared } from '../../support/replayed.ts';

const exec = promisify(execFile);

test('every dashboard panel runs on a replayed capture and returns rows where its data exists', async (t) => {
  const r = await replayShared(t);
  if (!r) return;
  // The enforcement dashboards read rules and the audit trail: propose a rule for the polled conduit
  // and replay it (what-if), as an engineer would, through the real commands.
  const bin = join(projectRoot, 'bin/conduitwatch.mjs');
  for (const step of ['propose', 'whatif']) {
    // whatif exits non-zero when the rule is not promotable (this capture: two held flows); it still ran.
    const out = await exec(process.execPath, [bin, 'rules', step, '--conduit', 'control->field', '--site', join(projectRoot, 'examples/lemay/site.yaml'), '--data', r.dir],
      { env: { ...process.env, TZ: 'UTC', CONDUITWATCH_LOG: 'warn' } }).catch((e: { stdout?: string; stderr?: string }) => ({ stdout: `${e.stdout}${e.stderr}` }));
    assert.match(out.stdout, step === 'propose' ? /Proposed/ : /What-if hash/, `rules ${step}: ${out.stdout}`);
  }
  const store = await openChdb(r.dir);
  t.after(async () => { await store.close(); await rm(r.dir, { recursive: true, force: true }); });
  const meta = new Map<string, string[]>();
  const run: RunQuery = async (sql) => {
    const out = JSON.parse(await store.text(sql, 'JSONCompact')) as { meta: { name: string }[]; data: unknown[][] };
    meta.set(sql, out.meta.map((m) => m.name));
    return out.data;
  };
  const capture = { from: r.from, to: r.to };
  // Rules and audit entries carry processing time: those dashboards open on the last 30 days.
  const recent = { from: Date.now() - 30 * 86_400_000, to: Date.now() + 3_600_000 };
  const rangeOf = (uid: string) => (uid === 'conduitwatch-rules' || uid === 'conduitwatch-audit' ? recent : capture);
  const a = tables.alerts.columns;
  const f = tables.flows.columns;
  // Where data exists: the conduit with the most flows has the baseline and cadence panels' data,
  // the one with the most alerts the alert panels'. Every panel must run in every scope, return rows
  // under "All", and return rows in at least one single-conduit scope.
  const [polled] = await run(`SELECT ${f.conduit} FROM ${TABLES.flows} GROUP BY 1 ORDER BY count() DESC, 1 LIMIT 1`);
  const [alerted] = await run(`SELECT ${a.conduit} FROM ${TABLES.alerts} FINAL GROUP BY 1 ORDER BY count() DESC, 1 LIMIT 1`);
  const conduits = [String(polled![0]), String(alerted![0])];
  assert.notEqual(conduits[0], conduits[1], 'the capture should alert on a conduit other than its busiest');
  const dashboards = loadDashboards(DASHBOARDS_DIR);
  assert.ok(dashboards.length >= 8, `expected the 8 dashboards, found ${dashboards.length}`);
  let ran = 0;
  for (const d of dashboards) {
    const range = rangeOf(d.uid);
    const conduitVar = d.variables.find((v) => v.name === 'conduit');
    // Scope 0 is "All" (or, without a multi conduit variable, the only one that must have rows).
    const scopes: Record<string, VarValue>[] = !conduitVar ? [{}]
      : conduitVar.multi ? [{}, ...conduits.map((c) => ({ zone: [c.split('->')[0]!], conduit: [c] }))]
        : conduits.map((c) => ({ conduit: c }));
    const mustHaveRows = conduitVar && !conduitVar.multi ? 'one' : 'all';
    const rowsSeen = new Map<number, number[]>();
    for (const choose of scopes) {
      const vars = await resolveVariables(d, run, range, choose);
      for (const p of d.panels) {
        const sql = panelQuery(p, range, vars);
        let rows: unknown[][];
        try {
          rows = await run(sql);
        } catch (e) {
          assert.fail(`${d.file} "${p.title}" (${JSON.stringify(choose)}) failed: ${(e as Error).message}`);
        }
        rowsSeen.set(p.id, [...(rowsSeen.get(p.id) ?? []), rows.length]);
        if (rows.length === 0) continue;
        const cols = meta.get(sql)!;
        if (p.type === 'timeseries') assert.equal(cols[0], 'time', `${d.file} "${p.title}": a time series query returns time first`);
        for (const url of p.links) {
          for (const [, field] of url.matchAll(/\$\{__data\.fields\.(\w+)\}/g)) {
            assert.ok(cols.includes(field!), `${d.file} "${p.title}": link needs field ${field}, query returns ${cols.join(', ')}`);
          }
        }
        for (const [name, props] of Object.entries(p.overrides)) {
          if ('custom.fillBelowTo' in props) assert.ok(cols.includes(name) && cols.includes(String(props['custom.fillBelowTo'])), `${d.file} "${p.title}": band series ${name} missing`);
        }
        ran++;
      }
    }
    for (const p of d.panels) {
      const seen = rowsSeen.get(p.id)!;
      const ok = mustHaveRows === 'all' ? seen[0]! > 0 : seen.some((n) => n > 0);
      assert.ok(ok, `${d.file} "${p.title}" returned no rows (rows per scope ${JSON.stringify(scopes)}: ${seen.join(', ')})`);
    }
  }
  assert.ok(ran >= 40, `ran ${ran} panel queries`);
  t.diagnostic(`${ran} panel queries with rows over ${dashboards.length} dashboards (${dashboards.reduce((n, d) => n + d.panels.length, 0)} panels)`);
  // One figure checked against the replay itself, not against the store: the overview's alert count.
  const soc = dashboards.find((d) => d.uid === 'conduitwatch-soc')!;
  const vars = await resolveVariables(soc, run, capture);
  const alerts = await run(panelQuery(soc.panels.find((p) => p.title === 'Alerts')!, capture, vars));
  // And the audit dashboard's verification agrees with the trail's own verifier.
  const audit = dashboards.find((d) => d.uid === 'conduitwatch-audit')!;
  const [[status]] = await run(panelQuery(audit.panels.find((p) => p.title === 'Chain verification')!, recent, {})) as [[string]];
  assert.equal(status, 'intact');
  assert.equal(Number(alerts[0]![0]), r.report.rawAlerts);
  // The alert dashboard finds an alert's windows by rebuilding its edge id in SQL: it must spell it as core does.
  const stored = await store.query<{ edge: string; src: string; dst: string; proto: number; dstPort: number; l7: string }>(
    `SELECT ${edgeOf(a.src, a.dst, a.proto, a.dstPort, a.l7)} AS edge, ${a.src} AS src, ${a.dst} AS dst, ${a.proto} AS proto,
       ${a.dstPort} AS dstPort, ${a.l7} AS l7 FROM ${TABLES.alerts} FINAL`);
  assert.ok(stored.some((x) => x.l7 === '') && stored.some((x) => x.l7 !== ''), 'alerts with and without l7');
  for (const x of stored) assert.equal(x.edge, edgeId(x));
});
