/**
 * Both paths write the same rows: a capture replayed in one process (cli/replay.ts) and the same
 * capture through the serve roles (collector → detector → sink on the in-process bus) give, table by
 * table, the same flows, windows, series, assets and conduits (run ids and processing times aside),
 * in one chDB data directory.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { TOPICS, type Bus } from '../../../bus/bus.ts';
import { MemoryBus } from '../../../bus/memory.ts';
import { fakeClock } from '../../../core/clock.ts';
import { Metrics, silentLogger } from '../../../core/telemetry.ts';
import { runReplay } from '../../../cli/replay.ts';
import { FlowPublisher } from '../../../cli/serve/collector.ts';
import { DetectorRole } from '../../../cli/serve/detector.ts';
import { SinkRole } from '../../../cli/serve/sink.ts';
import { openChdb } from '../../../store/chdb.ts';
import type { Store } from '../../../store/store.ts';
import { sharedData } from '../../support/data.ts';
import { batchesOf, lemaySite } from '../serve/helpers.ts';

const PCAP = 'lemay/send_a_fake_command_modbus_6RTU_with_operate.pcap';

/** Each table's rows for one run, without run ids and processing times, sorted. */
const tablesOf = async (store: Store, run: string): Promise<Record<string, string[]>> => {
  const rows = async (sql: string): Promise<string[]> => (await store.query(sql)).map((r) => JSON.stringify(r)).sort();
  const where = `WHERE run_id = '${run}'`;
  return {
    flows: await rows(`SELECT * EXCEPT (run_id, observed_at, stored_at) FROM flows ${where}`),
    windows: await rows(`SELECT * EXCEPT (run_id, stored_at) FROM windows FINAL ${where}`),
    series: await rows(`SELECT * EXCEPT (run_id, stored_at) FROM series FINAL ${where}`),
    // Severity, risk, reason and incident included: the serve detector role triages as replay does
    // (one flows partition here, so incidents group across conduits the same way).
    alerts: await rows(`SELECT * EXCEPT (run_id, stored_at) FROM alerts FINAL ${where}`),
    incidents: await rows(`SELECT * EXCEPT (run_id) FROM incidents FINAL ${where}`),
    assets: await rows(`SELECT zone, ip, min(first_seen) AS f, max(last_seen) AS l, sum(flows) AS n, sum(bytes) AS b, arraySort(groupUniqArrayArray(l7)) AS l7
      FROM assets ${where} GROUP BY zone, ip`),
    conduits: await rows(`SELECT * EXCEPT (run_id, updated_at) FROM conduits FINAL ${where}`),
  };
};

test('replay and the serve roles write the same flows, windows, series, alerts (with their triage), incidents, assets and conduits', async (t) => {
  const pcap = sharedData(t, PCAP);
  if (!pcap) return;
  const dir = await mkdtemp(join(tmpdir(), 'cw-paths-'));
  try {
    const { site, siteMap } = lemaySite();
    const clock = fakeClock('2025-01-01T00:00:00Z');
    const replay = await runReplay({ inputs: [pcap], site, dataDir: dir, clock });

    const store = await openChdb(dir);
    try {
      // One flows partition: one engine, as replay has (partitioned engines differ in documented ways, cli/serve/detector.ts).
      const bus = new MemoryBus({ partitions: { [TOPICS.flows]: 1, [TOPICS.state]: 1, [TOPICS.scores]: 3, [TOPICS.alerts]: 1, [TOPICS.deadletter]: 1 } });
      const deps = { log: silentLogger(), metrics: new Metrics() };
      const sink = new SinkRole({ bus: bus as Bus, store, siteMap, runId: 'serve', clock, ...deps });
      const detector = new DetectorRole({ bus: bus as Bus, siteMap, runId: 'serve', ...deps });
      await sink.start();
      await detector.start();
      const pub = new FlowPublisher(bus, siteMap, clock);
      for (const b of await batchesOf(pcap, site, 50)) await pub.publish(b);
      await pub.end();
      await bus.idle();
      await detector.stop();
      await sink.stop();
      await bus.close();

      const a = await tablesOf(store, replay.runId);
      const b = await tablesOf(store, 'serve');
      for (const table of Object.keys(a)) {
        assert.ok(a[table]!.length > 0, `replay wrote ${table}`);
        assert.deepEqual(b[table], a[table], `${table}: the serve path wrote what replay wrote`);
      }
      t.diagnostic(Object.entries(a).map(([k, v]) => `${k} ${v.length}`).join(', '));
    } finally {
      await store.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
