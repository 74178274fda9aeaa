/** The detector configuration in site.yaml: checked where it is written, and what replay, serve and eval build from it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createEngine, detectorSchemas } from '../../../cli/registry.ts';
import { parseSite, SiteMap } from '../../../core/config.ts';
import { hasCode } from '../../../core/errors.ts';
import { mergeFlows, polls } from '../../../detectors/testing.ts';

const yaml = (detection: string) => `
site: t
productionCycle: 1h
zones:
  - { name: scada, sl: 2, cidrs: [10.0.1.0/24] }
  - { name: field, sl: 3, cidrs: [10.0.2.0/24] }
conduits: [{ from: scada, to: field }]
detection:
  window: 60s
  baseline: 10m
${detection}
`;

const errorOf = (text: string): string => {
  try {
    parseSite(text, 'site.yaml', { detectors: detectorSchemas() });
  } catch (e) {
    assert.ok(hasCode(e, 'config_invalid'));
    return (e as Error).message;
  }
  assert.fail('expected a config error');
};

test('site.yaml detector settings are checked with the file, line, field, and the valid settings or names', () => {
  const m = errorOf(yaml('  detectorConfig:\n    rate: { minWindow: 5 }\n    silence:\n      gapFloor: 5'));
  assert.match(m, /site\.yaml:12: detection\.detectorConfig\.rate: unknown setting "minWindow" \(a typo\?\); valid settings: absoluteFloor, learnBelow, minBucketWindows, minPolledWindows, minWindows,/);
  assert.match(m, /site\.yaml:14: detection\.detectorConfig\.silence\.gapFloor: expected string, got number/);
  assert.doesNotMatch(m, /[[{]\s*"/);
  assert.match(errorOf(yaml('  detectors: [rate, cadense]')), /site\.yaml:11: detection\.detectors\.1: unknown detector "cadense"; known detectors: autoencoder, cadence, forecast, novelty, rate, scan, silence, size/);
  assert.match(errorOf(yaml('  detectorConfig: { rat: {} }')), /detection\.detectorConfig\.rat: settings for unknown detector "rat"/);
  assert.doesNotThrow(() => parseSite(yaml('  detectors: [rate]\n  detectorConfig: { rate: { minWindows: 8 } }'), 'site.yaml', { detectors: detectorSchemas() }));
});

const T0 = Date.parse('2025-01-06T00:00:00Z');
const M = 60_000;
const traffic = () => mergeFlows(
  polls({ src: '10.0.1.10', dst: '10.0.2.20', everyMs: 1_000, fromMs: T0, toMs: T0 + 30 * M, jitterMs: 10 }),
  polls({ src: '10.0.1.10', dst: '10.0.2.21', everyMs: 3_600_000, fromMs: T0 + 20 * M, toMs: T0 + 21 * M, mode: 'per-poll', ops: { write_single_coil: 1 } }),
);

test('the engine the commands build runs the detectors and settings site.yaml selects', async () => {
  const run = async (detection: string) => {
    const e = await createEngine(new SiteMap(parseSite(yaml(detection))));
    const out = [e.ingest(traffic()), e.flush()];
    return { alerts: out.flatMap((o) => o.alerts), detectors: e.snapshot().detectors, config: e.snapshot().config };
  };
  const all = await run('');
  assert.deepEqual(all.alerts.map((a) => a.detector), ['novelty'], 'the new write alerts');
  const rateOnly = await run('  detectors: [rate]');
  assert.deepEqual(rateOnly.detectors, ['rate']);
  assert.deepEqual(rateOnly.alerts, []);
  const tuned = await run('  detectorConfig: { novelty: { securityOps: [] } }');
  assert.deepEqual(tuned.config, { novelty: { securityOps: [] } });
  // A write is security-relevant by Modbus's own set whatever the name patterns: still alerts.
  assert.deepEqual(tuned.alerts.map((a) => a.detector), ['novelty']);
  const quiet = await run('  detectorConfig: { novelty: { unbaselinedScore: 0.2 }, rate: { minWindows: 100 } }');
  assert.deepEqual(quiet.config, { novelty: { unbaselinedScore: 0.2 }, rate: { minWindows: 100 } });
});

test('settings a command adds (replay\'s learned edges) apply over site.yaml\'s key by key, not instead of them', async () => {
  const site = new SiteMap(parseSite(yaml('  detectorConfig: { novelty: { unbaselinedScore: 0.2 }, rate: { minWindows: 8 } }')));
  const learned = [{ src: '10.0.1.10', dst: '10.0.2.21', proto: 6, dstPort: 502, l7: 'modbus', ops: ['write_single_coil'], units: [] }];
  const e = await createEngine(site, { config: { novelty: { learned } } });
  assert.deepEqual(e.snapshot().config, { novelty: { unbaselinedScore: 0.2, learned }, rate: { minWindows: 8 } });
});
