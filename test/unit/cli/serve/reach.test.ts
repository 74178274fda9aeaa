/** Reaching Kafka at serve's start: one error line, backoff, a bounded wait (logic on a fake clock). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fakeClock } from '../../../../core/clock.ts';
import { hasCode } from '../../../../core/errors.ts';
import { Metrics } from '../../../../core/telemetry.ts';
import { reach, ReachConfig } from '../../../../cli/serve/reach.ts';
import { summaryText } from '../../../../cli/serve/summary.ts';

const recorder = () => {
  const lines: { level: string; fields: Record<string, unknown>; msg: string }[] = [];
  const at = (level: string) => (fields: Record<string, unknown>, msg: string) => { lines.push({ level, fields, msg }); };
  return { lines, log: { info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug') } as never };
};

const target = (answers: (string | undefined)[]) => {
  let tries = 0;
  return {
    get tries() { return tries; },
    service: 'Kafka', address: '10.0.0.5:9092', fix: 'Start the broker.',
    probe: async () => answers[Math.min(tries++, answers.length - 1)],
  };
};

test('a broker that never answers: one error line with the address and the fix, backoff 1 s doubling to the cap, then not_connected at the bound', async () => {
  const clock = fakeClock(0);
  const waits: number[] = [];
  const { lines, log } = recorder();
  const metrics = new Metrics();
  const t = target(['connect ECONNREFUSED 10.0.0.5:9092']);
  await assert.rejects(
    reach(t, { config: ReachConfig.parse({ connectTimeout: '30s', maxBackoff: '8s' }), clock, log, metrics, sleep: async (ms) => { waits.push(ms); clock.advance(ms); } }),
    (e: unknown) => hasCode(e, 'not_connected') && /gave up on Kafka at 10\.0\.0\.5:9092 after 30s \(7 tries; --connect-timeout 30s\): connect ECONNREFUSED.*Start the broker\./.test((e as Error).message),
  );
  assert.deepEqual(waits, [1000, 2000, 4000, 8000, 8000, 7000], "tries at 0, 1, 3, 7, 15, 23 and 30 s: the last wait ends at the bound");
  assert.equal(lines.length, 1);
  assert.equal(lines[0]!.level, 'error');
  assert.match(lines[0]!.msg, /^Cannot reach Kafka at 10\.0\.0\.5:9092: connect ECONNREFUSED 10\.0\.0\.5:9092\. Start the broker\. Trying again with backoff for up to 30s \(--connect-timeout\)\.$/);
  assert.equal(metrics.get('conduitwatch_service_connect_failures_total', { service: 'kafka' }), t.tries);
});

test('a broker that answers on the third try: the error line, then one line saying it was reached, and no error', async () => {
  const clock = fakeClock(0);
  const { lines, log } = recorder();
  const t = target(['refused', 'refused', undefined]);
  await reach(t, { config: ReachConfig.parse({}), clock, log, metrics: new Metrics(), sleep: async (ms) => { clock.advance(ms); } });
  assert.equal(t.tries, 3);
  assert.deepEqual(lines.map((l) => l.level), ['error', 'info']);
  assert.match(lines[1]!.msg, /^Reached Kafka at 10\.0\.0\.5:9092 after 3s\.$/);
});

test('a broker that answers at once: nothing said', async () => {
  const { lines, log } = recorder();
  await reach(target([undefined]), { config: ReachConfig.parse({}), clock: fakeClock(0), log, metrics: new Metrics(), sleep: async () => assert.fail('no wait') });
  assert.deepEqual(lines, []);
});

test('the default bound is two minutes, and a bound that is not a duration is refused', () => {
  assert.equal(ReachConfig.parse({}).connectTimeout, 120_000);
  assert.equal(ReachConfig.safeParse({ connectTimeout: 'soon' }).success, false);
});

test('the stop summary names what each role in the process did', () => {
  const text = summaryText({
    uptimeMs: 72_400,
    collector: { published: 1249, spooled: 100, spoolDropped: 0 },
    detector: { flows: 1249, scores: 361, alerts: 6, incidentUpdates: 5, deadLetters: 0 },
    sink: { flows: 1249, windows: 361, alerts: 6, incidents: 5, unwritten: 0 },
  });
  assert.equal(text, 'Stopped after 1m12s: collector published 1,249 flows (100 through the spool); detector scored 1,249 flows: 361 scores, 6 alerts, 5 incident updates; ' +
    'sink wrote 1,249 flows, 361 windows, 6 alerts, 5 incident versions.');
});
