import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSite, SiteMap } from '../../../core/config.ts';
import { hasCode } from '../../../core/errors.ts';

const good = `
site: plant-a
productionCycle: 8h
zones:
  - name: scada
    sl: 2
    cidrs: [10.0.1.0/24]
  - name: field
    sl: 3
    cidrs: [10.0.2.0/24]
    assets: [10.0.1.50]
conduits:
  - from: scada
    to: field
maintenanceWindows:
  - name: weekly
    start: "2025-01-04T02:00:00Z"
    duration: 4h
    every: 7d
`;

const errorOf = (text: string): string => {
  try {
    parseSite(text, 'site.yaml');
  } catch (e) {
    assert.ok(hasCode(e, 'config_invalid'));
    return (e as Error).message;
  }
  assert.fail('expected a config error');
};

test('parses durations into milliseconds and fills defaults', () => {
  const s = parseSite(good);
  assert.equal(s.productionCycle, 8 * 3_600_000);
  assert.equal(s.detection.window, 60_000);
  assert.equal(s.maintenanceWindows[0]!.every, 7 * 86_400_000);
});

test('resolves the longest prefix to its zone and names the conduit', () => {
  const m = new SiteMap(parseSite(good));
  assert.equal(m.zoneOf('10.0.1.50'), 'field');
  assert.equal(m.zoneOf('10.0.1.7'), 'scada');
  assert.equal(m.zoneOf('192.0.2.1'), 'unknown');
  assert.equal(m.conduitOf('10.0.1.7', '10.0.2.9'), 'scada->field');
  assert.ok(m.isDeclared('scada->field'));
  assert.ok(m.isDeclared('field->field'));
  assert.ok(!m.isDeclared('field->scada'));
});

test('knows when a recurring maintenance window is open', () => {
  const m = new SiteMap(parseSite(good));
  assert.equal(m.inMaintenance(Date.parse('2025-01-11T03:00:00Z')), 'weekly');
  assert.equal(m.inMaintenance(Date.parse('2025-01-11T07:00:00Z')), undefined);
});

test('an unknown zone in a conduit names the file, line, field and the declared zones', () => {
  const msg = errorOf(good.replace('to: field', 'to: feild'));
  assert.match(msg, /site\.yaml:14: conduits\.0\.to: zone "feild" is not declared; declared zones: scada, field/);
});

test('a misspelt key is reported as unknown with its line', () => {
  const msg = errorOf(good.replace('productionCycle', 'productionCycel'));
  assert.match(msg, /site\.yaml:\d+: \(top level\): unknown key\(s\) "productionCycel"/);
  assert.match(msg, /productionCycle: required field is missing/);
});

test('a bad duration and a bad CIDR say how to write them', () => {
  const msg = errorOf(good.replace('duration: 4h', 'duration: 4 hours').replace('10.0.2.0/24', '10.0.2.0/33'));
  assert.match(msg, /maintenanceWindows\.0\.duration: "4 hours" is not a duration; write a number and a unit/);
  assert.match(msg, /zones\.1\.cidrs\.0: "10\.0\.2\.0\/33" has prefix length 33; IPv4 takes 0 to 32/);
});

test('a YAML syntax error names its line', () => {
  const msg = errorOf('site: a\nzones:\n  - name: [x\n');
  assert.match(msg, /site\.yaml:\d+: YAML syntax error/);
});

test('docs/config.md is generated from the current schema and every field is described', async () => {
  const { readFileSync } = await import('node:fs');
  const { configDoc } = await import('../../../cli/config-doc.ts');
  const { undescribed } = await import('../../../core/schema-docs.ts');
  const { Site } = await import('../../../core/config.ts');
  assert.deepEqual(undescribed(Site), []);
  assert.equal(readFileSync(new URL('../../../docs/config.md', import.meta.url), 'utf8'), configDoc(), 'docs/config.md is stale: run npm run docs');
});
