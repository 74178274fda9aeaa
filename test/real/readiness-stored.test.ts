/**
 * Issue 16 item 4: the replay report and the stored `conduits` rows say when each conduit became
 * ready — the engine's `readyAt` (event time, the start of its first ready window), not its first
 * flow plus `baselineMs`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { renderReport } from '../../cli/report.ts';
import { openChdb } from '../../store/chdb.ts';
import { formatChTime } from '../../store/schema.ts';
import { replayShared } from '../support/replayed.ts';

test('replay stores and reports the event time each conduit became ready', async (t) => {
  const r = await replayShared(t);
  if (!r) return;
  try {
    const { conduits } = r.report;
    const ready = conduits.filter((c) => c.readyAt !== null);
    assert.ok(ready.length > 0 && ready.length < conduits.length, `expected some conduits ready and some still learning: ${conduits.map((c) => `${c.conduit} ${c.state}`).join('; ')}`);
    // control->field learns its 200 s baseline and covers the 2 min cycle first: ready at a window start after both.
    const cf = conduits.find((c) => c.conduit === 'control->field')!;
    assert.ok(cf.readyAt !== null && cf.firstSeen !== null);
    assert.ok(cf.readyAt >= cf.firstSeen + 200_000 && cf.readyAt % 10_000 === 0, `control->field ready at ${cf.readyAt}, first seen ${cf.firstSeen}`);

    const store = await openChdb(r.dir);
    try {
      const rows = await store.query<{ conduit: string; status: string; ready_at: string | null }>('SELECT conduit, status, ready_at FROM conduits FINAL ORDER BY conduit');
      assert.deepEqual(rows, [...conduits].sort((a, b) => (a.conduit < b.conduit ? -1 : 1)).map((c) => ({
        conduit: c.conduit, status: c.learning ? 'learning' : c.state.startsWith('new') ? 'new' : 'ready', ready_at: c.readyAt === null ? null : formatChTime(c.readyAt),
      })));
    } finally {
      await store.close();
    }

    const text = renderReport(r.report);
    for (const c of ready.filter((x) => x.declared)) {
      assert.match(text, new RegExp(`${c.conduit}\\s+ready since ${new Date(c.readyAt!).toISOString().slice(11, 19)}`));
    }
  } finally {
    await rm(r.dir, { recursive: true, force: true });
  }
});
