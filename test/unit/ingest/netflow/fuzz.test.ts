/**
 * Property-style robustness: random bytes and mutations of valid datagrams (seeded, so a failure
 * replays) never throw past the decoder and always finish. Invariants from BAD-INPUT.md.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fakeClock } from '../../../../core/clock.ts';
import { IpfixDecoder } from '../../../../ingest/netflow/ipfix.ts';
import { V5Decoder } from '../../../../ingest/netflow/v5.ts';
import { V9Decoder } from '../../../../ingest/netflow/v9.ts';
import { mulberry32 } from '../../../../ingest/simulate/prng.ts';
import { T0, be16, be32, ip4, ipfix, optTmpl, set, tmpl, v5, v9, v9OptTmpl, v9Tmpl } from './build.ts';
import { noId } from '../../../support/records.ts';

const seeds = (): Uint8Array[] => [
  ipfix({ domain: 1 }, set(2, tmpl(256, [[8, 4], [12, 4], [82, 65535], [1, 4], [2, 3], [100, 2, 9]])),
    set(3, optTmpl(257, 1, [[149, 4], [34, 4], [160, 8]])), set(257, [...be32(1), ...be32(10), 0, 0, 1, 0x4b, 0, 0, 0, 0]),
    set(256, [...ip4('10.0.0.1'), ...ip4('10.0.0.2'), 3, 65, 66, 67, ...be32(100), 0, 0, 5, 1, 2])),
  v9({}, set(0, v9Tmpl(300, [[8, 4], [12, 4], [22, 4], [21, 4], [1, 4], [2, 4], [7, 2], [11, 2], [4, 1]])),
    set(1, v9OptTmpl(301, [[1, 4]], [[34, 4]])), set(301, [...be32(0), ...be32(64)]),
    set(300, [...ip4('10.0.0.1'), ...ip4('10.0.0.2'), ...be32(1), ...be32(2), ...be32(3), ...be32(4), ...be16(5), ...be16(6), 6])),
  v5({}, [{ src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2, proto: 6, pkts: 1, octets: 40, first: 1, last: 2 }]),
];

const mutate = (rnd: () => number, b: Uint8Array): Uint8Array => {
  const out = Uint8Array.from(b);
  const edits = 1 + Math.floor(rnd() * 4);
  for (let i = 0; i < edits; i++) {
    const at = Math.floor(rnd() * out.length);
    const kind = rnd();
    if (kind < 0.5) out[at] = Math.floor(rnd() * 256);
    else if (kind < 0.7) out[at] = [0, 0xff, 0x01, 0x80][Math.floor(rnd() * 4)]!;
    else if (kind < 0.85) return out.subarray(0, at); // truncate
    else { out[at] = 0xff; if (at + 1 < out.length) out[at + 1] = 0xff; }
  }
  // Keep the IPFIX Length right half of the time, so mutations reach the sets.
  if (out[1] === 10 && rnd() < 0.5 && out.length >= 4) { out[2] = out.length >> 8; out[3] = out.length & 0xff; }
  return out;
};

test('random bytes and mutated datagrams never throw and always finish, for all three decoders', () => {
  const rnd = mulberry32(20250101);
  const clock = fakeClock(T0);
  const decoders = [new V5Decoder(), new V9Decoder(clock), new IpfixDecoder(clock)];
  const corpus = seeds();
  let records = 0, errors = 0;
  for (let i = 0; i < 6000; i++) {
    const seed = corpus[i % corpus.length]!;
    let buf: Uint8Array;
    if (i % 3 === 0) {
      buf = new Uint8Array(Math.floor(rnd() * 300));
      for (let j = 0; j < buf.length; j++) buf[j] = Math.floor(rnd() * 256);
      if (buf.length >= 2) buf[1] = [5, 9, 10][Math.floor(rnd() * 3)]!;
      buf[0] = 0;
    } else buf = mutate(rnd, seed);
    for (const d of decoders) {
      // Re-teach the templates now and then, so mutated data sets meet a template.
      if (i % 50 === 0) d.decode(seed, '192.0.2.1', T0);
      const r = d.decode(buf, '192.0.2.1', T0);
      records += r.records.length;
      errors += Object.values(r.errors).reduce((a, b) => a + (b ?? 0), 0);
      for (const rec of r.records) assert.ok(Number.isFinite(rec.tsStart) && Number.isFinite(rec.bytes));
    }
  }
  assert.ok(records > 100, `some mutations still decode (${records})`);
  assert.ok(errors > 1000, `most are counted (${errors})`);
});

test('decodes the same records whether flows arrive in one datagram or split over two', () => {
  const tpl = set(2, tmpl(256, [[8, 4], [12, 4], [1, 4]]));
  const rec = (n: number) => [...ip4(`10.0.0.${n}`), ...ip4('10.0.1.1'), ...be32(n)];
  const one = new IpfixDecoder(fakeClock(T0)).decode(ipfix({}, tpl, set(256, [...rec(1), ...rec(2)])), 'x', T0).records;
  const d = new IpfixDecoder(fakeClock(T0));
  const split = [...d.decode(ipfix({}, tpl, set(256, rec(1))), 'x', T0).records, ...d.decode(ipfix({ seq: 1 }, set(256, rec(2))), 'x', T0).records];
  assert.deepEqual(noId(split), noId(one));
});
