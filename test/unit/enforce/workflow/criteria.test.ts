import assert from 'node:assert/strict';
import { test } from 'node:test';
import { evaluate, fixCriteria, startWatch } from '../../../../enforce/workflow/criteria.ts';

const edges = [
  { key: 'hmi-plc', label: '10.0.1.5 → 10.0.2.7 tcp/502', expectedEveryMs: 1_000 },
  { key: 'eng-plc', label: '10.0.1.9 → 10.0.2.7 tcp/502' },
];
const c = fixCriteria({ watch: '1m', interval: '1s', alertCount: 3, alertWithin: '5m', droppedPackets: 2, silenceFactor: 3 }, edges);

test('criteria fixed at approval are in ms with the watched edges', () => {
  assert.deepEqual({ ...c, edges: c.edges.length }, { watchMs: 60_000, intervalMs: 1_000, alertCount: 3, alertWithinMs: 300_000, droppedPackets: 2, silenceFactor: 3, edges: 2 });
  assert.equal(fixCriteria(undefined, []).watchMs, 15 * 60_000);
  assert.throws(() => fixCriteria({ alertCount: 0 }, []));
});

test('quiet, flowing traffic trips nothing', () => {
  let s = startWatch(0);
  for (let i = 1; i <= 10; i++) {
    const r = evaluate(c, s, { accepted: { 'hmi-plc': i * 5, 'eng-plc': 0 }, dropped: { '*': 7 } }, 2, i * 1_000);
    assert.equal(r.trip, undefined, `tick ${i}`);
    s = r.state;
  }
  assert.equal(s.ticks, 10);
});

test('drops on a baseline edge trip baseline_flow_dropped with the packet count', () => {
  const r = evaluate(c, startWatch(0), { accepted: { 'hmi-plc': 3 }, dropped: { 'eng-plc': 2 } }, 0, 1_000);
  assert.equal(r.trip?.criterion, 'baseline_flow_dropped');
  assert.equal(r.trip?.figures.droppedPackets, 2);
  assert.equal(evaluate(c, startWatch(0), { accepted: { 'hmi-plc': 3 }, dropped: { 'eng-plc': 1 } }, 0, 1_000).trip, undefined);
});

test('a regular edge silent past its limit trips baseline_edge_silent; an irregular one never does', () => {
  let s = startWatch(0);
  s = evaluate(c, s, { accepted: { 'hmi-plc': 4 }, dropped: {} }, 0, 1_000).state;
  assert.equal(evaluate(c, s, { accepted: { 'hmi-plc': 4 }, dropped: {} }, 0, 4_000).trip, undefined, '3 s = the limit');
  const r = evaluate(c, s, { accepted: { 'hmi-plc': 4 }, dropped: {} }, 0, 4_001);
  assert.equal(r.trip?.criterion, 'baseline_edge_silent');
  assert.equal(r.trip?.figures.silentMs, 3_001);
});

test('N alerts within M trip the alerts criterion', () => {
  const r = evaluate(c, startWatch(0), { accepted: { 'hmi-plc': 1 }, dropped: {} }, 3, 1_000);
  assert.equal(r.trip?.criterion, 'alerts');
  assert.deepEqual(r.trip?.figures, { alerts: 3, limit: 3, withinMs: 300_000 });
});
