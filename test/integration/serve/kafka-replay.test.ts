/**
 * Same answers both ways: a capture published to a real Kafka broker, scored by the detector role
 * and stored by the sink role (chDB), gives the same scores and alerts as one process (runReplay's
 * engine loop), with the flows spread over three partitions (three engines). Then a crash is simulated: the sink's store refuses inserts for a while, and the
 * rows still equal the expected set exactly.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { TOPICS, type Bus, type TopicName } from '../../../bus/bus.ts';
import { KafkaBus } from '../../../bus/kafka.ts';
import { fakeClock } from '../../../core/clock.ts';
import { loadSite, SiteMap } from '../../../core/config.ts';
import type { Alert, WindowScore } from '../../../core/records.ts';
import { isStoredWindow } from '../../../store/scored.ts';
import { Metrics, silentLogger } from '../../../core/telemetry.ts';
import { createEngine } from '../../../cli/registry.ts';
import { openInput } from '../../../cli/inputs.ts';
import { runReplay } from '../../../cli/replay.ts';
import { startRoles } from '../../../cli/serve/index.ts';
import { DETECTOR_GROUP } from '../../../cli/serve/detector.ts';
import { SINK_GROUP } from '../../../cli/serve/sink.ts';
import type { Store } from '../../../store/store.ts';
import type { KafkaService } from '../../../infra/services/index.ts';
import { projectRoot, sharedData } from '../../support/data.ts';
import { startKafkaAndStore, stopKafkaAndStore } from './helpers.ts';

let kafka: KafkaService;
let dir: string;
let store: Store;
before(async () => { ({ kafka, store, dir } = await startKafkaAndStore('cw-serve-')); });
after(() => stopKafkaAndStore({ kafka, store, dir }));

// Three flows partitions, so the lemay conduits spread over several engines: equality with one
// process needs the collector's watermark markers (cli/serve/collector.ts) and
// DetectionEngine.advance; without them a partition whose conduits went quiet scores fewer
// trailing windows.
const SMALL = { [TOPICS.flows]: 3, [TOPICS.state]: 3, [TOPICS.scores]: 3, [TOPICS.alerts]: 1, [TOPICS.deadletter]: 1 };

/** Polls (event-driven checks on the bus, not timing assertions) until `group` committed every message of `topic`. */
const drained = async (bus: Bus, group: string, topic: TopicName, limitMs = 60_000): Promise<void> => {
  const t0 = Date.now();
  for (;;) {
    const [end, done] = await Promise.all([bus.endOffsets(topic), bus.committed(group, topic)]);
    if ([...end].every(([p, e]) => e === '0' || done.get(p) === e)) return;
    if (Date.now() - t0 > limitMs) throw new Error(`${group} did not drain ${topic}: end ${JSON.stringify([...end])} committed ${JSON.stringify([...done])}`);
    await new Promise((r) => setTimeout(r, 200));
  }
};

const scoreKey = (s: Pick<WindowScore, 'conduit' | 'edge' | 'windowStart' | 'detector' | 'score' | 'learning'>) =>
  `${s.conduit}|${s.edge}|${s.windowStart}|${s.detector}|${s.score}|${s.learning}`;

test('a capture through Kafka (collector, detector, sink roles) stores the scores and alerts of one process, once each', async (t) => {
  const pcap = sharedData(t, 'lemay/CnC_uploading_exe_modbus_6RTU_with_operate.pcap');
  if (!pcap) return;
  const site = loadSite(join(projectRoot, 'examples/lemay/site.yaml'));
  const siteMap = new SiteMap(site);
  // Reference: the engine loop of runReplay, in one process.
  const engine = await createEngine(siteMap);
  const refScores: WindowScore[] = [];
  const refAlerts: Alert[] = [];
  for await (const b of openInput(pcap, { sliceMs: site.detection.window }).flows) {
    const o = engine.ingest(b);
    refScores.push(...o.scores);
    refAlerts.push(...o.alerts);
  }
  const fin = engine.flush();
  refScores.push(...fin.scores);
  refAlerts.push(...fin.alerts);
  const replay = await runReplay({ inputs: [pcap], site, clock: fakeClock('2025-01-01T00:00:00Z') });
  assert.equal(replay.rawAlerts, refAlerts.length, 'the reference loop matches runReplay');

  const prefix = `t${randomUUID().slice(0, 8)}.`;
  const bus = await KafkaBus.connect({ brokers: [kafka.bootstrap], prefix, partitions: SMALL, clientId: prefix });
  const runId = `serve-${prefix}`;
  // The store refuses its first inserts (an outage), then recovers: the sink must retry, not drop or duplicate.
  let refusals = 5;
  const flaky: Store = {
    dir: store.dir, query: (s) => store.query(s), text: (s, f) => store.text(s, f), exec: (s) => store.exec(s), close: async () => {},
    insertRows: async (table, rows, opts) => {
      if (table !== 'sink_batches' && refusals-- > 0) throw new Error('store unavailable (injected)');
      return store.insertRows(table, rows, opts);
    },
  };
  const metrics = new Metrics();
  const serving = await startRoles({
    roles: ['collector', 'detector', 'sink'], siteMap, bus, runId, clock: fakeClock('2025-01-01T00:00:00Z'), log: silentLogger(), metrics,
    store: flaky, inputs: [pcap],
  });
  try {
    const published = await serving.published!;
    assert.equal(published, replay.flows);
    await drained(bus, DETECTOR_GROUP, TOPICS.flows);
    // No flushAll: the collector's end-of-input marker closed every window.
    await drained(bus, SINK_GROUP, TOPICS.flows);
    await drained(bus, SINK_GROUP, TOPICS.scores);
    await drained(bus, SINK_GROUP, TOPICS.alerts);
    assert.ok(refusals < 0, 'the outage happened');

    const flows = await store.query<{ n: number }>(`SELECT count() AS n FROM flows WHERE run_id = '${runId}'`);
    assert.equal(Number(flows[0]!.n), replay.flows, 'every flow stored exactly once');
    const rows = await store.query<{ conduit: string; edge: string; ws: number; detector: string; score: number; learning: number }>(
      `SELECT conduit, edge, toUnixTimestamp64Milli(window_start) AS ws, detector, score, learning FROM windows FINAL WHERE run_id = '${runId}'`);
    const got = rows.map((r) => scoreKey({ conduit: r.conduit, edge: r.edge, windowStart: Number(r.ws), detector: r.detector, score: r.score, learning: r.learning === 1 })).sort();
    const want = refScores.filter((s) => isStoredWindow(s, site.detection.alertThreshold, site.detection.scoreFloor)).map(scoreKey).sort();
    if (process.env.DEBUG_DIFF) {
      const g = new Set(got); const w = new Set(want);
      console.log('missing', want.filter((k) => !g.has(k)).slice(0, 20), 'extra', got.filter((k) => !w.has(k)).slice(0, 20));
    }
    assert.equal(got.length, want.length);
    assert.deepEqual(got, want);
    const alerts = await store.query<{ id: string }>(`SELECT id FROM alerts FINAL WHERE run_id = '${runId}' ORDER BY id`);
    assert.deepEqual(alerts.map((a) => a.id), refAlerts.map((a) => a.id).sort());
    const states = new Set((await bus.readLatest(TOPICS.state, [0, 1, 2])).keys());
    assert.deepEqual([...states].sort(), ['flows/0', 'flows/1', 'flows/2'], 'every partition (even one without flows) has an engine checkpoint');
  } finally {
    await serving.stop();
    await bus.close();
  }
});
