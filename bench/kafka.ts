/**
 * The Kafka path through a real broker (Kafka 4.1.1, infra/services, loopback):
 *
 * 1. End to end: FlowPublisher (collector role) → flows topic → SinkRole → chDB `flows`; flows/s and
 *    p50/p99 latency from the collector's receive stamp (`observed_at`) to the insert resolving,
 *    plus where the time goes (encode, publish, sink decode+map, chDB insert).
 * 0. The flows codec, per flow: flows-arrow/1 (apache-arrow builders) beside flows-col/2
 *    (bus/flowcodec.ts), CPU µs to encode and decode 1,000-flow batches, bytes before and after LZ4.
 * 2. Raw client throughput on the same broker and the same messages (base64 text of flows-col/2
 *    batches, one line each, so kcat can read them), all LZ4: KafkaBus (kafkajs) publish/subscribe,
 *    @platformatic/kafka produce/consume, `kcat -P` / `kcat -C` (librdkafka). CPU seconds of this
 *    process (or kcat's) and of the broker beside wall time.
 *
 *   node --import tsx bench/kafka.ts          # FLOWS=200000 BATCH=12000 MSGS=4000
 *   SINK_FETCH_BYTES=8388608 …                 # the sink's maxBytesPerPartition (default kafkajs's 1 MiB)
 *
 * Input shape: flows are keyed by conduit and the Lemay capture is 93% one conduit, so a batch of
 * BATCH flows is one message of ~0.93·BATCH flows on one partition plus a few small ones (printed).
 *
 * Bounded loops only; prints figures, asserts nothing.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { partitionFor, TOPICS } from '../bus/bus.ts';
import { Admin, Consumer, Producer } from '@platformatic/kafka';
import { compressFrameSync } from 'lz4-napi';
import { readFileSync } from 'node:fs';
import { decodeFlows, encodeFlows } from '../bus/codec.ts';
import { decodeFlowRecords, encodeFlowColumns } from '../bus/flowcodec.ts';
import { KafkaBus } from '../bus/kafka.ts';
import { systemClock } from '../core/clock.ts';
import { loadSite, SiteMap } from '../core/config.ts';
import type { FlowRecord } from '../core/records.ts';
import { createLogger, Metrics, silentLogger } from '../core/telemetry.ts';
import { openInput } from '../cli/inputs.ts';
import { FlowPublisher } from '../cli/serve/collector.ts';
import { SinkRole } from '../cli/serve/sink.ts';
import { startKafka } from '../infra/services/index.ts';
import { openChdb } from '../store/chdb.ts';
import { migrate } from '../store/migrate.ts';
import type { Store } from '../store/store.ts';
import { isNativeBlock, rowCount, type NativeBlock } from '../store/native.ts';

const FLOWS = Number(process.env.FLOWS ?? 200_000);
const BATCH = Number(process.env.BATCH ?? 12_000);
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

/** CPU seconds (user + system) of a process from /proc, or of this one. */
const cpuOf = (pid?: number): number => {
  if (pid === undefined) { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; }
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
};
const load = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

/** Codec CPU per flow over `reps` batches, after a warm-up. */
const codecFigures = (batch: FlowRecord[]): void => {
  const run = (name: string, enc: (f: FlowRecord[]) => Buffer, dec: (b: Buffer) => unknown, reps: number): void => {
    let buf = enc(batch);
    for (let i = 0; i < Math.max(3, reps / 10); i++) dec(enc(batch));
    const c0 = cpuOf();
    for (let i = 0; i < reps; i++) buf = enc(batch);
    const c1 = cpuOf();
    for (let i = 0; i < reps; i++) dec(buf);
    const c2 = cpuOf();
    const per = (s: number) => (s * 1e6) / (reps * batch.length);
    console.log(`  ${name.padEnd(32)} encode ${per(c1 - c0).toFixed(2).padStart(6)} µs  decode ${per(c2 - c1).toFixed(2).padStart(6)} µs CPU/flow; ${fmt(buf.length / batch.length)} B/flow, ${fmt(compressFrameSync(buf).length / batch.length)} B/flow LZ4`);
  };
  console.log(`Codec (${batch.length} flows per message, CPU per flow):`);
  run('flows-arrow/1 (apache-arrow)', encodeFlows, decodeFlows, 20);
  run('flows-col/2 (bus/flowcodec.ts)', encodeFlowColumns, decodeFlowRecords, 300);
  console.log('');
};

/**
 * The `observed_at` values (ms) of a flows insert: a row array's field, or, in a Native block, the column
 * of that name, found by walking the columns before it (only String columns come first in flowBlock).
 */
const observedAtOf = (rows: readonly object[] | NativeBlock): number[] => {
  if (!isNativeBlock(rows)) return (rows as { observed_at: number }[]).map((x) => Number(x.observed_at));
  const b = rows.bytes;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let p = 0;
  const varUInt = (): number => { let x = 0; let m = 1; for (;;) { const c = b[p++]!; x += (c & 0x7f) * m; if (c < 0x80) return x; m *= 128; } };
  const str = (): string => { const n = varUInt(); const s = Buffer.from(b.buffer, b.byteOffset + p, n).toString('utf8'); p += n; return s; };
  const cols = varUInt();
  const n = varUInt();
  for (let c = 0; c < cols; c++) {
    const name = str();
    const type = str();
    if (name === 'observed_at') return Array.from({ length: n }, (_, i) => Number(v.getBigInt64(p + 8 * i, true)));
    if (type !== 'String') throw new Error(`bench/kafka: column ${name} (${type}) before observed_at in the flows block; teach observedAtOf to skip it`);
    for (let i = 0; i < n; i++) { const len = varUInt(); p += len; }
  }
  throw new Error('bench/kafka: the flows block has no observed_at column');
};

const kafka = await startKafka();
const dir = await mkdtemp(join(tmpdir(), 'cw-bench-kafka-'));
try {
  const flows = await loadFlows();
  const batches: FlowRecord[][] = [];
  for (let i = 0; i < flows.length; i += BATCH) batches.push(flows.slice(i, i + BATCH));
  // Flows go to the partition of their conduit: the Lemay capture is 93% one conduit (control->field),
  // so a collector batch is one big message on one hot partition and a few small ones, not BATCH/12 each.
  const perPartition = new Map<number, number>();
  for (const f of batches[0]!) { const p = partitionFor(siteMap.conduitOf(f.srcIp, f.dstIp), 12); perPartition.set(p, (perPartition.get(p) ?? 0) + 1); }
  const shape = [...perPartition].sort((a, b) => b[1] - a[1]).map(([p, n]) => `p${p}: ${fmt(n)}`).join(', ');
  console.log(`Kafka bench: ${fmt(flows.length)} flows in collector batches of ${fmt(BATCH)}; the flows messages of one batch (12 partitions, by conduit): ${shape}; LZ4, broker ${kafka.bootstrap}; load ${load()}\n`);
  codecFigures(flows.slice(0, 1000));

  // 1. End to end.
  const store = await openChdb(dir);
  await migrate(store);
  const latencies: number[] = [];
  let insertMs = 0;
  /** Inserts per table: count, ms, rows (where the sink's write path goes). */
  const inserts = new Map<string, { n: number; ms: number; rows: number }>();
  const timed: Store = {
    dir: store.dir, query: (s) => store.query(s), text: (s, f) => store.text(s, f), exec: (s) => store.exec(s), close: async () => {},
    insertRows: async (table, rows, opts) => {
      // The sink inserts Native blocks (store/blocks.ts): read the receive stamps before the insert, whose
      // caller may hand the block's buffer back to the pool once it resolves.
      const seen = table === 'flows' ? observedAtOf(rows) : [];
      const t = performance.now();
      const r = await store.insertRows(table, rows, opts);
      const ms = performance.now() - t;
      insertMs += ms;
      const e = inserts.get(table) ?? { n: 0, ms: 0, rows: 0 };
      inserts.set(table, { n: e.n + 1, ms: e.ms + ms, rows: e.rows + rowCount(rows) });
      if (table === 'flows') {
        const now = Date.now();
        for (const at of seen) latencies.push(now - at);
      }
      return r;
    },
  };
  const prefix = `bench${Date.now()}.`;
  const producerBus = await KafkaBus.connect({ brokers: [kafka.bootstrap], prefix, clientId: `${prefix}collector` });
  const sinkBus = await KafkaBus.connect({ brokers: [kafka.bootstrap], prefix, clientId: `${prefix}sink`, ...(process.env.SINK_FETCH_BYTES ? { maxBytesPerPartition: Number(process.env.SINK_FETCH_BYTES) } : {}) });
  const metrics = new Metrics();
  const sink = new SinkRole({ bus: sinkBus, store: timed, siteMap, runId: 'bench', clock: systemClock, log: process.env.BENCH_LOG ? createLogger(process.env.BENCH_LOG) : silentLogger(), metrics, groupId: `${prefix}sink` });
  await sink.start();
  await waitUntil(async () => sink.ready, 30_000);
  const pub = new FlowPublisher(producerBus, siteMap, systemClock);
  const brokerPid = kafka.pid();
  const [cpu0, bcpu0] = [cpuOf(), cpuOf(brokerPid)];
  const t0 = performance.now();
  let publishMs = 0;
  for (const b of batches) {
    const t = performance.now();
    await pub.publish(b);
    publishMs += performance.now() - t;
  }
  const shown = setInterval(() => { if (process.env.BENCH_LOG) process.stderr.write(`bench: ${latencies.length} of ${flows.length} flows stored\n`); }, 5000);
  await waitUntil(async () => latencies.length >= flows.length, 300_000).finally(() => clearInterval(shown));
  const e2eS = (performance.now() - t0) / 1000;
  const [cpu1, bcpu1] = [cpuOf(), cpuOf(brokerPid)];
  const sinkS = metrics.get('conduitwatch_store_write_seconds_total');
  latencies.sort((a, b) => a - b);
  console.log('End to end (collector receive → row in chDB flows, one sink):');
  console.log(`  ${fmt(flows.length / e2eS)} flows/s over ${e2eS.toFixed(1)} s; latency p50 ${fmt(pct(latencies, 50))} ms, p99 ${fmt(pct(latencies, 99))} ms, max ${fmt(latencies.at(-1)!)} ms`);
  console.log(`  CPU: this process (collector + sink + chDB) ${(cpu1 - cpu0).toFixed(1)} s, broker ${(bcpu1 - bcpu0).toFixed(1)} s, over ${e2eS.toFixed(1)} s wall; load ${load()}`);
  console.log(`  time: publish incl. encode ${fmt(publishMs)} ms, sink write path ${fmt(sinkS * 1000)} ms of which chDB inserts ${fmt(insertMs)} ms (incl. sink_batches log)`);
  for (const [t, e] of inserts) console.log(`    chDB ${t.padEnd(14)} ${fmt(e.n).padStart(5)} inserts, ${fmt(e.ms).padStart(6)} ms (${fmt(e.ms / e.n, 1)} ms each), ${fmt(e.rows / e.n)} rows each`);
  await sink.stop();
  await sinkBus.close();

  // 2. Raw clients on the same messages.
  const payloads = batches.slice(0, Math.min(batches.length, 200)).map((b, i) => encodeFlowColumns(flows.slice((i * 100) % (flows.length - 100), ((i * 100) % (flows.length - 100)) + 100)).toString('base64'));
  const lines = Array.from({ length: MSGS }, (_, i) => payloads[i % payloads.length]!);
  const bytes = lines.reduce((n, l) => n + l.length, 0);
  console.log(`\nRaw clients: ${fmt(MSGS)} messages of ${fmt(bytes / MSGS)} B (base64 flows-col/2, 100 flows each), ${fmt(bytes / 1e6, 1)} MB, LZ4, acks=all, idempotent; load ${load()}`);
  const rate = (name: string, s: number, cpu: number, bcpu: number) =>
    console.log(`  ${name.padEnd(46)} ${fmt(MSGS / s).padStart(7)} msg/s ${fmt(bytes / 1e6 / s, 1).padStart(6)} MB/s  (${s.toFixed(2)} s wall, client ${cpu.toFixed(2)} s CPU, broker ${bcpu.toFixed(2)} s CPU)`);
  const measure = async (name: string, fn: () => Promise<void>, clientCpu?: () => number): Promise<void> => {
    const [c, b, t] = [cpuOf(), cpuOf(brokerPid), performance.now()];
    await fn();
    rate(name, (performance.now() - t) / 1000, clientCpu ? clientCpu() : cpuOf() - c, cpuOf(brokerPid) - b);
  };
  const values = lines.map((l) => Buffer.from(l));
  await measure('kafkajs: KafkaBus.publish (500/send)', async () => {
    for (let i = 0; i < values.length; i += 500) {
      await producerBus.publish(TOPICS.scores, values.slice(i, i + 500).map((v, j) => ({ key: `k${(i + j) % 12}`, value: v })));
    }
  });
  {
    let got = 0;
    const bus = await KafkaBus.connect({ brokers: [kafka.bootstrap], prefix, clientId: `${prefix}consumer` });
    let sub: Awaited<ReturnType<KafkaBus['subscribe']>> | undefined;
    await measure('kafkajs: KafkaBus.subscribe (eachBatch)', async () => {
      sub = await bus.subscribe({ groupId: `${prefix}raw`, topics: [TOPICS.scores] }, async (b) => { got += b.messages.length; });
      await waitUntil(async () => got >= MSGS, 120_000);
    });
    await sub?.stop();
    await bus.close();
  }
  {
    const topic = `${prefix}platformatic`;
    // 12 partitions like the kafkajs topic, so a 500-message send is 12 record batches below the 1 MiB limit.
    const admin = new Admin({ clientId: `${prefix}pka`, bootstrapBrokers: [kafka.bootstrap] });
    await admin.createTopics({ topics: [topic, `${prefix}kcat`], partitions: 12, replicas: 1 });
    await admin.close();
    const producer = new Producer({ clientId: `${prefix}pk`, bootstrapBrokers: [kafka.bootstrap], idempotent: true, acks: -1, compression: 'lz4' });
    await producer.send({ messages: [{ topic, key: Buffer.from('warm'), value: values[0]!, partition: 0 }] });
    await measure('@platformatic/kafka: Producer.send (500/send)', async () => {
      for (let i = 0; i < values.length; i += 500) {
        await producer.send({ messages: values.slice(i, i + 500).map((v, j) => ({ topic, key: Buffer.from(`k${(i + j) % 12}`), value: v, partition: (i + j) % 12 })) });
      }
    });
    await producer.close();
    const consumer = new Consumer({ groupId: `${prefix}pk-raw`, clientId: `${prefix}pkc`, bootstrapBrokers: [kafka.bootstrap], maxWaitTime: 100 });
    await measure('@platformatic/kafka: Consumer stream', async () => {
      const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false });
      let got = 0;
      await new Promise<void>((resolve, reject) => {
        stream.on('data', () => { if (++got >= MSGS + 1) resolve(); });
        stream.on('error', reject);
      });
      await stream.close();
    });
    await consumer.close(true);
  }
  if (spawnSync('sh', ['-c', 'command -v kcat']).status === 0) {
    const file = join(dir, 'msgs.txt');
    await writeFile(file, lines.map((l) => `${l}\n`));
    const topic = `${prefix}kcat`;
    const kcat = (args: string[]): (() => number) => {
      const r = spawnSync('/usr/bin/time', ['-f', '%U %S', 'sh', '-c', args.join(' ')], { encoding: 'utf8' });
      const [u, sy] = r.stderr.trim().split('\n').at(-1)!.split(' ').map(Number);
      return () => u! + sy!;
    };
    let cpu: () => number = () => 0;
    await measure('kcat -P (librdkafka)', async () => { cpu = kcat(['kcat', '-P', '-b', kafka.bootstrap, '-t', topic, '-z', 'lz4', '-X', 'acks=all', '-X', 'enable.idempotence=true', '-l', file]); }, () => cpu());
    await measure('kcat -C (librdkafka)', async () => { cpu = kcat(['kcat', '-C', '-b', kafka.bootstrap, '-t', topic, '-o', 'beginning', '-e', '-q', '-c', String(MSGS), '>', '/dev/null']); }, () => cpu());
  } else {
    console.log('  kcat: not installed (apt-get install -y kcat); no peer figures');
  }
  await producerBus.close();
  await store.close();
} finally {
  await kafka.stop();
  await rm(dir, { recursive: true, force: true });
}
