import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fakeClock } from '../../../../core/clock.ts';
import { compileTemplate } from '../../../../ingest/netflow/data.ts';
import { TemplateStore } from '../../../../ingest/netflow/templates.ts';

const t = (id: number, len = 4) => compileTemplate(id, [{ id: 8, pen: 0, length: len }], false, 0);

test('tells a new template from a refresh and from a changed definition', () => {
  const s = new TemplateStore(fakeClock(0));
  assert.equal(s.put('a|1', 0, t(256)).kind, 'new');
  assert.equal(s.put('a|1', 0, t(256)).kind, 'refreshed');
  assert.equal(s.put('a|1', 0, t(256, 16)).kind, 'changed');
  assert.equal(s.size, 1);
});

test('evicts the least recently used template of the full domain first', () => {
  const s = new TemplateStore(fakeClock(0), { maxPerDomain: 2 });
  s.put('a', 0, t(256));
  s.put('a', 0, t(257));
  s.put('a', 0, t(256)); // refresh: 257 is now the oldest
  assert.equal(s.put('a', 0, t(258)).evicted, 1);
  assert.deepEqual([256, 257, 258].map((id) => s.get('a', 0, id) !== undefined), [true, false, true]);
  assert.equal(s.put('a', 1, t(256)).evicted, 0);
  assert.equal(s.size, 3);
});

test('caps one session across domains and all sessions together', () => {
  const s = new TemplateStore(fakeClock(0), { maxPerSession: 3, maxTotal: 4 });
  for (let d = 0; d < 5; d++) s.put('a', d, t(256));
  assert.equal(s.sessionSize('a'), 3);
  assert.deepEqual([0, 1, 2, 3, 4].map((d) => s.get('a', d, 256) !== undefined), [false, false, true, true, true]);
  s.put('b', 0, t(256));
  s.put('c', 0, t(256));
  assert.equal(s.size, 4);
});

test('expires on lookup and on sweep after the lifetime, not before', () => {
  const clock = fakeClock(0);
  const s = new TemplateStore(clock, { lifetimeMs: 1000 });
  s.put('a', 0, t(256));
  s.put('a', 0, t(257));
  clock.advance(1000);
  assert.notEqual(s.get('a', 0, 256), undefined);
  clock.advance(1);
  assert.equal(s.get('a', 0, 256), 'expired');
  assert.equal(s.get('a', 0, 256), undefined);
  assert.equal(s.sweep(), 1);
  assert.equal(s.size, 0);
});
