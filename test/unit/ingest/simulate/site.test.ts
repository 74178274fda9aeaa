import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSite, SiteMap } from '../../../../core/config.ts';
import { plant } from '../../../../ingest/simulate/index.ts';
import { projectRoot } from '../../../support/data.ts';

const file = join(projectRoot, 'examples', 'sim', 'site.yaml');

test('examples/sim/site.yaml parses with the simulator default cycle and a two-cycle baseline', () => {
  const site = parseSite(readFileSync(file, 'utf8'), file);
  assert.equal(site.productionCycle, 30 * 60_000);
  assert.equal(new SiteMap(site).baselineMs, 2 * site.productionCycle);
  assert.deepEqual(site.zones.map((z) => z.name), ['scada', 'ops', 'field']);
});

test('every simulated host falls in the zone the simulator gives it, strangers in "unknown"', () => {
  const map = new SiteMap(parseSite(readFileSync(file, 'utf8'), file));
  for (const h of plant.HOSTS) assert.equal(map.zoneOf(h.ip), h.zone, `${h.name} ${h.ip}`);
  assert.equal(map.zoneOf(plant.ROGUE.ip), 'unknown');
});

test('the baseline conduits are declared and the anomalous ones are not', () => {
  const map = new SiteMap(parseSite(readFileSync(file, 'utf8'), file));
  const plc = plant.PLCS[0]!.ip;
  for (const h of [plant.HMI, plant.SCADA, plant.HISTORIAN, plant.EWS]) assert.ok(map.isDeclared(map.conduitOf(h.ip, plc)), h.name);
  assert.equal(map.isDeclared(map.conduitOf(plant.ROGUE.ip, plc)), false);
  assert.equal(map.isDeclared(map.conduitOf(plant.SCANNER.ip, plc)), false);
});
