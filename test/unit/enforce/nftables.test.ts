import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSite } from '../../../core/config.ts';
import { generateNftables, hashFromComment, tableName } from '../../../enforce/nftables/generate.ts';
import { ruleHash, RULE_KIND, type Rule } from '../../../enforce/rules.ts';

const site = parseSite(`
site: s
productionCycle: 10m
zones:
  - { name: control, sl: 2, cidrs: [198.51.100.0/24, "2001:db8:1::/64"] }
  - { name: field, sl: 3, cidrs: [203.0.113.0/24, "2001:db8:2::/64"] }
conduits:
  - { from: control, to: field }
`);
const ev = { cycles: 3, firstSeen: 0, lastSeen: 1, flows: 3, firstSeenInAlert: '' };
const rule: Rule = {
  kind: RULE_KIND, schema: 1, site: 's', conduit: 'control->field', productionCycleMs: 600_000, minCycles: 3, parent: '',
  learnedFrom: { runs: ['r'], from: 0, to: 1, flows: 1, fullCycles: 3, phasesSeen: [1], phases: 12 },
  entries: [
    { src: '198.51.100.10', dst: '203.0.113.20', proto: 6, dstPort: 502, l7: 'modbus', status: 'allow', held: [], evidence: ev,
      ops: [{ op: 'read_holding_registers', status: 'allow', held: [] }, { op: 'read_coils', status: 'allow', held: [] }, { op: 'write_single_coil', status: 'hold', held: ['1 cycle'] }] },
    { src: '198.51.100.10', dst: '203.0.113.30', proto: 6, dstPort: 20000, l7: 'dnp3', status: 'allow', held: [], ops: [{ op: 'direct_operate', status: 'hold', held: ['new'] }] },
    { src: '198.51.100.12', dst: '203.0.113.20', proto: 17, dstPort: 137, l7: '', status: 'hold', held: ['seen in 1 cycle'], ops: [] },
    { src: '2001:db8:1::10', dst: '2001:db8:2::20', proto: 6, dstPort: 502, l7: '', status: 'allow', held: [], ops: [] },
  ],
  waivers: [],
};

test('the nftables ruleset is deterministic, deny by default, and leaves held entries and ops out', () => {
  const a = generateNftables(rule, site, ruleHash(rule));
  const b = generateNftables(rule, site, ruleHash(rule));
  assert.equal(a.text, b.text);
  assert.equal(hashFromComment(/comment "(.*)"/.exec(a.text)?.[1]), a.hash);
  assert.equal(a.target, `inet ${tableName('control->field')}`);
  assert.match(a.text, /counter name "dropped_edge" drop/);
  // Function codes 1 and 3 allowed, 5 (held) is not; the held NetBIOS entry has no rule at all.
  assert.match(a.text, /@ih,56,8 \{ 1, 3 \} accept/);
  assert.doesNotMatch(a.text, /203\.0\.113\.20 udp dport 137/);
  assert.match(a.text, /ip6 saddr 2001:db8:1::10 ip6 daddr 2001:db8:2::20 tcp dport 502/);
  assert.match(a.text, /ip6 saddr @from6 ip6 daddr @to6 jump conduit/);
  // What nftables cannot enforce is said, not hidden.
  assert.equal(a.limits.length, 1);
  assert.match(a.limits[0]!, /dnp3 ops are not matched by nftables; the edge is allowed whole \(1 held ops not enforced\)/);
});

test('a table name is an nft identifier even for zone names with dots and dashes', () => {
  assert.match(tableName('plant.a-1->cell-2'), /^cw_[A-Za-z0-9_]+$/);
  assert.notEqual(tableName('a-b->c'), tableName('a->b-c'));
});
