import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { hasCode } from '../../../core/errors.ts';
import { loadMigrations, splitStatements } from '../../../store/migrate.ts';

test('splits statements on semicolons outside quotes and drops -- comments', () => {
  const sql = `-- header; not a statement
CREATE TABLE a (x String COMMENT 'a;b', y String DEFAULT 'it''s') ENGINE = Memory; -- trailing; comment
CREATE TABLE b (z UInt8 COMMENT "q;") ENGINE = Memory;
`;
  assert.deepEqual(splitStatements(sql), [
    "CREATE TABLE a (x String COMMENT 'a;b', y String DEFAULT 'it''s') ENGINE = Memory",
    'CREATE TABLE b (z UInt8 COMMENT "q;") ENGINE = Memory',
  ]);
});

test('a file without a final semicolon is still one statement', () => {
  assert.deepEqual(splitStatements('SELECT 1\n'), ['SELECT 1']);
});

test('the shipped DDL loads as versions 1..N, each with a name and checksum', async () => {
  const m = await loadMigrations();
  assert.deepEqual(m.map((x) => x.version), m.map((_, i) => i + 1));
  // The first migrations are the ones every database has; later ones are added by whoever needs them.
  assert.deepEqual(m.slice(0, 15).map((x) => `${x.version}:${x.name}`),
    ['1:flows', '2:windows', '3:alerts', '4:assets', '5:conduits', '6:sink_batches', '7:audit', '8:rules',
      '9:flow_fidelity', '10:flows_ids', '11:series', '12:conduit_readiness', '13:retention_rollups', '14:inventory', '15:runs_incidents']);
  assert.ok(m.every((x) => /^[0-9a-f]{64}$/.test(x.checksum)));
});

for (const [files, why] of [
  [['001_a.sql', '003_c.sql'], /expected 2/],
  [['001_a.sql', '001_b.sql'], /expected 2/],
  [['1_a.sql'], /misnamed/],
] as const) {
  test(`refuses a migration set ${files.join(', ')} with a message saying what is wrong`, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cw-mig-'));
    try {
      for (const f of files) await writeFile(join(dir, f), 'SELECT 1;');
      await assert.rejects(loadMigrations(dir), (e) => hasCode(e, 'config_invalid') && why.test((e as Error).message));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
}
