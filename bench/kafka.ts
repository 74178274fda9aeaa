/**
 * The Kafka path through a real broker (Kafka 4.1.1, infra/services, loopback):
 *
 * 1. End to end: FlowPublisher (collector role) → flows topic → SinkRole → chDB `flows`; flows/s and
 *    p50/p99 latency from the collector's receive stamp (`observed_at`) to the insert resolving,
 *    plus where the time goes (encode, publish, sink decode+map, chDB insert).
 * 2. Raw client throughput on the same broker and the same messages (base64 text of the Arrow
 *    batches, one line each, so kcat can read them): KafkaBus.publish vs `kcat -P`, KafkaBus.subscribe
 *    vs `kcat -C`, both gzip.
 *
 *   node --import tsx bench/kafka.ts          # FLOWS=100000 BATCH=500 MSGS=4000
 *
 * Bounded loops only; prints figures, asserts nothing.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TOPICS } from '../bus/bus.ts';
import { encodeFlows } from '../bus/codec.ts';
import { KafkaBus } from '../bus/kafka.ts';
import { systemClock } from '../core/clock.ts';
import { loadSite, SiteMap } from '../core/config.ts';
import type { FlowRecord } from '../core/records.ts';
import { Metrics, silentLogger } from '../core/telemetry.ts';
import { openInput } from '../cli/inputs.ts';
import { FlowPublisher } from '../cli/serve/collector.ts';
import { SinkRole } from '../cli/serve/sink.ts';
import { startKafka } from '../infra/services/index.ts';
import { openChdb } from '../store/chdb.ts';
import { migrate } from '../store/migrate.ts';
import type { Store } from '../store/store.ts';

const FLOWS = Number(process.env.FLOWS ?? 100_000);
const BATCH = Number(process.env.BATCH ?? 500);
const MSGS = Number(process.env.MSGS ?? 4_000);
const root = join(import.meta.dirname, '..');
const site = loadSite(join(root, 'examples/lemay/site.yaml'));
const siteMap = new SiteMap(site);
const pcap = join(root, '..', 'shared', 'data', 'lemay', 'characterization_modbus_6RTU_with_operate.pcap');

/** The capture's flows, repeated with shifted times until FLOWS. */
const loadFlows = async (): Promise<FlowRecord[]> => {
  const one: FlowRecord[] = [];
  for await (const b of openInput(pcap, { sliceMs: site.detection.window }).flows) one.push(...b);
  const span = one.at(-1)!.tsStart - one[0]!.tsStart + site.detection.window;
  const out: FlowRecord[] = [];
  for (let r = 0; out.length < FLOWS; r++) for (const f of one) if (out.length < FLOWS) out.push({ ...f, tsStart: f.tsStart + r * span, tsEnd: f.tsEnd + r * span });
  return out;
};

const pct = (xs: number[], p: number): number => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const fmt = (n: number, d = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const waitUntil = async (check: () => Promise<boolean>, limitMs: number): Promise<void> => {
  const t0 = Date.now();
  while (!(await check())) {
    if (Date.now() - t0 > limitMs) throw new Error(`not done in ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

const kafka = await startKafka();
const dir = await mkdtemp(join(tmpdir(), 'cw-bench-kafka-'));
try {
  const flows = await loadFlows();
  const batches: FlowRecord[][] = [];
  for (let i = 0; i < flows.length; i += BATCH) batches.push(flows.slice(i, i + BATCH));
  console.log(`Kafka bench: ${fmt(flows.length)} flows in batches of ${BATCH}, 12 flows partitions, broker ${kafka.bootstrap}\n`);

  // 1. End to end.
  const store = await openChdb(dir);
  await migrate(store);
  const latencies: number[] = [];
  let insertMs = 0;
  const timed: Store = {
    dir: store.dir, query: (s) => store.query(s), text: (s, f) => store.text(s, f), exec: (s) => store.exec(s), close: async () => {},
    insertRows: async (table, rows, opts) => {
      const t = performance.now();
      const r = await store.insertRows(table, rows, opts);
      insertMs += performance.now() - t;
      if (table === 'flows') {
        const now = Date.now();
        for (const row of rows as { observed_at: number }[]) latencies.push(now - Number(row.observed_at));
      }
      return r;
    },
  };
  const prefix = `bench${Date.now()}.`;
  const producerBus = await KafkaBus.connect({ brokers: [kafka.bootstrap], prefix, clientId: `${prefix}collector` });
  const sinkBus = await KafkaBus.connect({ brokers: [kafka.bootstrap], prefix, clientId: `${prefix}sink` });
  const metrics = new Metrics();
  const sink = new SinkRole({ bus: sinkBus, store: timed, siteMap, runId: 'bench', clock: systemClock, log: silentLogger(), metrics, groupId: `${prefix}sink` });
  await sink.start();
  await waitUntil(async () => sink.ready, 30_000);
  const pub = new FlowPublisher(producerBus, siteMap, systemClock);
  const t0 = performance.now();
  let publishMs = 0;
  for (const b of batches) {
    const t = performance.now();
    await pub.publish(b);
    publishMs += performance.now() - t;
  }
  await waitUntil(async () => latencies.length >= flows.length, 300_000);
  const e2eS = (performance.now() - t0) / 1000;
  let encodeMs = 0;
  for (const b of batches.slice(0, 50)) { const t = performance.now(); encodeFlows(b); encodeMs += performance.now() - t; }
  encodeMs *= batches.length / Math.min(50, batches.length);
  const sinkS = metrics.get('conduitwatch_store_write_seconds_total');
  latencies.sort((a, b) => a - b);
  console.log('End to end (collector receive → row in chDB flows, one sink):');
  console.log(`  ${fmt(flows.length / e2eS)} flows/s over ${e2eS.toFixed(1)} s; latency p50 ${fmt(pct(latencies, 50))} ms, p99 ${fmt(pct(latencies, 99))} ms, max ${fmt(latencies.at(-1)!)} ms`);
  console.log(`  time: Arrow encode ${fmt(encodeMs)} ms (estimated from 50 batches), publish incl. encode ${fmt(publishMs)} ms, sink write path ${fmt(sinkS * 1000)} ms of which chDB inserts ${fmt(insertMs)} ms (incl. sink_batches log)`);
  await sink.stop();
  await sinkBus.close();

  // 2. Raw clients on the same messages.
  const payloads = batches.slice(0, Math.min(batches.length, 200)).map((b) => encodeFlows(b.slice(0, 100)).toString('base64'));
  const lines = Array.from({ length: MSGS }, (_, i) => payloads[i % payloads.length]!);
  const bytes = lines.reduce((n, l) => n + l.length, 0);
  console.log(`\nRaw clients: ${fmt(MSGS)} messages of ${fmt(bytes / MSGS)} B (base64 Arrow, 100 flows each), ${fmt(bytes / 1e6, 1)} MB, gzip, acks=all`);
  const rate = (name: string, s: number) => console.log(`  ${name.padEnd(44)} ${fmt(MSGS / s).padStart(9)} msg/s ${fmt(bytes / 1e6 / s, 1).padStart(7)} MB/s  (${s.toFixed(2)} s)`);
  {
    const t = performance.now();
    for (let i = 0; i < lines.length; i += 500) {
      await producerBus.publish(TOPICS.scores, lines.slice(i, i + 500).map((l, j) => ({ key: `k${(i + j) % 12}`, value: Buffer.from(l) })));
    }
    rate('KafkaBus.publish (kafkajs, 500/send, idempotent)', (performance.now() - t) / 1000);
  }
  {
    let got = 0;
    const bus = await KafkaBus.connect({ brokers: [kafka.bootstrap], prefix, clientId: `${prefix}consumer` });
    const t = performance.now();
    const sub = await bus.subscribe({ groupId: `${prefix}raw`, topics: [TOPICS.scores] }, async (b) => { got += b.messages.length; });
    await waitUntil(async () => got >= MSGS, 120_000);
    rate('KafkaBus.subscribe (kafkajs eachBatch)', (performance.now() - t) / 1000);
    await sub.stop();
    await bus.close();
  }
  if (spawnSync('sh', ['-c', 'command -v kcat']).status === 0) {
    const file = join(dir, 'msgs.txt');
    await writeFile(file, lines.map((l) => `${l}\n`));
    const topic = `${prefix}kcat`;
    let t = performance.now();
    execFileSync('kcat', ['-P', '-b', kafka.bootstrap, '-t', topic, '-z', 'gzip', '-X', 'acks=all', '-X', 'enable.idempotence=true', '-l', file], { stdio: 'ignore' });
    rate('kcat -P (librdkafka, idempotent)', (performance.now() - t) / 1000);
    t = performance.now();
    execFileSync('sh', ['-c', `kcat -C -b ${kafka.bootstrap} -t ${topic} -o beginning -e -q -c ${MSGS} > /dev/null`]);
    rate('kcat -C (librdkafka)', (performance.now() - t) / 1000);
  } else {
    console.log('  kcat: not installed (apt-get install -y kcat); no peer figures');
  }
  await producerBus.close();
  await store.close();
} finally {
  await kafka.stop();
  await rm(dir, { recursive: true, force: true });
}
