/** The evidence report's logic on hand-made facts: baseline states, cycles and phases, rule and promotion states, SR statuses. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSite } from '../../../core/config.ts';
import { buildEvidence, renderEvidenceMd, type EvidenceConduit, type EvidenceFacts } from '../../../inventory/evidence.ts';

const site = parseSite(`
site: t
productionCycle: 2m
zones:
  - { name: control, sl: 2, assets: ["10.0.0.1"] }
  - { name: field, sl: 3, assets: ["10.0.0.2"] }
conduits:
  - { from: control, to: field }
detection: { window: 10s }
`);
const T0 = Date.UTC(2025, 0, 1);
const conduit = (o: Partial<EvidenceConduit>): EvidenceConduit => ({
  conduit: 'control->field', declared: true, flows: 10, firstSeen: T0, lastSeen: T0 + 1000, services: ['modbus tcp/502'], windows: 0,
  learningWindows: 0, detectors: [], windowStarts: [], alerts: 0, inventoryAlerts: 0, ...o,
});
const facts = (c: EvidenceConduit[], o: Partial<EvidenceFacts> = {}): EvidenceFacts => ({
  site, runId: 'r', assets: [{ ip: '10.0.0.2', zone: 'field', role: 'plc_rtu', confidence: 0.7, identity: 'Siemens, fw V3.2.6', mac: '', firstSeen: T0, lastSeen: T0 }],
  conduits: c, violations: { modbus_short_pdu: 2 }, tables: ['flows'], cleartext: { 'control->field': ['modbus'] }, generatedAt: T0, ...o,
});

test('cycles covered and phases seen come from the windows with traffic; learning vs ready vs undeclared', () => {
  // 24 windows of 10 s = 2 cycles of 2 min, every 10 s: all 12 phases.
  const starts = Array.from({ length: 24 }, (_, i) => T0 + i * 10_000);
  const r = buildEvidence(facts([
    conduit({ windows: 24, learningWindows: 12, windowStarts: starts }),
    conduit({ conduit: 'field->control', declared: false, windows: 3, windowStarts: [T0] }),
    conduit({ conduit: 'field->field', windows: 5, learningWindows: 5, windowStarts: [T0, T0 + 10_000] }),
  ]));
  assert.deepEqual(r.conduits.map((c) => [c.conduit, c.cyclesCovered, c.phasesSeen]), [['control->field', 2, 12], ['field->control', 0.08, 1], ['field->field', 0.17, 2]]);
  assert.match(r.conduits[0]!.baseline, /^baseline ready/);
  assert.match(r.conduits[1]!.baseline, /^undeclared/);
  assert.match(r.conduits[2]!.baseline, /^learning: 17% of the 2 min baseline/);
});

test('without enforcement tables: no rules yet, no audit trail, and the SRs that need them say so', () => {
  const r = buildEvidence(facts([conduit({ windows: 2, windowStarts: [T0] })]));
  assert.match(r.conduits[0]!.ruleState, /^no rules yet/);
  assert.equal(r.conduits[0]!.promotionState, 'no promotions yet');
  const sr = (id: string) => r.srs.find((s) => s.sr === id)!;
  assert.deepEqual(['SR 6.2', 'SR 7.8', 'SR 5.2', 'SR 2.8', 'SR 3.5', 'SR 3.1'].map((id) => sr(id).status), ['evidence', 'evidence', 'none', 'none', 'evidence', 'partial']);
  assert.match(sr('SR 3.5').detail, /2 violation\(s\).*modbus_short_pdu 2/);
  const md = renderEvidenceMd(r);
  assert.match(md, /\| field \| 3 \| 10\.0\.0\.2 \(PLC\/RTU; Siemens, fw V3\.2\.6\) \|/);
  assert.match(md, /\| SR 5\.2 \| Zone boundary protection \| no evidence \| no rules yet/);
});

test('rule steps from the audit trail: the last step, then promotion by apply and its rollback', () => {
  const steps = [
    { action: 'propose', result: 'ok', actor: 'alice', ts: T0 },
    { action: 'whatif', result: 'ok', actor: 'alice', ts: T0 + 1 },
    { action: 'apply', result: 'ok', actor: 'bob', ts: T0 + 2 },
  ];
  const audit = { records: 3, verified: true, keyPinned: true };
  const applied = buildEvidence(facts([conduit({ windows: 1, windowStarts: [T0], rules: 1, steps })], { tables: ['flows', 'rules', 'audit'], audit }));
  assert.match(applied.conduits[0]!.ruleState, /^1 rule version\(s\); last step whatif ok by alice/);
  assert.match(applied.conduits[0]!.promotionState, /^blocking since 2025-01-01 00:00:00Z \(apply by bob\)/);
  const sr = (r: typeof applied, id: string) => r.srs.find((s) => s.sr === id)!;
  assert.deepEqual(['SR 5.2', 'SR 2.8', 'SR 3.9'].map((id) => sr(applied, id).status), ['partial', 'evidence', 'evidence']);
  const rolled = buildEvidence(facts([conduit({ rules: 1, steps: [...steps, { action: 'rollback', result: 'ok', actor: 'carol', ts: T0 + 3 }] })], { tables: ['rules', 'audit'], audit: { ...audit, keyPinned: false } }));
  assert.match(rolled.conduits[0]!.promotionState, /^rolled back .* by carol/);
  assert.equal(sr(rolled, 'SR 5.2').status, 'none');
  assert.equal(sr(rolled, 'SR 3.9').status, 'partial');
});
