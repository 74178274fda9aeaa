import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fakeClock } from '../../../../core/clock.ts';
import { V9Decoder } from '../../../../ingest/netflow/v9.ts';
import { T0, be16, be32, beN, ip4, set, v9, v9OptTmpl, v9Tmpl } from './build.ts';
import { noId } from '../../../support/records.ts';

/** softflowd's IPv4 template (fields 8 12 22 21 1 2 10 14 61 136 7 11 4 6 60 5). */
const SOFTFLOWD: [number, number][] = [[8, 4], [12, 4], [22, 4], [21, 4], [1, 4], [2, 4], [10, 4], [14, 4], [61, 1], [136, 1], [7, 2], [11, 2], [4, 1], [6, 1], [60, 1], [5, 1]];
const rec = (first: number, last: number) => [...ip4('192.168.1.100'), ...ip4('192.168.1.101'), ...be32(first), ...be32(last),
  ...be32(220), ...be32(5), ...be32(0), ...be32(0), 0, 3, ...be16(1355), ...be16(502), 6, 0x1b, 4, 0];

const EXPECTED = {
  tsStart: T0 - 100_000 + 24, tsEnd: T0 - 100_000 + 35, srcIp: '192.168.1.100', srcPort: 1355, dstIp: '192.168.1.101',
  dstPort: 502, proto: 6, packets: 5, bytes: 220, packetsRev: 0, bytesRev: 0, tcpFlags: 0x1b, exporter: '127.0.0.1',
  observationDomain: 0, source: 'netflow9',
  fidelity: ['direction_port'],
};

test('decodes softflowd-style template and data into a whole record with uptime-relative times', () => {
  const d = new V9Decoder(fakeClock(T0));
  const r = d.decode(v9({ sysUptime: 100_000 }, set(0, v9Tmpl(1024, SOFTFLOWD)), set(1024, rec(24, 35))), '127.0.0.1', T0);
  assert.deepEqual([noId(r.records), r.errors, r.templates], [[EXPECTED], {}, 1]);
});

test('puts a first-switched value from before an uptime wrap before the export time', () => {
  const d = new V9Decoder(fakeClock(T0));
  const r = d.decode(v9({ sysUptime: 1_000 }, set(0, v9Tmpl(1024, SOFTFLOWD)), set(1024, rec(4_294_966_296, 500))), '127.0.0.1', T0);
  assert.deepEqual([r.records[0]!.tsStart, r.records[0]!.tsEnd], [T0 - 2_000, T0 - 500]);
});

test('counts data before its template and scopes templates by source id', () => {
  const d = new V9Decoder(fakeClock(T0));
  assert.deepEqual(d.decode(v9({}, set(1024, rec(24, 35))), '127.0.0.1', T0).errors, { template_missing: 1 });
  d.decode(v9({ sourceId: 1 }, set(0, v9Tmpl(1024, SOFTFLOWD))), '127.0.0.1', T0);
  assert.deepEqual(d.decode(v9({ sourceId: 2 }, set(1024, rec(24, 35))), '127.0.0.1', T0).errors, { template_missing: 1 });
  assert.deepEqual(noId(d.decode(v9({ sourceId: 1 }, set(1024, rec(24, 35))), '127.0.0.1', T0).records), [{ ...EXPECTED, observationDomain: 1 }]);
});

test('records the sampling interval from an options template with opaque scope fields', () => {
  const d = new V9Decoder(fakeClock(T0));
  const r = d.decode(v9({},
    set(1, [...v9OptTmpl(257, [[1, 4]], [[34, 4], [35, 1]]), 0, 0, 0]),
    set(257, [...be32(0), ...be32(64), 2, 0, 0, 0]),
    set(0, v9Tmpl(1024, SOFTFLOWD)), set(1024, rec(24, 35))), '127.0.0.1', T0);
  assert.deepEqual([noId(r.records), r.errors], [[{ ...EXPECTED, samplingInterval: 64, fidelity: ['sampled', 'direction_port'] }], {}]);
});

test('rejects options templates with odd scope/option lengths or lengths past the set', () => {
  // FastNetMon CVE-2026-48684: the scope loop trusted these lengths.
  const d = new V9Decoder(fakeClock(T0));
  const odd = set(1, [...be16(257), ...be16(6), ...be16(4), ...be16(1), ...be16(4), ...be16(34), ...be16(4), 0, 0]);
  const past = set(1, [...be16(258), ...be16(400), ...be16(4), ...be16(1), ...be16(4)]);
  const r = d.decode(v9({}, odd, past), '127.0.0.1', T0);
  assert.deepEqual(r.errors, { options_template_invalid: 2 });
  assert.equal(d.templates.size, 0);
});

test('does not loop or crash on an 8-byte packet or a zero-length flowset', () => {
  // nfdump #654: a zero-length flowset led to a NULL dereference.
  const d = new V9Decoder(fakeClock(T0));
  assert.deepEqual(d.decode(v9({}).subarray(0, 8), '127.0.0.1', T0).errors, { truncated: 1 });
  assert.deepEqual(d.decode(v9({}, [...be16(1024), ...be16(0)]), '127.0.0.1', T0).errors, { set_too_short: 1 });
  for (let n = 0; n < 20; n++) assert.deepEqual(d.decode(v9({}).subarray(0, n), '127.0.0.1', T0).errors, { truncated: 1 });
});

test('decodes 3, 5, 6 and 7-byte counters (Huawei-style odd widths)', () => {
  for (const n of [3, 5, 6, 7]) {
    const d = new V9Decoder(fakeClock(T0));
    const max = Math.min(2 ** (8 * n) - 1, Number.MAX_SAFE_INTEGER);
    const r = d.decode(v9({}, set(0, v9Tmpl(300, [[8, 4], [12, 4], [1, n], [2, n]])),
      set(300, [...ip4('10.0.0.1'), ...ip4('10.0.0.2'), ...beN(max, n), ...beN(9, n)])), '127.0.0.1', T0);
    assert.deepEqual(r.records.map((x) => [x.bytes, x.packets]), [[max, 9]], `${n} bytes`);
  }
});

test('counts sequence gaps in export packets per source id', () => {
  const d = new V9Decoder(fakeClock(T0));
  assert.equal(d.decode(v9({ seq: 10 }), '127.0.0.1', T0).sequenceGap, 0);
  assert.equal(d.decode(v9({ seq: 11 }), '127.0.0.1', T0).sequenceGap, 0);
  assert.equal(d.decode(v9({ seq: 14 }), '127.0.0.1', T0).sequenceGap, 2);
  assert.equal(d.decode(v9({ seq: 1, sourceId: 5 }), '127.0.0.1', T0).sequenceGap, 0);
});

test('counts reserved flowset ids, template id below 256 and a field count of 0, and keeps later flowsets', () => {
  const d = new V9Decoder(fakeClock(T0));
  const r = d.decode(v9({}, set(2, [1, 2, 3, 4]), set(0, v9Tmpl(5, [[8, 4]])), set(0, [...be16(300), ...be16(0)]),
    set(0, v9Tmpl(1024, SOFTFLOWD)), set(1024, rec(24, 35))), '127.0.0.1', T0);
  assert.deepEqual([noId(r.records), r.errors], [[EXPECTED], { reserved_set_id: 1, template_id_invalid: 1, template_invalid: 1 }]);
});

test('expires v9 templates by the injected clock', () => {
  const clock = fakeClock(T0);
  const d = new V9Decoder(clock, { templates: { lifetimeMs: 60_000 } });
  d.decode(v9({}, set(0, v9Tmpl(1024, SOFTFLOWD))), '127.0.0.1', T0);
  clock.advance('61s');
  assert.deepEqual(d.decode(v9({}, set(1024, rec(24, 35))), '127.0.0.1', T0).errors, { template_missing: 1 });
});
