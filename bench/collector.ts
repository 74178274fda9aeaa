/**
 * bench/collector: the NetFlow v9 / IPFIX collector's ceiling on loopback, beside the UDP receive
 * ceiling of one socket and beside nfcapd on the same datagram stream.
 *
 *   node --import tsx bench/collector.ts [--count 300000] [--seconds 10] [--skip nfcapd]
 *
 * The datagrams are what `softflowd -r` exports (≈1,370 B each, v9 and IPFIX) from a lemay capture,
 * cached in .cache/fuzz/seeds/ (bench/fuzz.ts writes them; this bench does when they are missing).
 * A sender process replays them in a loop at 127.0.0.1 as fast as node's dgram lets it, at most
 * --count datagrams and --seconds seconds. Receivers, each in its own process:
 *
 *   bare        a dgram socket (32 MiB SO_RCVBUF) that only counts: the receive ceiling
 *   collector   the Collector on the same kind of socket, every datagram decoded, records to a callback
 *   2 × …       two collector processes on two ports, each with its own sender (node 20 dgram has no
 *               SO_REUSEPORT, so scaling is by ports)
 *   nfcapd      nfcapd -w DIR on the same stream; records it stored (nfdump -r FILE -I) and its CPU time
 *
 * Also: the decoders alone, in-process, on the same datagrams (no socket): the decode ceiling.
 * Loss = sent − received. Traffic goes only to 127.0.0.1. Figures are for this machine; nothing is asserted.
 */
import { execFile, fork, spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { fakeClock } from '../core/clock.ts';
import { Collector, CollectorConfig } from '../ingest/netflow/collector.ts';
import { IpfixDecoder } from '../ingest/netflow/ipfix.ts';
import { V9Decoder } from '../ingest/netflow/v9.ts';
import { cachedSoftflowdSeeds, defaultDataDir } from './fuzz.ts';

const SELF = fileURLToPath(import.meta.url);
const RCVBUF = 32 * 1024 * 1024;
const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '300000' }, seconds: { type: 'string', default: '10' }, skip: { type: 'string', default: '' },
    role: { type: 'string' }, version: { type: 'string' }, port: { type: 'string' },
  },
});
const COUNT = Number(values.count);
const SECONDS = Number(values.seconds);

/** The softflowd datagrams of one version. */
const datagrams = async (version: 'v9' | 'ipfix'): Promise<Buffer[]> => {
  const pcap = join(defaultDataDir(), 'lemay', 'send_a_fake_command_modbus_6RTU_with_operate.pcap');
  const d = await cachedSoftflowdSeeds(join('.cache', 'fuzz', 'seeds'), pcap);
  if (d[version].length === 0) throw new Error(`no ${version} datagrams from softflowd; is softflowd installed?`);
  return d[version];
};

/** Sender role: replays the datagrams at 127.0.0.1:port; reports { sent, seconds }. */
const sender = async (version: 'v9' | 'ipfix', port: number): Promise<void> => {
  const dgs = await datagrams(version);
  const s = createSocket({ type: 'udp4', sendBufferSize: 4 * 1024 * 1024 });
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  s.connect(port, '127.0.0.1');
  await new Promise<void>((r) => s.once('connect', () => r()));
  s.on('error', () => { /* ICMP unreachable after the receiver left: ignored */ });
  const t0 = process.hrtime.bigint();
  const capNs = BigInt(SECONDS * 1e9);
  let sent = 0;
  while (sent < COUNT && process.hrtime.bigint() - t0 < capNs) {
    // Batches of 256, each awaited on its last send, so the send queue stays bounded.
    const n = Math.min(256, COUNT - sent);
    await new Promise<void>((r) => {
      for (let i = 0; i < n; i++) s.send(dgs[(sent + i) % dgs.length]!, i === n - 1 ? () => r() : undefined);
    });
    sent += n;
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  s.close();
  process.send!({ sent, seconds });
};

/** Receiver role: a bare counting socket or the Collector; reports on request. */
const receiver = async (kind: 'bare' | 'collector'): Promise<void> => {
  let datagrams = 0;
  let records = 0;
  let first = 0n;
  let last = 0n;
  const stamp = (): void => { last = process.hrtime.bigint(); if (first === 0n) first = last; };
  let port: number;
  let close: () => Promise<void>;
  if (kind === 'bare') {
    const s = createSocket({ type: 'udp4', recvBufferSize: RCVBUF });
    s.on('message', () => { datagrams++; stamp(); });
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    port = s.address().port;
    close = () => new Promise((r) => s.close(() => r()));
  } else {
    const c = new Collector(CollectorConfig.parse({ listen: 'udp://127.0.0.1:0', recvBufferSize: RCVBUF }), {}, (rs) => { records += rs.length; });
    await c.open();
    const orig = c.receive.bind(c);
    c.receive = (msg, rinfo) => { datagrams++; stamp(); return orig(msg, rinfo); };
    port = c.address().port;
    close = () => c.close();
  }
  process.send!({ port });
  process.on('message', (m: { report?: boolean }) => {
    if (!m.report) return;
    void close().then(() => {
      process.send!({ datagrams, records, seconds: Number(last - first) / 1e9, peakRssMb: process.resourceUsage().maxRSS / 1024 });
      process.exit(0);
    });
  });
};

const tsxFork = (args: string[]): ChildProcess => fork(SELF, args, { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });

const nextMessage = <T>(p: ChildProcess): Promise<T> => new Promise((r, j) => {
  p.once('message', (m) => r(m as T));
  p.once('exit', (code) => j(new Error(`child exited with ${code} before answering`)));
});

interface RecvReport { datagrams: number; records: number; seconds: number; peakRssMb: number }
interface SendReport { sent: number; seconds: number }

/** One run: `n` receivers of `kind`, each blasted by its own sender. */
const blast = async (kind: 'bare' | 'collector', version: 'v9' | 'ipfix', n: number): Promise<{ recv: RecvReport[]; sent: SendReport[] }> => {
  const receivers = Array.from({ length: n }, () => tsxFork(['--role', kind, '--count', String(COUNT), '--seconds', String(SECONDS)]));
  const ports = await Promise.all(receivers.map((r) => nextMessage<{ port: number }>(r)));
  const senders = ports.map((p) => tsxFork(['--role', 'send', '--version', version, '--port', String(p.port), '--count', String(COUNT), '--seconds', String(SECONDS)]));
  const sent = await Promise.all(senders.map((s) => nextMessage<SendReport>(s)));
  await new Promise((r) => setTimeout(r, 1000)); // let the receivers drain their socket buffers
  const recv = await Promise.all(receivers.map((r) => { const m = nextMessage<RecvReport>(r); r.send({ report: true }); return m; }));
  return { recv, sent };
};

const fmt = (x: number): string => Math.round(x).toLocaleString('en-US');

const line = (name: string, r: { recv: RecvReport[]; sent: SendReport[] }, recordsPerDg: number): string => {
  const sent = r.sent.reduce((a, s) => a + s.sent, 0);
  const sendRate = r.sent.reduce((a, s) => a + s.sent / s.seconds, 0);
  const got = r.recv.reduce((a, x) => a + x.datagrams, 0);
  const rate = r.recv.reduce((a, x) => a + x.datagrams / Math.max(x.seconds, 1e-9), 0);
  const records = r.recv.reduce((a, x) => a + x.records, 0);
  const loss = sent - got;
  return `${name.padEnd(30)} sent ${fmt(sent).padStart(9)} (${fmt(sendRate).padStart(7)}/s)  received ${fmt(got).padStart(9)} ` +
    `${fmt(rate).padStart(8)} dg/s  loss ${fmt(loss).padStart(8)} (${((100 * loss) / Math.max(sent, 1)).toFixed(1)} %)` +
    (records > 0 ? `  ${fmt(records)} records, ${fmt((rate * records) / Math.max(got, 1))} records/s` : `  (≈${fmt(rate * recordsPerDg)} records/s if decoded)`) +
    `  RSS ${r.recv.map((x) => x.peakRssMb.toFixed(0)).join('+')} MB`;
};

/** The decoders alone on the datagrams, in-process: datagrams/s and records/s. */
const decodeOnly = (version: 'v9' | 'ipfix', dgs: Buffer[]): { dgRate: number; recRate: number; recordsPerDg: number } => {
  const clock = fakeClock(Date.now());
  const d = version === 'v9' ? new V9Decoder(clock) : new IpfixDecoder(clock);
  let records = 0;
  for (const b of dgs) records += d.decode(b, '127.0.0.1', clock.now()).records.length;
  const rounds = Math.max(1, Math.ceil(COUNT / dgs.length));
  const t0 = process.hrtime.bigint();
  let n = 0;
  for (let i = 0; i < rounds; i++) for (const b of dgs) n += d.decode(b, '127.0.0.1', clock.now()).records.length;
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  return { dgRate: (rounds * dgs.length) / s, recRate: n / s, recordsPerDg: records / dgs.length };
};

const run = promisify(execFile);

/** nfcapd receiving the same blast: records it stored and the CPU seconds it spent. */
const nfcapd = async (version: 'v9' | 'ipfix'): Promise<string> => {
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
    const s = tsxFork(['--role', 'send', '--version', version, '--port', String(port), '--count', String(COUNT), '--seconds', String(SECONDS)]);
    const sent = await nextMessage<SendReport>(s);
    await new Promise((r) => setTimeout(r, 1000));
    // nfcapd is a child of /usr/bin/time: signal it by its own pid so it flushes its file and exits.
    const { stdout } = await run('pgrep', ['-P', String(p.pid), 'nfcapd']);
    for (const pid of stdout.split('\n').filter(Boolean)) process.kill(Number(pid), 'SIGTERM');
    await new Promise((r) => p.once('close', r));
    const files = readdirSync(dir).filter((f) => f.startsWith('nfcapd.')).map((f) => join(dir, f));
    let flows = 0;
    for (const f of files) {
      const { stdout: info } = await run('nfdump', ['-r', f, '-I']);
      flows += Number(info.match(/^Flows:\s*(\d+)/m)?.[1] ?? 0);
    }
    const user = Number(err.match(/User time \(seconds\): ([\d.]+)/)?.[1] ?? 0);
    const sys = Number(err.match(/System time \(seconds\): ([\d.]+)/)?.[1] ?? 0);
    const rss = Number(err.match(/Maximum resident set size \(kbytes\): (\d+)/)?.[1] ?? 0) / 1024;
    const cpu = user + sys;
    return `nfcapd ${version.padEnd(24)} sent ${fmt(sent.sent).padStart(9)} (${fmt(sent.sent / sent.seconds)}/s)  stored ${fmt(flows)} flows; ` +
      `CPU ${cpu.toFixed(2)} s (user ${user.toFixed(2)} + sys ${sys.toFixed(2)}) = ${fmt(sent.sent / Math.max(cpu, 1e-3))} dg per CPU-s; RSS ${rss.toFixed(0)} MB`;
  } finally {
    if (p.exitCode === null) p.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
};

const main = async (): Promise<void> => {
  const skip = new Set(values.skip!.split(',').filter(Boolean));
  process.stdout.write(`collector bench: at most ${fmt(COUNT)} datagrams and ${SECONDS} s per sender, 127.0.0.1 only\n`);
  for (const version of ['v9', 'ipfix'] as const) {
    const dgs = await datagrams(version);
    const avg = dgs.reduce((a, b) => a + b.length, 0) / dgs.length;
    const d = decodeOnly(version, dgs);
    process.stdout.write(`\n${version}: ${dgs.length} softflowd datagrams, ${avg.toFixed(0)} B average, ${d.recordsPerDg.toFixed(1)} records each\n`);
    process.stdout.write(`${'decoder alone (no socket)'.padEnd(30)} ${fmt(d.dgRate)} dg/s, ${fmt(d.recRate)} records/s\n`);
    process.stdout.write(`${line('bare socket (count only)', await blast('bare', version, 1), d.recordsPerDg)}\n`);
    process.stdout.write(`${line('Collector, 1 socket', await blast('collector', version, 1), d.recordsPerDg)}\n`);
    process.stdout.write(`${line('Collector, 2 ports × 2 procs', await blast('collector', version, 2), d.recordsPerDg)}\n`);
    if (!skip.has('nfcapd') && existsSync('/usr/bin/nfcapd')) process.stdout.write(`${await nfcapd(version)}\n`);
  }
};

if (values.role === 'send') await sender(values.version as 'v9' | 'ipfix', Number(values.port));
else if (values.role === 'bare' || values.role === 'collector') await receiver(values.role);
else if (resolve(process.argv[1] ?? '') === SELF) await main();
