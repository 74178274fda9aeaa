/** The sink's intent log on the real engine: the newest range is the one with the greatest first offset, as a number. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openChdb } from '../../../store/chdb.ts';
import { ensureSinkLog, lastSinkRange, recordSinkRange } from '../../../store/sink-log.ts';

test('the last recorded range is the greatest first offset by number, not by text (9 < 10 < 100)', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cw-sinklog-'));
  const store = await openChdb(dir);
  t.after(async () => { await store.close(); await rm(dir, { recursive: true, force: true }); });
  await ensureSinkLog(store);
  assert.equal(await lastSinkRange(store, 'g', 'flows', 0), undefined);
  for (const [first, last] of [[0n, 1n], [2n, 9n], [10n, 17n], [18n, 99n], [100n, 140n]] as const) {
    await recordSinkRange(store, 'g', 'flows', 0, { first, last }, 0);
  }
  await recordSinkRange(store, 'g', 'flows', 1, { first: 5n, last: 6n }, 0);
  assert.deepEqual(await lastSinkRange(store, 'g', 'flows', 0), { first: 100n, last: 140n });
  assert.deepEqual(await lastSinkRange(store, 'g', 'flows', 1), { first: 5n, last: 6n });
  assert.equal(await lastSinkRange(store, 'other', 'flows', 0), undefined);
});
