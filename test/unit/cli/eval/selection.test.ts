/** Detector selection of an eval: site.yaml's, with the spec's on top; plain errors for bad settings; the target exit. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { missedTargets } from '../../../../cli/eval/command.ts';
import type { EvalResult } from '../../../../cli/eval/run.ts';
import { evalSelection } from '../../../../cli/eval/run.ts';
import { loadEvalSpec } from '../../../../cli/eval/spec.ts';
import { parseSite } from '../../../../core/config.ts';
import { hasCode } from '../../../../core/errors.ts';

const site = parseSite(`
site: t
productionCycle: 1h
zones: [{ name: a, sl: 1, cidrs: [10.0.0.0/8] }]
detection:
  detectors: [rate, novelty]
  detectorConfig: { rate: { minWindows: 8, relativeFloor: 0.2 }, novelty: { newUnitScore: 0.5 } }
`);

test('an eval runs the site.yaml selection, with the spec\'s detectors and settings on top key by key', () => {
  assert.deepEqual(evalSelection(site, {}), { detectors: ['rate', 'novelty'], config: { rate: { minWindows: 8, relativeFloor: 0.2 }, novelty: { newUnitScore: 0.5 } } });
  assert.deepEqual(evalSelection(site, { detectors: ['cadence'], detectorConfig: { rate: { relativeFloor: 0.3 }, size: { minPackets: 2 } } }), {
    detectors: ['cadence'],
    config: { rate: { minWindows: 8, relativeFloor: 0.3 }, novelty: { newUnitScore: 0.5 }, size: { minPackets: 2 } },
  });
});

test('bad detector settings in an eval spec are plain sentences naming the file, the setting and the valid ones', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cw-eval-'));
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, 'name: bad\nsite: s.yaml\ntest: [{ file: a.pcap }]\ndetectorConfig: { rate: { minWindow: 3, learnBelow: "high" } }\n');
  assert.throws(() => loadEvalSpec(file), (e: Error) => {
    assert.ok(hasCode(e, 'config_invalid'));
    assert.doesNotMatch(e.message, /[[{]\s*"/, 'no JSON');
    assert.match(e.message, /bad\.yaml: detector "rate" settings are invalid:/);
    assert.match(e.message, /learnBelow: expected number, got string/);
    assert.match(e.message, /unknown setting "minWindow" \(a typo\?\); valid settings: .*minWindows/);
    return true;
  });
  writeFileSync(file, 'name: bad\nsite: s.yaml\ntest: [{ file: a.pcap }]\ndetectors: [rate, nov]\n');
  assert.throws(() => loadEvalSpec(file), /bad\.yaml: unknown detector\(s\) "nov"; known detectors: cadence, novelty, rate, scan, silence, size/);
});

const resultWith = (over: Partial<EvalResult['targets']>, missed: string[], perDay: number): EvalResult => ({
  name: 'r', description: '', site: 's', windowMs: 60_000, alertThreshold: 0.8, detectors: 'all', baseline: [], runs: [], attacks: [],
  summary: {
    attacks: 3, detected: 3 - missed.length, missed, windows: { windows: 0, positive: 0, predicted: 0, tp: 0, fp: 0, fn: 0, tn: 0, precision: null, recall: null, f1: null },
    falseAlerts: { total: 1, normalHours: 24, perDay, maxPerConduitPerDay: perDay, conduits: [{ conduit: 'a->b', alerts: 1, normalHours: 24, perDay }] },
    detectors: [],
  },
  targets: { everyAttackDetected: missed.length === 0, underOneFalseAlertPerConduitPerDay: perDay < 1, ...over },
});

test('--fail-on-target names each missed target; met or unmeasurable targets are not missed', () => {
  assert.deepEqual(missedTargets(resultWith({}, [], 0.5)), []);
  assert.deepEqual(missedTargets(resultWith({ everyAttackDetected: null }, [], 0)), []);
  const m = missedTargets(resultWith({}, ['c.pcap one'], 2));
  assert.equal(m.length, 2);
  assert.match(m[0]!, /^1 of 3 labelled attacks not detected \(c\.pcap one\)$/);
  assert.match(m[1]!, /a->b 2\/day/);
});
