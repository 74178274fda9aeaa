import assert from 'node:assert/strict';
import { test } from 'node:test';
import { stringify } from 'yaml';
import { parseSite } from '../../../core/config.ts';
import { hasCode } from '../../../core/errors.ts';
import { isOpOf } from '../../../enforce/ops.ts';
import { parseRule, ruleHash, ruleJson, RULE_KIND, type Rule } from '../../../enforce/rules.ts';

const site = parseSite(`
site: t
productionCycle: 10m
zones:
  - { name: control, sl: 2, cidrs: [10.0.1.0/24] }
  - { name: field, sl: 3, cidrs: [10.0.2.0/24] }
conduits:
  - { from: control, to: field }
`);

const ev = { cycles: 4, firstSeen: 1000, lastSeen: 9000, flows: 40, firstSeenInAlert: '' };
const rule = (): Rule => ({
  kind: RULE_KIND, schema: 1, site: 't', conduit: 'control->field', productionCycleMs: 600_000, minCycles: 3, parent: '',
  learnedFrom: { runs: ['r1'], from: 0, to: 10_000, flows: 80, fullCycles: 3, phasesSeen: [1, 2, 3], phases: 12 },
  entries: [
    { src: '10.0.1.10', dst: '10.0.2.20', proto: 6, dstPort: 502, l7: 'modbus', status: 'allow', held: [], evidence: ev,
      ops: [{ op: 'read_holding_registers', status: 'allow', held: [], evidence: ev }, { op: 'write_single_coil', status: 'hold', held: ['seen in 1 cycle, fewer than minCycles 3'], evidence: { ...ev, cycles: 1 } }] },
    { src: 'zone:control', dst: '10.0.2.21', proto: 17, dstPort: 161, l7: '', status: 'allow', held: [], ops: [] },
  ],
  waivers: [],
});

test('a rule round-trips through its JSON and YAML forms with the same content hash', () => {
  const r = rule();
  const json = ruleJson(r);
  const fromJson = parseRule(json, 'r.json', site);
  assert.equal(fromJson.hash, ruleHash(r));
  assert.equal(fromJson.statedHash, fromJson.hash);
  const fromYaml = parseRule(stringify(JSON.parse(json)), 'r.yaml', site);
  assert.equal(fromYaml.hash, fromJson.hash);
  // Entry order does not change the hash; content does.
  assert.equal(ruleHash({ ...r, entries: [...r.entries].reverse() }), ruleHash(r));
  assert.notEqual(ruleHash({ ...r, minCycles: 4 }), ruleHash(r));
});

const BAD: { name: string; text: () => string; re: RegExp }[] = [
  { name: 'YAML that does not parse', text: () => 'kind: conduitwatch.rule\nentries: [\n  - src: "x', re: /^r\.yaml:\d+: the rule file does not parse/ },
  { name: 'an unknown conduit', text: () => stringify({ ...rule(), conduit: 'field->control' }), re: /r\.yaml:\d+: conduit: conduit "field->control" is not declared in site\.yaml; declared conduits: control->field/ },
  { name: 'an op Modbus has not got', text: () => { const r = rule(); r.entries[0]!.ops[0]!.op = 'read_holding_register'; return stringify(r); }, re: /r\.yaml:(\d+): entries\.0\.ops\.0\.op: "read_holding_register" is not a modbus operation; Modbus ops are function names such as read_holding_registers/ },
  { name: 'an address outside the conduit zones', text: () => { const r = rule(); r.entries[0]!.dst = '10.0.9.9'; return stringify(r); }, re: /entries\.0\.dst: 10\.0\.9\.9 is in zone "unknown", not in the conduit's answering zone "field"/ },
  { name: 'a misspelt key', text: () => stringify({ ...rule(), entires: [] }), re: /unknown key\(s\) "entires"/ },
  { name: 'a file that is not a rule', text: () => 'site: plant\nproductionCycle: 8h\n', re: /kind must be "conduitwatch\.rule"/ },
];

test('a bad rule file is refused with the file, the line and a fix', () => {
  assert.ok(BAD.length > 0);
  for (const c of BAD) {
    assert.throws(() => parseRule(c.text(), 'r.yaml', site), (e) => hasCode(e, 'config_invalid') && c.re.test((e as Error).message), c.name);
  }
  // the line points at the op
  const r = rule();
  r.entries[0]!.ops[0]!.op = 'nope';
  const text = stringify(r);
  const line = text.split('\n').findIndex((l) => l.includes('op: nope')) + 1;
  assert.throws(() => parseRule(text, 'r.yaml', site), new RegExp(`r\\.yaml:${line}: entries\\.0\\.ops\\.0\\.op`));
});

test('op names are checked against each protocol\'s own code table', () => {
  assert.equal(isOpOf('modbus', 'write_single_coil'), true);
  assert.equal(isOpOf('modbus', 'fc_90'), true);
  assert.equal(isOpOf('modbus', 'fc_200'), false);
  assert.equal(isOpOf('iec104', 'C_SC_NA_1'), true);
  assert.equal(isOpOf('iec104', 'TESTFR_act'), true);
  assert.equal(isOpOf('dnp3', 'direct_operate'), true);
  assert.equal(isOpOf('dnp3', 'read_coils'), false);
  assert.equal(isOpOf('profinet', 'anything'), false);
});

test('the rules command refuses a bad rule file with exit 2 and the file and line on stderr', async () => {
  const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { main } = await import('../../../cli/main.ts');
  const dir = await mkdtemp(join(tmpdir(), 'cw-rule-cli-'));
  const file = join(dir, 'bad.yaml');
  const r = rule();
  r.conduit = 'control->field';
  await writeFile(file, stringify({ ...r, site: 'lemay-modbus-sandbox', entries: [{ ...r.entries[0]!, src: '192.168.1.100', dst: '192.168.1.101', ops: [{ op: 'write_coil', status: 'allow', held: [] }] }] }));
  let err = '';
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((s: string) => { err += s; return true; }) as typeof process.stderr.write;
  let code: number;
  try {
    code = await main(['rules', 'nft', '--rule', file, '--site', 'examples/lemay/site.yaml']);
  } finally {
    process.stderr.write = write;
  }
  assert.equal(code, 2);
  assert.match(err, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:\\d+: entries\\.0\\.ops\\.0\\.op: "write_coil" is not a modbus operation`));
  await rm(dir, { recursive: true });
});
