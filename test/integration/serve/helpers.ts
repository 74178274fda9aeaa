/**
 * Shared by the serve integration tests: the one-process reference for a capture, bounded waits on
 * the bus (polling committed offsets, never sleeps as assertions), and the stored answers read back
 * in a comparable form.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TOPICS, type Bus, type TopicName } from '../../../bus/bus.ts';
import { loadSite, SiteMap, type Site } from '../../../core/config.ts';
import type { Alert, EdgeSeries, FlowRecord, WindowScore } from '../../../core/records.ts';
import { isStoredWindow } from '../../../store/scored.ts';
import { createEngine } from '../../../cli/registry.ts';
import { openInput } from '../../../cli/inputs.ts';
import { startKafka, type KafkaService } from '../../../infra/services/index.ts';
import { openChdb } from '../../../store/chdb.ts';
import { migrate } from '../../../store/migrate.ts';
import type { Store } from '../../../store/store.ts';
import { projectRoot } from '../../support/data.ts';

/** Small partition counts; three flows partitions spread the lemay conduits over several engines. */
export const SMALL = { [TOPICS.flows]: 3, [TOPICS.state]: 3, [TOPICS.scores]: 3, [TOPICS.alerts]: 1, [TOPICS.deadletter]: 1 };

export const lemaySite = (): { site: Site; siteMap: SiteMap } => {
  const site = loadSite(join(projectRoot, 'examples/lemay/site.yaml'));
  return { site, siteMap: new SiteMap(site) };
};

/**
 * Flows of a capture in the order the collector reads them, cut into batches of `size` (the reader's
 * own batches are large: a lemay capture is two), so a fault can land between publishes.
 */
export const batchesOf = async (pcap: string, site: Site, size = 5): Promise<FlowRecord[][]> => {
  const all: FlowRecord[] = [];
  for await (const b of openInput(pcap, { sliceMs: site.detection.window }).flows) all.push(...b);
  const out: FlowRecord[][] = [];
  for (let i = 0; i < all.length; i += size) out.push(all.slice(i, i + size));
  return out;
};

export interface Reference {
  flows: string[];
  /** Every score the engine gives; `storedScores` those the store keeps in `windows`. */
  scores: string[];
  storedScores: string[];
  alerts: string[];
  /** Every EdgeSeries the engine gives, as JSON (NaN as null). */
  series: string[];
}

/** A stored flow's identity: enough columns that two different flows of a capture never collide (times in whole ms, as stored). */
export const flowKey = (f: { tsStart: number; srcIp: string; srcPort: number; dstIp: string; dstPort: number; proto: number; packets: number; bytes: number }): string =>
  `${Math.floor(f.tsStart)}|${f.srcIp}|${f.srcPort}|${f.dstIp}|${f.dstPort}|${f.proto}|${f.packets}|${f.bytes}`;

/**
 * A score's identity and value. Not the explanation: novelty's "reverse direction" hint reads the
 * services of the opposite host pair, whose conduit may live in another partition's engine
 * (cli/serve/detector.ts lists it), so the text can lack that hint while the score is the same.
 */
export const scoreKey = (s: Pick<WindowScore, 'conduit' | 'edge' | 'windowStart' | 'detector' | 'score' | 'learning'>): string =>
  `${s.conduit}|${s.edge}|${s.windowStart}|${s.detector}|${s.score}|${s.learning}`;

/** What one process (runReplay's engine loop) answers for these batches: sorted keys. */
export const reference = async (batches: FlowRecord[][], siteMap: SiteMap): Promise<Reference> => {
  const engine = await createEngine(siteMap);
  const scores: WindowScore[] = [];
  const alerts: Alert[] = [];
  const series: EdgeSeries[] = [];
  for (const b of [...batches.map((x) => engine.ingest(x)), engine.flush()]) {
    scores.push(...b.scores);
    alerts.push(...b.alerts);
    series.push(...(b.series ?? []));
  }
  // The store keeps activity rows and scores at or above the floor (store/README.md, "What windows and series hold").
  const { alertThreshold, scoreFloor } = siteMap.site.detection;
  const kept = scores.filter((s) => isStoredWindow(s, alertThreshold, scoreFloor));
  return {
    flows: batches.flat().map(flowKey).sort(), scores: scores.map(scoreKey).sort(), storedScores: kept.map(scoreKey).sort(),
    alerts: alerts.map((a) => `${a.id}|${a.score}`).sort(), series: series.map((x) => JSON.stringify(x)).sort(),
  };
};

/** The same keys, read from the store for one run (flows, windows and alerts with FINAL: doubles collapse on their ids). */
export const stored = async (store: Store, runId: string): Promise<Omit<Reference, 'storedScores' | 'series'>> => {
  const flows = await store.query<{ ts: number; src_ip: string; src_port: number; dst_ip: string; dst_port: number; proto: number; packets: number; bytes: number }>(
    `SELECT toUnixTimestamp64Milli(ts_start) AS ts, src_ip, src_port, dst_ip, dst_port, proto, packets, bytes FROM flows FINAL WHERE run_id = '${runId}'`);
  const scores = await store.query<{ conduit: string; edge: string; ws: number; detector: string; score: number; learning: number }>(
    `SELECT conduit, edge, toUnixTimestamp64Milli(window_start) AS ws, detector, score, learning FROM windows FINAL WHERE run_id = '${runId}'`);
  const alerts = await store.query<{ id: string; score: number }>(`SELECT id, score FROM alerts FINAL WHERE run_id = '${runId}'`);
  return {
    flows: flows.map((r) => flowKey({ tsStart: Number(r.ts), srcIp: r.src_ip, srcPort: Number(r.src_port), dstIp: r.dst_ip, dstPort: Number(r.dst_port), proto: Number(r.proto), packets: Number(r.packets), bytes: Number(r.bytes) })).sort(),
    scores: scores.map((r) => scoreKey({ conduit: r.conduit, edge: r.edge, windowStart: Number(r.ws), detector: r.detector, score: r.score, learning: r.learning === 1 })).sort(),
    alerts: alerts.map((a) => `${a.id}|${a.score}`).sort(),
  };
};

/** Polls `check` every 200 ms until it holds; throws with `what` after `limitMs`. */
export const waitFor = async (what: () => string, check: () => Promise<boolean> | boolean, limitMs = 60_000): Promise<void> => {
  const t0 = Date.now();
  while (!(await check())) {
    if (Date.now() - t0 > limitMs) throw new Error(`not reached in ${limitMs} ms: ${what()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
};

/** Resolves once `group` committed every message of `topic`. */
export const drained = async (bus: Bus, group: string, topic: TopicName, limitMs = 60_000): Promise<void> => {
  let state = '';
  await waitFor(() => `${group} did not drain ${topic}: ${state}`, async () => {
    const [end, done] = await Promise.all([bus.endOffsets(topic), bus.committed(group, topic)]);
    state = `end ${JSON.stringify([...end])} committed ${JSON.stringify([...done])}`;
    return [...end].every(([p, e]) => e === '0' || done.get(p) === e);
  }, limitMs);
};

/** A real broker and a migrated chDB store in a temp dir: what the serve tests of one file share. */
export interface KafkaAndStore {
  kafka: KafkaService;
  store: Store;
  dir: string;
}

/** `brokerConfig`: extra server.properties (faults.test.ts runs the retention check every second). */
export const startKafkaAndStore = async (prefix: string, brokerConfig: Record<string, string | number> = {}): Promise<KafkaAndStore> => {
  const kafka = await startKafka({ brokerConfig });
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const store = await openChdb(dir);
  await migrate(store);
  return { kafka, store, dir };
};

/** Stops what `startKafkaAndStore` started; parts that never started are skipped. */
export const stopKafkaAndStore = async (env: Partial<KafkaAndStore>): Promise<void> => {
  await env.store?.close();
  await env.kafka?.stop();
  if (env.dir) await rm(env.dir, { recursive: true, force: true });
};
