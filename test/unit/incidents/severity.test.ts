/** Severity from what is at stake and the score; incidents from related alerts. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSite, SiteMap } from '../../../core/config.ts';
import type { Alert, WindowScore } from '../../../core/records.ts';
import { edgeId } from '../../../core/records.ts';
import { assess, levelOf } from '../../../incidents/severity.ts';
import { IncidentBuilder, type AssessedAlert } from '../../../incidents/incidents.ts';
import { Triage } from '../../../incidents/triage.ts';

const site = new SiteMap(parseSite(`
site: t
productionCycle: 10m
zones:
  - { name: control, sl: 2, assets: [10.0.0.1] }
  - { name: field, sl: 3, cidrs: [10.0.1.0/24] }
  - { name: safety, sl: 4, cidrs: [10.0.2.0/24] }
conduits:
  - { from: control, to: field }
  - { from: control, to: safety }
`));

let n = 0;
const alert = <T extends Partial<Alert>>(p: T): Alert & T => ({
  id: `a${String(n++).padStart(3, '0')}`, conduit: 'control->field', src: '10.0.0.1', dst: '10.0.1.5', proto: 6, dstPort: 502, l7: 'modbus',
  tsStart: 0, tsEnd: 60_000, score: 1, detector: 'novelty', explanation: 'x', ...p,
});

test('a never-seen write into an SL 3 zone outranks an undeclared IPv6 multicast between unknown hosts', () => {
  const write = assess(alert({ conduit: 'field->field', src: '10.0.1.1', dst: '10.0.1.2' }), { new_edge: 1, new_talker: 1, security_ops: 1 }, site);
  const dhcp = assess(alert({ conduit: 'unknown->unknown', src: 'fe80::1', dst: 'ff02::1:2', proto: 17, dstPort: 547, l7: '' }), { new_edge: 1, undeclared: 1, new_talker: 1 }, site);
  assert.equal(write.severity, 'critical');
  assert.match(write.reason, /new talker; zone field SL 3; security-relevant operation; modbus/);
  assert.equal(dhcp.severity, 'info');
  assert.match(dhcp.reason, /no declared zone/);
  assert.ok(write.risk > dhcp.risk);
});

test('the zone\'s target SL weighs: the same finding is more severe toward SL 4 than toward SL 2', () => {
  const f = { new_edge: 1 };
  const sl4 = assess(alert({ conduit: 'control->safety', dst: '10.0.2.9' }), f, site);
  const sl3 = assess(alert({}), f, site);
  const sl2 = assess(alert({ conduit: 'control->control', dst: '10.0.0.1' }), f, site);
  assert.ok(sl4.risk > sl3.risk && sl3.risk > sl2.risk, `${sl4.risk} > ${sl3.risk} > ${sl2.risk}`);
  assert.match(sl4.reason, /zone safety SL 4/);
});

test('the score scales the risk: a threshold-level score lands lower than a certain one', () => {
  const sure = assess(alert({ detector: 'silence' }), {}, site);
  const unsure = assess(alert({ detector: 'silence', score: 0.8 }), {}, site);
  assert.equal(sure.severity, 'high');
  assert.equal(unsure.severity, 'medium');
  assert.equal(unsure.risk, Math.round(sure.risk * 0.8 * 10) / 10);
});

test('the detector\'s class weighs: a scan is more severe than a rate change on the same conduit', () => {
  const scan = assess(alert({ detector: 'scan', dst: '*', dstPort: 0, l7: 'scan' }), { destinations: 40 }, site);
  const rate = assess(alert({ detector: 'rate', l7: '' }), { z: 9 }, site);
  assert.equal(scan.class, 'scan');
  assert.equal(rate.class, 'rate');
  assert.ok(scan.risk > rate.risk);
});

test('levels follow the risk thresholds', () => {
  assert.deepEqual([0, 1.5, 2.5, 3.5, 5.5, 10].map(levelOf), ['info', 'low', 'medium', 'high', 'critical', 'critical']);
});

const builder = () => new IncidentBuilder({ gapMs: 300_000, maxSpanMs: 3_600_000 });
const assessed = (p: Partial<AssessedAlert>): AssessedAlert => ({ risk: 3, severity: 'medium', cls: 'new_edge', ...alert(p) });

test('alerts of one source on two conduits within the gap form one incident with first/last seen and a summary', () => {
  const b = builder();
  const r = b.add([
    assessed({ tsStart: 0, tsEnd: 60_000 }),
    assessed({ conduit: 'control->safety', dst: '10.0.2.9', tsStart: 120_000, tsEnd: 180_000, risk: 5 }),
  ]);
  assert.equal(new Set(r.alerts.map((a) => a.incident)).size, 1);
  assert.equal(r.incidents.length, 1);
  const inc = r.incidents[0]!;
  assert.equal(inc.alerts, 2);
  assert.deepEqual([inc.firstSeen, inc.lastSeen], [0, 180_000]);
  assert.deepEqual(inc.conduits, ['control->field', 'control->safety']);
  assert.equal(inc.severity, 'high');
  assert.match(inc.summary, /^high: 2 alerts from 10\.0\.0\.1 on 2 conduits/);
});

test('unrelated alerts, or related ones after a quiet gap, open separate incidents', () => {
  const b = builder();
  const r = b.add([
    assessed({ tsStart: 0, tsEnd: 60_000 }),
    assessed({ conduit: 'unknown->safety', src: '10.9.9.9', dst: '10.0.2.1', tsStart: 0, tsEnd: 60_000 }),
    assessed({ tsStart: 60_000 + 300_001, tsEnd: 60_000 + 360_001 }),
  ]);
  assert.equal(new Set(r.alerts.map((a) => a.incident)).size, 3);
});

test('the same cause at one target joins alerts of different sources (every poller of a PLC falls silent)', () => {
  const b = builder();
  const silent = (src: string) => ({ ...alert({ src, dst: '10.0.1.7', detector: 'silence' }), risk: 4, severity: 'high' as const, cls: 'silence' });
  const r = b.add([silent('10.0.0.1'), { ...silent('10.0.0.2'), conduit: 'other->field' }]);
  assert.equal(r.incidents.length, 1);
  assert.deepEqual(r.incidents[0]!.sources, ['10.0.0.1', '10.0.0.2']);
});

test('incident ids are stable: the same alerts give the same ids, and a snapshot restores the grouping', () => {
  const alerts = [assessed({ id: 'x1', tsStart: 0 }), assessed({ id: 'x2', tsStart: 60_000 })];
  const a = builder().add(alerts);
  const b = builder().add([...alerts].reverse());
  assert.deepEqual(a.alerts.map((x) => x.incident), b.alerts.map((x) => x.incident));
  const first = builder();
  first.add([alerts[0]!]);
  const restored = IncidentBuilder.restore({ gapMs: 300_000, maxSpanMs: 3_600_000 }, JSON.parse(JSON.stringify(first.snapshot())));
  assert.equal(restored.add([alerts[1]!]).alerts[0]!.incident, a.alerts[1]!.incident);
});

test('triage reads the features of the alert\'s own scored window', () => {
  const a = alert({ conduit: 'field->field', src: '10.0.1.1', dst: '10.0.1.2' });
  const score: WindowScore = { conduit: a.conduit, edge: edgeId(a), windowStart: a.tsStart, windowEnd: a.tsEnd, detector: 'novelty', score: 1, learning: false, explanation: 'x', features: { new_edge: 1, security_ops: 2 } };
  const other: WindowScore = { ...score, detector: 'rate', features: {} };
  const t = Triage.create(site).apply({ scores: [other, score], alerts: [a] });
  assert.equal(t.alerts[0]!.severity, 'critical');
  assert.match(t.alerts[0]!.severityReason!, /security-relevant operation/);
  assert.equal(t.incidents[0]!.topAlert, a.id);
  assert.equal(t.alerts[0]!.incident, t.incidents[0]!.id);
});
