/**
 * The flows table deduplicates on (run_id, id) (migration 010_flows_ids, issue 9 item 2): a record delivered
 * twice under different insert tokens (a producer-side double at new offsets, a re-published
 * spool) is read once with FINAL and stored once after a merge; rows written before ids existed
 * keep their content and get the content id the sink computes for a record without one.
 */
import assert from 'node:assert/strict';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { flowId, type FlowRecord } from '../../../core/records.ts';
import { openChdb } from '../../../store/chdb.ts';
import { DDL_DIR, loadMigrations, migrate } from '../../../store/migrate.ts';
import { contentFlowId, flowRow, TABLES } from '../../../store/schema.ts';
import type { Store } from '../../../store/store.ts';

const T0 = Date.parse('2019-03-04T05:06:07.000Z');
const flow = (i: number, id?: string): FlowRecord => ({
  ...(id ? { id } : {}), tsStart: T0 + i * 1000, tsEnd: T0 + i * 1000 + 250, srcIp: '10.1.2.10', srcPort: 40000 + i, dstIp: '10.1.3.7', dstPort: 502,
  proto: 6, packets: 10 + i, bytes: 600 + i, packetsRev: 9, bytesRev: 540, tcpFlags: 0x1b, exporter: 'plant.pcap', observationDomain: 0,
  source: 'pcap', l7: 'modbus', l7Ops: { read_holding_registers: 4 },
// A record without an id stands for a row written before ids existed (the migration's content id).
}) as FlowRecord;
const extra = (runId: string) => ({ conduit: 'hmi->plc', srcZone: 'hmi', dstZone: 'plc', runId, observedAt: T0 });

let dir: string;
let store: Store;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cw-dedup-'));
  store = await openChdb(dir);
});
after(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

const count = async (sql: string): Promise<number> => Number((await store.query<{ n: string }>(sql))[0]!.n);

test('migration 010_flows_ids keeps the flows written before it and gives each the content id the sink computes for a record without one', async () => {
  const ddl = await mkdtemp(join(tmpdir(), 'cw-ddl-'));
  try {
    const all = await loadMigrations();
    const mine = all.find((m) => m.name === 'flows_ids')!;
    const earlier = all.filter((m) => m.version < mine.version);
    assert.ok(earlier.length > 0, 'migrations before flows_ids exist');
    for (const m of earlier) await cp(join(DDL_DIR, m.file), join(ddl, m.file));
    assert.equal((await migrate(store, { dir: ddl })).version, mine.version - 1);
    const old = [flow(0), flow(1), flow(2)];
    // Rows as the flows table held them before migration 010_flows_ids: no id column.
    await store.insertRows(TABLES.flows, old.map((f) => { const { id: _id, ...row } = flowRow(f, extra('pre-ids')); return row; }));
    assert.ok((await migrate(store)).applied.includes(mine.version));
    const rows = await store.query<{ id: string; src_port: number }>(`SELECT id, src_port FROM flows WHERE run_id = 'pre-ids' ORDER BY src_port`);
    assert.deepEqual(rows.map((r) => r.id), old.map(contentFlowId), 'SQL and TypeScript compute the same content id');
    assert.equal(new Set(rows.map((r) => r.id)).size, 3, 'three records, three ids');
    const [engine] = await store.query<{ engine: string }>(`SELECT engine FROM system.tables WHERE database = currentDatabase() AND name = 'flows'`);
    assert.equal(engine!.engine, 'ReplacingMergeTree');
    assert.equal(await count(`SELECT count() AS n FROM system.tables WHERE database = currentDatabase() AND name = 'flows_dedup'`), 0, 'the old table is gone');
  } finally {
    await rm(ddl, { recursive: true, force: true });
  }
});

test('the same records inserted twice under different tokens are read once with FINAL and stored once after a merge; distinct ids stay distinct', async () => {
  await migrate(store);
  const withIds = Array.from({ length: 50 }, (_, i) => flow(i, flowId('pcap', 'plant.pcap', i)));
  const withoutIds = Array.from({ length: 50 }, (_, i) => flow(100 + i));
  const rows = [...withIds, ...withoutIds].map((f) => flowRow(f, extra('doubled')));
  await store.insertRows(TABLES.flows, rows, { dedupToken: 'first-delivery' });
  // A producer-side double: the same records at new offsets, so another insert token.
  await store.insertRows(TABLES.flows, rows.slice(20, 70), { dedupToken: 'second-delivery' });
  assert.equal(await count(`SELECT count() AS n FROM flows WHERE run_id = 'doubled'`), 150, 'both deliveries landed as parts');
  assert.equal(await count(`SELECT count() AS n FROM flows FINAL WHERE run_id = 'doubled'`), 100);
  await store.exec('OPTIMIZE TABLE flows FINAL');
  assert.equal(await count(`SELECT count() AS n FROM flows WHERE run_id = 'doubled'`), 100, 'a merge keeps one copy');
  // Two records that share conduit, start time and hosts but not their ids are two rows.
  const twins = [flow(500, 'twin-a'), { ...flow(500, 'twin-b'), srcPort: 1 }, { ...flow(500, 'twin-c'), srcPort: 1 }];
  await store.insertRows(TABLES.flows, twins.map((f) => flowRow(f, extra('twins'))));
  assert.equal(await count(`SELECT count() AS n FROM flows FINAL WHERE run_id = 'twins'`), 3);
  // The same id in another run is another row.
  await store.insertRows(TABLES.flows, withIds.slice(0, 5).map((f) => flowRow(f, extra('doubled-again'))));
  assert.equal(await count(`SELECT count() AS n FROM flows FINAL WHERE run_id IN ('doubled', 'doubled-again')`), 105);
});
