import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nativeForRevision, nativeHeader, REVISION_WITH_CUSTOM_SERIALIZATION } from '../../../dashboards/http/native.ts';
import { blankLiterals, readOnlyGate } from '../../../dashboards/http/readonly.ts';

test('the gate lets one read statement through and names what it refuses', () => {
  const ok = ['SELECT 1', '  (SELECT 1)', 'WITH x AS (SELECT 1) SELECT * FROM x', 'SHOW TABLES', 'DESCRIBE TABLE alerts', 'desc alerts',
    'EXISTS TABLE alerts', 'EXPLAIN SELECT 1', "SELECT ';' AS semi;", 'SELECT 1 -- DROP TABLE x;\n', '/* INSERT */ SELECT 1'];
  const refused: [string, RegExp][] = [
    ["INSERT INTO alerts (id) VALUES ('x')", /INSERT is not allowed/], ['CREATE TABLE t (a Int8) ENGINE = Memory', /CREATE/],
    ['DROP TABLE alerts', /DROP/], ['SELECT 1; DROP TABLE alerts', /Multi-statements/], ['OPTIMIZE TABLE alerts FINAL', /OPTIMIZE/],
    ['SYSTEM SHUTDOWN', /SYSTEM/], ["SELECT 1 INTO OUTFILE '/tmp/x'", /INTO OUTFILE/], ['', /Empty/], ['-- only a comment', /Empty/],
    ['SET readonly = 0', /SET/], ['KILL QUERY ALL', /KILL/],
  ];
  assert.ok(ok.length > 0 && refused.length > 0);
  for (const q of ok) assert.equal(readOnlyGate(q).ok, true, q);
  for (const [q, why] of refused) {
    const g = readOnlyGate(q);
    assert.equal(g.ok, false, q);
    if (!g.ok) assert.match(g.reason, why, q);
  }
});

test('the gate strips a trailing semicolon and reads the FORMAT clause', () => {
  assert.deepEqual(readOnlyGate('SELECT 1 FORMAT JSONEachRow;\n'), { ok: true, sql: 'SELECT 1 FORMAT JSONEachRow', format: 'JSONEachRow' });
  assert.deepEqual(readOnlyGate("SELECT 'FORMAT CSV'"), { ok: true, sql: "SELECT 'FORMAT CSV'" });
});

test('literals and comments are blanked without moving offsets', () => {
  const q = "SELECT 'a;b', `c;d`, \"e\" -- f;\n/* g; */ x";
  const b = blankLiterals(q);
  assert.equal(b.length, q.length);
  assert.ok(!b.includes(';'));
  assert.ok(b.endsWith(' x'));
  assert.equal(blankLiterals("'it''s'"), "'     '");
});

// chDB's Native for SELECT 1::UInt8 AS x, 'ab' AS s (revision 0): 2 columns, 1 row, name, type, data.
const REV0 = Buffer.from('020101780555496e743801017306537472696e67026162', 'hex');

test('Native re-framed for a client revision gets block info and the custom-serialization byte per column', () => {
  const out = nativeForRevision(REV0, REVISION_WITH_CUSTOM_SERIALIZATION);
  assert.equal(out.toString('hex'), '0100' + '02ffffffff' + '00' + '0201' + '0178' + '0555496e7438' + '00' + '01' + '0173' + '06537472696e67' + '00' + '026162');
  assert.equal(nativeForRevision(REV0, 54453).toString('hex'), '0100' + '02ffffffff' + '00' + '0201' + '01780555496e743801' + '017306537472696e67026162');
  assert.deepEqual(nativeForRevision(REV0, 0), REV0);
});

test('Native re-framing walks nested and LowCardinality columns to the next column', () => {
  // Two rows: Array(UInt8) [[1],[2,3]], Map(String, UInt8) {'a':1},{}, LowCardinality(String) 'k','k', UInt8 7, 8.
  const str = (s: string) => Buffer.concat([Buffer.of(s.length), Buffer.from(s)]);
  const u64 = (n: number) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(n)); return b; };
  const col = (name: string, type: string, data: Buffer) => Buffer.concat([str(name), str(type), data]);
  const src = Buffer.concat([
    Buffer.of(4, 2),
    col('a', 'Array(UInt8)', Buffer.concat([u64(1), u64(3), Buffer.of(1, 2, 3)])),
    col('m', 'Map(String, UInt8)', Buffer.concat([u64(1), u64(1), str('a'), Buffer.of(1)])),
    col('l', 'LowCardinality(String)', Buffer.concat([u64(1), u64(0x200), u64(1), str('k'), u64(2), Buffer.of(0, 0)])),
    col('n', 'UInt8', Buffer.of(7, 8)),
  ]);
  const out = nativeForRevision(src, 54460);
  // 8 bytes of block info and one custom-serialization byte per column.
  assert.equal(out.length, src.length + 8 + 4);
  assert.deepEqual(out.subarray(out.length - 2), Buffer.of(7, 8));
  assert.equal(out[out.length - 3], 0);
  assert.throws(() => nativeForRevision(Buffer.concat([Buffer.of(1, 1), col('d', 'Dynamic', Buffer.of(0))]), 54460), /CAST the column/);
  assert.throws(() => nativeForRevision(src.subarray(0, src.length - 1), 54460), /ends early/);
});

test('an empty result gets the header block a server sends', () => {
  assert.equal(nativeHeader([{ name: 'x', type: 'UInt8' }], 54460).toString('hex'), '0100' + '02ffffffff' + '00' + '0100' + '0178' + '0555496e7438' + '00');
});
