import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSite, SiteMap } from '../../../../core/config.ts';
import { projectRoot } from '../../../support/data.ts';

const site = (name: string): SiteMap => {
  const file = join(projectRoot, 'examples', name, 'site.yaml');
  return new SiteMap(parseSite(readFileSync(file, 'utf8'), file));
};

test('the lemay example puts the MTU in control, every RTU in field, and learns before the fake command', () => {
  const m = site('lemay');
  assert.equal(m.zoneOf('192.168.1.100'), 'control');
  for (let i = 101; i <= 106; i++) assert.equal(m.zoneOf(`192.168.1.${i}`), 'field');
  assert.equal(m.zoneOf('192.168.1.255'), 'unknown');
  assert.ok(m.isDeclared(m.conduitOf('192.168.1.100', '192.168.1.102')), 'MTU -> RTU is declared');
  assert.equal(m.isDeclared(m.conduitOf('192.168.1.102', '192.168.1.100')), false);
  assert.equal(m.site.detection.window, 10_000);
  assert.equal(m.baselineMs, 200_000);
  assert.ok(m.baselineMs < 289_400, 'the baseline ends before the fake command at t = 289.4 s');
  assert.equal(m.site.productionCycle, 120_000);
});

test('the but-iec104 example declares the controlling stations -> outstations conduit', () => {
  const m = site('but-iec104');
  assert.equal(m.conduitOf('192.168.11.111', '192.168.11.248'), 'scada->substation');
  assert.equal(m.conduitOf('10.20.102.1', '10.20.100.108'), 'scada->substation');
  assert.ok(m.isDeclared('scada->substation'), 'declared');
  assert.equal(m.isDeclared('substation->scada'), false);
  assert.ok(m.baselineMs < 15.6 * 3_600_000, 'learning ends inside the 15.6 h capture');
});

test('the but-mms example learns for less than the 11.7 min before the first labelled attack', () => {
  const m = site('but-mms');
  assert.equal(m.conduitOf('10.10.3.19', '10.10.20.10'), 'station->bay');
  assert.ok(m.isDeclared('station->bay'), 'declared');
  assert.ok(m.baselineMs < (7 * 3600 + 20 * 60 + 11.38 - (7 * 3600 + 8 * 60 + 31.23)) * 1000, 'baseline before 07:20:11');
});
