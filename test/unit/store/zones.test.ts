import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSite, SiteMap } from '../../../core/config.ts';
import { ipv4Value, ZoneIndex } from '../../../store/zones.ts';

const site = new SiteMap(parseSite([
  'site: z', 'productionCycle: 1h', 'zones:',
  '  - { name: corp, sl: 1, cidrs: [10.0.0.0/8, "2001:db8::/32"] }',
  '  - { name: plant, sl: 2, cidrs: [10.1.0.0/16] }',
  '  - { name: cell, sl: 3, cidrs: [10.1.2.0/24], assets: [10.0.0.7] }',
  '  - { name: everything, sl: 1, cidrs: [0.0.0.0/0] }',
  'conduits: []', ''].join('\n'), 'z.yaml'));

test('reads canonical dotted quads and nothing else', () => {
  assert.equal(ipv4Value('10.1.2.3'), 0x0a010203);
  assert.equal(ipv4Value('255.255.255.255'), 0xffffffff);
  assert.equal(ipv4Value('0.0.0.0'), 0);
  for (const bad of ['10.1.2', '10.1.2.3.4', '10.1.2.256', '010.1.2.3', '10..2.3', '10.1.2.3 ', 'a.b.c.d', '::1', '', '1.2.3.-4']) {
    assert.equal(ipv4Value(bad), -1, bad);
  }
});

test('gives every address the zone SiteMap.zoneOf gives, longest prefix first, IPv6 and odd text included', () => {
  const z = new ZoneIndex(site);
  const addrs = ['10.1.2.9', '10.1.3.9', '10.2.0.1', '10.0.0.7', '10.0.0.8', '192.168.1.1', '10.1.2.255', '10.1.255.255',
    '2001:db8::5', '2001:db9::5', '::ffff:10.1.2.3', 'not-an-address', '010.1.2.3', '11.0.0.0'];
  // Twice: the second pass answers from the memo.
  for (const pass of [1, 2]) {
    for (const a of addrs) assert.equal(z.names[z.of(a)], site.zoneOf(a), `${a} (pass ${pass})`);
  }
  assert.equal(z.names[z.of('10.1.2.9')], 'cell');
  assert.equal(z.conduits[z.conduitOf(z.of('10.1.2.9'), z.of('10.2.0.1'))], 'cell->corp');
});

test('an address outside every block is unknown, and the memo does not confuse two addresses of one slot', () => {
  const z = new ZoneIndex(new SiteMap(parseSite('site: y\nproductionCycle: 1h\nzones:\n  - { name: a, sl: 1, cidrs: [10.0.0.0/24] }\nconduits: []\n', 'y.yaml')));
  assert.equal(z.names[z.of('10.0.1.1')], 'unknown');
  // 2^14 apart with the same high bits map to nearby slots; walk enough addresses to collide.
  for (let i = 0; i < 70_000; i += 97) {
    const a = `10.0.${(i >> 8) & 255}.${i & 255}`;
    assert.equal(z.names[z.of(a)], (i >> 8) % 256 === 0 ? 'a' : 'unknown', a);
  }
});
