/**
 * The service launcher (infra/services/) against real processes: a Kafka broker from Maven Central jars
 * and Debian's redis-server. Under CI=true a service that cannot start fails the test; elsewhere the
 * test skips and says why. The wire decoders the launcher probes with are checked on inline bytes first.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:net';
import { test, type TestContext } from 'node:test';
import { parse } from 'yaml';
import { projectRoot } from '../../support/data.ts';
import { errorMessage } from '../../../core/errors.ts';
import { decodeApiVersionsResponse, encodeApiVersionsRequest, kafkajsCompatibility, requestApiVersions } from '../../../infra/services/kafka-protocol.ts';
import { startKafka, type KafkaService } from '../../../infra/services/kafka.ts';
import { startRedis, type RedisService } from '../../../infra/services/redis.ts';
import { parseReply, redisCommand, RespError } from '../../../infra/services/resp.ts';

/** Starts a service, or fails (CI) / skips (elsewhere) with the launcher's own message. */
const startOrSkip = async <S>(t: TestContext, what: string, start: () => Promise<S>): Promise<S | undefined> => {
  try {
    return await start();
  } catch (e) {
    const why = `${what} could not start: ${errorMessage(e)} (prefetch: node --import tsx infra/services/prefetch.ts)`;
    if (process.env.CI === 'true') throw new Error(`under CI: ${why}`, { cause: e });
    t.skip(why);
    return undefined;
  }
};

/** Whether a process with this pid exists (signal 0 only checks). */
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Resolves with the connect error code, or 'connected'. */
const tryConnect = (port: number): Promise<string> =>
  new Promise((done) => {
    const s = connect({ port, host: '127.0.0.1' });
    s.on('connect', () => {
      s.destroy();
      done('connected');
    });
    s.on('error', (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
  });

test('decodes an ApiVersions v0 response into per-API version ranges', () => {
  // correlation 7, error 0, 2 entries: Produce 3..13, ApiVersions 0..4
  const frame = Buffer.from('00000007' + '0000' + '00000002' + '0000' + '0003' + '000d' + '0012' + '0000' + '0004', 'hex');
  const r = decodeApiVersionsResponse(frame, 0);
  assert.deepEqual(r, { ok: true, value: { correlationId: 7, errorCode: 0, apis: new Map([[0, { min: 3, max: 13 }], [18, { min: 0, max: 4 }]]) } });
});

test('decodes an ApiVersions v3 response with compact arrays and skips entry tagged fields', () => {
  // correlation 1, error 0, compact count 2+1, Fetch 4..18 with one 2-byte tagged field, then throttle 0, no tags
  const frame = Buffer.from('00000001' + '0000' + '03' + '0001' + '0004' + '0012' + '01' + '05' + '02' + 'abcd' +
    '0012' + '0000' + '0004' + '00' + '00000000' + '00', 'hex');
  const r = decodeApiVersionsResponse(frame, 3);
  assert.ok(r.ok);
  assert.deepEqual([...r.value.apis], [[1, { min: 4, max: 18 }], [18, { min: 0, max: 4 }]]);
});

test('reports a truncated ApiVersions response as a violation instead of throwing', () => {
  const frame = Buffer.from('00000007' + '0000' + '00000002' + '0000' + '0003', 'hex');
  assert.deepEqual(decodeApiVersionsResponse(frame, 0), { ok: false, violation: 'kafka_short_frame', offset: 10 });
  assert.deepEqual(decodeApiVersionsResponse(Buffer.from('00000007' + '0000' + 'ffffffff', 'hex'), 0), { ok: false, violation: 'kafka_bad_count', offset: 10 });
});

test('frames an ApiVersions v3 request with header tagged fields and compact client strings', () => {
  const frame = encodeApiVersionsRequest(3, 9, 'x');
  // size, key 18, version 3, correlation 9, client_id "x", no header tags, "conduitwatch", "0", no body tags
  const expected = '0012' + '0003' + '00000009' + '0001' + '78' + '00' + '0d' + Buffer.from('conduitwatch').toString('hex') + '02' + '30' + '00';
  assert.equal(frame.toString('hex'), (expected.length / 2).toString(16).padStart(8, '0') + expected);
});

test('parses RESP replies, waits for incomplete ones and flags bytes that are not RESP', () => {
  assert.deepEqual(parseReply(Buffer.from('*2\r\n$16\r\nmaxmemory-policy\r\n$10\r\nnoeviction\r\n')), {
    value: ['maxmemory-policy', 'noeviction'], end: 44,
  });
  assert.equal(parseReply(Buffer.from('$10\r\nnoevic')), undefined);
  assert.deepEqual(parseReply(Buffer.from('-LOADING Redis is loading\r\n')), { value: new RespError('LOADING Redis is loading'), end: 27 });
  assert.equal(parseReply(Buffer.from('HTTP/1.1 400\r\n')), 'resp_bad_type');
});

test('topics.yaml declares the five DESIGN topics, state compacted with as many partitions as flows', () => {
  type Topic = { name: string; partitions: number; key: string; config: Record<string, string> };
  const doc = parse(readFileSync(join(projectRoot, 'infra', 'kafka', 'topics.yaml'), 'utf8')) as { topics: Topic[] };
  const byName = new Map(doc.topics.map((topic) => [topic.name, topic]));
  assert.deepEqual([...byName.keys()].sort(), [
    'conduitwatch.alerts.v1', 'conduitwatch.deadletter.v1', 'conduitwatch.flows.v1', 'conduitwatch.scores.v1', 'conduitwatch.state.v1',
  ]);
  const flows = byName.get('conduitwatch.flows.v1')!;
  const state = byName.get('conduitwatch.state.v1')!;
  assert.equal(flows.key, 'conduit');
  assert.equal(state.partitions, flows.partitions);
  assert.equal(state.config['cleanup.policy'], 'compact');
  for (const topic of doc.topics.filter((x) => x !== state)) assert.equal(topic.config['cleanup.policy'], 'delete', topic.name);
});

test('a Kafka broker started from Maven Central jars serves kafkajs-compatible versions and survives kill -9', { timeout: 240_000 }, async (t) => {
  const kafka = await startOrSkip<KafkaService>(t, 'Kafka', () => startKafka());
  if (!kafka) return;
  const pid = kafka.pid()!;
  try {
    t.diagnostic(`Kafka ${kafka.version} ready in ${kafka.lastStartMs} ms at ${kafka.bootstrap}`);

    await t.test('answers ApiVersions v0 and v3 with the same ranges', async () => {
      const v0 = await requestApiVersions(kafka.port, 0);
      const v3 = await requestApiVersions(kafka.port, 3);
      assert.equal(v0.errorCode, 0);
      assert.equal(v3.errorCode, 0);
      assert.deepEqual(v3.apis, v0.apis);
      assert.ok(v0.apis.get(18)!.max >= 3, 'ApiVersions v3 is advertised');
    });

    await t.test('advertises, for every API kafkajs 2.2.4 uses, a range containing the version it would send', async () => {
      const { apis } = await requestApiVersions(kafka.port, 0);
      const rows = kafkajsCompatibility(apis);
      const bad = rows.filter((r) => !r.ok).map((r) => `${r.name} kafkajs<=${r.kafkajsMax} broker ${JSON.stringify(r.broker)}`);
      assert.deepEqual(bad, []);
      const chosen = Object.fromEntries(rows.map((r) => [r.name, r.chosen]));
      assert.equal(chosen.Produce, 7);
      assert.equal(chosen.Fetch, 11);
      assert.equal(chosen.JoinGroup, 5);
      t.diagnostic(rows.map((r) => `${r.name} ${r.chosen} in ${r.broker!.min}..${r.broker!.max}`).join(', '));
    });

    await t.test('keeps the controller listener apart: it does not serve Produce (kafkajs#1651 pointed a client there)', async () => {
      const { apis } = await requestApiVersions(kafka.controllerPort, 0);
      assert.equal(apis.has(0), false);
      assert.equal(apis.has(18), true);
    });

    await t.test('answers again on the same port after kill -9 and restart', async () => {
      await kafka.kill9();
      assert.equal(alive(pid), false);
      assert.equal(await tryConnect(kafka.port), 'ECONNREFUSED');
      await kafka.restart();
      assert.notEqual(kafka.pid(), pid);
      assert.equal(kafka.bootstrap, `127.0.0.1:${kafka.port}`);
      assert.equal((await requestApiVersions(kafka.port, 0)).errorCode, 0);
      t.diagnostic(`restart after kill -9 ready in ${kafka.lastStartMs} ms`);
    });
  } finally {
    const last = kafka.pid();
    await kafka.stop();
    await t.test('stop leaves no broker process, no listener and no temp dir', async () => {
      assert.equal(alive(last!), false);
      assert.equal(await tryConnect(kafka.port), 'ECONNREFUSED');
      assert.equal(existsSync(kafka.dir), false);
    });
  }
});

test('a redis-server started for BullMQ answers PING, runs noeviction and stops cleanly', { timeout: 60_000 }, async (t) => {
  const redis = await startOrSkip<RedisService>(t, 'Redis', () => startRedis());
  if (!redis) return;
  const pid = redis.pid()!;
  try {
    assert.equal(redis.url, `redis://127.0.0.1:${redis.port}`);
    assert.equal(await redisCommand(redis.port, ['PING']), 'PONG');
    assert.deepEqual(await redisCommand(redis.port, ['CONFIG', 'GET', 'maxmemory-policy']), ['maxmemory-policy', 'noeviction']);
    assert.deepEqual(await redisCommand(redis.port, ['CONFIG', 'GET', 'appendonly']), ['appendonly', 'no']);
    assert.deepEqual(await redisCommand(redis.port, ['CONFIG', 'GET', 'save']), ['save', '']);
  } finally {
    await redis.stop();
  }
  assert.equal(alive(pid), false);
  assert.equal(await tryConnect(redis.port), 'ECONNREFUSED');
  assert.equal(existsSync(redis.dir), false);
});

test('a redis-server with AOF keeps an acknowledged write across kill -9 and restart on the same port', { timeout: 60_000 }, async (t) => {
  const redis = await startOrSkip<RedisService>(t, 'Redis', () => startRedis({ persistence: 'aof', appendfsync: 'always' }));
  if (!redis) return;
  try {
    assert.equal(await redisCommand(redis.port, ['SET', 'conduitwatch:probe', 'kept']), 'OK');
    await redis.kill9();
    assert.equal(await tryConnect(redis.port), 'ECONNREFUSED');
    await redis.restart();
    assert.equal(await redisCommand(redis.port, ['GET', 'conduitwatch:probe']), 'kept');
    assert.deepEqual(await redisCommand(redis.port, ['CONFIG', 'GET', 'appendfsync']), ['appendfsync', 'always']);
  } finally {
    await redis.stop();
  }
});
