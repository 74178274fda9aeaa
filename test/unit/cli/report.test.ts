/** The replay report a person reads: incidents ranked by severity, cycle notes only where they mean something. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderReport } from '../../../cli/report.ts';
import type { ReplayReport } from '../../../cli/replay.ts';

const conduit = (p: Partial<ReplayReport['conduits'][number]>): ReplayReport['conduits'][number] => ({
  conduit: 'a->b', declared: true, firstSeen: 0, lastSeen: 1, learning: false, coverage: 1, edges: 1, flows: 100, windowsScored: 10, alerts: 0,
  state: 'ready', cyclesCovered: 4, phaseBucketsSeen: 12, phaseBuckets: 12, novelFirstCycle: 0, novelLastCycle: 0, detectedCycleMs: null,
  cycleNote: 'no cycle found in requests per window over 4 cycles; productionCycle 30m is not confirmed by the data', steady: false, ...p,
} as ReplayReport['conduits'][number]);

const finding = (id: string, severity: 'critical' | 'info', risk: number, incident: string) => ({
  id, conduit: 'a->b', src: '10.0.0.1', dst: '10.0.0.2', proto: 6, dstPort: 502, l7: 'modbus', tsStart: 0, tsEnd: 60_000, score: 1,
  detector: 'novelty', explanation: `explanation ${id}`, severity, risk, severityReason: `reason ${id}`, incident, windows: 1,
});

const report = (p: Partial<ReplayReport>): ReplayReport => ({
  site: 's', runId: 'r', inputs: [], flows: 1, assets: [], conduits: [], undeclared: [], windowsScored: 10, lateRecords: 0,
  alerts: [], rawAlerts: 0, incidents: [], inventory: { assets: [], alerts: [] }, ...p,
});

test('incidents are listed most severe first, each with its findings and why they got their severity', () => {
  const text = renderReport(report({
    alerts: [finding('a1', 'critical', 7, 'i-crit'), finding('a2', 'info', 1, 'i-info')],
    rawAlerts: 2,
    incidents: [
      { id: 'i-crit', severity: 'critical', risk: 7, firstSeen: 0, lastSeen: 60_000, alerts: 1, alertIds: ['a1'], conduits: ['a->b'], sources: ['10.0.0.1'], targets: ['10.0.0.2'], detectors: ['novelty'], topAlert: 'a1', summary: '' },
      { id: 'i-info', severity: 'info', risk: 1, firstSeen: 0, lastSeen: 60_000, alerts: 1, alertIds: ['a2'], conduits: ['a->b'], sources: ['10.0.0.1'], targets: ['10.0.0.2'], detectors: ['novelty'], topAlert: 'a2', summary: '' },
    ],
  }));
  const crit = text.indexOf('CRITICAL (risk 7.0)');
  const info = text.indexOf('INFO (risk 1.0)');
  assert.ok(crit > 0 && info > crit, text);
  assert.match(text, /explanation a1\n {8}severity: reason a1/);
});

test('cycle notes are printed for declared conduits whose traffic spans the cycle, never for steady or partial ones', () => {
  const text = renderReport(report({
    conduits: [
      conduit({ conduit: 'full->x' }),
      conduit({ conduit: 'steady->x', steady: true, cycleNote: '' }),
      conduit({ conduit: 'partial->x', phaseBucketsSeen: 2 }),
      conduit({ conduit: 'undeclared->x', declared: false }),
    ],
  }));
  assert.equal(text.match(/is not confirmed by the data/g)?.length, 1);
  assert.match(text, /full->x[^\n]*\n[^\n]*not confirmed/);
  assert.match(text, /steady->x[^\n]*\n[^\n]*steady \(site\.yaml\): not checked against productionCycle/);
});
