/**
 * chDB honours `insert_deduplication_token` on our MergeTree tables (they set
 * non_replicated_deduplication_window): the sink's retried batch never duplicates rows
 * (RELIABILITY.md B2.1). Runs in its own process: chDB allows one data directory per process.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { FlowRecord } from '../../../core/records.ts';
import { openChdb } from '../../../store/chdb.ts';
import { migrate } from '../../../store/migrate.ts';
import { flowRow, TABLES } from '../../../store/schema.ts';
import type { Store } from '../../../store/store.ts';

let dir: string;
let store: Store;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cw-dedup-'));
  store = await openChdb(dir);
  await migrate(store);
});
after(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

const T0 = Date.parse('2025-03-04T05:06:07.000Z');
const flow = (i: number): FlowRecord => ({
  id: String(i), tsStart: T0 + i, tsEnd: T0 + i + 1, srcIp: '10.0.0.1', srcPort: i, dstIp: '10.0.0.2', dstPort: 502, proto: 6, packets: 1,
  bytes: 60, packetsRev: 1, bytesRev: 60, tcpFlags: 0, exporter: 'e', observationDomain: 0, source: 'sim',
});
const rows = (run: string, from: number, n: number, observedAt = T0) =>
  Array.from({ length: n }, (_, i) => flowRow(flow(from + i), { conduit: 'a->b', srcZone: 'a', dstZone: 'b', runId: run, observedAt }));
const count = async (run: string) => Number((await store.query<{ n: number }>(`SELECT count() AS n FROM ${TABLES.flows} WHERE run_id = '${run}'`))[0]!.n);

test('a second insert with the same token is skipped even when its rows differ', async () => {
  await store.insertRows(TABLES.flows, rows('tok-1', 0, 10), { dedupToken: 'flows:0:0-9' });
  // A retry of the same offsets, re-mapped at another processing time: different bytes, same token.
  await store.insertRows(TABLES.flows, rows('tok-1', 0, 10, T0 + 5_000), { dedupToken: 'flows:0:0-9' });
  assert.equal(await count('tok-1'), 10);
});

test('different tokens insert identical rows twice, and no token falls back to block-hash dedup', async () => {
  await store.insertRows(TABLES.flows, rows('tok-2', 0, 5), { dedupToken: 'flows:0:10-14' });
  await store.insertRows(TABLES.flows, rows('tok-2', 0, 5), { dedupToken: 'flows:1:10-14' });
  assert.equal(await count('tok-2'), 10);
  await store.insertRows(TABLES.flows, rows('tok-3', 0, 5));
  await store.insertRows(TABLES.flows, rows('tok-3', 0, 5));
  assert.equal(await count('tok-3'), 5);
});

test('the token still works after many other inserts, within the window of 1000 blocks', async () => {
  await store.insertRows(TABLES.flows, rows('tok-4', 0, 3), { dedupToken: 'flows:2:0-2' });
  for (let i = 0; i < 30; i++) await store.insertRows(TABLES.flows, rows(`tok-4-other-${i}`, i, 1), { dedupToken: `other-${i}` });
  await store.insertRows(TABLES.flows, rows('tok-4', 0, 3), { dedupToken: 'flows:2:0-2' });
  assert.equal(await count('tok-4'), 3);
});
