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

test('a flood from 64 source ports evicts only its own templates, never those of a quiet exporter on the same or another host', () => {
  const s = new TemplateStore(fakeClock(0), { maxPerSession: 500, maxPerExporter: 2000, maxTotal: 3000 });
  s.put('192.0.2.1|2055', 0, t(256));
  s.put('192.0.2.1|2055', 0, t(257));
  s.put('198.51.100.7|9995', 0, t(256));
  let evicted = 0;
  for (let port = 40000; port < 40064; port++) {
    for (let id = 256; id < 1256; id++) evicted += s.put(`192.0.2.1|${port}`, 0, t(id)).evicted;
  }
  assert.ok(evicted > 60_000, `${evicted} evicted`);
  assert.deepEqual([s.get('192.0.2.1|2055', 0, 256), s.get('192.0.2.1|2055', 0, 257), s.get('198.51.100.7|9995', 0, 256)].map((x) => x !== undefined), [true, true, true]);
  assert.ok(s.exporterSize('192.0.2.1') <= 2000 && s.size <= 3000);
  // Past the total cap, the biggest address gives up templates: a third exporter still gets in.
  s.put('203.0.113.5|2055', 3, t(300));
  assert.notEqual(s.get('203.0.113.5|2055', 3, 300), undefined);
});
