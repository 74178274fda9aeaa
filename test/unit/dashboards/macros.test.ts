import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyConditionalAll, applyTimeMacros, applyVariables, expandQuery, panelIntervalMs, roundInterval } from '../../../dashboards/macros.ts';

// 2015-02-24T17:35:20.250Z → 17:46:30.999Z
const from = 1424799320250;
const to = 1424799990999;

test('time macros expand as the plugin backend writes them (seconds truncated, ms exact)', () => {
  const cases: [string, string][] = [
    ['$__timeFilter(ts_start)', 'ts_start >= toDateTime(1424799320) AND ts_start <= toDateTime(1424799990)'],
    ['$__timeFilter_ms(ts)', 'ts >= fromUnixTimestamp64Milli(1424799320250) AND ts <= fromUnixTimestamp64Milli(1424799990999)'],
    ['$__fromTime, $__toTime', 'toDateTime(1424799320), toDateTime(1424799990)'],
    ['$__fromTime_ms', 'fromUnixTimestamp64Milli(1424799320250)'],
    ['$__dateFilter(d)', "d >= toDate('2015-02-24') AND d <= toDate('2015-02-24')"],
    ['$__timeInterval(ts_start)', 'toStartOfInterval(toDateTime(ts_start), INTERVAL 10 second)'],
    ['$__timeInterval_ms(ts_start)', 'toStartOfInterval(toDateTime64(ts_start, 3), INTERVAL 10000 millisecond)'],
    ['$__interval_s', '10'],
    ['$__timeInterval(coalesce(a, b))', 'toStartOfInterval(toDateTime(coalesce(a, b)), INTERVAL 10 second)'],
  ];
  assert.ok(cases.length > 0);
  for (const [sql, want] of cases) assert.equal(applyTimeMacros(sql, { from, to, intervalMs: 10_000 }), want, sql);
});

test('an interval below one second is one second for $__timeInterval, as max(seconds, 1) in the plugin', () => {
  assert.equal(applyTimeMacros('$__timeInterval(t)', { from, to, intervalMs: 200 }), 'toStartOfInterval(toDateTime(t), INTERVAL 1 second)');
});

test('an unknown macro or a missing argument is an error, not SQL sent as is', () => {
  assert.throws(() => applyTimeMacros('$__timeFiltr(t)', { from, to, intervalMs: 1 }), /Unknown macro \$__timeFiltr/);
  assert.throws(() => applyTimeMacros('$__timeFilter', { from, to, intervalMs: 1 }), /needs one argument/);
});

test('conditionalAll keeps the condition for a selection and is 1=1 for All or nothing', () => {
  const sql = "WHERE $__conditionalAll(conduit IN (${conduit}), $conduit) AND x";
  assert.equal(applyConditionalAll(sql, { conduit: ['a->b'] }), 'WHERE conduit IN (${conduit}) AND x');
  assert.equal(applyConditionalAll(sql, { conduit: { all: true, options: ['a->b'] } }), 'WHERE 1=1 AND x');
  assert.equal(applyConditionalAll(sql, { conduit: '' }), 'WHERE 1=1 AND x');
  assert.equal(applyConditionalAll('$__conditionalAll((a IN (${z}) OR f(b, c) IN (${z})), ${z})', { z: ['q'] }), '(a IN (${z}) OR f(b, c) IN (${z}))');
});

test('variables: one value as is, several quoted and joined, All as every option', () => {
  assert.equal(applyVariables("run_id = '${run}'", { run: 'run-1' }), "run_id = 'run-1'");
  assert.equal(applyVariables('c IN (${conduit})', { conduit: ['a->b', 'c->d'] }), "c IN ('a->b','c->d')");
  assert.equal(applyVariables('c IN ($conduit)', { conduit: { all: true, options: ['x', 'y'] } }), "c IN ('x','y')");
  assert.equal(applyVariables('$__timeFilter(t)', {}), '$__timeFilter(t)');
  assert.throws(() => applyVariables('${nope}', {}), /template variable "nope"/);
});

test('a whole panel query expands in the plugin order: conditionalAll, variables, then time macros', () => {
  const sql = "SELECT $__timeInterval(t) AS time FROM alerts WHERE run_id = '${run}' AND $__conditionalAll(conduit IN (${conduit}), $conduit) AND $__timeFilter(t)";
  assert.equal(expandQuery(sql, { from, to, intervalMs: 60_000, vars: { run: 'r', conduit: ['a->b'] } }),
    "SELECT toStartOfInterval(toDateTime(t), INTERVAL 60 second) AS time FROM alerts WHERE run_id = 'r' AND conduit IN ('a->b') AND t >= toDateTime(1424799320) AND t <= toDateTime(1424799990)");
});

test('the panel interval is the range over max data points, rounded like Grafana, never below the minimum', () => {
  assert.equal(roundInterval(670), 500);
  assert.equal(roundInterval(40_000), 30_000);
  assert.equal(panelIntervalMs(0, 6 * 3_600_000), 20_000); // 6 h / 1000 points = 21.6 s → 20 s
  assert.equal(panelIntervalMs(0, 7 * 86_400_000), 600_000); // a week → 10 min
  assert.equal(panelIntervalMs(from, to, 1_000, 10_000), 10_000);
});
