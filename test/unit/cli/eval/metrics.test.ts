import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Alert } from '../../../../core/records.ts';
import type { Attack } from '../../../../cli/eval/labels.ts';
import { matchAttack, scoreRun, summarize, windowMetrics, type RunFrame } from '../../../../cli/eval/metrics.ts';

const W = 10_000;

const alert = (tsStart: number, over: Partial<Alert> = {}): Alert => ({
  id: `a${tsStart}`, conduit: 'a->b', src: '10.0.0.1', dst: '10.0.0.2', proto: 6, dstPort: 502, l7: 'modbus',
  tsStart, tsEnd: tsStart + W, score: 1, detector: 'novelty', explanation: 'new edge', ...over,
});

const frame = (over: Partial<RunFrame> = {}): RunFrame => ({
  windowMs: W, from: 0, to: 100_000, shiftMs: 0, exposureStart: { 'a->b': 0 }, slackMs: W, endpoints: true, ...over,
});

// One attack over windows 20 s and 30 s, between 10.0.0.1 and 10.0.0.2.
const attack: Attack = { id: 'x', input: 'cap.pcap', kind: 'write', start: 25_000, end: 34_000, src: '10.0.0.2', dst: '10.0.0.1' };
const alerts = [
  alert(20_000, { src: '10.0.0.9', conduit: 'c->b' }), // at the attack's time, other hosts
  alert(30_000), // the detection (hosts in the other direction)
  alert(70_000, { detector: 'rate' }), // far from the attack: false
];

test('window-level counts, precision, recall and F1 match a hand count', () => {
  const r = scoreRun([attack], alerts, frame());
  assert.deepEqual(r.windows, { windows: 10, positive: 2, predicted: 3, tp: 2, fp: 1, fn: 0, tn: 7 });
  assert.deepEqual(windowMetrics(r.windows), { ...r.windows, precision: 0.6667, recall: 1, f1: 0.8 });
});

test('an attack is detected by the first alert between its hosts, with the delay to that window\'s end', () => {
  const o = scoreRun([attack], alerts, frame()).attacks[0]!;
  assert.equal(o.detected, true);
  assert.deepEqual(o.detectors, ['novelty']);
  assert.equal(o.alerts, 1);
  assert.equal(o.otherHostAlerts, 1);
  assert.equal(o.first?.windowStart, 30_000);
  assert.equal(o.delayMs, 40_000 - 25_000);
});

test('without endpoint matching any alert at the attack\'s time detects it', () => {
  const o = matchAttack(attack, alerts, frame({ endpoints: false }));
  assert.equal(o.first?.windowStart, 20_000);
  assert.equal(o.delayMs, 5_000);
  assert.equal(o.alerts, 2);
});

test('an alert one window after the attack detects it only within the slack', () => {
  const late = [alert(40_000)];
  assert.equal(matchAttack(attack, late, frame({ slackMs: W })).detected, true);
  assert.equal(matchAttack(attack, late, frame({ slackMs: 0 })).detected, false);
});

test('false alerts exclude the attack widened by a window and are normalised by normal time', () => {
  const r = scoreRun([attack], alerts, frame());
  // Windows 10, 20, 30 and 40 touch [15 s, 44 s]; 6 windows (60 s) are normal.
  assert.equal(r.normalMs, 60_000);
  assert.deepEqual(r.falseAlerts, { 'a->b': { alerts: 1, exposureMs: 60_000 } });
  assert.deepEqual(r.detectors, { novelty: { alerts: 2, nearAttack: 2, false: 0 }, rate: { alerts: 1, nearAttack: 0, false: 1 } });
  const s = summarize([r]);
  assert.equal(s.falseAlerts.perDay, 1440); // 1 alert in 60 s
  assert.deepEqual(s.falseAlerts.conduits, [{ conduit: 'a->b', alerts: 1, normalHours: 0.0167, perDay: 1440 }]);
});

test('a conduit first seen mid-run is exposed only from its first window', () => {
  const r = scoreRun([], [alert(90_000, { conduit: 'new->b' })], frame({ exposureStart: { 'a->b': 0, 'new->b': 80_000 } }));
  assert.deepEqual(r.falseAlerts['new->b'], { alerts: 1, exposureMs: 20_000 });
  assert.deepEqual(r.falseAlerts['a->b'], { alerts: 0, exposureMs: 100_000 });
});

test('alerts outside the scored range (the baseline) are not counted', () => {
  const r = scoreRun([], [alert(-10_000), alert(100_000)], frame());
  assert.equal(r.windows.predicted, 0);
  assert.deepEqual(r.detectors, {});
});

test('a shifted run matches labels in file time and reports alert windows in file time', () => {
  const shift = 1_000_000;
  const shifted = alerts.map((a) => ({ ...a, tsStart: a.tsStart + shift, tsEnd: a.tsEnd + shift }));
  const r = scoreRun([attack], shifted, frame({ shiftMs: shift, from: shift, to: shift + 100_000, exposureStart: { 'a->b': shift } }));
  assert.equal(r.attacks[0]!.first?.windowStart, 30_000);
  assert.equal(r.attacks[0]!.delayMs, 15_000);
  assert.equal(r.windows.tp, 2);
});

test('labels that cover only quiet windows give recall 0 and an undefined precision', () => {
  const quiet: Attack = { id: 'q', input: 'cap.pcap', kind: 'none', start: 50_000, end: 55_000 };
  const s = summarize([scoreRun([quiet], [], frame())]);
  assert.equal(s.windows.recall, 0);
  assert.equal(s.windows.precision, null);
  assert.equal(s.windows.f1, null);
  assert.deepEqual(s.missed, ['cap.pcap q']);
});

test('no labels: recall is undefined and every alert is false', () => {
  const s = summarize([scoreRun([], [alert(0), alert(50_000)], frame())]);
  assert.equal(s.windows.recall, null);
  assert.equal(s.windows.precision, 0);
  assert.equal(s.windows.f1, null);
  assert.equal(s.falseAlerts.total, 2);
});

test('summing two runs adds counts and exposure before dividing', () => {
  const a = scoreRun([attack], alerts, frame());
  const b = scoreRun([], [], frame());
  const s = summarize([a, b]);
  assert.equal(s.windows.windows, 20);
  assert.equal(s.windows.tn, 17);
  assert.deepEqual(s.falseAlerts.conduits, [{ conduit: 'a->b', alerts: 1, normalHours: 0.0444, perDay: 540 }]);
  assert.equal(s.falseAlerts.maxPerConduitPerDay, 540);
  assert.deepEqual(s.detectors.map((d) => d.detector), ['novelty', 'rate']);
});
