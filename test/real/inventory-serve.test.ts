/**
 * The serve path feeds the inventory too: a capture published by the collector role over the
 * in-process bus, stored by the sink role in chDB, gives inventory rows with the roles and MACs one
 * process (`replay`) finds, and the attacking RTU's change alert in the alerts table.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryBus } from '../../bus/memory.ts';
import { TOPICS } from '../../bus/bus.ts';
import { fakeClock } from '../../core/clock.ts';
import { loadSite, SiteMap } from '../../core/config.ts';
import { Metrics, silentLogger } from '../../core/telemetry.ts';
import { runReplay } from '../../cli/replay.ts';
import { startRoles } from '../../cli/serve/index.ts';
import { openChdb } from '../../store/chdb.ts';
import { migrate } from '../../store/migrate.ts';
import { projectRoot, sharedData } from '../support/data.ts';

test('serve (collector and sink roles on the in-process bus) writes the inventory replay finds, and its change alert', async (t) => {
  const pcap = sharedData(t, 'lemay/send_a_fake_command_modbus_6RTU_with_operate.pcap');
  if (!pcap) return;
  const dir = mkdtempSync(join(tmpdir(), 'cw-inv-serve-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const site = loadSite(join(projectRoot, 'examples', 'lemay', 'site.yaml'));
  const siteMap = new SiteMap(site);
  const store = await openChdb(join(dir, 'data'));
  t.after(() => store.close());
  await migrate(store);
  const bus = new MemoryBus({ partitions: { [TOPICS.flows]: 3, [TOPICS.state]: 3, [TOPICS.scores]: 1, [TOPICS.alerts]: 1, [TOPICS.deadletter]: 1 } });
  const clock = fakeClock('2026-01-01T00:00:00Z');
  const serving = await startRoles({ roles: ['collector', 'sink'], siteMap, bus, runId: 'serve-inv', clock, log: silentLogger(), metrics: new Metrics(), store, inputs: [pcap] });
  assert.ok((await serving.published!) > 0);
  await bus.idle();
  await serving.stop();
  await bus.close();
  const rows = await store.query<{ ip: string; role: string; mac: string; flows: number }>(
    `SELECT ip, argMax(role, updated_at) AS role, argMax(mac, updated_at) AS mac, sum(flows) AS flows FROM inventory FINAL WHERE run_id = 'serve-inv' GROUP BY ip ORDER BY ip`);
  const one = await runReplay({ inputs: [pcap], site, clock });
  const want = one.inventory.assets.map((a) => ({ ip: a.ip, role: a.role, mac: a.mac ?? '' }));
  assert.ok(want.length > 0);
  assert.deepEqual(rows.map(({ ip, role, mac }) => ({ ip, role, mac })), want);
  const alerts = await store.query<{ src: string; explanation: string }>(`SELECT src, explanation FROM inventory_changes FINAL WHERE run_id = 'serve-inv'`);
  assert.deepEqual(alerts.map((a) => a.src), one.inventory.alerts.map((a) => a.src));
  assert.ok(alerts.some((a) => a.src === '192.168.1.101' && /write_single_coil/.test(a.explanation)), JSON.stringify(alerts));
});
