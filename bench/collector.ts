/**
 * bench/collector: the highest rate at which the NetFlow v9 / IPFIX collector loses nothing on
 * loopback, beside the same figure for a bare UDP socket and for nfcapd on the same datagram stream.
 *
 *   node --import tsx bench/collector.ts [--seconds 3] [--max 200000] [--workers 2]
 *                                        [--versions v9,ipfix] [--skip nfcapd,pool]
 *
 * The datagrams are what `softflowd -r` exports (≈1,360 B, 31 records each, v9 and IPFIX) from a
 * lemay capture, cached in .cache/fuzz/seeds/ (bench/fuzz.ts writes them; this bench does when they
 * are missing).
 *
 * Sender: a small C program (compiled once with cc into .cache/bench/udpsend) that paces
 * `sendmmsg` to k datagrams/s for `--seconds`, replaying the datagrams in order (port i of n gets
 * the whole sequence, so every port sees its templates). A node sender needs ~10 µs of CPU per
 * datagram and would take the receiver's core on a 2-core box; the C one needs ~1 µs.
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
 * sent was received (records for nfcapd) after a drain. Also printed: the decoders alone, in-process.
 * Traffic goes only to 127.0.0.1. Figures are for this machine; nothing is asserted.
 */
import { execFile, fork, spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
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
  },
});
const SECONDS = Number(values.seconds);
const MAX_RATE = Number(values.max);
const WORKERS = Number(values.workers);
const run = promisify(execFile);
type Version = 'v9' | 'ipfix';

/** The softflowd datagrams of one version. */
const datagrams = async (version: Version): Promise<Buffer[]> => {
  const pcap = join(defaultDataDir(), 'lemay', 'send_a_fake_command_modbus_6RTU_with_operate.pcap');
  const d = await cachedSoftflowdSeeds(join('.cache', 'fuzz', 'seeds'), pcap);
  if (d[version].length === 0) throw new Error(`no ${version} datagrams from softflowd; is softflowd installed?`);
  return d[version];
};

// ───────────────────────────── the paced C sender ─────────────────────────────

const SENDER_C = String.raw`
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
/* udpsend PORTS RATE SECONDS FILE: FILE holds [len:2 BE][bytes] datagrams; sends to 127.0.0.1:PORTS
   (comma-separated), the k-th datagram to port k % n, paced to RATE/s; prints "sent seconds". */
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
int main(int argc, char **argv) {
  if (argc != 5) return 2;
  struct sockaddr_in to[64]; int np = 0;
  for (char *p = strtok(argv[1], ","); p && np < 64; p = strtok(NULL, ",")) {
    memset(&to[np], 0, sizeof to[np]); to[np].sin_family = AF_INET; to[np].sin_port = htons(atoi(p));
    inet_pton(AF_INET, "127.0.0.1", &to[np].sin_addr); np++;
  }
  double rate = atof(argv[2]), secs = atof(argv[3]);
  FILE *f = fopen(argv[4], "rb"); if (!f) return 3;
  static unsigned char data[1 << 24]; size_t size = fread(data, 1, sizeof data, f); fclose(f);
  static struct iovec dg[65536]; int nd = 0;
  for (size_t o = 0; o + 2 <= size && nd < 65536;) { size_t l = (data[o] << 8) | data[o + 1]; dg[nd].iov_base = data + o + 2; dg[nd].iov_len = l; nd++; o += 2 + l; }
  if (nd == 0) return 4;
  int fd = socket(AF_INET, SOCK_DGRAM, 0); int sb = 4 << 20; setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sb, sizeof sb);
  struct mmsghdr m[64]; struct iovec iov[64];
  long sent = 0, cap = (long)(rate * secs);
  double t0 = now(), t;
  while ((t = now() - t0) < secs && sent < cap) {
    long due = (long)(t * rate); if (due > cap) due = cap;
    if (due <= sent) { struct timespec z = {0, 20000}; nanosleep(&z, NULL); continue; }
    int n = due - sent > 64 ? 64 : (int)(due - sent);
    for (int i = 0; i < n; i++) {
      long k = sent + i; iov[i] = dg[(k / np) % nd];
      memset(&m[i], 0, sizeof m[i]); m[i].msg_hdr.msg_iov = &iov[i]; m[i].msg_hdr.msg_iovlen = 1;
      m[i].msg_hdr.msg_name = &to[k % np]; m[i].msg_hdr.msg_namelen = sizeof to[0];
    }
    int r = sendmmsg(fd, m, n, 0);
    if (r > 0) sent += r; else if (errno != ENOBUFS && errno != EAGAIN && errno != ECONNREFUSED) { perror("sendmmsg"); return 5; }
  }
  printf("%ld %.6f\n", sent, now() - t0);
  return 0;
}
`;

/** Compiles the sender once; returns its path. */
const senderBinary = async (): Promise<string> => {
  mkdirSync(CACHE, { recursive: true });
  const bin = join(CACHE, 'udpsend');
  if (!existsSync(bin)) {
    const src = join(CACHE, 'udpsend.c');
    writeFileSync(src, SENDER_C);
    await run('cc', ['-O2', '-o', bin, src]);
  }
  return bin;
};

/** The datagrams as the sender reads them: [len:2 BE][bytes]…; returns the file path. */
const datagramFile = (version: Version, dgs: Buffer[]): string => {
  const path = join(CACHE, `softflowd-${version}.dgs`);
  const parts: Buffer[] = [];
  for (const d of dgs) { const h = Buffer.alloc(2); h.writeUInt16BE(d.length); parts.push(h, d); }
  writeFileSync(path, Buffer.concat(parts));
  return path;
};

interface SendReport { sent: number; seconds: number }

const send = async (bin: string, ports: number[], rate: number, file: string): Promise<SendReport> => {
  const { stdout } = await run(bin, [ports.join(','), String(rate), String(SECONDS), file], { timeout: (SECONDS + 30) * 1000 });
  const [sent, seconds] = stdout.trim().split(' ').map(Number);
  return { sent: sent!, seconds: seconds! };
};

// ───────────────────────────── receivers (child processes) ─────────────────────────────

interface Counts { datagrams: number; records: number }

/** Receiver role: binds, says { ports, recvBufferBytes }, answers { datagrams, records } to each 'count'. */
const receiver = async (kind: 'bare' | 'collector' | 'pool'): Promise<void> => {
  const counts: Counts = { datagrams: 0, records: 0 };
  let ports: number[];
  let granted: number;
  let stats = (): Counts => counts;
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
  process.on('message', (m: { t?: string }) => { if (m.t === 'count') process.send!(stats()); });
};

const tsxFork = (args: string[]): ChildProcess => fork(SELF, args, { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });

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

interface Step { rate: number; sent: number; sendRate: number; got: number; records: number; cpu?: number }

/** A step's loss: datagrams (records for nfcapd) sent and not received. */
type Trial = (rate: number) => Promise<Step & { lost: number }>;

/** Rates 5k ×1.5 … until the first loss, then two bisection steps; returns every step run. */
const sweep = async (trial: Trial): Promise<{ best: (Step & { lost: number }) | undefined; firstLoss: (Step & { lost: number }) | undefined; steps: number }> => {
  let best: (Step & { lost: number }) | undefined;
  let firstLoss: (Step & { lost: number }) | undefined;
  let steps = 0;
  for (let rate = 5000; rate <= MAX_RATE; rate = Math.round(rate * 1.5)) {
    const s = await trial(rate);
    steps++;
    if (s.lost > 0) { firstLoss = s; break; }
    best = s;
    if (s.sendRate < 0.5 * rate) break; // the sender cannot go faster here (CPU taken by others)
  }
  for (let i = 0; i < 2 && best && firstLoss; i++) {
    const mid = Math.round((best.rate + firstLoss.rate) / 2 / 1000) * 1000;
    if (mid <= best.rate || mid >= firstLoss.rate) break;
    const s = await trial(mid);
    steps++;
    if (s.lost > 0) firstLoss = s; else best = s;
  }
  return { best, firstLoss, steps };
};

const fmt = (x: number): string => Math.round(x).toLocaleString('en-US');

const describeSweep = (name: string, r: Awaited<ReturnType<typeof sweep>>, unit: string, extra = ''): string => {
  const b = r.best;
  const head = `${name.padEnd(28)} `;
  const ok = b ? `lossless up to ${fmt(b.sendRate).padStart(7)} dg/s (${fmt(b.sent)} sent in ${SECONDS} s)` : 'loss at every rate tried';
  const lossy = r.firstLoss
    ? `; at ${fmt(r.firstLoss.sendRate)} dg/s: lost ${fmt(r.firstLoss.lost)} ${unit} (${((100 * r.firstLoss.lost) / Math.max(1, unit === 'records' ? r.firstLoss.records + r.firstLoss.lost : r.firstLoss.sent)).toFixed(1)} %)`
    : `; no loss up to --max ${fmt(MAX_RATE)}`;
  return `${head}${ok}${lossy}${extra}  [${r.steps} steps]`;
};

/** Sweeps a receiver role kept alive across steps. */
const sweepReceiver = async (kind: 'bare' | 'collector' | 'pool', bin: string, file: string, recordsPerDg: number): Promise<string> => {
  const p = tsxFork(['--role', kind, '--workers', String(WORKERS)]);
  const { ports, recvBufferBytes } = await nextMessage<{ ports: number[]; recvBufferBytes: number }>(p);
  try {
    let before = await settled(p);
    const r = await sweep(async (rate) => {
      const s = await send(bin, ports, rate, file);
      const after = await settled(p);
      const got = after.datagrams - before.datagrams;
      const records = after.records - before.records;
      before = after;
      return { rate, sent: s.sent, sendRate: s.sent / s.seconds, got, records, lost: Math.max(0, s.sent - got) };
    });
    const recs = r.best && kind !== 'bare' ? `, ${fmt((r.best.records / Math.max(1, r.best.got)) * r.best.sendRate)} records/s` : kind === 'bare' && r.best ? ` (≈${fmt(r.best.sendRate * recordsPerDg)} records/s if decoded)` : '';
    return describeSweep(`${kind === 'pool' ? `pool, ${WORKERS} workers/ports` : kind}`, r, 'datagrams', `${recs}; SO_RCVBUF ${fmt(recvBufferBytes / 1024)} KiB`);
  } finally {
    p.kill('SIGKILL');
  }
};

/** nfcapd on one step: flows stored vs records sent, and its CPU seconds. */
const nfcapdTrial = (bin: string, file: string, recsOf: number[]): Trial => async (rate) => {
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
    const s = await send(bin, [port], rate, file);
    await new Promise((r) => setTimeout(r, 1000));
    // nfcapd is a child of /usr/bin/time: signal it by its own pid so it flushes its file and exits.
    const { stdout } = await run('pgrep', ['-P', String(p.pid), 'nfcapd']);
    for (const pid of stdout.split('\n').filter(Boolean)) process.kill(Number(pid), 'SIGTERM');
    await new Promise((r) => p.once('close', r));
    let flows = 0;
    for (const f of readdirSync(dir).filter((x) => x.startsWith('nfcapd.'))) {
      const { stdout: info } = await run('nfdump', ['-r', join(dir, f), '-I']);
      flows += Number(info.match(/^Flows:\s*(\d+)/m)?.[1] ?? 0);
    }
    let expected = 0;
    for (let i = 0; i < s.sent; i++) expected += recsOf[i % recsOf.length]!;
    const cpu = Number(err.match(/User time \(seconds\): ([\d.]+)/)?.[1] ?? 0) + Number(err.match(/System time \(seconds\): ([\d.]+)/)?.[1] ?? 0);
    return { rate, sent: s.sent, sendRate: s.sent / s.seconds, got: s.sent, records: flows, lost: Math.max(0, expected - flows), cpu };
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

const main = async (): Promise<void> => {
  const skip = new Set(values.skip!.split(',').filter(Boolean));
  const bin = await senderBinary();
  const la = (): string => loadavg().map((x) => x.toFixed(2)).join(' ');
  process.stdout.write(`collector bench: ${SECONDS} s per step, rates up to ${fmt(MAX_RATE)} dg/s, 127.0.0.1 only; load average ${la()}\n`);
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
      process.stdout.write(`${await sweepReceiver(kind, bin, file, perDg)}  (load ${la()})\n`);
    }
    if (!skip.has('nfcapd') && existsSync('/usr/bin/nfcapd')) {
      let cpuAtBest = '';
      const r = await sweep(async (rate) => {
        const s = await nfcapdTrial(bin, file, d.recsOf)(rate);
        if (s.lost === 0) cpuAtBest = `; CPU ${s.cpu!.toFixed(2)} s for ${fmt(s.sent)} dg = ${fmt(s.sent / Math.max(s.cpu!, 1e-3))} dg per CPU-s`;
        return s;
      });
      process.stdout.write(`${describeSweep('nfcapd', r, 'records', cpuAtBest)}  (load ${la()})\n`);
    }
  }
};

if (values.role === 'bare' || values.role === 'collector' || values.role === 'pool') await receiver(values.role);
else if (resolve(process.argv[1] ?? '') === SELF) await main();
