/**
 * bench/ingest: the pcap ingest path beside its peers, in one run, on the same ≥ 1 GB simulated plant
 * capture (generated once into .cache/bench/ and reused):
 *
 *   (a) conduitwatch readPcapFlows: pcap → flow records with L7 operations (every dissector wired in)
 *   (b) softflowd -r FILE -v 9 -c none, exporting to a loopback sink that only counts datagrams
 *   (c) tshark -Y modbus -T fields -e modbus.func_code on a prefix of the capture (--tshark-mb, 200 MB):
 *       tshark runs at about 20k packets/s, so the whole file would take an hour
 *   (d) a bare Node loop that walks pcap records, Ethernet/IPv4/TCP headers and Modbus MBAP headers:
 *       the ceiling any JavaScript parser of this file can reach
 *   (e) `conduitwatch flows FILE`, the whole process: Node and tsx start-up, reading,
 *       and writing every record as JSON to a pipe the bench drains, timed like softflowd (wall clock)
 *
 *   node --import tsx bench/ingest.ts [--mb 1000] [--file plant.pcap] [--tshark-mb 200] [--skip softflowd,tshark,cli] [--runs 3] [--profile]
 *   node --import tsx bench/ingest.ts --lemay-tiles 50 [--rounds 4] …   (connection-per-poll input, below)
 *
 * --lemay-tiles N: instead of the simulated plant (long flows), the shared Lemay capture
 * send_a_fake_command (Modbus/TCP, one connection per poll, about 9 packets per flow) tiled into N
 * copies of its 6 RTUs (copy k's RTUs at 10.k/16: N = 50 gives 300 RTUs polled by one MTU), the copies
 * interleaved packet by packet 1 µs apart, and --rounds R times one after the other in event time
 * (the 670 s capture shifted by 670 s each round). Written once to .cache/bench/.
 *
 * (a), (b), (d) and (e) run `--runs` times, interleaved, and the median run is printed (its note gives
 * the range), so one noisy moment on a shared machine does not decide the comparison.
 *
 * (a) and (d) run in child processes (so their peak RSS is their own); softflowd and tshark run under
 * /usr/bin/time -v for theirs. With --profile, (a) runs again under `node --cpu-prof` and the self time
 * per function and per file is printed. Figures are for this machine; nothing is asserted.
 */
import { createSocket } from 'node:dgram';
import { closeSync, createReadStream, createWriteStream, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { newPcapStats, readPcapFlows } from '../ingest/pcap/index.ts';
import { readCaptureChunks, type RawPacket } from '../ingest/pcap/reader.ts';
import { SimOptions, simulatePlant } from '../ingest/simulate/index.ts';
import { ensureLemayTiles, runPart, timedProcess } from './support.ts';

const DIR = join('.cache', 'bench');
const SELF = fileURLToPath(import.meta.url);

/** One row of the result table. */
interface Row {
  name: string;
  seconds: number;
  /** CPU seconds (user + system) of the run: less disturbed than wall time by other load on the machine. */
  cpu: number;
  packets: number;
  mb: number;
  peakRssMb: number;
  note: string;
}

/** The simulated capture of at least `mb` MB (the plant simulator writes about 14 MB per hour of event time). */
const ensureCapture = async (mb: number): Promise<string> => {
  mkdirSync(DIR, { recursive: true });
  const probe = join(DIR, 'probe.pcap');
  if (!existsSync(probe)) await simulatePlant(SimOptions.parse({ out: probe, duration: '2h', seed: 1 }));
  const mbPerHour = statSync(probe).size / 2 / 1e6;
  const hours = Math.ceil(mb / mbPerHour);
  const file = join(DIR, `plant-${hours}h.pcap`);
  if (!existsSync(file)) {
    process.stderr.write(`bench: simulating ${hours}h of plant traffic (≈${(hours * mbPerHour).toFixed(0)} MB) into ${file}…\n`);
    await simulatePlant(SimOptions.parse({ out: file, duration: `${hours}h`, seed: 1 }));
  }
  return file;
};

/**
 * The first whole records of the classic pcap `file` up to `mb` MB, copied once into a prefix file;
 * returns it and its packet count. Records are contiguous, so the prefix is the file's first
 * 24 + Σ(16 + caplen) bytes.
 */
const prefixOf = async (file: string, mb: number): Promise<{ path: string; packets: number }> => {
  const path = join(DIR, `${basename(file, '.pcap')}-${mb}mb.pcap`);
  const limit = mb * 1e6;
  let size = 24;
  let packets = 0;
  let full = false;
  const sink = (p: RawPacket): void => {
    if (full || size + 16 + p.caplen > limit) { full = true; return; }
    size += 16 + p.caplen;
    packets++;
  };
  for await (const _ of readCaptureChunks(file, sink, { violations: {}, truncated: false })) if (full) break;
  if (!existsSync(path)) await pipeline(createReadStream(file, { end: size - 1 }), createWriteStream(path));
  return { path, packets };
};

/** (a) or (d) in a child node process. */
const child = (part: string, file: string, nodeFlags: string[] = []): Promise<Row> => runPart<Row>(SELF, ['--part', part, '--file', file], nodeFlags);

const peakRssMb = (): number => process.resourceUsage().maxRSS / 1024;
/** CPU seconds of this process since `from` (a process.cpuUsage() reading). */
const cpuSince = (from: NodeJS.CpuUsage): number => { const u = process.cpuUsage(from); return (u.user + u.system) / 1e6; };

/** (a) readPcapFlows over the whole file. */
const partOurs = async (file: string): Promise<Row> => {
  const stats = newPcapStats(file);
  let records = 0;
  let ops = 0;
  let withL7 = 0;
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  for await (const batch of readPcapFlows(file, {}, stats)) {
    records += batch.length;
    for (const f of batch) {
      if (f.l7) withL7++;
      if (f.l7Ops) for (const k in f.l7Ops) ops += f.l7Ops[k]!;
    }
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return {
    name: 'conduitwatch readPcapFlows (a)', seconds, cpu: cpuSince(c0), packets: stats.packets, mb: statSync(file).size / 1e6, peakRssMb: peakRssMb(),
    note: `${records.toLocaleString('en-US')} records (${withL7.toLocaleString('en-US')} with l7, ${(stats.packets / records).toFixed(1)} packets per record), ${ops.toLocaleString('en-US')} L7 requests`,
  };
};

/**
 * (d) The ceiling: pcap records → Ethernet (+802.1Q) → IPv4 → TCP → MBAP function code, counted, with
 * no flow table, no records and no checks beyond what keeps the loop in bounds.
 */
const partBare = (file: string): Row => {
  const fd = openSync(file, 'r');
  const buf = Buffer.allocUnsafe(4 * 1024 * 1024);
  const fc = new Float64Array(256);
  let packets = 0;
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  let filePos = 0;
  let end = readSync(fd, buf, 0, buf.length, 0);
  let p = 24;
  while (true) {
    if (end - p < 16 || end - p < 16 + buf.readUInt32LE(p + 8)) {
      buf.copy(buf, 0, p, end);
      filePos += p;
      end -= p;
      p = 0;
      const n = readSync(fd, buf, end, buf.length - end, filePos + end);
      if (n === 0) break;
      end += n;
      continue;
    }
    const incl = buf.readUInt32LE(p + 8);
    const f = p + 16;
    p = f + incl;
    packets++;
    let e = f + 12;
    let type = (buf[e]! << 8) | buf[e + 1]!;
    if (type === 0x8100) { e += 4; type = (buf[e]! << 8) | buf[e + 1]!; }
    if (type !== 0x0800) continue;
    const ip = e + 2;
    if (buf[ip + 9] !== 6) continue;
    const tcp = ip + (buf[ip]! & 0x0f) * 4;
    const sport = (buf[tcp]! << 8) | buf[tcp + 1]!;
    const dport = (buf[tcp + 2]! << 8) | buf[tcp + 3]!;
    if (sport !== 502 && dport !== 502) continue;
    const data = tcp + (buf[tcp + 12]! >> 4) * 4;
    if (data + 8 <= p) fc[buf[data + 7]!]!++;
  }
  closeSync(fd);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  let mbap = 0;
  for (const v of fc) mbap += v;
  return {
    name: 'bare Node frame + MBAP loop (d)', seconds, cpu: cpuSince(c0), packets, mb: statSync(file).size / 1e6, peakRssMb: peakRssMb(),
    note: `${mbap.toLocaleString('en-US')} MBAP headers (ceiling reference)`,
  };
};

/** (b) softflowd reading the file and exporting NetFlow v9 to a loopback socket that only counts. */
const softflowd = async (file: string, packets: number): Promise<Row> => {
  const sink = createSocket({ type: 'udp4', recvBufferSize: 32 * 1024 * 1024 });
  let datagrams = 0;
  sink.on('message', () => { datagrams++; });
  await new Promise<void>((r) => sink.bind(0, '127.0.0.1', () => r()));
  const port = sink.address().port;
  try {
    const r = await timedProcess('softflowd', ['-r', file, '-n', `127.0.0.1:${port}`, '-v', '9', '-d', '-c', 'none', '-p', `/tmp/softflowd-bench-${process.pid}.pid`]);
    await new Promise((res) => setTimeout(res, 300));
    return {
      name: 'softflowd -r -v 9 -c none (b)', seconds: r.seconds, cpu: r.cpu, packets, mb: statSync(file).size / 1e6, peakRssMb: r.peakRssMb,
      note: `${datagrams.toLocaleString('en-US')} v9 datagrams received by the sink (exit ${r.code})`,
    };
  } finally {
    sink.close();
  }
};

/** (e) The CLI as a user runs it, its JSON lines counted by the bench, timed as a whole process. */
const cli = async (file: string, packets: number): Promise<Row> => {
  const bin = fileURLToPath(new URL('../bin/conduitwatch.mjs', import.meta.url));
  const r = await timedProcess(process.execPath, [bin, 'flows', file]);
  return {
    name: 'conduitwatch flows CLI, whole process (e)', seconds: r.seconds, cpu: r.cpu, packets, mb: statSync(file).size / 1e6, peakRssMb: r.peakRssMb,
    note: `${r.lines.toLocaleString('en-US')} JSON records written (exit ${r.code})`,
  };
};

/** The median of `rows` by time, its note extended with the range over the runs. */
const median = (rows: Row[]): Row => {
  const sorted = [...rows].sort((x, y) => x.seconds - y.seconds);
  const mid = sorted[Math.floor((sorted.length - 1) / 2)]!;
  if (rows.length === 1) return mid;
  return { ...mid, note: `${mid.note}; median of ${rows.length} runs, ${sorted[0]!.seconds.toFixed(2)}–${sorted.at(-1)!.seconds.toFixed(2)} s` };
};

/** (c) tshark with Modbus dissection on the prefix. */
const tshark = async (prefix: { path: string; packets: number }): Promise<Row> => {
  const r = await timedProcess('tshark', ['-n', '-r', prefix.path, '-Y', 'modbus', '-T', 'fields', '-e', 'modbus.func_code']);
  return {
    name: `tshark -Y modbus, ${basename(prefix.path)} (c)`, seconds: r.seconds, cpu: r.cpu, packets: prefix.packets, mb: statSync(prefix.path).size / 1e6,
    peakRssMb: r.peakRssMb, note: `${r.lines.toLocaleString('en-US')} Modbus PDUs (exit ${r.code})`,
  };
};

/** Self time per function and per source file of the newest .cpuprofile in `dir`. */
const profileSummary = (dir: string): string => {
  const newest = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(dir, f))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
  if (!newest) return 'no profile written';
  interface Node { id: number; hitCount?: number; callFrame: { functionName: string; url: string; lineNumber: number } }
  const prof = JSON.parse(readFileSync(newest, 'utf8')) as { nodes: Node[]; samples: number[] };
  const total = prof.samples.length;
  const byFn = new Map<string, number>();
  const byFile = new Map<string, number>();
  for (const n of prof.nodes) {
    const hits = n.hitCount ?? 0;
    if (hits === 0) continue;
    const url = n.callFrame.url.replace(/^.*\/work\/main\//, '').replace(/^file:\/\//, '') || '(native)';
    const fn = `${n.callFrame.functionName || '(anonymous)'} ${url}`;
    byFn.set(fn, (byFn.get(fn) ?? 0) + hits);
    const fileKey = url.startsWith('node:') ? 'node internals' : url;
    byFile.set(fileKey, (byFile.get(fileKey) ?? 0) + hits);
  }
  const top = (m: Map<string, number>, n: number): string => [...m].sort((a, b) => b[1] - a[1]).slice(0, n)
    .map(([k, v]) => `  ${((100 * v) / total).toFixed(1).padStart(5)} %  ${k}`).join('\n');
  return `${newest} (${total} samples)\nself time by file:\n${top(byFile, 10)}\nself time by function:\n${top(byFn, 15)}`;
};

const row = (r: Row): string =>
  `${r.name.padEnd(46)} ${r.seconds.toFixed(2).padStart(7)} s ${r.cpu.toFixed(2).padStart(6)} cpu-s ` +
  `${Math.round(r.packets / r.seconds).toLocaleString('en-US').padStart(11)} pkt/s ${Math.round(r.packets / r.cpu).toLocaleString('en-US').padStart(11)} pkt/cpu-s ` +
  `${(r.mb / r.seconds).toFixed(1).padStart(7)} MB/s ${(r.peakRssMb.toFixed(0) + ' MB').padStart(8)}  ${r.note}`;

const main = async (): Promise<void> => {
  const { values } = parseArgs({
    options: {
      mb: { type: 'string', default: '1000' }, file: { type: 'string' }, 'tshark-mb': { type: 'string', default: '200' },
      skip: { type: 'string', default: '' }, profile: { type: 'boolean', default: false }, part: { type: 'string' },
      runs: { type: 'string', default: '3' }, 'lemay-tiles': { type: 'string' }, rounds: { type: 'string', default: '4' },
    },
  });
  if (values.part) {
    const file = values.file!;
    const r = values.part === 'ours' ? await partOurs(file) : partBare(file);
    process.stdout.write(`${JSON.stringify(r)}\n`);
    return;
  }
  const skip = new Set(values.skip!.split(',').filter(Boolean));
  const file = values.file ?? (values['lemay-tiles'] ? await ensureLemayTiles(Number(values['lemay-tiles']), Number(values.rounds))
    : await ensureCapture(Number(values.mb)));
  const size = statSync(file).size / 1e6;
  process.stdout.write(`capture: ${file} (${size.toFixed(1)} MB)\n`);
  const rows: Row[] = [];
  const show = (r: Row): void => { rows.push(r); process.stdout.write(`${row(r)}\n`); };
  const runs = Math.max(1, Number(values.runs));
  process.stdout.write(`load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}; ${runs} interleaved run(s) each, median shown\n`);
  const got: Record<string, Row[]> = { ours: [], bare: [], softflowd: [], cli: [] };
  for (let i = 0; i < runs; i++) {
    const o = await child('ours', file);
    const packets = o.packets;
    got.ours!.push(o);
    got.bare!.push(await child('bare', file));
    if (!skip.has('softflowd')) got.softflowd!.push(await softflowd(file, packets));
    if (!skip.has('cli')) got.cli!.push(await cli(file, packets));
  }
  for (const k of ['ours', 'softflowd', 'cli', 'bare']) if (got[k]!.length > 0) show(median(got[k]!));
  process.stdout.write(`load average after: ${loadavg().map((x) => x.toFixed(2)).join(' ')}\n`);
  if (!skip.has('tshark')) show(await tshark(await prefixOf(file, Number(values['tshark-mb']))));
  if (values.profile) {
    const dir = join(DIR, 'prof');
    mkdirSync(dir, { recursive: true });
    const prof = await child('ours', file, ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
    process.stdout.write(`\nprofiled run: ${row(prof)}\n${profileSummary(dir)}\n`);
  }
};

await main();
