/**
 * bench/collector: the highest rate at which the NetFlow v9 / IPFIX collector loses nothing on
 * loopback, beside the same figure for a bare UDP socket and for nfcapd on the same datagram stream.
 *
 *   node --import tsx bench/collector.ts [--seconds 3] [--max 200000] [--workers 2]
 *                                        [--versions v9,ipfix] [--skip bare,collector,pool,nfcapd,fair]
 *                                        [--senders N | --per-sender 60000] [--pin]
 *                                        [--fair-rate 20000] [--fair-seconds 10]
 *
 * The datagrams are what `softflowd -r` exports (≈1,360 B, 31 records each, v9 and IPFIX) from a
 * lemay capture, cached in .cache/fuzz/seeds/ (bench/fuzz.ts writes them; this bench does when they
 * are missing).
 *
 * Sender: node:dgram in child processes (this file, `--role send`), kept across the sweep. A step at
 * k datagrams/s uses `--senders` processes, or one per `--per-sender` datagrams/s (a node send costs
 * ≈ 4.4–5.9 µs of CPU, so one process paces ≈ 90–190k/s on a loaded 2-core box); each paces k/m datagrams/s
 * in bursts on process.hrtime and sleeps in Atomics.wait when ahead, for `--seconds`, replaying the
 * datagrams in order from its own connected sockets (port i of n gets the whole sequence, so every
 * exporter session sees its templates). The achieved rate is the senders' total over the longest
 * sender's time, and the sender CPU per datagram is printed: on 2 vCPU it is CPU the receiver does
 * not get, so the ceilings are lower bounds.
 *
 * Receivers, each in its own process, each socket asking for a 32 MiB SO_RCVBUF (the kernel grants
 * at most net.core.rmem_max; printed):
 *
 *   bare        a dgram socket that only counts: node's receive ceiling for one socket
 *   collector   the Collector, every datagram decoded, batches consumed from `records()`
 *   pool        CollectorPool: `--workers` worker threads, one port each, batches merged on the main thread
 *   nfcapd      nfcapd -w DIR (-B 32 MiB); lossless when the flows it stored (nfdump -r FILE -I) equal
 *               the records sent
 *
 * Sweep per receiver: rates 5k, ×1.5 … up to `--max` until the first step with loss, then two
 * bisection steps between the last lossless and the first lossy rate. "Lossless" = every datagram
 * sent was received (records for nfcapd) after a drain. At the best step: records/s, MB/s of
 * datagrams, the receiver's CPU per datagram and its peak RSS. Also printed: the decoders alone, in-process.
 *
 * Fair comparison (`fair`): the Collector and nfcapd each receive the same export at `--fair-rate`
 * for `--fair-seconds` (a rate both keep up with); printed: CPU seconds per 1,000 datagrams (ours:
 * process.cpuUsage() of the receiver process; nfcapd: utime + stime from /proc/<pid>/stat, during the
 * sending only) and records per CPU-second.
 *
 * `--pin` binds the senders to CPU 0 and the receiver under test (every thread; nfcapd too) to CPU 1
 * with taskset, so that the receiver does not share its core with a sender.
 * Traffic goes only to 127.0.0.1. Figures are for this machine; nothing is asserted.
 */
import { execFile, fork, spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { fakeClock } from '../core/clock.ts';
import { Collector, CollectorConfig } from '../ingest/netflow/collector.ts';
import { IpfixDecoder } from '../ingest/netflow/ipfix.ts';
import { CollectorPool, CollectorPoolConfig } from '../ingest/netflow/pool.ts';
import { V9Decoder } from '../ingest/netflow/v9.ts';
import { cachedSoftflowdSeeds, defaultDataDir } from './fuzz.ts';

const SELF = fileURLToPath(import.meta.url);
const RCVBUF = 32 * 1024 * 1024;
const CACHE = join('.cache', 'bench');
const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '3' }, max: { type: 'string', default: '200000' }, workers: { type: 'string', default: '2' },
    versions: { type: 'string', default: 'v9,ipfix' }, skip: { type: 'string', default: '' }, role: { type: 'string' },
    senders: { type: 'string', default: '0' }, 'per-sender': { type: 'string', default: '60000' },
    'fair-rate': { type: 'string', default: '20000' }, 'fair-seconds': { type: 'string', default: '10' },
    pin: { type: 'boolean', default: false },
  },
});
const SECONDS = Number(values.seconds);
const MAX_RATE = Number(values.max);
const WORKERS = Number(values.workers);
const SENDERS = Number(values.senders);
const PER_SENDER = Number(values['per-sender']);
const FAIR_RATE = Number(values['fair-rate']);
const FAIR_SECONDS = Number(values['fair-seconds']);
const PIN = values.pin!;
const run = promisify(execFile);
type Version = 'v9' | 'ipfix';

/** The softflowd datagrams of one version. */
const datagrams = async (version: Version): Promise<Buffer[]> => {
  const pcap = join(defaultDataDir(), 'lemay', 'send_a_fake_command_modbus_6RTU_with_operate.pcap');
  const d = await cachedSoftflowdSeeds(join('.cache', 'fuzz', 'seeds'), pcap);
  if (d[version].length === 0) throw new Error(`no ${version} datagrams from softflowd; is softflowd installed?`);
  return d[version];
};

// ───────────────────────────── the paced sender (child processes) ─────────────────────────────

/** The datagrams as the senders read them: [len:2 BE][bytes]…; returns the file path. */
const datagramFile = (version: Version, dgs: Buffer[]): string => {
  mkdirSync(CACHE, { recursive: true });
  const path = join(CACHE, `softflowd-${version}.dgs`);
  const parts: Buffer[] = [];
  for (const d of dgs) { const h = Buffer.alloc(2); h.writeUInt16BE(d.length); parts.push(h, d); }
  writeFileSync(path, Buffer.concat(parts));
  return path;
};

/** Splits a datagram file back into datagrams (at most 65,536; a cut-off tail is dropped). */
const readDatagramFile = (path: string): Buffer[] => {
  const data = readFileSync(path);
  const out: Buffer[] = [];
  for (let o = 0; o + 2 <= data.length && out.length < 65_536;) {
    const len = data.readUInt16BE(o);
    if (o + 2 + len > data.length) break;
    out.push(data.subarray(o + 2, o + 2 + len));
    o += 2 + len;
  }
  return out;
};

/** One sender's job: send to 127.0.0.1:`ports` at `rate` datagrams/s for `seconds`. */
interface SendJob { t: 'send'; ports: number[]; rate: number; seconds: number; file: string }

/** What one sender did: datagrams handed to the kernel without error, wall and CPU time. */
interface SenderReport { sent: number; errors: number; seconds: number; cpuSeconds: number }

/** Datagrams a sender hands to the kernel per wake-up at most; when ahead it sleeps until WAKE are due. */
const BURST = 64;
const WAKE = 16;

/**
 * Sends one job: one socket connected to each port; the k-th datagram goes to port k % n and is
 * datagram ⌊k / n⌋ of the sequence (each port gets the whole sequence, templates first). Pacing:
 * the datagrams due by now (elapsed × rate) go out in bursts of ≤ BURST; ahead of schedule it sleeps
 * in Atomics.wait (no busy loop) until WAKE more are due (20 µs – 1 ms). The loop ends at `seconds`
 * or rate × seconds datagrams.
 * Node has no sendmmsg: each send is one libuv try-send, ≈ 4.4–5.9 µs of CPU per datagram here
 * (the C sendmmsg sender this bench used before: ≈ 1 µs).
 */
const sendJob = async (job: SendJob, dgs: Buffer[]): Promise<SenderReport> => {
  const socks: Socket[] = [];
  let errors = 0;
  for (const port of job.ports) {
    const s = createSocket({ type: 'udp4', sendBufferSize: 4 << 20 });
    s.on('error', () => { errors++; }); // ECONNREFUSED when nothing listens: that datagram is lost
    await new Promise<void>((r) => s.connect(port, '127.0.0.1', () => r()));
    socks.push(s);
  }
  const np = socks.length;
  const nd = dgs.length;
  const cap = Math.floor(job.rate * job.seconds);
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const elapsed = (): number => Number(process.hrtime.bigint() - t0) / 1e9;
  let sent = 0;
  for (let t = elapsed(); t < job.seconds && sent < cap; t = elapsed()) {
    const due = Math.min(cap, Math.floor(t * job.rate));
    if (due <= sent) {
      Atomics.wait(sleeper, 0, 0, Math.min(1, Math.max(0.02, ((sent + WAKE) / job.rate - t) * 1000)));
      continue;
    }
    const n = Math.min(BURST, due - sent);
    for (let k = sent; k < sent + n; k++) socks[k % np]!.send(dgs[Math.floor(k / np) % nd]!);
    sent += n;
  }
  // A send the kernel could not take at once is queued until the event loop runs: the step lasts
  // until the queues are empty (normally they already are on loopback).
  for (let i = 0; i < 1000 && socks.some((s) => s.getSendQueueCount() > 0); i++) await new Promise((r) => setImmediate(r));
  const seconds = elapsed();
  const cpu = process.cpuUsage(cpu0);
  await new Promise((r) => setTimeout(r, 20)); // late ECONNREFUSED errors
  for (const s of socks) s.close();
  return { sent: Math.max(0, sent - errors), errors, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
};

/** Sender role: answers each SendJob with a SenderReport. */
const sender = (): void => {
  const files = new Map<string, Buffer[]>();
  process.on('message', (m: SendJob) => {
    if (m.t !== 'send') return;
    if (!files.has(m.file)) files.set(m.file, readDatagramFile(m.file));
    void sendJob(m, files.get(m.file)!).then((r) => process.send!(r));
  });
  process.once('disconnect', () => process.exit(0));
  process.send!({ ready: true });
};

/** What a step's senders did together; `perSender[j]` is sender j's count (each starts the sequence at 0). */
interface SendReport { sent: number; seconds: number; perSender: number[]; cpuPerDgUs: number; errors: number }

/** Sender processes, forked on demand and kept for the whole bench. */
const senders: ChildProcess[] = [];

/** Senders for `rate`: `--senders`, or one per PER_SENDER datagrams/s. */
const senderCount = (rate: number): number => SENDERS > 0 ? SENDERS : Math.max(1, Math.ceil(rate / PER_SENDER));

/**
 * Sends `rate` datagrams/s split over senderCount(rate) processes that start together; the rate
 * achieved is their total over the longest sender's time.
 */
const send = async (ports: number[], rate: number, file: string, seconds = SECONDS): Promise<SendReport> => {
  const m = senderCount(rate);
  while (senders.length < m) {
    const p = tsxFork(['--role', 'send']);
    await nextMessage(p);
    await pin(p.pid, SENDER_CPU);
    senders.push(p);
  }
  const reports = await Promise.all(senders.slice(0, m).map((p) => {
    const r = nextMessage<SenderReport>(p);
    p.send({ t: 'send', ports, rate: rate / m, seconds, file } satisfies SendJob);
    return r;
  }));
  const sent = reports.reduce((a, r) => a + r.sent, 0);
  const cpu = reports.reduce((a, r) => a + r.cpuSeconds, 0);
  return {
    sent, seconds: Math.max(...reports.map((r) => r.seconds)), perSender: reports.map((r) => r.sent),
    cpuPerDgUs: (1e6 * cpu) / Math.max(1, sent), errors: reports.reduce((a, r) => a + r.errors, 0),
  };
};

// ───────────────────────────── receivers (child processes) ─────────────────────────────

/** A receiver's running totals: datagrams, records, its CPU time (µs, all threads) and peak RSS (KiB). */
interface Counts { datagrams: number; records: number; cpuUs: number; maxRssKb: number }

/** Receiver role: binds, says { ports, recvBufferBytes }, answers {@link Counts} to each 'count'. */
const receiver = async (kind: 'bare' | 'collector' | 'pool'): Promise<void> => {
  const counts = { datagrams: 0, records: 0 };
  let ports: number[];
  let granted: number;
  let stats = (): { datagrams: number; records: number } => counts;
  if (kind === 'bare') {
    const s = createSocket({ type: 'udp4', recvBufferSize: RCVBUF });
    s.on('message', () => { counts.datagrams++; });
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    ports = [s.address().port];
    granted = s.getRecvBufferSize();
  } else if (kind === 'collector') {
    const c = new Collector(CollectorConfig.parse({ listen: 'udp://127.0.0.1:0' }));
    await c.open();
    void (async () => { for await (const b of c.records()) counts.records += b.length; })();
    ports = [c.address().port];
    granted = c.stats.recvBufferBytes;
    stats = () => ({ datagrams: c.stats.datagrams, records: counts.records });
  } else {
    const listen = Array.from({ length: WORKERS }, () => 'udp://127.0.0.1:0');
    const p = new CollectorPool(CollectorPoolConfig.parse({ listen }));
    await p.open();
    void (async () => { for await (const b of p.records()) counts.records += b.length; })();
    ports = p.addresses().map((a) => a.port);
    granted = p.stats.recvBufferBytes / WORKERS;
    // Worker stats arrive with batches; the datagram count is exact once every batch is posted.
    stats = () => ({ datagrams: p.stats.datagrams, records: counts.records });
  }
  process.send!({ ports, recvBufferBytes: granted });
  process.on('message', (m: { t?: string }) => {
    if (m.t !== 'count') return;
    const cpu = process.cpuUsage();
    process.send!({ ...stats(), cpuUs: cpu.user + cpu.system, maxRssKb: process.resourceUsage().maxRSS } satisfies Counts);
  });
  process.once('disconnect', () => process.exit(0));
};

const tsxFork = (args: string[]): ChildProcess => fork(SELF, args, { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });

/** CPUs for `--pin`: the senders share the first, the receiver under test (ours or nfcapd) has the second. */
const SENDER_CPU = '0';
const RECEIVER_CPU = '1';

/** With `--pin`, binds every thread of process `pid` (and the threads it starts later) to `cpu`. */
const pin = async (pid: number | undefined, cpu: string): Promise<void> => {
  if (PIN && pid !== undefined) await run('taskset', ['-a', '-p', '-c', cpu, String(pid)]);
};

/** utime + stime of a process in seconds, from /proc/<pid>/stat (fields 14 and 15, clock ticks of 1/100 s). */
const procCpuSeconds = (pid: number): number => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
};

const nextMessage = <T>(p: ChildProcess): Promise<T> => new Promise((r, j) => {
  const onExit = (code: number | null): void => j(new Error(`child exited with ${code} before answering`));
  p.once('message', (m) => { p.off('exit', onExit); r(m as T); });
  p.once('exit', onExit);
});

/** Asks for counts until two answers 250 ms apart agree (the receiver drained its socket buffer). */
const settled = async (p: ChildProcess): Promise<Counts> => {
  let prev: Counts | undefined;
  for (let i = 0; i < 40; i++) {
    await new Promise((r) => setTimeout(r, 250));
    const m = nextMessage<Counts>(p);
    p.send({ t: 'count' });
    const c = await m;
    if (prev && prev.datagrams === c.datagrams && prev.records === c.records) return c;
    prev = c;
  }
  return prev!;
};

// ───────────────────────────── the sweep ─────────────────────────────

/**
 * One step of a sweep. `cpu`: the receiver's CPU seconds during the step (all its threads; nfcapd:
 * from /proc); `rssMb`: its peak RSS so far.
 */
interface Step { rate: number; sent: number; sendRate: number; got: number; records: number; senders: number; senderCpuUs: number; cpu?: number; rssMb?: number }

/** A step's loss: datagrams (records for nfcapd) sent and not received. */
type Trial = (rate: number) => Promise<Step & { lost: number }>;

interface SweepResult { best: (Step & { lost: number }) | undefined; firstLoss: (Step & { lost: number }) | undefined; senderLimited: Step | undefined; steps: number }

/**
 * Rates 5k ×1.5 … until the first loss, then two bisection steps; returns every step run. A lossless
 * step whose senders reached < 90 % of its rate ends the sweep as sender-limited (no higher rate is
 * claimed than was sent).
 */
const sweep = async (trial: Trial): Promise<SweepResult> => {
  let best: (Step & { lost: number }) | undefined;
  let firstLoss: (Step & { lost: number }) | undefined;
  let senderLimited: Step | undefined;
  let steps = 0;
  for (let rate = 5000; rate <= MAX_RATE; rate = Math.round(rate * 1.5)) {
    const s = await trial(rate);
    steps++;
    if (s.lost > 0) { firstLoss = s; break; }
    best = s;
    if (s.sendRate < 0.9 * rate) { senderLimited = s; break; } // CPU taken by the receiver and others
  }
  for (let i = 0; i < 2 && best && firstLoss; i++) {
    const mid = Math.round((best.rate + firstLoss.rate) / 2 / 1000) * 1000;
    if (mid <= best.rate || mid >= firstLoss.rate) break;
    const s = await trial(mid);
    steps++;
    if (s.lost > 0) firstLoss = s; else best = s;
  }
  return { best, firstLoss, senderLimited, steps };
};

const fmt = (x: number): string => Math.round(x).toLocaleString('en-US');

/** Records/s, MB/s (datagram payload), receiver CPU per datagram and peak RSS of a step. */
const stepFigures = (s: Step, avgBytes: number): string =>
  `, ${fmt((s.records / Math.max(1, s.got)) * s.sendRate)} records/s, ${((s.sendRate * avgBytes) / 1e6).toFixed(1)} MB/s` +
  (s.cpu !== undefined ? `, receiver ${((1e6 * s.cpu) / Math.max(1, s.got)).toFixed(1)} µs CPU/dg` : '') +
  (s.rssMb !== undefined ? `, peak RSS ${fmt(s.rssMb)} MB` : '');

const describeSweep = (name: string, r: SweepResult, unit: string, extra = ''): string => {
  const b = r.best;
  const head = `${name.padEnd(28)} `;
  const ok = b ? `lossless up to ${fmt(b.sendRate).padStart(7)} dg/s (${fmt(b.sent)} sent in ${SECONDS} s)` : 'loss at every rate tried';
  const lossy = r.firstLoss
    ? `; at ${fmt(r.firstLoss.sendRate)} dg/s: lost ${fmt(r.firstLoss.lost)} ${unit} (${((100 * r.firstLoss.lost) / Math.max(1, unit === 'records' ? r.firstLoss.records + r.firstLoss.lost : r.firstLoss.sent)).toFixed(1)} %)`
    : r.senderLimited ? `; sender-limited: ${fmt(r.senderLimited.sendRate)} of ${fmt(r.senderLimited.rate)} dg/s sent` : `; no loss up to --max ${fmt(MAX_RATE)}`;
  const by = b ? `; sender ${b.senders} process${b.senders > 1 ? 'es' : ''}, ${b.senderCpuUs.toFixed(1)} µs CPU/dg` : '';
  return `${head}${ok}${lossy}${extra}${by}  [${r.steps} steps]`;
};

/** Sweeps a receiver role kept alive across steps. */
const sweepReceiver = async (kind: 'bare' | 'collector' | 'pool', file: string, recordsPerDg: number, avgBytes: number): Promise<string> => {
  const p = tsxFork(['--role', kind, '--workers', String(WORKERS)]);
  const { ports, recvBufferBytes } = await nextMessage<{ ports: number[]; recvBufferBytes: number }>(p);
  await pin(p.pid, RECEIVER_CPU);
  try {
    let before = await settled(p);
    const r = await sweep(async (rate) => {
      const s = await send(ports, rate, file);
      const after = await settled(p);
      const got = after.datagrams - before.datagrams;
      const records = after.records - before.records;
      const cpu = (after.cpuUs - before.cpuUs) / 1e6;
      before = after;
      return {
        rate, sent: s.sent, sendRate: s.sent / s.seconds, got, records, senders: s.perSender.length, senderCpuUs: s.cpuPerDgUs,
        lost: Math.max(0, s.sent - got), cpu, rssMb: after.maxRssKb / 1024,
      };
    });
    const b = r.best;
    const recs = !b ? '' : kind === 'bare'
      ? ` (≈${fmt(b.sendRate * recordsPerDg)} records/s if decoded), ${((b.sendRate * avgBytes) / 1e6).toFixed(1)} MB/s, receiver ${((1e6 * b.cpu!) / Math.max(1, b.got)).toFixed(1)} µs CPU/dg`
      : stepFigures(b, avgBytes);
    return describeSweep(`${kind === 'pool' ? `pool, ${WORKERS} workers/ports` : kind}`, r, 'datagrams', `${recs}; SO_RCVBUF ${fmt(recvBufferBytes / 1024)} KiB`);
  } finally {
    p.kill('SIGKILL');
  }
};

/**
 * nfcapd on one step: flows stored vs records sent; its CPU seconds during the sending (from /proc,
 * so start-up and the final file write are left out) and its peak RSS (/usr/bin/time).
 */
const nfcapdTrial = (file: string, recsOf: number[], seconds = SECONDS): Trial => async (rate) => {
  const dir = mkdtempSync(join(tmpdir(), 'nfcapd-bench-'));
  const probe = createSocket('udp4');
  await new Promise<void>((r) => probe.bind(0, '127.0.0.1', () => r()));
  const port = probe.address().port;
  await new Promise<void>((r) => probe.close(() => r()));
  const p = spawn('/usr/bin/time', ['-v', 'nfcapd', '-b', '127.0.0.1', '-p', String(port), '-w', dir, '-B', String(RCVBUF), '-t', '3600'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  p.stderr.on('data', (b: Buffer) => { err += b.toString(); });
  try {
    await new Promise((r) => setTimeout(r, 1000));
    // nfcapd is a child of /usr/bin/time: its own pid, to read its CPU time and to signal it.
    const { stdout } = await run('pgrep', ['-P', String(p.pid), 'nfcapd']);
    const pids = stdout.split('\n').filter(Boolean).map(Number);
    for (const pid of pids) await pin(pid, RECEIVER_CPU);
    const cpuOf = (): number => pids.reduce((a, pid) => a + procCpuSeconds(pid), 0);
    const cpu0 = cpuOf();
    const s = await send([port], rate, file, seconds);
    await new Promise((r) => setTimeout(r, 1000));
    const cpu = cpuOf() - cpu0;
    // SIGTERM: nfcapd flushes its file and exits.
    for (const pid of pids) process.kill(pid, 'SIGTERM');
    await new Promise((r) => p.once('close', r));
    let flows = 0;
    for (const f of readdirSync(dir).filter((x) => x.startsWith('nfcapd.'))) {
      const { stdout: info } = await run('nfdump', ['-r', join(dir, f), '-I']);
      flows += Number(info.match(/^Flows:\s*(\d+)/m)?.[1] ?? 0);
    }
    let expected = 0;
    for (const n of s.perSender) for (let i = 0; i < n; i++) expected += recsOf[i % recsOf.length]!;
    const rssMb = Number(err.match(/Maximum resident set size \(kbytes\): (\d+)/)?.[1] ?? 0) / 1024;
    return { rate, sent: s.sent, sendRate: s.sent / s.seconds, got: s.sent, records: flows, senders: s.perSender.length, senderCpuUs: s.cpuPerDgUs, lost: Math.max(0, expected - flows), cpu, rssMb };
  } finally {
    if (p.exitCode === null) p.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
};

/** The decoders alone on the datagrams, in-process: datagrams/s, records/s and records per datagram. */
const decodeOnly = (version: Version, dgs: Buffer[]): { dgRate: number; recRate: number; recsOf: number[] } => {
  const clock = fakeClock(Date.now());
  const d = version === 'v9' ? new V9Decoder(clock) : new IpfixDecoder(clock);
  const recsOf = dgs.map((b) => d.decode(b, '127.0.0.1', clock.now()).records.length);
  const rounds = Math.max(1, Math.ceil(300_000 / dgs.length));
  const t0 = process.hrtime.bigint();
  let n = 0;
  for (let i = 0; i < rounds; i++) for (const b of dgs) n += d.decode(b, '127.0.0.1', clock.now()).records.length;
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  return { dgRate: (rounds * dgs.length) / s, recRate: n / s, recsOf };
};

/** CPU seconds per 1,000 datagrams and records per CPU-second of one step. */
const perCpu = (s: Step & { lost: number }, unit: string): string =>
  `${((1000 * s.cpu!) / Math.max(1, s.sent)).toFixed(4)} CPU-s per 1,000 dg, ${fmt(s.records / Math.max(s.cpu!, 1e-3))} records per CPU-s, ` +
  `${fmt(s.records)} records, lost ${fmt(s.lost)} ${unit}, peak RSS ${fmt(s.rssMb ?? 0)} MB`;

/**
 * The Collector and nfcapd on the same export at one rate both keep up with (`--fair-rate` for
 * `--fair-seconds`): the receiver's CPU during the sending (ours: process.cpuUsage of the receiver
 * process, every thread; nfcapd: utime + stime from /proc) per 1,000 datagrams, and records per CPU-second.
 * nfcapd also writes its flows to a file in a temp dir; ours hands them to a consumer that counts them.
 */
const fairCompare = async (file: string, recsOf: number[]): Promise<string[]> => {
  const head = `${`fair, ${fmt(FAIR_RATE)} dg/s × ${FAIR_SECONDS} s`.padEnd(28)}`;
  const p = tsxFork(['--role', 'collector']);
  const { ports } = await nextMessage<{ ports: number[] }>(p);
  await pin(p.pid, RECEIVER_CPU);
  let ours: Step & { lost: number };
  try {
    const before = await settled(p);
    const s = await send(ports, FAIR_RATE, file, FAIR_SECONDS);
    const after = await settled(p);
    const got = after.datagrams - before.datagrams;
    ours = {
      rate: FAIR_RATE, sent: s.sent, sendRate: s.sent / s.seconds, got, records: after.records - before.records, senders: s.perSender.length,
      senderCpuUs: s.cpuPerDgUs, lost: Math.max(0, s.sent - got), cpu: (after.cpuUs - before.cpuUs) / 1e6, rssMb: after.maxRssKb / 1024,
    };
  } finally {
    p.kill('SIGKILL');
  }
  const theirs = await nfcapdTrial(file, recsOf, FAIR_SECONDS)(FAIR_RATE);
  const ratio = theirs.cpu! / Math.max(ours.cpu!, 1e-3);
  return [
    `${head} collector: ${perCpu(ours, 'datagrams')}`,
    `${' '.repeat(28)} nfcapd:    ${perCpu(theirs, 'records')}`,
    `${' '.repeat(28)} nfcapd uses ${ratio.toFixed(2)}× the collector's CPU for the same datagrams`,
  ];
};

const main = async (): Promise<void> => {
  const skip = new Set(values.skip!.split(',').filter(Boolean));
  const la = (): string => loadavg().map((x) => x.toFixed(2)).join(' ');
  process.stdout.write(`collector bench: ${SECONDS} s per step, rates up to ${fmt(MAX_RATE)} dg/s, 127.0.0.1 only${PIN ? `, senders on CPU ${SENDER_CPU}, receiver on CPU ${RECEIVER_CPU}` : ''}; load average ${la()}\n`);
  for (const version of values.versions!.split(',') as Version[]) {
    const dgs = await datagrams(version);
    const file = datagramFile(version, dgs);
    const avg = dgs.reduce((a, b) => a + b.length, 0) / dgs.length;
    const d = decodeOnly(version, dgs);
    const perDg = d.recsOf.reduce((a, b) => a + b, 0) / dgs.length;
    process.stdout.write(`\n${version}: ${dgs.length} softflowd datagrams, ${avg.toFixed(0)} B average, ${perDg.toFixed(1)} records each\n`);
    process.stdout.write(`${'decoder alone (no socket)'.padEnd(28)} ${fmt(d.dgRate)} dg/s, ${fmt(d.recRate)} records/s\n`);
    for (const kind of ['bare', 'collector', 'pool'] as const) {
      if (skip.has(kind)) continue;
      process.stdout.write(`${await sweepReceiver(kind, file, perDg, avg)}  (load ${la()})\n`);
    }
    if (!skip.has('nfcapd') && existsSync('/usr/bin/nfcapd')) {
      const r = await sweep(nfcapdTrial(file, d.recsOf));
      const atBest = r.best ? stepFigures({ ...r.best, got: r.best.sent }, avg) : '';
      process.stdout.write(`${describeSweep('nfcapd', r, 'records', atBest)}  (load ${la()})\n`);
    }
    if (!skip.has('fair') && existsSync('/usr/bin/nfcapd')) {
      for (const line of await fairCompare(file, d.recsOf)) process.stdout.write(`${line}  (load ${la()})\n`);
    }
  }
};

if (values.role === 'bare' || values.role === 'collector' || values.role === 'pool') await receiver(values.role);
else if (values.role === 'send') sender();
else if (resolve(process.argv[1] ?? '') === SELF) {
  try { await main(); } finally { for (const p of senders) p.kill('SIGKILL'); }
}
