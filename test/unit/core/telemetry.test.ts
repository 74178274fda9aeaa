import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Metrics } from '../../../core/telemetry.ts';

test('labels given in another key order add to the same series', () => {
  const m = new Metrics();
  m.add('x_total', { a: '1', b: '2' });
  m.add('x_total', { b: '2', a: '1' }, 2);
  assert.equal(m.get('x_total'), 3);
  assert.equal(m.render(), 'x_total{a="1",b="2"} 3\n');
});

test('label sets that only differ in where a value ends are separate series', () => {
  const m = new Metrics();
  m.add('x_total', { a: '1b', c: '' });
  m.add('x_total', { a: '1', bc: '' });
  m.add('x_total', { a: '1', b: 'c' });
  assert.equal(m.render().trim().split('\n').length, 3);
  assert.equal(m.get('x_total', { a: '1' }), 2);
});

test('set overwrites a gauge; quotes, backslashes and newlines in values are escaped', () => {
  const m = new Metrics();
  m.describe('g', 'gauge', 'a gauge');
  m.set('g', { path: 'a"b\\c\nd' }, 5);
  m.set('g', { path: 'a"b\\c\nd' }, 7);
  assert.equal(m.render(), '# HELP g a gauge\n# TYPE g gauge\ng{path="a_b_c_d"} 7\n');
});
