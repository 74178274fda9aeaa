/**
 * End to end in one process: simulate a plant with every anomaly kind → replay through the
 * detectors into chDB → every injected anomaly is alerted inside its labelled interval, and the
 * clean intervals stay quiet.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fakeClock } from '../../core/clock.ts';
import { loadSite } from '../../core/config.ts';
import { simulatePlant, SimOptions } from '../../ingest/simulate/index.ts';
import { EXAMPLES_DIR, matchLabels } from '../../cli/demo.ts';
import { runReplay } from '../../cli/replay.ts';
import { openChdb } from '../../store/chdb.ts';

test('every injected anomaly is alerted inside its interval and clean intervals stay quiet', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cw-e2e-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const sim = await simulatePlant(SimOptions.parse({ out: join(dir, 'plant.pcap'), inject: ['all'], seed: 3 }));
  assert.ok(sim.labels.length >= 6, `expected every anomaly kind to be injected, got ${sim.labels.length}`);

  const site = loadSite(join(EXAMPLES_DIR, 'sim', 'site.yaml'));
  const dataDir = join(dir, 'data');
  const report = await runReplay({ inputs: [sim.pcapPath], site, dataDir, clock: fakeClock('2026-01-01T00:00:00Z') });
  const { checks, unexplained } = matchLabels(sim.labels, report.alerts, site.detection.window);

  const missed = checks.filter((c) => c.hits.length === 0).map((c) => `${c.label.kind} (${c.label.description})`);
  assert.deepEqual(missed, [], `missed injected anomalies: ${missed.join('; ')}`);
  assert.deepEqual(unexplained.map((a) => `${a.detector} ${a.conduit} ${a.src}->${a.dst}:${a.dstPort} ${new Date(a.tsStart).toISOString()} ${a.explanation}`), [],
    'alerts outside every labelled interval are false alarms');

  // What the report says is what landed in ClickHouse.
  const store = await openChdb(dataDir);
  t.after(() => store.close());
  const [row] = await store.query<{ n: string | number }>(`SELECT count() AS n FROM alerts WHERE run_id = '${report.runId}'`);
  assert.equal(Number(row!.n), report.rawAlerts);
  const [flows] = await store.query<{ n: string | number }>(`SELECT count() AS n FROM flows WHERE run_id = '${report.runId}'`);
  assert.equal(Number(flows!.n), report.flows);
});
