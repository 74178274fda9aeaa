import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fakeClock } from '../../../../core/clock.ts';
import { IpfixDecoder } from '../../../../ingest/netflow/ipfix.ts';
import { T0, be16, be32, be64, beN, ip4, ipfix, optTmpl, set, tmpl, type Spec } from './build.ts';
import { noId } from '../../../support/records.ts';

/** A 5-tuple template with absolute ms times: the common case. */
const FIVE_TUPLE: Spec[] = [[8, 4], [12, 4], [7, 2], [11, 2], [4, 1], [6, 1], [2, 4], [1, 4], [152, 8], [153, 8]];
const fiveTupleRec = (src = '10.0.0.1', dst = '10.0.0.2', sport = 40000, dport = 502, pkts = 3, bytes = 180) =>
  [...ip4(src), ...ip4(dst), ...be16(sport), ...be16(dport), 6, 0x1b, ...be32(pkts), ...be32(bytes), ...be64(T0 - 2000), ...be64(T0 - 1000)];

const EXPECTED = {
  tsStart: T0 - 2000, tsEnd: T0 - 1000, srcIp: '10.0.0.1', srcPort: 40000, dstIp: '10.0.0.2', dstPort: 502,
  proto: 6, packets: 3, bytes: 180, packetsRev: 0, bytesRev: 0, tcpFlags: 0x1b, exporter: '192.0.2.1',
  observationDomain: 7, source: 'ipfix',
  fidelity: ['direction_port'],
};

const decoder = (clock = fakeClock(T0)) => ({ clock, d: new IpfixDecoder(clock) });

test('decodes a data record after its template into a whole flow record', () => {
  const { d } = decoder();
  const r = d.decode(ipfix({ domain: 7 }, set(2, tmpl(256, FIVE_TUPLE)), set(256, fiveTupleRec())), '192.0.2.1', T0);
  assert.deepEqual(noId(r.records), [EXPECTED]);
  assert.deepEqual(r.errors, {});
  assert.equal(r.templates, 1);
});

test('counts data before its template as template_missing, then decodes once the template arrives', () => {
  const { d } = decoder();
  const data = ipfix({ domain: 7 }, set(256, fiveTupleRec()));
  assert.deepEqual(d.decode(data, '192.0.2.1', T0).errors, { template_missing: 1 });
  d.decode(ipfix({ domain: 7 }, set(2, tmpl(256, FIVE_TUPLE))), '192.0.2.1', T0);
  assert.deepEqual(noId(d.decode(data, '192.0.2.1', T0).records), [EXPECTED]);
});

test('keeps decoding after a template refresh with the same and with a changed definition', () => {
  const { d } = decoder();
  const tpl = ipfix({ domain: 7 }, set(2, tmpl(256, FIVE_TUPLE)));
  d.decode(tpl, '192.0.2.1', T0);
  d.decode(tpl, '192.0.2.1', T0);
  assert.equal(d.templates.size, 1);
  assert.deepEqual(noId(d.decode(ipfix({ domain: 7 }, set(256, fiveTupleRec())), '192.0.2.1', T0).records), [EXPECTED]);
  // pmacct #923: a changed re-advertisement must replace the layout, not overflow the old one.
  d.decode(ipfix({ domain: 7 }, set(2, tmpl(256, [[8, 4], [12, 4], [4, 1]]))), '192.0.2.1', T0);
  const r = d.decode(ipfix({ domain: 7 }, set(256, [...ip4('10.9.9.9'), ...ip4('10.8.8.8'), 17])), '192.0.2.1', T0);
  assert.equal(d.templates.size, 1);
  assert.deepEqual(r.records.map((x) => [x.srcIp, x.dstIp, x.proto, x.tsStart]), [['10.9.9.9', '10.8.8.8', 17, T0]]);
  assert.deepEqual(r.fidelity, { no_flow_times: 1, direction_lower_port: 1 });
});

test('reuses the compiled form of a template re-sent unchanged and recompiles a changed one', () => {
  const { d } = decoder();
  d.decode(ipfix({ domain: 7 }, set(2, tmpl(256, FIVE_TUPLE))), '192.0.2.1', T0);
  const first = d.templates.peek('192.0.2.1', 7, 256);
  const again = d.decode(ipfix({ domain: 7 }, set(2, tmpl(256, FIVE_TUPLE))), '192.0.2.1', T0);
  assert.equal(again.templates, 1);
  assert.equal(d.templates.peek('192.0.2.1', 7, 256), first);
  d.decode(ipfix({ domain: 7 }, set(2, tmpl(256, FIVE_TUPLE.map(([id, len]): Spec => [id, id === 1 ? 8 : len])))), '192.0.2.1', T0);
  const changed = d.templates.peek('192.0.2.1', 7, 256);
  assert.notEqual(changed, first);
  assert.equal(changed?.minLength, first!.minLength + 4);
});

test('scopes template ids by exporter session and by observation domain', () => {
  const { d } = decoder();
  const a: Spec[] = [[8, 4], [12, 4], [4, 1]];
  const b: Spec[] = [[12, 4], [8, 4], [7, 2]];
  d.decode(ipfix({ domain: 1 }, set(2, tmpl(300, a))), '192.0.2.1', T0, '192.0.2.1|4739');
  d.decode(ipfix({ domain: 1 }, set(2, tmpl(300, b))), '192.0.2.2', T0, '192.0.2.2|4739');
  d.decode(ipfix({ domain: 2 }, set(2, tmpl(300, b))), '192.0.2.1', T0, '192.0.2.1|4739');
  const body = [...ip4('10.0.0.1'), ...ip4('10.0.0.2'), 6, 0];
  const one = d.decode(ipfix({ domain: 1 }, set(300, body)), '192.0.2.1', T0, '192.0.2.1|4739').records[0]!;
  const two = d.decode(ipfix({ domain: 1 }, set(300, body)), '192.0.2.2', T0, '192.0.2.2|4739').records[0]!;
  const dom2 = d.decode(ipfix({ domain: 2 }, set(300, body)), '192.0.2.1', T0, '192.0.2.1|4739').records[0]!;
  assert.deepEqual([one.srcIp, one.dstIp, one.proto, one.srcPort], ['10.0.0.1', '10.0.0.2', 6, 0]);
  assert.deepEqual([two.srcIp, two.dstIp, two.srcPort, two.exporter], ['10.0.0.2', '10.0.0.1', 0x0600, '192.0.2.2']);
  assert.deepEqual([dom2.srcIp, dom2.observationDomain], ['10.0.0.2', 2]);
  // Same IP, other source port: another transport session, so no template.
  assert.deepEqual(d.decode(ipfix({ domain: 1 }, set(300, body)), '192.0.2.1', T0, '192.0.2.1|5000').errors, { template_missing: 1 });
});

test('ignores template withdrawals over UDP and keeps the template', () => {
  const { d } = decoder();
  d.decode(ipfix({ domain: 7 }, set(2, tmpl(256, FIVE_TUPLE))), '192.0.2.1', T0);
  const w = d.decode(ipfix({ domain: 7 }, set(2, [...be16(256), ...be16(0), ...be16(2), ...be16(0)])), '192.0.2.1', T0);
  assert.deepEqual(w.errors, { withdrawal_ignored: 2 });
  assert.deepEqual(noId(d.decode(ipfix({ domain: 7 }, set(256, fiveTupleRec())), '192.0.2.1', T0).records), [EXPECTED]);
});

test('records the sampling interval from an options record and flags a change, without scaling counters', () => {
  const { d } = decoder();
  const opt = (interval: number) => ipfix({ domain: 7 },
    set(3, optTmpl(400, 1, [[149, 4], [34, 4], [35, 1]])), set(400, [...be32(7), ...be32(interval), 2]));
  d.decode(opt(100), '192.0.2.1', T0);
  d.decode(ipfix({ domain: 7 }, set(2, tmpl(256, FIVE_TUPLE))), '192.0.2.1', T0);
  const r = d.decode(ipfix({ domain: 7 }, set(256, fiveTupleRec())), '192.0.2.1', T0);
  assert.deepEqual(noId(r.records), [{ ...EXPECTED, samplingInterval: 100, fidelity: ['sampled', 'direction_port'] }]);
  assert.deepEqual(d.decode(opt(50), '192.0.2.1', T0).fidelity, { sampling_changed: 1 });
  assert.equal(d.decode(ipfix({ domain: 7 }, set(256, fiveTupleRec())), '192.0.2.1', T0).records[0]!.samplingInterval, 50);
});

test('reads PSAMP samplingPacketInterval/Space as 1-in-(interval+space)/interval', () => {
  const { d } = decoder();
  d.decode(ipfix({ domain: 7 }, set(3, optTmpl(400, 1, [[143, 4], [305, 4], [306, 4]])), set(400, [...be32(1), ...be32(1), ...be32(9)]),
    set(2, tmpl(256, FIVE_TUPLE))), '192.0.2.1', T0);
  assert.equal(d.decode(ipfix({ domain: 7 }, set(256, fiveTupleRec())), '192.0.2.1', T0).records[0]!.samplingInterval, 10);
});

test('turns flowStart/EndSysUpTime into epoch ms with systemInitTimeMilliseconds from an options record', () => {
  const { d } = decoder();
  const tpl = set(2, tmpl(256, [[8, 4], [12, 4], [22, 4], [21, 4]]));
  const data = set(256, [...ip4('10.0.0.1'), ...ip4('10.0.0.2'), ...be32(5_000), ...be32(7_500)]);
  const before = d.decode(ipfix({}, tpl, data), '192.0.2.1', T0);
  assert.deepEqual([before.records[0]!.tsStart, before.records[0]!.fidelity], [T0, ['no_uptime_base']]);
  const init = T0 - 60_000;
  const r = d.decode(ipfix({}, set(3, optTmpl(257, 1, [[143, 4], [160, 8]])), set(257, [...be32(1), ...be64(init)]), data), '192.0.2.1', T0);
  assert.deepEqual([r.records[0]!.tsStart, r.records[0]!.tsEnd, r.records[0]!.fidelity], [init + 5_000, init + 7_500, undefined]);
});

test('reads variable-length fields of 0, 254 and 255+2-byte length, and counts one that runs past the set', () => {
  const { d } = decoder();
  d.decode(ipfix({}, set(2, tmpl(256, [[8, 4], [82, 65535], [12, 4]]))), '192.0.2.1', T0);
  const rec = (name: number[]) => [...ip4('10.0.0.1'), ...name, ...ip4('10.0.0.2')];
  const cases: [string, number[]][] = [
    ['empty', [0]],
    ['254 bytes', [254, ...Array(254).fill(0x41)]],
    ['255 + 2-byte length 300', [255, ...be16(300), ...Array(300).fill(0x42)]],
    ['255 + 2-byte length 0', [255, 0, 0]],
  ];
  for (const [name, v] of cases) {
    const r = d.decode(ipfix({}, set(256, rec(v))), '192.0.2.1', T0);
    assert.deepEqual(r.records.map((x) => x.dstIp), ['10.0.0.2'], name);
    assert.deepEqual(r.errors, {}, name);
  }
  const past = d.decode(ipfix({}, set(256, [...ip4('10.0.0.1'), 200, 1, 2, 3])), '192.0.2.1', T0);
  assert.deepEqual([past.records.length, past.errors], [0, { record_truncated: 1 }]);
  const pastLong = d.decode(ipfix({}, set(256, [...ip4('10.0.0.1'), 255, 0xff])), '192.0.2.1', T0);
  assert.deepEqual([pastLong.records.length, pastLong.errors], [0, { record_truncated: 1 }]);
});

test('skips unknown enterprise IEs and keeps RFC 5103 reverse counters', () => {
  const { d } = decoder();
  d.decode(ipfix({}, set(2, tmpl(256, [[8, 4], [12, 4], [2, 4], [1, 4], [1, 6, 9], [2, 4, 29305], [1, 4, 29305], [100, 65535, 12345]]))), '192.0.2.1', T0);
  const r = d.decode(ipfix({}, set(256, [...ip4('10.0.0.1'), ...ip4('10.0.0.2'), ...be32(4), ...be32(400), 1, 2, 3, 4, 5, 6,
    ...be32(3), ...be32(300), 2, 0xaa, 0xbb])), '192.0.2.1', T0);
  assert.deepEqual(r.errors, {});
  assert.deepEqual(r.records.map((x) => [x.packets, x.bytes, x.packetsRev, x.bytesRev]), [[4, 400, 3, 300]]);
});

test('decodes reduced-size unsigned counters of 1, 2, 3, 5, 6 and 7 bytes', () => {
  for (const n of [1, 2, 3, 4, 5, 6, 7, 8]) {
    const { d } = decoder();
    const v = n >= 7 ? 2 ** 53 - 1 - n : 2 ** (8 * n) - 2;
    const r = d.decode(ipfix({}, set(2, tmpl(256, [[8, 4], [12, 4], [1, n], [2, n]])),
      set(256, [...ip4('10.0.0.1'), ...ip4('10.0.0.2'), ...beN(v, n), ...beN(1, n)])), '192.0.2.1', T0);
    assert.deepEqual(r.records.map((x) => [x.bytes, x.packets]), [[v, 1]], `${n} bytes`);
  }
});

test('counts IPv4 address fields of length 0, 1, 50 and 65534 and never reads them as addresses', () => {
  // pmacct #934: a 50-byte "IPv4 address" overflowed a fixed buffer.
  for (const len of [0, 1, 50]) {
    const { d } = decoder();
    const r = d.decode(ipfix({}, set(2, tmpl(256, [[8, len], [12, 4], [4, 1]])),
      set(256, [...Array(len).fill(7), ...ip4('10.0.0.2'), 17])), '192.0.2.1', T0);
    assert.deepEqual(r.errors, { field_length_invalid: 1, record_no_address: 1 }, `length ${len}`);
    assert.equal(r.records.length, 0);
  }
  const { d } = decoder();
  const r = d.decode(ipfix({}, set(2, tmpl(256, [[8, 65534], [12, 4]])), set(256, [1, 2, 3, 4, 5, 6, 7, 8])), '192.0.2.1', T0);
  assert.deepEqual(r.errors, { field_length_invalid: 1, template_invalid: 1, template_missing: 1 });
});

test('skips a data set whose template has record length 0 instead of looping', () => {
  const { d } = decoder();
  const r = d.decode(ipfix({}, set(2, tmpl(256, [[8, 0], [12, 0]])), set(256, [1, 2, 3, 4, 5, 6, 7, 8])), '192.0.2.1', T0);
  assert.deepEqual(r.errors, { field_length_invalid: 2, template_zero_length: 1 });
});

test('counts a record longer than the rest of its set and keeps the records before it', () => {
  const { d } = decoder();
  const r = d.decode(ipfix({ domain: 7 }, set(2, tmpl(256, FIVE_TUPLE)), set(256, [...fiveTupleRec(), ...fiveTupleRec().slice(0, 30)])), '192.0.2.1', T0);
  assert.deepEqual([noId(r.records), r.errors], [[EXPECTED], { record_truncated: 1 }]);
});

test('treats zero bytes shorter than a record after the last record as padding', () => {
  const { d } = decoder();
  const r = d.decode(ipfix({ domain: 7 }, set(2, [...tmpl(256, FIVE_TUPLE), 0, 0, 0, 0]), set(256, [...fiveTupleRec(), 0, 0, 0])), '192.0.2.1', T0);
  assert.deepEqual([noId(r.records), r.errors], [[EXPECTED], {}]);
});

test('stops at a set shorter than 4 bytes or running past the message, keeping earlier sets', () => {
  const { d } = decoder();
  const good = set(2, tmpl(256, FIVE_TUPLE));
  const data = set(256, fiveTupleRec());
  const short = d.decode(ipfix({ domain: 7 }, good, data, [...be16(256), ...be16(2), 0, 0]), '192.0.2.1', T0);
  assert.deepEqual([short.records.length, short.errors], [1, { set_too_short: 1 }]);
  const zero = d.decode(ipfix({ domain: 7 }, data, [...be16(256), ...be16(0)], data), '192.0.2.1', T0);
  assert.deepEqual([zero.records.length, zero.errors], [1, { set_too_short: 1 }]);
  const past = d.decode(ipfix({ domain: 7 }, data, [...be16(256), ...be16(200), 1, 2, 3]), '192.0.2.1', T0);
  assert.deepEqual([past.records.length, past.errors], [1, { set_past_end: 1 }]);
});

test('keeps decoding other sets after a malformed template set', () => {
  const { d } = decoder();
  const bad = set(2, [...be16(300), ...be16(3), ...be16(8), ...be16(4)]); // 3 fields declared, 1 present
  const r = d.decode(ipfix({ domain: 7 }, bad, set(2, tmpl(256, FIVE_TUPLE)), set(256, fiveTupleRec())), '192.0.2.1', T0);
  assert.deepEqual([noId(r.records), r.errors], [[EXPECTED], { template_invalid: 1 }]);
});

test('rejects truncated headers of 0 to 19 bytes without throwing', () => {
  const { d } = decoder();
  const full = ipfix({ domain: 7 }, set(2, tmpl(256, FIVE_TUPLE)));
  for (let n = 0; n < 20; n++) {
    const r = d.decode(full.subarray(0, n), '192.0.2.1', T0);
    assert.equal(r.records.length, 0);
    assert.deepEqual(r.errors, n < 16 ? { truncated: 1 } : { length_mismatch: 1 }, `${n} bytes`);
  }
});

test('rejects a message whose Length differs from the datagram length', () => {
  const { d } = decoder();
  const m = ipfix({ domain: 7 }, set(2, tmpl(256, FIVE_TUPLE)));
  const longer = Uint8Array.from([...m, 0, 0, 0, 0]);
  assert.deepEqual(d.decode(longer, '192.0.2.1', T0).errors, { length_mismatch: 1 });
  assert.equal(d.templates.size, 0);
  assert.deepEqual(d.decode(Uint8Array.from([0, 9, ...m.subarray(2)]), '192.0.2.1', T0).errors, { bad_version: 1 });
});

test('counts reserved set ids, template ids below 256, option scope 0 and templates over 512 fields', () => {
  const { d } = decoder();
  const r = d.decode(ipfix({},
    set(0, [1, 2, 3, 4]), set(4, [1, 2, 3, 4]), set(255, []),
    set(2, tmpl(255, [[8, 4]])),
    set(3, optTmpl(400, 0, [[149, 4]])),
    set(3, optTmpl(401, 3, [[149, 4]])),
    set(2, tmpl(256, Array.from({ length: 513 }, (): Spec => [8, 4]))),
  ), '192.0.2.1', T0);
  assert.deepEqual(r.errors, { reserved_set_id: 3, template_id_invalid: 1, options_template_invalid: 2, template_too_many_fields: 1 });
  assert.equal(d.templates.size, 0);
});

test('bounds the template cache under a flood of 65k template ids in many domains', () => {
  const { d } = new (class { d = new IpfixDecoder(fakeClock(T0), { templates: { maxPerDomain: 500, maxPerSession: 2000, maxTotal: 3000 } }); })();
  let evicted = 0;
  for (let domain = 0; domain < 8; domain++) {
    for (let first = 256; first < 65536; first += 1000) {
      const recs = [];
      for (let id = first; id < Math.min(first + 1000, 65536); id++) recs.push(...tmpl(id, [[8, 4]]));
      evicted += d.decode(ipfix({ domain }, set(2, recs)), '192.0.2.1', T0).errors.template_evicted ?? 0;
    }
  }
  assert.equal(d.templates.size, 2000);
  assert.equal(d.templates.sessionSize('192.0.2.1'), 2000);
  assert.equal(evicted, 8 * (65536 - 256) - 2000);
  d.decode(ipfix({ domain: 0 }, set(2, tmpl(256, [[8, 4]]))), '192.0.2.9', T0);
  assert.equal(d.templates.size, 2001);
});

test('expires a template not refreshed within its lifetime, read from the injected clock', () => {
  const { d, clock } = decoder();
  const tpl = ipfix({ domain: 7 }, set(2, tmpl(256, FIVE_TUPLE)));
  const data = ipfix({ domain: 7 }, set(256, fiveTupleRec()));
  d.decode(tpl, '192.0.2.1', T0);
  clock.advance('1700s');
  d.decode(tpl, '192.0.2.1', T0); // refreshed
  clock.advance('1700s');
  assert.equal(d.decode(data, '192.0.2.1', T0).records.length, 1);
  clock.advance('101s');
  assert.deepEqual(d.decode(data, '192.0.2.1', T0).errors, { template_missing: 1 });
  assert.equal(d.templates.size, 0);
});

test('counts sequence gaps in data records (options records included), mod 2^32', () => {
  const { d } = decoder();
  d.decode(ipfix({ domain: 7, seq: 4_294_967_295 }, set(2, tmpl(256, FIVE_TUPLE)), set(256, [...fiveTupleRec(), ...fiveTupleRec()])), '192.0.2.1', T0);
  assert.equal(d.decode(ipfix({ domain: 7, seq: 1 }, set(256, fiveTupleRec())), '192.0.2.1', T0).sequenceGap, 0);
  assert.equal(d.decode(ipfix({ domain: 7, seq: 7 }, set(256, fiveTupleRec())), '192.0.2.1', T0).sequenceGap, 5);
  assert.equal(d.decode(ipfix({ domain: 8, seq: 100 }, set(256, fiveTupleRec())), '192.0.2.1', T0).sequenceGap, 0);
  assert.equal(d.decode(ipfix({ domain: 7, seq: 3 }, set(256, fiveTupleRec())), '192.0.2.1', T0).sequenceGap, 0);
});

test('flags start after end, clock skew and missing times, leaving values unchanged', () => {
  const { d } = decoder();
  const r = d.decode(ipfix({ exportTime: T0 / 1000 + 3600 }, set(2, tmpl(256, [[8, 4], [12, 4], [150, 4], [151, 4]])),
    set(256, [...ip4('10.0.0.1'), ...ip4('10.0.0.2'), ...be32(T0 / 1000 + 10), ...be32(T0 / 1000)])), '192.0.2.1', T0);
  assert.deepEqual([r.records[0]!.tsStart, r.records[0]!.tsEnd, r.records[0]!.fidelity], [T0 + 10_000, T0, ['start_after_end']]);
  assert.deepEqual(r.fidelity, { clock_skew: 1, start_after_end: 1 });
});

test('caps the records decoded from one datagram', () => {
  const d = new IpfixDecoder(fakeClock(T0), { maxRecordsPerDatagram: 10 });
  const r = d.decode(ipfix({}, set(2, tmpl(256, [[8, 4], [12, 4]])), set(256, Array(400).fill(1))), '192.0.2.1', T0);
  assert.deepEqual([r.records.length, r.errors], [9, { iteration_cap: 1 }]);
});

test('maps ICMP type/code to the destination port and IPv6 addresses to RFC 5952 text', () => {
  const { d } = decoder();
  const v6 = (s: string) => s.split(':').flatMap((g) => be16(parseInt(g, 16)));
  const r = d.decode(ipfix({}, set(2, tmpl(256, [[27, 16], [28, 16], [4, 1], [139, 2]])),
    set(256, [...v6('2001:db8:0:0:0:0:0:1'), ...v6('fe80:0:0:1:0:0:0:2'), 58, 128, 0])), '192.0.2.1', T0);
  assert.deepEqual(r.records.map((x) => [x.srcIp, x.dstIp, x.proto, x.srcPort, x.dstPort]), [['2001:db8::1', 'fe80:0:0:1::2', 58, 0, 0x8000]]);
});
