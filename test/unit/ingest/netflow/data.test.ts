import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ipv4At, ipv6At } from '../../../../ingest/netflow/common.ts';
import { Acc, compileTemplate, readRecord } from '../../../../ingest/netflow/data.ts';

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
