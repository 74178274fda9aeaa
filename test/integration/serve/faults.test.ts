/**
 * Faults against the real broker (infra/services, Kafka 4.1.1) with the real roles and chDB. Each
 * test replays a lemay capture through collector → flows (3 partitions) → detector → sink and
 * requires the stored answers to equal one process's exactly: every flow once (by a stable key),
 * windows FINAL and alerts FINAL equal. Event time only; waits poll committed offsets with bounds.
 *
 * - kill -9 of the broker while the collector publishes and the detector and sink consume, landed
 *   through the sink's `afterInsert` seam between a flows insert and its offset commit, the sink
 *   crashing there too; the broker restarts on the same ports and a new sink must get the batch
 *   again, re-cut it from the intent log and have ClickHouse skip it by its dedup token;
 * - kill -9 of a detector worker (a child process) hung inside a checkpoint, scores of its batch
 *   already published; a second worker of the group takes its partitions over from the state topic;
 * - a store that refuses inserts for a while: the sink holds at most one batch per partition;
 * - kill -9 of the broker during a produce burst from a collector with a spool: the publishes the
 *   broker did not confirm are spooled and published again, the bus also lands the originals, so the
 *   topic holds flows twice; the detector skips the repeated messages and the sink stores each flow
 *   once (flows dedup on their ids);
 * - traffic stamped years ago (the capture's event time, a fake clock at 2025-01-01) left unread
 *   across the broker's retention check: nothing is deleted, because retention counts from arrival.
 *
 * The broker runs its retention check every second (and from its start, not 30 s later), so any
 * test whose messages carry an old timestamp loses them within a second: these tests do not depend
 * on the broker's clock agreeing with the data's.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { TOPICS } from '../../../bus/bus.ts';
import { KafkaBus } from '../../../bus/kafka.ts';
import { fakeClock } from '../../../core/clock.ts';
import { createLogger, Metrics, silentLogger } from '../../../core/telemetry.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { Spool } from '../../../bus/spool.ts';
import { FlowPublisher } from '../../../cli/serve/collector.ts';
import { DetectorRole } from '../../../cli/serve/detector.ts';
import { SinkRole, type AfterInsert } from '../../../cli/serve/sink.ts';
import { rowCount } from '../../../store/native.ts';
import type { Store } from '../../../store/store.ts';
import type { KafkaService } from '../../../infra/services/index.ts';
import { projectRoot, sharedData } from '../../support/data.ts';
import { batchesOf, drained, lemaySite, reference, SMALL, startKafkaAndStore, stopKafkaAndStore, stored, waitFor } from './helpers.ts';

const PCAP = 'lemay/CnC_uploading_exe_modbus_6RTU_with_operate.pcap';
const LIMIT = { timeout: 120_000 };

let kafka: KafkaService;
let dir: string;
let store: Store;
/** The broker's retention check every second, the first one a second after start (Kafka's default: 30 s, then every 5 min). */
const RETENTION_EVERY_SECOND = { 'log.retention.check.interval.ms': 1000, 'log.initial.task.delay.ms': 1000 };
before(async () => { ({ kafka, store, dir } = await startKafkaAndStore('cw-faults-', RETENTION_EVERY_SECOND)); });
after(() => stopKafkaAndStore({ kafka, store, dir }));

/** A fresh topic prefix, groups and run id: tests share the broker and the store, nothing else. */
const fresh = () => {
  const id = randomUUID().slice(0, 8);
  return { prefix: `f${id}.`, detectorGroup: `detector-${id}`, sinkGroup: `sink-${id}`, runId: `faults-${id}` };
};

const roleDeps = () => ({ clock: fakeClock('2025-01-01T00:00:00Z'), log: process.env.DEBUG_FAULTS ? createLogger('debug') : silentLogger(), metrics: new Metrics() });

/** What each fault test starts from: the capture in batches, the one-process answers, fresh names, a bus. */
const setUp = async (t: TestContext) => {
  const pcap = sharedData(t, PCAP);
  if (!pcap) return undefined;
  const { site, siteMap } = lemaySite();
  const batches = await batchesOf(pcap, site);
  const want = await reference(batches, siteMap);
  const ids = fresh();
  const deps = roleDeps();
  const bus = await KafkaBus.connect({ brokers: [kafka.bootstrap], prefix: ids.prefix, partitions: SMALL, clientId: ids.prefix, log: deps.log });
  return { siteMap, batches, want, ids, deps, bus };
};

/** A flows insert the sink made, and which sink instance made it. */
type Sighting = AfterInsert & { by: string };

/** The sink's flows inserts, and the crash the test injects right after one of them. */
interface CrashRecorder {
  /** The `afterInsert` seam of the sink instance called `by`. */
  hook(by: string): (info: AfterInsert) => Promise<void>;
  /** Every flows insert that carried rows, in order (a redelivered range appears again). */
  seen: Sighting[];
  /** The insert whose offset commit the crash cut off, once it happened. */
  killed(): Sighting | undefined;
  /** Once the crash happened: resolves when the broker is back and the replacement sink started. */
  recovered(): Promise<void> | undefined;
}

/**
 * Right after the sink's `killOn`-th flows insert resolved and before its offsets are committed:
 * kill -9 the broker, and crash the sink there too (its handler throws, so no commit is attempted,
 * and `die` stops that instance at once). Both die together, as when the host loses power. Then,
 * whatever else the test is doing: restart the broker, wait for the crashed sink to be gone, and
 * `replace` it.
 *
 * Why the sink too: killing only the broker never redelivers the batch. kafkajs resolves the
 * offsets before the commit and keeps its fetch position; the commit waits for a coordinator
 * (retrying until the broker is back) and then lands. Only a consumer that restarts, or loses the
 * partition in a rebalance, fetches from the committed offset again.
 */
const crashAfterInsert = (killOn: number, die: () => Promise<void>, replace: () => Promise<void>): CrashRecorder => {
  const seen: Sighting[] = [];
  let killed: Sighting | undefined;
  let recovered: Promise<void> | undefined;
  return {
    seen,
    killed: () => killed,
    recovered: () => recovered,
    hook: (by) => async (info) => {
      if (info.topic !== TOPICS.flows || info.rows === 0) return;
      const s = { ...info, by };
      seen.push(s);
      if (killed || seen.length < killOn) return;
      killed = s;
      await kafka.kill9();
      // Stopping marks the consumer not running at once; it completes after this batch failed.
      const down = die();
      recovered = (async () => {
        await kafka.restart();
        await down;
        await replace();
      })();
      // Awaited by the test; this only keeps an early failure from being reported as unhandled.
      recovered.catch(() => {});
      throw new Error(`sink crashed after inserting flows ${info.partition}:${info.first}-${info.last} (injected)`);
    },
  };
};

const sameRange = (a: AfterInsert, b: AfterInsert): boolean => a.partition === b.partition && a.first === b.first && a.last === b.last;

test('kill -9 of the broker and a sink crash between a flows insert and its offset commit: a new sink gets the batch again, re-cuts it from the intent log, and ClickHouse skips it; flows, windows and alerts equal one process', LIMIT, async (t) => {
  const env = await setUp(t);
  if (!env) return;
  const { siteMap, batches, want, ids, deps, bus } = env;
  let second: SinkRole | undefined;
  const crash = crashAfterInsert(3, () => first.stop(), async () => {
    // A new instance: nothing in memory, the logged range comes from the store.
    second = sinkOf('second');
    await second.start();
  });
  const sinkOf = (by: string) => new SinkRole({ bus, store, siteMap, runId: ids.runId, groupId: ids.sinkGroup, ...deps, maxBackoffMs: 1000, afterInsert: crash.hook(by) });
  const first = sinkOf('first');
  const detector = new DetectorRole({ bus, siteMap, runId: ids.runId, groupId: ids.detectorGroup, log: deps.log, metrics: deps.metrics });
  await first.start();
  await detector.start();
  try {
    const pub = new FlowPublisher(bus, siteMap, deps.clock);
    // Mid-stream: the crash lands early, the rest is published across the outage (publishes retry
    // until the broker is back; the producer is idempotent).
    // One publish at a time, each waited for until the sink inserted it, so the crash (at the 3rd
    // flows insert) lands early in the stream whatever the machine's load: a loaded sink that
    // fetched many publishes in one batch made fewer inserts than publishes and never crashed.
    let holdAt = 0;
    while (!crash.killed() && holdAt < Math.floor(batches.length / 2)) {
      const before = crash.seen.length;
      await pub.publish(batches[holdAt++]!);
      await waitFor(() => `the sink made no flows insert after publish ${holdAt} (${crash.seen.length} so far)`,
        () => crash.killed() !== undefined || crash.seen.length > before);
    }
    assert.ok(crash.killed(), `the crash landed within the first half of the stream (${crash.seen.length} flows inserts)`);
    const publishRest = async (): Promise<void> => {
      for (const b of batches.slice(holdAt)) await pub.publish(b);
      await pub.end();
    };
    await Promise.all([crash.recovered(), publishRest()]);
    await drained(bus, ids.detectorGroup, TOPICS.flows, 90_000);
    for (const topic of [TOPICS.flows, TOPICS.scores, TOPICS.alerts]) await drained(bus, ids.sinkGroup, topic, 90_000);
    const got = await stored(store, ids.runId);
    const sightings = crash.seen.map((s) => `${s.by} ${s.partition}:${s.first}-${s.last}${s.replayed ? ' (replayed)' : ''}`).join(', ');
    const twice = got.flows.filter((k, i) => i > 0 && got.flows[i - 1] === k);
    assert.equal(got.flows.length, want.flows.length, `no flow lost or duplicated; flows inserts: ${sightings}; stored twice: ${twice.join(' ')}`);
    // The killed batch was never committed, so the second sink fetched from its first offset and
    // re-cut the redelivery to the logged range: the same range (= token) was inserted twice.
    const killed = crash.killed()!;
    const again = crash.seen.filter((s) => sameRange(s, killed)).map((s) => `${s.by}${s.replayed ? ' replayed' : ''}`);
    assert.deepEqual(again, ['first', 'second replayed'], `flows ${killed.partition}:${killed.first}-${killed.last} inserted, crashed, redelivered and inserted again; flows inserts: ${sightings}`);
    assert.deepEqual(got.flows, want.flows);
    assert.deepEqual(got.scores, want.storedScores);
    assert.deepEqual(got.alerts, want.alerts);
  } finally {
    await crash.recovered()?.catch(() => {});
    await detector.stop();
    await first.stop();
    await second?.stop();
    await bus.close();
  }
});

/** Starts the child worker; resolves with it once it printed READY. */
const startWorker = async (args: string[]): Promise<{ child: ChildProcess; hung: Promise<string> }> => {
  const child = spawn(process.execPath, ['--import', 'tsx', join(projectRoot, 'test/integration/serve/detector-worker.ts'), ...args], {
    cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const lines = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('READY\n')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`worker exited with ${code} before READY: ${err.slice(-2000)}`)));
  });
  await lines;
  const hung = new Promise<string>((resolve, reject) => {
    const check = () => { const m = /HUNG (\d+ \d+)/.exec(out); if (m) resolve(m[1]!); };
    child.stdout!.on('data', check);
    check();
    child.once('exit', (code) => reject(new Error(`worker exited with ${code} before it hung: ${err.slice(-2000)}`)));
  });
  return { child, hung };
};

test('kill -9 of a detector worker mid-batch: a second worker restores its partitions from the state topic and the answers equal one process', LIMIT, async (t) => {
  const env = await setUp(t);
  if (!env) return;
  const { siteMap, batches, want, ids, deps, bus } = env;
  const sink = new SinkRole({ bus, store, siteMap, runId: ids.runId, groupId: ids.sinkGroup, ...deps });
  await sink.start();
  // Worker A alone owns every flows partition; it hangs in its 40th checkpoint (of about 3 × batches).
  const a = await startWorker([kafka.bootstrap, ids.prefix, ids.detectorGroup, '40']);
  let b: DetectorRole | undefined;
  try {
    const pub = new FlowPublisher(bus, siteMap, deps.clock);
    for (const batch of batches) await pub.publish(batch);
    await pub.end();
    const [partition, nextOffset] = (await a.hung).split(' ').map(Number);
    const committed = await bus.committed(ids.detectorGroup, TOPICS.flows);
    assert.ok(nextOffset! > 0 && BigInt(committed.get(partition!) ?? '0') < BigInt(nextOffset!), 'A hung mid-stream, its batch not committed');
    const end = await bus.endOffsets(TOPICS.flows);
    assert.ok([...end].some(([p, e]) => (committed.get(p) ?? '0') !== e), 'flows were left for the second worker');
    a.child.kill('SIGKILL');
    // B joins the same group; A's partitions move to it once A's session expires.
    b = new DetectorRole({ bus, siteMap, runId: ids.runId, groupId: ids.detectorGroup, log: deps.log, metrics: deps.metrics });
    await b.start();
    await drained(bus, ids.detectorGroup, TOPICS.flows, 90_000);
    assert.deepEqual(b.partitions(), [0, 1, 2], 'B took every partition');
    assert.ok(deps.metrics.get('conduitwatch_detector_state_restores_total', { partition: String(partition) }) >= 1, 'B restored the hung partition from the state topic');
    for (const topic of [TOPICS.flows, TOPICS.scores, TOPICS.alerts]) await drained(bus, ids.sinkGroup, topic, 90_000);
    const got = await stored(store, ids.runId);
    assert.deepEqual(got.flows, want.flows);
    assert.deepEqual(got.scores, want.storedScores);
    assert.deepEqual(got.alerts, want.alerts);
  } finally {
    a.child.kill('SIGKILL');
    await b?.stop();
    await sink.stop();
    await bus.close();
  }
});

test('a store that refuses inserts for a while: the sink holds one batch per partition, retries it with the same token, and loses nothing', LIMIT, async (t) => {
  const env = await setUp(t);
  if (!env) return;
  const { siteMap, batches, want, ids, deps, bus } = env;
  // The outage: the first 40 data inserts fail. Per topic/partition, the token (= offset range) in
  // flight must not change until its insert lands: the sink fetched nothing more for it meanwhile.
  let refusals = 40;
  const inFlight = new Map<string, { token: string; rows: number }>();
  let maxHeldBatches = 0;
  let maxHeldRows = 0;
  let writtenRows = 0;
  const violations: string[] = [];
  const flaky: Store = {
    dir: store.dir, query: (s) => store.query(s), text: (s, f) => store.text(s, f), exec: (s) => store.exec(s), close: async () => {},
    insertRows: async (table, rows, opts) => {
      if (table === 'sink_batches') return store.insertRows(table, rows, opts);
      const token = opts?.dedupToken ?? '';
      const tp = token.split(':').slice(1, 3).join(':');
      const held = inFlight.get(tp);
      if (held && held.token !== token) violations.push(`${tp}: ${token} attempted while ${held.token} had not landed`);
      inFlight.set(tp, { token, rows: rowCount(rows) });
      maxHeldBatches = Math.max(maxHeldBatches, inFlight.size);
      maxHeldRows = Math.max(maxHeldRows, [...inFlight.values()].reduce((n, h) => n + h.rows, 0));
      if (refusals-- > 0) throw new Error('store unavailable (injected)');
      const receipt = await store.insertRows(table, rows, opts);
      inFlight.delete(tp);
      writtenRows += rowCount(rows);
      return receipt;
    },
  };
  const sink = new SinkRole({ bus, store: flaky, siteMap, runId: ids.runId, groupId: ids.sinkGroup, ...deps, maxBackoffMs: 200 });
  const detector = new DetectorRole({ bus, siteMap, runId: ids.runId, groupId: ids.detectorGroup, log: deps.log, metrics: deps.metrics });
  await sink.start();
  await detector.start();
  try {
    const pub = new FlowPublisher(bus, siteMap, deps.clock);
    for (const b of batches) await pub.publish(b);
    await pub.end();
    await drained(bus, ids.detectorGroup, TOPICS.flows, 90_000);
    for (const topic of [TOPICS.flows, TOPICS.scores, TOPICS.alerts]) await drained(bus, ids.sinkGroup, topic, 90_000);
    assert.ok(refusals < 0, 'the outage happened');
    assert.deepEqual(violations, []);
    // 3 flows + 3 scores + 1 alerts partitions: at most one batch each while the store was down.
    assert.ok(maxHeldBatches <= 7, `held ${maxHeldBatches} batches`);
    // Held rows are the refused inserts of those batches: never more than the run wrote in all
    // (flows, windows, series, conduits, assets, alerts and incidents rows).
    assert.ok(maxHeldRows <= writtenRows, `held ${maxHeldRows} rows of ${writtenRows} written`);
    assert.equal(deps.metrics.get('conduitwatch_component_errors_total', { error_code: 'write_rejected' }), 40, 'every refusal was counted and retried');
    const got = await stored(store, ids.runId);
    assert.deepEqual(got.flows, want.flows);
    assert.deepEqual(got.scores, want.storedScores);
    assert.deepEqual(got.alerts, want.alerts);
  } finally {
    await detector.stop();
    await sink.stop();
    await bus.close();
  }
});

/**
 * Resolves after `passes` complete runs of the broker's retention check that began after the call:
 * each pass publishes a marker to a control topic whose retention is 1 ms, and waits until the
 * broker deleted it (the check deletes every segment, the active one included, whose newest
 * timestamp is older than the topic's retention). Evidence of the check, not a sleep.
 */
const retentionPasses = async (passes: number): Promise<void> => {
  const control = await KafkaBus.connect({
    brokers: [kafka.bootstrap], prefix: `ctl${randomUUID().slice(0, 8)}.`, partitions: SMALL,
    topicConfig: { [TOPICS.deadletter]: { 'retention.ms': '1', 'segment.ms': '1000' } },
  });
  try {
    for (let i = 0; i < passes; i++) {
      await control.publish(TOPICS.deadletter, [{ key: 'retention-check', value: Buffer.from(String(i)), partition: 0 }]);
      const end = (await control.endOffsets(TOPICS.deadletter)).get(0)!;
      await waitFor(() => `the broker's retention check did not delete control marker ${i}`,
        async () => (await control.startOffsets(TOPICS.deadletter)).get(0) === end, 30_000);
    }
  } finally {
    await control.close();
  }
};

test('traffic stamped years ago, left unread across the broker\'s retention checks, is stored whole: retention counts from arrival, not event time', LIMIT, async (t) => {
  const env = await setUp(t);
  if (!env) return;
  const { siteMap, batches, want, ids, deps, bus } = env;
  // The capture's flows start years ago and the collector's clock says 2025-01-01: all of it is far
  // older than the topics' retention.ms (7 d for flows and scores) by event time.
  assert.ok(Date.now() - Math.max(...batches.flat().map((f) => f.tsStart)) > 365 * 86_400_000, 'the capture is more than a year old');
  const detector = new DetectorRole({ bus, siteMap, runId: ids.runId, groupId: ids.detectorGroup, log: deps.log, metrics: deps.metrics });
  let sink: SinkRole | undefined;
  try {
    const pub = new FlowPublisher(bus, siteMap, deps.clock);
    for (const b of batches) await pub.publish(b);
    await pub.end();
    // Flows wait unread across two retention checks, then the detector scores them; its scores and
    // alerts wait unread across two more before the sink starts.
    await retentionPasses(2);
    await detector.start();
    await drained(bus, ids.detectorGroup, TOPICS.flows, 90_000);
    await retentionPasses(2);
    sink = new SinkRole({ bus, store, siteMap, runId: ids.runId, groupId: ids.sinkGroup, ...deps });
    await sink.start();
    for (const topic of [TOPICS.flows, TOPICS.scores, TOPICS.alerts]) await drained(bus, ids.sinkGroup, topic, 90_000);
    const got = await stored(store, ids.runId);
    assert.ok(want.flows.length > 0 && want.scores.length > 0 && want.alerts.length > 0, 'the capture gives flows, scores and alerts');
    assert.equal(got.flows.length, want.flows.length, 'every flow stored');
    assert.deepEqual(got.flows, want.flows);
    assert.deepEqual(got.scores, want.scores);
    assert.deepEqual(got.alerts, want.alerts);
    // observed_at is the collector's receive time (its injected clock), not the Kafka timestamp.
    const observed = await store.query<{ t: string }>(`SELECT DISTINCT toString(toUnixTimestamp64Milli(observed_at)) AS t FROM flows WHERE run_id = '${ids.runId}'`);
    assert.deepEqual(observed.map((r) => Number(r.t)), [deps.clock.now()]);
  } finally {
    await detector.stop();
    await sink?.stop();
    await bus.close();
  }
});

test('kill -9 of the broker during a produce burst: unconfirmed publishes are spooled and published again, the topic holds some flows twice, and the detector and sink count each once; flows, windows and alerts equal one process', LIMIT, async (t) => {
  const env = await setUp(t);
  if (!env) return;
  const { siteMap, batches, want, ids, deps, bus } = env;
  const spoolDir = await mkdtemp(join(tmpdir(), 'cw-burst-'));
  // The publisher's own bus: its publishes keep retrying inside kafkajs while the broker is down (the
  // default), so a publish the spool took over after 1 s still lands once the broker is back.
  const producer = await KafkaBus.connect({ brokers: [kafka.bootstrap], prefix: ids.prefix, partitions: SMALL, clientId: `${ids.prefix}burst`, log: deps.log });
  const spool = await Spool.open({ dir: spoolDir, maxBytes: 64 << 20, maxAgeMs: 86_400_000, clock: deps.clock, metrics: deps.metrics });
  const sinkMetrics = new Metrics();
  const sink = new SinkRole({ bus, store, siteMap, runId: ids.runId, groupId: ids.sinkGroup, ...deps, metrics: sinkMetrics, maxBackoffMs: 1000 });
  const detector = new DetectorRole({ bus, siteMap, runId: ids.runId, groupId: ids.detectorGroup, log: deps.log, metrics: deps.metrics });
  await sink.start();
  await detector.start();
  try {
    const pub = new FlowPublisher(producer, siteMap, deps.clock, deps.metrics, { spool, publishTimeoutMs: 1000, retryMs: { min: 100, max: 1000 } });
    const killAt = Math.floor(batches.length / 3);
    let restarted: Promise<void> | undefined;
    for (const [i, b] of batches.entries()) {
      // The burst: publishes back to back; the broker dies under the one after killAt.
      if (i === killAt) restarted = kafka.kill9().then(() => kafka.restart());
      await pub.publish(b);
    }
    await pub.end();
    await restarted;
    await waitFor(() => `the spool still holds ${spool.records} flows`, () => spool.entries === 0, 90_000);
    assert.equal(await pub.close(1000), 0);
    assert.ok(deps.metrics.get('conduitwatch_spool_appended_records_total') > 0, 'the burst spooled publishes the broker did not confirm');
    await drained(bus, ids.detectorGroup, TOPICS.flows, 90_000);
    for (const topic of [TOPICS.flows, TOPICS.scores, TOPICS.alerts]) await drained(bus, ids.sinkGroup, topic, 90_000);
    const inserted = sinkMetrics.get('conduitwatch_component_sent_records_total', { component_id: 'flows' });
    const repeated = deps.metrics.get('conduitwatch_detector_repeated_messages_total');
    t.diagnostic(`${want.flows.length} flows published in ${batches.length} publishes; ${deps.metrics.get('conduitwatch_spool_appended_records_total')} spooled; the sink inserted ${inserted} flow rows; the detector skipped ${repeated} repeated messages`);
    assert.ok(inserted > want.flows.length, `a producer-side double reached the sink (${inserted} flow rows inserted for ${want.flows.length} flows)`);
    assert.ok(repeated > 0, 'the detector saw repeated messages and skipped them');
    const got = await stored(store, ids.runId);
    assert.equal(got.flows.length, want.flows.length, 'each flow stored once');
    assert.deepEqual(got.flows, want.flows);
    assert.deepEqual(got.scores, want.scores);
    assert.deepEqual(got.alerts, want.alerts);
  } finally {
    await detector.stop();
    await sink.stop();
    await producer.close();
    await bus.close();
    await rm(spoolDir, { recursive: true, force: true });
  }
});
