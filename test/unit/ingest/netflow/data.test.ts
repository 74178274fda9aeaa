import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ipv4At, ipv6At } from '../../../../ingest/netflow/common.ts';
import { Acc, VARLEN, compileTemplate, readRecord, type FieldSpec } from '../../../../ingest/netflow/data.ts';

test('IPv4 text stays right when many addresses share the bounded cache', () => {
  const b = new Uint8Array(4);
  const seen: string[] = [];
  for (let pass = 0; pass < 2; pass++) {
    for (let i = 0; i < 20_000; i++) {
      const v = (i * 2_654_435_761) >>> 0; // spread over the whole space: many slot collisions
      b[0] = v >>> 24; b[1] = (v >>> 16) & 255; b[2] = (v >>> 8) & 255; b[3] = v & 255;
      const text = ipv4At(b, 0);
      assert.equal(text, `${b[0]}.${b[1]}.${b[2]}.${b[3]}`);
      if (pass === 0) seen.push(text); else assert.equal(text, seen[i]);
    }
  }
  assert.equal(ipv4At(Uint8Array.from([9, 0, 0, 0, 0, 255, 255, 255, 255]), 5), '255.255.255.255');
});

test('IPv6 text follows RFC 5952 for leading, inner and no zero runs', () => {
  const v6 = (...g: number[]): Uint8Array => Uint8Array.from(g.flatMap((x) => [x >> 8, x & 255]));
  assert.equal(ipv6At(v6(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1), 0), '2001:db8::1');
  assert.equal(ipv6At(v6(0, 0, 0, 0, 0, 0, 0, 1), 0), '::1');
  assert.equal(ipv6At(v6(1, 0, 2, 0, 0, 3, 0, 4), 0), '1:0:2::3:0:4');
  assert.equal(ipv6At(v6(0xfe80, 1, 2, 3, 4, 5, 6, 7), 0), 'fe80:1:2:3:4:5:6:7');
});

test('a fixed-length template reads only its used fields, at their offsets, and rejects a cut record', () => {
  // unknown IE 99 (3 bytes), srcaddr, unknown enterprise IE, dstaddr, octetDeltaCount in 2 bytes (reduced size)
  const t = compileTemplate(256, [
    { id: 99, pen: 0, length: 3 }, { id: 8, pen: 0, length: 4 }, { id: 5, pen: 9, length: 2 },
    { id: 12, pen: 0, length: 4 }, { id: 1, pen: 0, length: 2 },
  ], false, 0);
  assert.deepEqual([...t.planOffs], [3, 9, 13]);
  assert.deepEqual([...t.planLens], [4, 4, 2]);
  const rec = Uint8Array.from([7, 7, 7, 10, 0, 0, 1, 9, 9, 10, 0, 0, 2, 0x01, 0x2c, 0xaa]);
  const acc = new Acc();
  assert.equal(readRecord(rec, 0, 15, t, acc), 15);
  assert.deepEqual([acc.src, acc.dst, acc.bytes], ['10.0.0.1', '10.0.0.2', 300]);
  assert.equal(readRecord(rec, 1, 15, t, acc), -1);
});

test('the generated reader of a fixed-length template sets the same fields as the interpreted walk', () => {
  // Every op at several lengths; the second template adds a variable-length field, so it is read by the
  // interpreted walk: both must leave the accumulator in the same state for the same bytes.
  const fields: FieldSpec[] = [
    [8, 4], [12, 4], [27, 16], [28, 16], [1, 3], [2, 5], [85, 6], [86, 7], [4, 1], [6, 2], [7, 2], [11, 1], [32, 2],
    [22, 4], [21, 3], [150, 4], [151, 4], [152, 8], [153, 8], [154, 8], [155, 8], [158, 4], [159, 2], [160, 8],
    [34, 4], [35, 1], [50, 2], [305, 4], [306, 4], [1, 4, 29305], [2, 8, 29305], [99, 3], [139, 2],
  ].map(([id, length, pen]) => ({ id: id!, length: length!, pen: pen ?? 0 }));
  const fixed = compileTemplate(256, fields, false, 0);
  const interpreted = compileTemplate(257, [...fields, { id: 82, pen: 0, length: VARLEN }], false, 0);
  assert.equal(fixed.varlen, false);
  assert.equal(interpreted.varlen, true);
  let seed = 7;
  const next = (): number => { seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff; return seed & 0xff; };
  for (let i = 0; i < 200; i++) {
    const rec = Uint8Array.from({ length: fixed.minLength + 1 }, next);
    rec[fixed.minLength] = 0; // the variable-length field: empty
    const a = new Acc(), b = new Acc();
    assert.equal(readRecord(rec, 0, rec.length, fixed, a), fixed.minLength);
    assert.equal(readRecord(rec, 0, rec.length, interpreted, b), rec.length);
    assert.deepEqual(a, b, `record ${i}`);
  }
  const rec = Uint8Array.from({ length: fixed.minLength }, (_, i) => i);
  const a = new Acc();
  readRecord(rec, 0, rec.length, fixed, a);
  // byte i holds i: the IPv6 source (offset 8) comes after the IPv4 one and wins, as in the walk
  assert.deepEqual([a.src, a.bytes, a.packets, a.flags, a.startUp, a.endUp],
    ['809:a0b:c0d:e0f:1011:1213:1415:1617', 0x28292a, 0x2b2c2d2e2f, 0x3f, 0x45464748, 0x494a4b]);
});
