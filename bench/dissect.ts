/**
 * bench/dissect: the OT dissectors' throughput, one protocol at a time, on the sample captures in
 * shared/data/pcaps, beside tshark decoding the same files with that protocol's display filter.
 *
 *   node --import tsx bench/dissect.ts [--only iec104,dnp3] [--packets 2000000] [--runs 3] [--skip-tshark] [--profile]
 *
 * Per protocol, in a child process of its own (so one protocol's type feedback does not shape another's
 * code): the protocol's captures are read once into memory as (link type, frame bytes, timestamp) lists
 * with the reader's CaptureParser, then rounds of `decodeFrame` + `FlowAssembler` with every dissector
 * wired in (PCAP_ANALYZERS, as the CLI runs them; one assembler per capture per round, finished and
 * drained) are timed until about `--packets` frames went through. One warm-up round is not timed.
 * Printed: packets/s and L7 PDUs/s (the ops in the records' `l7Ops` + `l7OpsRev`, any protocol) by wall
 * time and by CPU seconds (process.cpuUsage, user + system: less disturbed by other load on the machine),
 * the median of `--runs` interleaved runs by CPU seconds.
 *
 * tshark: `tshark -n -r FILE [options] -Y FILTER -T fields -e frame.number` on every capture of the
 * protocol, each timed as a whole process under /usr/bin/time -v (median of `--runs` per file; wall and
 * CPU summed over the files); its packets/s counts every frame of the files, as ours does. The captures are small (tens to a few
 * thousand frames), so tshark's start-up dominates: it is measured too (`-c 1`, the same arguments on the
 * same file, median of `--runs`) and a second figure is printed with it taken off, when what is left is
 * at least 0.05 s (else it is reported as below the start-up noise).
 *
 * With --profile, each protocol runs once more under `node --cpu-prof` and the self time per function
 * is printed. Figures are for this machine; nothing is asserted.
 */
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { PCAP_ANALYZERS } from '../ingest/pcap/index.ts';
import { DecodedPacket, decodeFrame } from '../ingest/pcap/decode.ts';
import { DEFAULT_FLOW_OPTIONS, FlowAssembler } from '../ingest/pcap/flows.ts';
import { CaptureParser, type RawPacket } from '../ingest/pcap/reader.ts';
import { runPart, timedProcess } from './support.ts';

const SELF = fileURLToPath(import.meta.url);
const SHARED = process.env.CONDUITWATCH_SHARED_DATA ?? resolve(fileURLToPath(new URL('../..', import.meta.url)), 'shared', 'data');
const PROF_DIR = join('.cache', 'bench', 'prof-dissect');

/** A protocol's sample captures (under shared/data/pcaps) and how tshark is told to decode it. */
interface Protocol {
  dirs: string[];
  /** File name filter within `dirs`. */
  match?: RegExp;
  filter: string;
  tsharkArgs: string[];
}

const PROTOCOLS: Record<string, Protocol> = {
  modbus: { dirs: ['ModbusTCP'], filter: 'modbus', tsharkArgs: [] },
  iec104: { dirs: ['IEC60870-5-104'], filter: 'iec60870_104', tsharkArgs: [] },
  dnp3: { dirs: ['openics'], match: /^DNP3-/, filter: 'dnp3', tsharkArgs: [] },
  // tshark 4.0 has no S7comm-plus dissector: its sessions show as COTP data.
  s7comm: { dirs: ['s7'], filter: 's7comm || cotp', tsharkArgs: [] },
  mms: { dirs: ['IEC61850'], filter: 'mms', tsharkArgs: ['-o', 'uat:pres_context_list:"3","1.0.9506.2.1"'] },
  enip: { dirs: ['EthernetIP', 'openics'], match: /^(EIP-|cip_|enip_)/, filter: 'enip', tsharkArgs: [] },
  opcua: { dirs: ['OPC'], filter: 'opcua', tsharkArgs: ['-d', 'tcp.port==12001,opcua'] },
  bacnet: { dirs: ['BACnet'], filter: 'bvlc', tsharkArgs: [] },
};

/** The capture files of a protocol, sorted, searched recursively. */
const capturesOf = (p: Protocol): string[] => {
  const walk = (dir: string): string[] => readdirSync(dir).sort().flatMap((n) => {
    const f = join(dir, n);
    if (statSync(f).isDirectory()) return walk(f);
    return /\.(pcap|pcapng)$/.test(n) && (!p.match || p.match.test(n)) ? [f] : [];
  });
  return p.dirs.flatMap((d) => walk(join(SHARED, 'pcaps', d)));
};

/** One capture in memory: its frames packed in one buffer. */
interface Loaded {
  name: string;
  buf: Buffer;
  off: Int32Array;
  len: Int32Array;
  link: Int32Array;
  ts: Float64Array;
}

/** Reads a capture whole with the reader's push parser and keeps every frame. */
const load = (file: string): Loaded => {
  const bytes = readFileSync(file);
  const frames: Array<{ link: number; ts: number; bytes: Buffer }> = [];
  const parser = new CaptureParser(basename(file), (p: RawPacket) => {
    frames.push({ link: p.linkType, ts: p.tsMs, bytes: Buffer.from(p.buf.subarray(p.off, p.off + p.caplen)) });
  }, { violations: {}, truncated: false });
  parser.parse(bytes, 0, bytes.length);
  const n = frames.length;
  const l: Loaded = {
    name: basename(file), buf: Buffer.concat(frames.map((f) => f.bytes)),
    off: new Int32Array(n), len: new Int32Array(n), link: new Int32Array(n), ts: new Float64Array(n),
  };
  let o = 0;
  frames.forEach((f, i) => { l.off[i] = o; l.len[i] = f.bytes.length; l.link[i] = f.link; l.ts[i] = f.ts; o += f.bytes.length; });
  return l;
};

/** One pass over a capture: decode, assemble, finish; returns the L7 ops in the records. */
const round = (c: Loaded, decoded: DecodedPacket): number => {
  const flows = new FlowAssembler(c.name, DEFAULT_FLOW_OPTIONS, PCAP_ANALYZERS);
  for (let i = 0; i < c.off.length; i++) {
    if (decodeFrame(c.link[i]!, c.buf, c.off[i]!, c.len[i]!, c.ts[i]!, decoded) === 'ok') { decoded.index = i + 1; flows.add(decoded); }
  }
  flows.finish();
  let ops = 0;
  for (const r of flows.drain()) {
    for (const m of [r.l7Ops, r.l7OpsRev]) if (m) for (const k in m) ops += m[k]!;
  }
  return ops;
};

/** One timed row. */
interface Row {
  proto: string;
  name: string;
  seconds: number;
  cpu: number;
  packets: number;
  pdus: number;
  note: string;
}

const cpuSince = (from: NodeJS.CpuUsage): number => { const u = process.cpuUsage(from); return (u.user + u.system) / 1e6; };

/** The child part: times rounds of one protocol's captures. */
const partOurs = (proto: string, target: number): Row => {
  const caps = capturesOf(PROTOCOLS[proto]!).map(load);
  const perRound = caps.reduce((a, c) => a + c.off.length, 0);
  const decoded = new DecodedPacket();
  let pdusPerRound = 0;
  for (const c of caps) pdusPerRound += round(c, decoded); // warm-up, and the PDU count of a round
  const rounds = Math.max(1, Math.ceil(target / perRound));
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  for (let r = 0; r < rounds; r++) for (const c of caps) round(c, decoded);
  const cpu = cpuSince(c0);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return {
    proto, name: 'decodeFrame + FlowAssembler', seconds, cpu, packets: rounds * perRound, pdus: rounds * pdusPerRound,
    note: `${caps.length} captures, ${perRound.toLocaleString('en-US')} frames and ${pdusPerRound.toLocaleString('en-US')} L7 PDUs a round, ${rounds} rounds`,
  };
};

/** Runs the child part for `proto` and parses its JSON answer. */
const child = (proto: string, target: number, nodeFlags: string[] = []): Promise<Row> =>
  runPart<Row>(SELF, ['--part', proto, '--packets', String(target)], nodeFlags);

/** The median of `xs`. */
const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

/**
 * tshark on every capture of `proto` (median of `runs` per file), and the same with its start-up taken
 * off: each file's `-c 1` run (same arguments, first frame only; median of `runs`) subtracted.
 */
const tshark = async (proto: string, runs: number): Promise<Row[]> => {
  const p = PROTOCOLS[proto]!;
  const files = capturesOf(p);
  const args = (f: string, extra: string[] = []): string[] => ['-n', '-r', f, ...extra, ...p.tsharkArgs, '-Y', p.filter, '-T', 'fields', '-e', 'frame.number'];
  let seconds = 0;
  let cpu = 0;
  let startSeconds = 0;
  let startCpu = 0;
  let matched = 0;
  let packets = 0;
  for (const f of files) {
    const whole: Array<{ seconds: number; cpu: number; lines: number }> = [];
    const one: Array<{ seconds: number; cpu: number }> = [];
    for (let i = 0; i < runs; i++) {
      whole.push(await timedProcess('tshark', args(f)));
      one.push(await timedProcess('tshark', args(f, ['-c', '1'])));
    }
    seconds += med(whole.map((r) => r.seconds));
    cpu += med(whole.map((r) => r.cpu));
    startSeconds += med(one.map((r) => r.seconds));
    startCpu += med(one.map((r) => r.cpu));
    matched += whole[0]!.lines;
    packets += load(f).off.length;
  }
  const name = `tshark -Y '${p.filter}'`;
  const rows: Row[] = [{ proto, name, seconds, cpu, packets, pdus: 0, note: `${files.length} processes (median of ${runs} each), ${matched.toLocaleString('en-US')} frames matched` }];
  const netSeconds = seconds - startSeconds;
  const netCpu = cpu - startCpu;
  const startNote = `start-up ${(startSeconds / files.length).toFixed(2)} s, ${(startCpu / files.length).toFixed(2)} cpu-s per process (-c 1) taken off`;
  if (netSeconds >= 0.05 && netCpu >= 0.05) rows.push({ proto, name: `${name} − start-up`, seconds: netSeconds, cpu: netCpu, packets, pdus: 0, note: startNote });
  else rows[0]!.note += `; − start-up: below its noise (${netSeconds.toFixed(2)} s, ${netCpu.toFixed(2)} cpu-s left; ${startNote})`;
  return rows;
};

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const show = (r: Row): string =>
  `${r.proto.padEnd(7)} ${r.name.padEnd(34)} ${r.seconds.toFixed(2).padStart(6)} s ${r.cpu.toFixed(2).padStart(6)} cpu-s ` +
  `${fmt(r.packets / r.seconds).padStart(11)} pkt/s ${fmt(r.packets / r.cpu).padStart(11)} pkt/cpu-s ` +
  `${(r.pdus > 0 ? fmt(r.pdus / r.cpu) : '—').padStart(11)} PDU/cpu-s  ${r.note}`;

/** Self time per function of the newest .cpuprofile in `dir`. */
const profileSummary = (dir: string, top = 15): string => {
  const newest = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(dir, f))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
  if (!newest) return 'no profile written';
  interface Node { hitCount?: number; callFrame: { functionName: string; url: string; lineNumber: number } }
  const prof = JSON.parse(readFileSync(newest, 'utf8')) as { nodes: Node[]; samples: number[] };
  const byFn = new Map<string, number>();
  for (const n of prof.nodes) {
    if (!n.hitCount) continue;
    const url = n.callFrame.url.replace(/^.*\/main\//, '').replace(/^file:\/\//, '') || '(native)';
    const k = `${n.callFrame.functionName || '(anonymous)'} ${url}:${n.callFrame.lineNumber + 1}`;
    byFn.set(k, (byFn.get(k) ?? 0) + n.hitCount);
  }
  const total = prof.samples.length;
  return [...byFn].sort((a, b) => b[1] - a[1]).slice(0, top)
    .map(([k, v]) => `  ${((100 * v) / total).toFixed(1).padStart(5)} %  ${k}`).join('\n');
};

const main = async (): Promise<void> => {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' }, packets: { type: 'string', default: '2000000' }, runs: { type: 'string', default: '3' },
      'skip-tshark': { type: 'boolean', default: false }, profile: { type: 'boolean', default: false }, part: { type: 'string' },
    },
  });
  const target = Number(values.packets);
  if (values.part) {
    process.stdout.write(`${JSON.stringify(partOurs(values.part, target))}\n`);
    return;
  }
  const protos = values.only ? values.only.split(',') : Object.keys(PROTOCOLS);
  for (const p of protos) if (!PROTOCOLS[p]) throw new Error(`unknown protocol ${p}; known: ${Object.keys(PROTOCOLS).join(' ')}`);
  const runs = Math.max(1, Number(values.runs));
  process.stdout.write(`load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}; ${runs} interleaved run(s) per protocol, median by CPU seconds\n`);
  const got = new Map<string, Row[]>(protos.map((p) => [p, []]));
  for (let i = 0; i < runs; i++) for (const p of protos) got.get(p)!.push(await child(p, target));
  for (const p of protos) {
    const rows = got.get(p)!.sort((a, b) => a.cpu - b.cpu);
    const mid = rows[Math.floor((rows.length - 1) / 2)]!;
    const range = rows.length > 1 ? `; cpu-s ${rows[0]!.cpu.toFixed(2)}–${rows.at(-1)!.cpu.toFixed(2)} over ${rows.length} runs` : '';
    process.stdout.write(`${show({ ...mid, note: mid.note + range })}\n`);
  }
  process.stdout.write(`load average after: ${loadavg().map((x) => x.toFixed(2)).join(' ')}\n`);
  if (!values['skip-tshark']) for (const p of protos) for (const r of await tshark(p, runs)) process.stdout.write(`${show(r)}\n`);
  if (values.profile) {
    for (const p of protos) {
      const dir = join(PROF_DIR, p);
      mkdirSync(dir, { recursive: true });
      const r = await child(p, target, ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
      process.stdout.write(`\nprofiled: ${show(r)}\n${profileSummary(dir)}\n`);
    }
  }
};

await main();
