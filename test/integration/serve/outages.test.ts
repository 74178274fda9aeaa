/**
 * Outages of the parts under `serve`, each role as its own process (`bin/conduitwatch.mjs serve`).
 *
 * The collector outlives its broker (issue 9 item 3): `serve --role collector` as its own process,
 * fed NetFlow v9 by the real softflowd, loses its broker (kill -9) for 3 minutes in the middle of the
 * export. Before the spool it exited 1 after about 2 minutes on kafkajs's KafkaJSNonRetriableError and
 * everything received meanwhile was gone. Now what the bus refuses goes to the on-disk spool, is
 * published in order once the broker is back, and the sink stores every record softflowd exported.
 * Then SIGTERM: the collector exits 0 within the stop bound.
 *
 * The 3 minutes are the point (longer than kafkajs's ~2 minutes of retries); the rest is kept short:
 * three small captures, one softflowd run each (before, early in and late in the outage), and the
 * sink runs in this process only after the collector is done.
 *
 * SIGTERM while the sink's disk is full (issue 9 item 6): the sink stops within its bound, logs the
 * rows it could not write, and leaves them uncommitted on the bus for the next sink.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { TOPICS } from '../../../bus/bus.ts';
import { KafkaBus } from '../../../bus/kafka.ts';
import { systemClock } from '../../../core/clock.ts';
import { Metrics, silentLogger } from '../../../core/telemetry.ts';
import { FlowPublisher } from '../../../cli/serve/collector.ts';
import { SINK_GROUP, SinkRole } from '../../../cli/serve/sink.ts';
import { freePort, freeUdpPort } from '../../../infra/services/process.ts';
import { projectRoot, requireTool, sharedData } from '../../support/data.ts';
import { batchesOf, drained, lemaySite, startKafkaAndStore, stopKafkaAndStore, waitFor, type KafkaAndStore } from './helpers.ts';

const run = promisify(execFile);
const OUTAGE_MS = 180_000;
const CAPTURES = [
  'lemay/characterization_modbus_6RTU_with_operate.pcap',
  'lemay/CnC_uploading_exe_modbus_6RTU_with_operate.pcap',
  'lemay/send_a_fake_command_modbus_6RTU_with_operate.pcap',
];

let env: KafkaAndStore;
before(async () => { env = await startKafkaAndStore('cw-outages-'); });
after(() => stopKafkaAndStore(env));

/** softflowd exports a capture as NetFlow v9 to the collector; resolves with the records it says it sent. */
const softflowd = async (pcap: string, port: number, dir: string): Promise<number> => {
  // -c none: no control socket (it blocks in -r mode otherwise); -a: flow times from the capture.
  const { stdout } = await run('softflowd', ['-r', pcap, '-n', `127.0.0.1:${port}`, '-v', '9', '-a', '-d', '-c', 'none',
    '-p', join(dir, `softflowd-${randomUUID()}.pid`)], { timeout: 30_000 });
  const m = /Flows exported: \d+ \((\d+) records\)/.exec(stdout);
  assert.ok(m, `softflowd summary not found in: ${stdout}`);
  return Number(m[1]);
};

/** Sum of a Prometheus series (all label sets) from the collector's /metrics. */
const metric = async (http: string, name: string): Promise<number> => {
  const text = await (await fetch(`http://${http}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
};

const exitOf = (child: ChildProcess): Promise<number | null> => new Promise((res) => {
  if (child.exitCode !== null) res(child.exitCode);
  else child.once('exit', (code) => res(code));
});

test('the collector outlives a 3-minute broker outage mid-export: it spools what the bus refuses, publishes it in order once the broker is back, and every record softflowd exported is stored', { timeout: 480_000 }, async (t) => {
  if (!(await requireTool(t, 'softflowd', 'apt-get install softflowd'))) return;
  const pcaps = CAPTURES.map((c) => sharedData(t, c));
  if (pcaps.some((p) => !p)) return;
  const { siteMap } = lemaySite();
  const dir = await mkdtemp(join(tmpdir(), 'cw-spool-'));
  const spool = join(dir, 'spool');
  const prefix = `s${randomUUID().slice(0, 8)}.`;
  const [udp, httpPort] = [await freeUdpPort(), await freePort()];
  const http = `127.0.0.1:${httpPort}`;
  let stderr = '';
  const child = spawn(process.execPath, [join(projectRoot, 'bin/conduitwatch.mjs'), 'serve', '--role', 'collector',
    '--kafka', env.kafka.bootstrap, '--prefix', prefix, '--site', join(projectRoot, 'examples/lemay/site.yaml'),
    '--listen', `udp://127.0.0.1:${udp}`, '--http', http, '--spool', spool], {
    cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, CONDUITWATCH_LOG: 'info' },
  });
  child.stderr!.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-20_000); });
  const exited = exitOf(child);
  let bus: KafkaBus | undefined;
  let sink: SinkRole | undefined;
  try {
    await waitFor(() => `the collector did not become ready: ${stderr.slice(-2000)}`,
      async () => child.exitCode === null && (await fetch(`http://${http}/readyz`).then((r) => r.ok, () => false)));
    const published = () => metric(http, 'conduitwatch_bus_published_records_total');
    const spooled = () => metric(http, 'conduitwatch_spool_appended_records_total');

    // Before the outage: the bus takes everything.
    const a = await softflowd(pcaps[0]!, udp, dir);
    await waitFor(() => `the collector did not publish softflowd's ${a} records`, async () => (await published()) >= a);
    assert.equal(await spooled(), 0, 'nothing spooled while the broker is up');

    // The outage: kill -9, then two exports while it lasts.
    await env.kafka.kill9();
    const down = Date.now();
    const b = await softflowd(pcaps[1]!, udp, dir);
    await waitFor(() => `the collector did not spool the ${b} records sent during the outage; stderr: ${stderr.slice(-3000)}`, async () => (await spooled()) >= b, 60_000);
    await new Promise((r) => setTimeout(r, Math.max(0, down + OUTAGE_MS / 2 - Date.now())));
    const c = await softflowd(pcaps[2]!, udp, dir);
    await waitFor(() => `the collector did not spool the ${c} records sent late in the outage`, async () => (await spooled()) >= b + c, 60_000);
    await new Promise((r) => setTimeout(r, Math.max(0, down + OUTAGE_MS - Date.now())));
    assert.equal(child.exitCode, null, `the collector is still running after ${OUTAGE_MS / 1000} s without its broker; stderr: ${stderr.slice(-2000)}`);
    assert.ok((await readdir(spool)).some((f) => f.endsWith('.spool')), 'the spool holds entries on disk');
    assert.equal(await published(), a, 'nothing reached the bus during the outage');

    // The broker is back: the spool drains, in order, and empties.
    await env.kafka.restart();
    await waitFor(() => `the spool did not drain; stderr: ${stderr.slice(-3000)}`, async () => (await metric(http, 'conduitwatch_spool_records')) === 0 && (await published()) >= a + b + c, 120_000);
    assert.equal(await metric(http, 'conduitwatch_spool_dropped_records_total'), 0, 'no spool drops');
    assert.equal(await metric(http, 'conduitwatch_netflow_records_total'), a + b + c, 'the collector decoded every exported record');

    // SIGTERM: a clean, bounded stop.
    child.kill('SIGTERM');
    assert.equal(await exited, 0, `the collector exits 0 on SIGTERM; stderr: ${stderr.slice(-2000)}`);

    // The sink stores every record once.
    const runId = `spool-${prefix}`;
    // The collector created the topics with the spec's partition counts.
    bus = await KafkaBus.connect({ brokers: [env.kafka.bootstrap], prefix, log: silentLogger() });
    sink = new SinkRole({ bus, store: env.store, siteMap, runId, clock: systemClock, log: silentLogger(), metrics: new Metrics(), groupId: `sink-${prefix}` });
    await sink.start();
    await drained(bus, `sink-${prefix}`, TOPICS.flows, 90_000);
    const [row] = await env.store.query<{ n: string; ids: string }>(`SELECT count() AS n, uniqExact(id) AS ids FROM flows FINAL WHERE run_id = '${runId}'`);
    t.diagnostic(`softflowd exported ${a} + ${b} + ${c} records; ${b + c} spooled during the ${OUTAGE_MS / 1000} s outage; stored ${row!.n}`);
    assert.equal(Number(row!.n), a + b + c, 'every exported record stored once');
    assert.equal(Number(row!.ids), a + b + c);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await sink?.stop();
    await bus?.close();
    await rm(dir, { recursive: true, force: true });
  }
});

/** Writes zeros into `path` until the file system says it is full. */
const fillDisk = async (path: string): Promise<number> => {
  const { open } = await import('node:fs/promises');
  const fh = await open(path, 'w');
  const chunk = Buffer.alloc(1 << 20);
  let written = 0;
  try {
    for (;;) written += (await fh.write(chunk)).bytesWritten;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  } finally {
    await fh.close().catch(() => undefined);
  }
  return written;
};

test('SIGTERM while the sink\'s disk is full: the sink stops within its bound, says which rows it could not write, and leaves them uncommitted on the bus, where the next sink stores them', { timeout: 240_000 }, async (t) => {
  if (!(await requireTool(t, 'unshare', 'apt-get install util-linux'))) return;
  const pcap = sharedData(t, CAPTURES[1]!);
  if (!pcap) return;
  const { site, siteMap } = lemaySite();
  const batches = await batchesOf(pcap, site, 50);
  const half = Math.floor(batches.length / 2);
  const early = batches.slice(0, half).flat().length;
  const late = batches.slice(half).flat().length;
  const dir = await mkdtemp(join(tmpdir(), 'cw-full-'));
  const prefix = `d${randomUUID().slice(0, 8)}.`;
  const group = `${prefix}${SINK_GROUP}`;
  const http = `127.0.0.1:${await freePort()}`;
  // The sink's data directory is a 64 MiB tmpfs in a mount namespace of its own: the mount goes
  // away with the process, and this test fills it through /proc/<pid>/root.
  const child = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs -o size=64m tmpfs "$0" && exec "$@"', dir,
    process.execPath, join(projectRoot, 'bin/conduitwatch.mjs'), 'serve', '--role', 'sink', '--kafka', env.kafka.bootstrap, '--prefix', prefix,
    '--site', join(projectRoot, 'examples/lemay/site.yaml'), '--data', join(dir, 'db'), '--http', http, '--query-listen', 'off', '--run-id', `full-${prefix}`], {
    cwd: projectRoot, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, CONDUITWATCH_LOG: 'info' },
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-50_000); });
  const exited = exitOf(child);
  const // The collector created the topics with the spec's partition counts.
    bus = await KafkaBus.connect({ brokers: [env.kafka.bootstrap], prefix, log: silentLogger() });
  let sink: SinkRole | undefined;
  try {
    await waitFor(() => `the sink did not become ready (exit ${child.exitCode}): ${stderr.slice(-2000)}`,
      async () => child.exitCode === null && (await fetch(`http://${http}/readyz`).then((r) => r.ok, () => false)));
    const pub = new FlowPublisher(bus, siteMap, systemClock);
    for (const b of batches.slice(0, half)) await pub.publish(b);
    await drained(bus, group, TOPICS.flows, 90_000);
    const filled = await fillDisk(join(`/proc/${child.pid}/root`, dir, 'filler'));
    t.diagnostic(`filled the sink's tmpfs with ${filled} bytes`);
    for (const b of batches.slice(half)) await pub.publish(b);
    await waitFor(() => `the sink's inserts did not fail on the full disk: ${stderr.slice(-2000)}`,
      async () => (await metric(http, 'conduitwatch_component_errors_total')) > 0, 60_000);
    child.kill('SIGTERM');
    // The bound: each role gets STOP_LIMIT_MS (15 s); a hung stop would run into this test's timeout instead.
    assert.equal(await exited, 0, `the sink exits 0 on SIGTERM; stderr: ${stderr.slice(-3000)}`);
    // What it could not write: the batches it held (sink_unwritten, when a flows batch was in hand)
    // and everything left uncommitted on the bus, fetched or not (sink_uncommitted).
    const lines = (event: string) => stderr.split('\n').filter((l) => l.includes(`"event":"${event}"`)).map((l) => JSON.parse(l) as Record<string, unknown>);
    const unwritten = lines('sink_unwritten') as { rows: number; table: string }[];
    assert.ok(unwritten.every((u) => u.table === 'flows' && u.rows > 0));
    const uncommitted = lines('sink_uncommitted') as { messages: Record<string, number> }[];
    assert.equal(uncommitted.length, 1, `the sink said what it left on the bus; stderr: ${stderr.slice(-3000)}`);
    assert.ok((uncommitted[0]!.messages[`conduitwatch.flows.v1`] ?? 0) > 0, 'flows messages left uncommitted');
    // Nothing was committed past what was stored: a new sink of the group stores exactly the rest.
    const runId = `after-full-${prefix}`;
    sink = new SinkRole({ bus, store: env.store, siteMap, runId, clock: systemClock, log: silentLogger(), metrics: new Metrics(), groupId: group });
    await sink.start();
    await drained(bus, group, TOPICS.flows, 90_000);
    const [row] = await env.store.query<{ n: string }>(`SELECT count() AS n FROM flows FINAL WHERE run_id = '${runId}'`);
    t.diagnostic(`${early} flows stored before the disk filled, ${late} after; the sink reported ${unwritten.reduce((n, u) => n + u.rows, 0)} rows in hand unwritten and ${JSON.stringify(uncommitted[0]!.messages)} messages uncommitted; the next sink stored ${row!.n}`);
    assert.equal(Number(row!.n), late, 'the next sink stores exactly the flows the full disk refused');
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await sink?.stop();
    await bus?.close();
    await rm(dir, { recursive: true, force: true });
  }
});
