/**
 * bench/fuzz: a seeded mutation fuzzer for every decoder and dissector of the ingest path.
 *
 *   node --import tsx bench/fuzz.ts [--cases 1000000] [--target name] [--seed N] [--jobs 1] [--slow-ms 50]
 *
 * Without --target it runs every target, each in its own child process (so the peak RSS is per
 * target), --jobs at a time, and prints one table. Seeds come from the recorded captures in
 * ../shared/data (pcaps/**, lemay/*) and from NetFlow v5/v9/IPFIX datagrams that `softflowd -r`
 * exports from a lemay capture (captured once on a loopback socket and kept in .cache/fuzz/seeds/),
 * plus hand-built datagrams.
 *
 * Targets (see {@link TARGETS}):
 *   - one per OT dissector session (modbus, iec104, dnp3, dnp3-udp, s7comm, mms, enip, enip-udp, opcua,
 *     bacnet): a case is a fresh session fed 1–8 payload chunks of a seed flow, both directions,
 *     mutated, re-split at random points, with stream gaps and a mid-flow and a final flush;
 *   - `frames`: decodeFrame + FlowAssembler with every dissector, on mutated frame sequences;
 *   - `reader`: the pcap/pcapng push parser on whole mutated files (headers, record and block lengths),
 *     fed through short reads the way readCaptureChunks feeds it;
 *   - `v5`, `v9`, `ipfix`: the datagram decoders (v9 and IPFIX keep their template state across cases,
 *     re-taught from valid seeds now and then); `collector`: Collector.receive with every version mixed.
 *
 * Mutators: bit flips, bytes set to 0/1/0x7f/0x80/0xff, 16/32-bit length fields (the known length
 * offsets of the seed, or random ones) set to interesting values or off by a little, truncation,
 * splicing with another seed, random insertion, deletion and duplication; one case in ten is random bytes.
 *
 * Invariants checked per case: nothing throws past the per-payload / per-datagram boundary (the
 * reader may throw only PipelineError('input_invalid') for a file that is not a capture); views and
 * decoded offsets stay inside the bytes handed in; a dissector's output does not depend on bytes
 * outside its view; records hold finite, non-negative counters; a datagram yields at most
 * maxRecordsPerDatagram records; template caches stay within their caps. Time per case is measured
 * with process.hrtime (cases over --slow-ms are counted as slow) and memory is sampled (peak RSS,
 * heapUsed growth). A failing input is written as hex to .cache/fuzz/crashes/.
 *
 * Deterministic: the same --seed and --cases give the same cases.
 */
import { execFile, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { fakeClock } from '../core/clock.ts';
import { hasCode } from '../core/errors.ts';
import type { FlowRecord } from '../core/records.ts';
import { Collector, CollectorConfig } from '../ingest/netflow/collector.ts';
import { DEFAULT_DECODER_OPTIONS, type DecodeResult } from '../ingest/netflow/common.ts';
import { IpfixDecoder } from '../ingest/netflow/ipfix.ts';
import { V5Decoder } from '../ingest/netflow/v5.ts';
import { V9Decoder } from '../ingest/netflow/v9.ts';
import { DecodedPacket, decodeFrame } from '../ingest/pcap/decode.ts';
import { DEFAULT_FLOW_OPTIONS, FlowAssembler, dstIsServer } from '../ingest/pcap/flows.ts';
import { PCAP_ANALYZERS } from '../ingest/pcap/index.ts';
import type { L7Analyzer } from '../ingest/pcap/l7.ts';
import { CaptureParser, type RawPacket } from '../ingest/pcap/reader.ts';
import { bacnetAnalyzer } from '../ingest/protocols/bacnet/dissect.ts';
import { dnp3Analyzer, dnp3UdpAnalyzer } from '../ingest/protocols/dnp3/dissect.ts';
import { enipAnalyzer, enipUdpAnalyzer } from '../ingest/protocols/enip/dissect.ts';
import { iec104Analyzer } from '../ingest/protocols/iec104/dissect.ts';
import { mmsAnalyzer } from '../ingest/protocols/mms/dissect.ts';
import { modbusAnalyzer } from '../ingest/protocols/modbus/dissect.ts';
import { opcuaAnalyzer } from '../ingest/protocols/opcua/dissect.ts';
import { s7commAnalyzer } from '../ingest/protocols/s7comm/dissect.ts';
import { mulberry32, type Rng } from '../ingest/simulate/prng.ts';
import { T0, be16, be32, ip4, ipfix, optTmpl, set, tmpl, v5, v9, v9OptTmpl, v9Tmpl } from '../test/unit/ingest/netflow/build.ts';

// ───────────────────────────── random helpers and mutators ─────────────────────────────

const int = (rnd: Rng, n: number): number => Math.floor(rnd() * n);
const pick = <T>(rnd: Rng, xs: readonly T[]): T => xs[int(rnd, xs.length)]!;

const INTERESTING8 = [0, 1, 0x7f, 0x80, 0xff];
const INTERESTING16 = [0, 1, 2, 3, 4, 7, 8, 0x7f, 0x80, 0xff, 0x100, 0x3ff, 0x7fff, 0x8000, 0xfffe, 0xffff];
const INTERESTING32 = [0, 1, 0xff, 0xffff, 0x10000, 0x40000, 0x40010, 0x7fffffff, 0x80000000, 0xfffffff0, 0xffffffff];

/** Largest UDP payload; mutated datagrams are cut to it. */
export const MAX_DATAGRAM = 65_507;

const randomBytes = (rnd: Rng, n: number): Buffer => {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = int(rnd, 256);
  return b;
};

/** Writes a 16- or 32-bit value at `at` in either byte order, as far as it fits. */
const setWord = (rnd: Rng, b: Buffer, at: number): void => {
  const wide = rnd() < 0.4;
  const le = rnd() < 0.3;
  if (wide && at + 4 <= b.length) {
    const cur = le ? b.readUInt32LE(at) : b.readUInt32BE(at);
    const v = rnd() < 0.6 ? pick(rnd, INTERESTING32) : (cur + int(rnd, 17) - 8) >>> 0;
    if (le) b.writeUInt32LE(v >>> 0, at); else b.writeUInt32BE(v >>> 0, at);
  } else if (at + 2 <= b.length) {
    const cur = le ? b.readUInt16LE(at) : b.readUInt16BE(at);
    const v = rnd() < 0.6 ? pick(rnd, INTERESTING16) : (cur + int(rnd, 17) - 8) & 0xffff;
    if (le) b.writeUInt16LE(v, at); else b.writeUInt16BE(v, at);
  } else if (at < b.length) b[at] = pick(rnd, INTERESTING8);
};

/**
 * One to six random edits of a copy of `src`. `donor` feeds splices; `lengthAt` lists offsets of the
 * seed's length fields, preferred by the length mutator.
 */
export const mutate = (rnd: Rng, src: Buffer, donor?: Buffer, lengthAt: readonly number[] = [], max = MAX_DATAGRAM): Buffer => {
  let b = Buffer.from(src);
  const edits = 1 + Math.floor(rnd() * rnd() * 6);
  for (let e = 0; e < edits; e++) {
    const op = int(rnd, 10);
    const at = int(rnd, Math.max(1, b.length));
    switch (op) {
      case 0: if (b.length > 0) b[at] = b[at]! ^ (1 << int(rnd, 8)); break;
      case 1: if (b.length > 0) b[at] = pick(rnd, INTERESTING8); break;
      case 2: if (b.length > 0) b[at] = int(rnd, 256); break;
      case 3: case 4: {
        const where = lengthAt.length > 0 && rnd() < 0.75 ? pick(rnd, lengthAt) : int(rnd, Math.min(b.length, 64));
        setWord(rnd, b, where);
        break;
      }
      case 5: b = b.subarray(0, at); break;
      case 6: if (donor && donor.length > 0) b = Buffer.concat([b.subarray(0, at), donor.subarray(int(rnd, donor.length))]); break;
      case 7: b = Buffer.concat([b.subarray(0, at), randomBytes(rnd, 1 + int(rnd, 16)), b.subarray(at)]); break;
      case 8: b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + int(rnd, 32))]); break;
      default: {
        const n = 1 + int(rnd, 64);
        b = Buffer.concat([b.subarray(0, at + n), b.subarray(at, at + n), b.subarray(at + n)]);
      }
    }
  }
  return b.length > max ? b.subarray(0, max) : b;
};

/** `bytes` placed at a random offset of a larger buffer filled with `fill`: a view like the reader's. */
const embed = (bytes: Buffer, prefix: number, fill: number): Buffer => {
  const out = Buffer.alloc(prefix + bytes.length + 16, fill);
  bytes.copy(out, prefix);
  return out;
};

// ───────────────────────────── seed corpus ─────────────────────────────

/** One direction-tagged payload chunk of a seed flow; `gap` marks missing bytes instead. */
export interface Chunk { fromInit: boolean; bytes: Buffer; gap?: boolean }

/** A TCP/UDP conversation from a recorded capture, payloads in file order. */
export interface SeedFlow { file: string; proto: number; clientPort: number; serverPort: number; chunks: Chunk[] }

/** A captured frame (copied out of the reader's buffer). */
export interface SeedFrame { linkType: number; tsMs: number; bytes: Buffer }

/** A whole capture file cut to a few KB, with the offsets of its header and length fields. */
export interface SeedFile { name: string; bytes: Buffer; lengthAt: number[] }

export interface Corpus {
  flows: SeedFlow[];
  /** Frame runs, one per capture file. */
  frames: SeedFrame[][];
  files: SeedFile[];
  datagrams: { v5: Buffer[]; v9: Buffer[]; ipfix: Buffer[] };
}

const CAPTURE_EXT = /\.(pcap|pcapng|cap)$/;

/** Capture files under `dir`, sorted (deterministic). */
export const captureFiles = (dir: string): string[] => {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (CAPTURE_EXT.test(e.name)) out.push(p);
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
};

/** Every frame of a capture file, copied. */
const readFrames = (bytes: Buffer, name: string, maxFrames: number): SeedFrame[] => {
  const frames: SeedFrame[] = [];
  const sink = (p: RawPacket): void => {
    if (frames.length < maxFrames) frames.push({ linkType: p.linkType, tsMs: p.tsMs, bytes: Buffer.from(p.buf.subarray(p.off, p.off + p.caplen)) });
  };
  const parser = new CaptureParser(name, sink, { violations: {}, truncated: false });
  try { parser.parse(bytes, 0, bytes.length); } catch { /* not a capture: no frames */ }
  return frames;
};

/** Groups frames into conversations with their payload chunks (client decided as flow assembly does). */
const flowsOf = (file: string, frames: SeedFrame[], maxChunks: number): SeedFlow[] => {
  const byKey = new Map<string, SeedFlow & { client: string }>();
  const d = new DecodedPacket();
  for (const f of frames) {
    if (decodeFrame(f.linkType, f.bytes, 0, f.bytes.length, f.tsMs, d) !== 'ok') continue;
    if ((d.proto !== 6 && d.proto !== 17) || d.fragment !== 0) continue;
    const src = `${d.srcIp}:${d.srcPort}`;
    const dst = `${d.dstIp}:${d.dstPort}`;
    const key = `${d.proto}|${src < dst ? src + dst : dst + src}`;
    let flow = byKey.get(key);
    if (!flow) {
      const synOnly = d.proto === 6 && (d.tcpFlags & 0x12) === 0x02;
      const senderIsClient = synOnly || (d.proto === 6 && (d.tcpFlags & 0x12) === 0x12 ? false : dstIsServer(d.srcPort, d.dstPort));
      flow = {
        file, proto: d.proto, chunks: [], client: senderIsClient ? src : dst,
        clientPort: senderIsClient ? d.srcPort : d.dstPort, serverPort: senderIsClient ? d.dstPort : d.srcPort,
      };
      byKey.set(key, flow);
    }
    if (d.payloadLen > 0 && flow.chunks.length < maxChunks) {
      flow.chunks.push({ fromInit: src === flow.client, bytes: Buffer.from(d.buf.subarray(d.payloadOff, d.payloadOff + d.payloadLen)) });
    }
  }
  return [...byKey.values()].filter((f) => f.chunks.length > 0).map(({ client: _c, ...f }) => f);
};

/** The first records / blocks of a capture, up to `maxBytes`, with the offsets of every length field. */
const fileSeed = (name: string, bytes: Buffer, maxBytes: number): SeedFile | undefined => {
  if (bytes.length < 24) return undefined;
  const m = bytes.readUInt32BE(0);
  const lengthAt: number[] = [0];
  if (m === 0x0a0d0d0a) {
    const le = bytes.readUInt32LE(8) === 0x1a2b3c4d;
    let p = 0;
    while (p + 12 <= bytes.length) {
      const len = le ? bytes.readUInt32LE(p + 4) : bytes.readUInt32BE(p + 4);
      if (len < 12 || p + len > bytes.length || (p > 0 && p + len > maxBytes)) break;
      const type = le ? bytes.readUInt32LE(p) : bytes.readUInt32BE(p);
      lengthAt.push(p, p + 4, p + len - 4, p + 8);
      if (type === 6) lengthAt.push(p + 20, p + 24);
      if (type === 1) lengthAt.push(p + 12, p + 16, p + 18);
      p += len;
    }
    return { name, bytes: Buffer.from(bytes.subarray(0, p)), lengthAt };
  }
  const le = bytes.readUInt32LE(0) === 0xa1b2c3d4 || bytes.readUInt32LE(0) === 0xa1b23c4d;
  lengthAt.push(16, 20);
  let p = 24;
  while (p + 16 <= bytes.length) {
    const incl = le ? bytes.readUInt32LE(p + 8) : bytes.readUInt32BE(p + 8);
    if (p + 16 + incl > bytes.length || (p > 24 && p + 16 + incl > maxBytes)) break;
    lengthAt.push(p + 8, p + 12);
    p += 16 + incl;
  }
  return { name, bytes: Buffer.from(bytes.subarray(0, p)), lengthAt };
};

/** A little-endian classic pcap rewritten big-endian (and optionally with the nanosecond magic). */
const swapPcap = (s: SeedFile, ns: boolean): SeedFile | undefined => {
  const b = Buffer.from(s.bytes);
  if (b.readUInt32LE(0) !== 0xa1b2c3d4) return undefined;
  b.writeUInt32BE(ns ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  b.writeUInt16BE(s.bytes.readUInt16LE(4), 4);
  b.writeUInt16BE(s.bytes.readUInt16LE(6), 6);
  for (const o of [8, 12, 16, 20]) b.writeUInt32BE(s.bytes.readUInt32LE(o), o);
  let p = 24;
  while (p + 16 <= b.length) {
    const incl = s.bytes.readUInt32LE(p + 8);
    for (const o of [0, 4, 8, 12]) b.writeUInt32BE(s.bytes.readUInt32LE(p + o), p + o);
    if (ns) b.writeUInt32BE((s.bytes.readUInt32LE(p + 4) * 1000) >>> 0, p + 4);
    p += 16 + incl;
  }
  return { name: `${s.name}${ns ? '.be-ns' : '.be'}`, bytes: b, lengthAt: s.lengthAt };
};

/** Hand-built datagrams that reach the corners softflowd never sends (options, varlen, enterprise IEs). */
const builtDatagrams = (): { v5: Buffer[]; v9: Buffer[]; ipfix: Buffer[] } => {
  const b = (u: Uint8Array): Buffer => Buffer.from(u);
  return {
    ipfix: [
      b(ipfix({ domain: 1 }, set(2, tmpl(256, [[8, 4], [12, 4], [82, 65535], [1, 4], [2, 3], [100, 2, 9]])),
        set(3, optTmpl(257, 1, [[149, 4], [34, 4], [160, 8]])), set(257, [...be32(1), ...be32(10), 0, 0, 1, 0x4b, 0, 0, 0, 0]),
        set(256, [...ip4('10.0.0.1'), ...ip4('10.0.0.2'), 3, 65, 66, 67, ...be32(100), 0, 0, 5, 1, 2]))),
      b(ipfix({ domain: 2, seq: 7 }, set(2, tmpl(300, [[8, 4], [12, 4], [7, 2], [11, 2], [4, 1], [152, 8], [153, 8], [1, 8], [2, 8]])))),
    ],
    v9: [
      b(v9({}, set(0, v9Tmpl(300, [[8, 4], [12, 4], [22, 4], [21, 4], [1, 4], [2, 4], [7, 2], [11, 2], [4, 1]])),
        set(1, v9OptTmpl(301, [[1, 4]], [[34, 4]])), set(301, [...be32(0), ...be32(64)]),
        set(300, [...ip4('10.0.0.1'), ...ip4('10.0.0.2'), ...be32(1), ...be32(2), ...be32(3), ...be32(4), ...be16(5), ...be16(6), 6]))),
    ],
    v5: [b(v5({}, [{ src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2, proto: 6, pkts: 1, octets: 40, first: 1, last: 2 }]))],
  };
};

/** The shared data directory (../shared/data beside the clone, or CONDUITWATCH_SHARED_DATA). */
export const defaultDataDir = (): string =>
  process.env.CONDUITWATCH_SHARED_DATA ?? resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'shared', 'data');

/** Options of {@link loadCorpus}. */
export interface CorpusOptions {
  /** Capture files to read (default: pcaps/** and lemay/* under the shared data). */
  captures?: string[];
  /** Extra NetFlow datagrams (e.g. from softflowd) added to the built ones. */
  datagrams?: Partial<Corpus['datagrams']>;
  /** Frames read per capture at most. */
  maxFrames?: number;
}

/** Reads the seed corpus: flows, frames and file prefixes of every capture, and the datagrams. */
export const loadCorpus = (dataDir: string, o: CorpusOptions = {}): Corpus => {
  const captures = o.captures ?? [...captureFiles(join(dataDir, 'pcaps')), ...captureFiles(join(dataDir, 'lemay'))];
  const corpus: Corpus = { flows: [], frames: [], files: [], datagrams: builtDatagrams() };
  for (const path of captures) {
    const name = relative(dataDir, path);
    const bytes = readFileSync(path);
    const frames = readFrames(bytes, name, o.maxFrames ?? 20_000);
    if (frames.length > 0) corpus.frames.push(frames.slice(0, 2_000));
    corpus.flows.push(...flowsOf(name, frames, 64));
    const f = fileSeed(name, bytes, 8192);
    if (f) {
      corpus.files.push(f);
      for (const ns of [false, true]) { const s = swapPcap(f, ns); if (s) corpus.files.push(s); }
    }
  }
  for (const k of ['v5', 'v9', 'ipfix'] as const) corpus.datagrams[k].push(...(o.datagrams?.[k] ?? []));
  return corpus;
};

const run = promisify(execFile);

/** Datagrams `softflowd -r pcap -v version` exports, captured on a loopback socket (bounded wait). */
export const softflowdDatagrams = async (pcap: string, version: 5 | 9 | 10): Promise<Buffer[]> => {
  const s = createSocket('udp4');
  const got: Buffer[] = [];
  s.on('message', (m) => { if (got.length < 100_000) got.push(m); });
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  try {
    await run('softflowd', ['-r', pcap, '-n', `127.0.0.1:${s.address().port}`, '-v', String(version), '-d', '-c', 'none',
      '-p', `/tmp/softflowd-fuzz-${process.pid}.pid`], { timeout: 60_000 });
    await new Promise((r) => setTimeout(r, 300));
  } finally {
    s.close();
  }
  return got;
};

/** softflowd's datagrams for the fuzz seeds, cached as hex lines in `cacheDir` (generated on first use). */
export const cachedSoftflowdSeeds = async (cacheDir: string, pcap: string): Promise<Corpus['datagrams']> => {
  mkdirSync(cacheDir, { recursive: true });
  const out: Corpus['datagrams'] = { v5: [], v9: [], ipfix: [] };
  for (const [key, version] of [['v5', 5], ['v9', 9], ['ipfix', 10]] as const) {
    const path = join(cacheDir, `softflowd-${key}.hex`);
    if (!existsSync(path)) {
      let dgs: Buffer[] = [];
      try { dgs = await softflowdDatagrams(pcap, version); } catch (e) {
        process.stderr.write(`fuzz: softflowd -v ${version} failed (${(e as Error).message}); using built datagrams only\n`);
      }
      writeFileSync(path, dgs.map((d) => d.toString('hex')).join('\n'));
    }
    out[key] = readFileSync(path, 'utf8').split('\n').filter((l) => l.length > 0).map((l) => Buffer.from(l, 'hex'));
  }
  return out;
};

// ───────────────────────────── invariants ─────────────────────────────

/** Thrown by a check: a broken invariant, counted like a crash. */
class InvariantError extends Error {
  override readonly name = 'InvariantError';
}

const must = (ok: boolean, what: string): void => { if (!ok) throw new InvariantError(what); };

const finiteCount = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v) && v >= 0;

/** A record's counters and times are finite numbers and its op counts non-negative. */
export const checkRecord = (r: FlowRecord): void => {
  must(Number.isFinite(r.tsStart) && Number.isFinite(r.tsEnd), 'record time is not finite');
  must(finiteCount(r.packets) && finiteCount(r.bytes) && finiteCount(r.packetsRev) && finiteCount(r.bytesRev), 'record counter not finite/non-negative');
  for (const m of [r.l7Ops, r.l7OpsRev, r.l7Violations]) {
    if (m) for (const v of Object.values(m)) must(finiteCount(v), 'l7 count not finite/non-negative');
  }
};

const checkResult = (r: DecodeResult): void => {
  must(r.records.length <= DEFAULT_DECODER_OPTIONS.maxRecordsPerDatagram, `datagram gave ${r.records.length} records (cap ${DEFAULT_DECODER_OPTIONS.maxRecordsPerDatagram})`);
  for (const rec of r.records) checkRecord(rec);
  for (const v of Object.values(r.errors)) must(finiteCount(v), 'error count not finite');
};

// ───────────────────────────── targets ─────────────────────────────

/** What a target has produced so far (so a test can check the fuzzer reached the decoder). */
export interface Yield {
  /** Records, L7 operations or packets decoded. */
  decoded: number;
  /** Violations / decode errors counted by the code under test. */
  counted: number;
  /** Expected rejections (e.g. the reader's input_invalid for a non-capture). */
  rejected: number;
}

/** One fuzz target: makes a case from the generator, runs it, and writes it out when it fails. */
export interface Target<C = unknown> {
  name: string;
  gen(rnd: Rng): C;
  exec(c: C, y: Yield): void;
  hex(c: C): string;
  /** Bounded-state check after the run (template caches …); throws InvariantError. */
  after?(): void;
}

const chunkHex = (cs: Chunk[]): string =>
  cs.map((c) => `${c.fromInit ? 'i' : 'r'}${c.gap ? ' gap' : '> ' + c.bytes.toString('hex')}`).join('\n');

const splitChunks = (rnd: Rng, cs: Chunk[]): Chunk[] => {
  const out: Chunk[] = [];
  for (const c of cs) {
    if (c.gap || c.bytes.length < 2 || rnd() < 0.5) { out.push(c); continue; }
    let p = 0;
    while (p < c.bytes.length) {
      const n = 1 + int(rnd, c.bytes.length - p);
      out.push({ fromInit: c.fromInit, bytes: c.bytes.subarray(p, p + n) });
      p += n;
    }
  }
  return out;
};

/** A dissector session target: seed flows picked by `seedOf`, payloads fed as chunks. */
const streamTarget = (name: string, analyzer: L7Analyzer, flows: SeedFlow[], udp: boolean): Target<{ chunks: Chunk[]; flushAt: number; view: number }> => {
  const donors = flows.flatMap((f) => f.chunks.map((c) => c.bytes));
  const run = (chunks: Chunk[], flushAt: number, prefix: number, fill: number, y: Yield): string => {
    const s = analyzer.create();
    const ts = 1_735_689_600_000;
    const out: FlowRecord[] = [];
    const flush = (final: boolean): void => {
      const rec: FlowRecord = {
        id: '', tsStart: ts, tsEnd: ts, srcIp: '10.0.0.1', srcPort: 40000, dstIp: '10.0.0.2', dstPort: 502, proto: udp ? 17 : 6,
        packets: 1, bytes: 1, packetsRev: 0, bytesRev: 0, tcpFlags: 0, exporter: 'fuzz', observationDomain: 0, source: 'pcap',
      };
      s.flush(rec, final);
      checkRecord(rec);
      out.push(rec);
    };
    chunks.forEach((c, i) => {
      if (c.gap) s.onGap(c.fromInit);
      else {
        const buf = embed(c.bytes, prefix, fill);
        s.onPayload(c.fromInit, buf, prefix, c.bytes.length, ts + i * 10);
      }
      if (i === flushAt) flush(false);
    });
    flush(true);
    for (const r of out) {
      for (const v of Object.values(r.l7Ops ?? {})) y.decoded += v;
      for (const v of Object.values(r.l7Violations ?? {})) y.counted += v;
    }
    return JSON.stringify(out);
  };
  return {
    name,
    gen(rnd) {
      let chunks: Chunk[];
      if (flows.length === 0 || rnd() < 0.1) {
        chunks = Array.from({ length: 1 + int(rnd, 4) }, () => ({ fromInit: rnd() < 0.6, bytes: randomBytes(rnd, int(rnd, 600)) }));
      } else {
        const f = pick(rnd, flows);
        const start = int(rnd, f.chunks.length);
        chunks = f.chunks.slice(start, start + 1 + int(rnd, 8)).map((c) =>
          rnd() < 0.6 ? { fromInit: c.fromInit, bytes: mutate(rnd, c.bytes, donors.length > 0 ? pick(rnd, donors) : undefined, [0, 2, 4, 6]) } : c);
        if (rnd() < 0.1) { const i = int(rnd, chunks.length); chunks[i] = { ...chunks[i]!, fromInit: !chunks[i]!.fromInit }; }
        if (!udp && rnd() < 0.4) chunks = splitChunks(rnd, chunks);
        if (!udp && rnd() < 0.05) chunks.splice(int(rnd, chunks.length + 1), 0, { fromInit: rnd() < 0.5, bytes: Buffer.alloc(0), gap: true });
      }
      return { chunks, flushAt: rnd() < 0.2 ? int(rnd, chunks.length) : -1, view: rnd() < 0.25 ? 1 : 0 };
    },
    exec(c, y) {
      const a = run(c.chunks, c.flushAt, 0, 0, y);
      if (c.view) {
        // The same bytes at another offset, surrounded by other bytes, must give the same output.
        const b = run(c.chunks, c.flushAt, 7, 0xa5, { decoded: 0, counted: 0, rejected: 0 });
        must(a === b, 'output depends on bytes outside the payload view');
      }
    },
    hex: (c) => chunkHex(c.chunks),
  };
};

const LINK_TYPES = [1, 113, 276, 101, 12, 14, 228, 229, 0, 108, 147];

/** decodeFrame + flow assembly with every dissector, on mutated runs of frames. */
const framesTarget = (runs: SeedFrame[][]): Target<{ frames: SeedFrame[] }> => {
  const decoded = new DecodedPacket();
  const all = runs.flat();
  return {
    name: 'frames',
    gen(rnd) {
      if (runs.length === 0 || rnd() < 0.1) {
        const lt = pick(rnd, LINK_TYPES);
        return { frames: Array.from({ length: 1 + int(rnd, 4) }, (_, i) => ({ linkType: lt, tsMs: T0 + i, bytes: randomBytes(rnd, int(rnd, 200)) })) };
      }
      const r = pick(rnd, runs);
      const start = int(rnd, r.length);
      const frames = r.slice(start, start + 1 + int(rnd, 16)).map((f) => {
        let tsMs = f.tsMs;
        if (rnd() < 0.05) tsMs += (rnd() - 0.7) * 200_000;
        return rnd() < 0.5 ? { ...f, tsMs, bytes: mutate(rnd, f.bytes, pick(rnd, all).bytes, [12, 14, 16, 18, 20, 22, 24, 26, 46, 50], 262_144) } : { ...f, tsMs };
      });
      if (rnd() < 0.03) { const lt = pick(rnd, LINK_TYPES); for (const f of frames) f.linkType = lt; }
      return { frames };
    },
    exec(c, y) {
      const counters = { notes: {}, violations: {} as Record<string, number> };
      const flows = new FlowAssembler('fuzz', DEFAULT_FLOW_OPTIONS, PCAP_ANALYZERS, counters);
      for (const f of c.frames) {
        const prefix = f.bytes.length & 7;
        const buf = embed(f.bytes, prefix, 0xa5);
        const end = prefix + f.bytes.length;
        const outcome = decodeFrame(f.linkType, buf, prefix, f.bytes.length, f.tsMs, decoded);
        if (outcome !== 'ok') { y.counted++; continue; }
        const addr = decoded.ipVersion === 4 ? 4 : 16;
        must(decoded.srcOff >= prefix && decoded.srcOff + addr <= end && decoded.dstOff >= prefix && decoded.dstOff + addr <= end, 'address offset outside the frame');
        must(decoded.payloadLen >= 0 && decoded.payloadOff >= prefix && decoded.payloadOff + decoded.payloadLen <= end, 'payload view outside the frame');
        flows.add(decoded);
      }
      flows.finish();
      for (const r of flows.drain()) { checkRecord(r); y.decoded++; }
      for (const v of Object.values(counters.violations)) y.counted += v;
    },
    hex: (c) => c.frames.map((f) => `${f.linkType} ${f.tsMs} ${f.bytes.toString('hex')}`).join('\n'),
  };
};

/** Buffer of the in-memory reader loop: as large as readCaptureChunks' (it must hold any record). */
let readerBuf: Buffer | undefined;

/** The pcap/pcapng push parser on a mutated file, fed by short reads like readCaptureChunks. */
const readerTarget = (files: SeedFile[]): Target<{ file: Buffer; splitSeed: number }> => {
  const decoded = new DecodedPacket();
  return {
    name: 'reader',
    gen(rnd) {
      const splitSeed = int(rnd, 2 ** 32);
      if (files.length === 0 || rnd() < 0.05) return { file: randomBytes(rnd, int(rnd, 256)), splitSeed };
      const f = pick(rnd, files);
      const donor = pick(rnd, files).bytes;
      return { file: mutate(rnd, f.bytes, donor.subarray(int(rnd, Math.min(24, donor.length))), f.lengthAt, 1 << 20), splitSeed };
    },
    exec(c, y) {
      readerBuf ??= Buffer.allocUnsafe(4 * 1024 * 1024);
      const buf = readerBuf;
      const rnd = mulberry32(c.splitSeed);
      let end = 0;
      const sink = (p: RawPacket): void => {
        must(p.caplen >= 0 && p.off >= 0 && p.off + p.caplen <= end, `packet view [${p.off}, +${p.caplen}) outside the ${end} bytes parsed`);
        must(p.origLen >= p.caplen && Number.isFinite(p.tsMs), 'packet lengths or time invalid');
        y.decoded++;
        decodeFrame(p.linkType, p.buf, p.off, p.caplen, p.tsMs, decoded);
      };
      const counters = { violations: {} as Record<string, number>, truncated: false };
      const parser = new CaptureParser('fuzz', sink, counters);
      let filePos = 0;
      try {
        for (let reads = 0; ; reads++) {
          must(reads < 1_000_000, 'reader made no progress');
          const want = rnd() < 0.5 ? buf.length - end : 1 + int(rnd, 4096);
          // A read at or past the end of the file gives 0 bytes, as fh.read does.
          const n = Math.max(0, Math.min(want, buf.length - end, c.file.length - filePos));
          if (n > 0) c.file.copy(buf, end, filePos, filePos + n);
          filePos += n;
          end += n;
          const pos = parser.parse(buf, 0, end);
          must(pos >= 0, 'parse returned a negative position');
          if (pos >= end) { filePos += pos - end; end = 0; } else if (pos > 0) { buf.copy(buf, 0, pos, end); end -= pos; }
          if (parser.stopped || n === 0) break;
        }
      } catch (e) {
        if (!hasCode(e, 'input_invalid')) throw e;
        y.rejected++;
      }
      for (const v of Object.values(counters.violations)) y.counted += v;
    },
    hex: (c) => `split ${c.splitSeed}\n${c.file.toString('hex')}`,
  };
};

/** Offsets of the length-like fields of a v9 / IPFIX datagram: set lengths, field counts and lengths. */
export const netflowLengthAt = (b: Buffer): number[] => {
  if (b.length < 4) return [];
  const version = b.readUInt16BE(0);
  const out = version === 10 ? [2] : version === 5 ? [2] : [2];
  if (version !== 9 && version !== 10) return out;
  let off = version === 9 ? 20 : 16;
  for (let sets = 0; off + 4 <= b.length && sets < 64; sets++) {
    const id = b.readUInt16BE(off);
    const len = b.readUInt16BE(off + 2);
    out.push(off, off + 2);
    if (len < 4) break;
    const end = Math.min(b.length, off + len);
    const isTemplate = version === 9 ? id === 0 : id === 2;
    const isOptions = version === 9 ? id === 1 : id === 3;
    if (isTemplate || isOptions) {
      let p = off + 4;
      const head = isOptions ? 6 : 4;
      while (p + head <= end) {
        out.push(p, p + 2);
        if (isOptions) out.push(p + 4);
        const count = version === 9 && isOptions ? (b.readUInt16BE(p + 2) + b.readUInt16BE(p + 4)) / 4 : b.readUInt16BE(p + 2);
        p += head;
        for (let i = 0; i < count && p + 4 <= end; i++) {
          out.push(p, p + 2);
          p += version === 10 && b[p]! & 0x80 ? 8 : 4;
        }
        if (!Number.isInteger(count) || count === 0) break;
      }
    }
    off += len;
  }
  return out;
};

type DatagramCase = { bytes: Buffer; exporter: number };

/** Datagram decoders: mutated seeds and random bytes; template state kept across cases. */
const datagramTarget = (
  name: string, seeds: Buffer[], versions: number[], decode: (b: Buffer, exporter: number) => DecodeResult,
  after?: () => void,
): Target<DatagramCase> => {
  const lengths = seeds.map(netflowLengthAt);
  let n = 0;
  return {
    name,
    gen(rnd) {
      const exporter = int(rnd, 4);
      if (seeds.length === 0 || rnd() < 0.1) {
        const b = randomBytes(rnd, int(rnd, 1500));
        if (b.length >= 2 && rnd() < 0.7) { b[0] = 0; b[1] = pick(rnd, versions); }
        return { bytes: b, exporter };
      }
      const i = int(rnd, seeds.length);
      // Now and then an intact seed: re-teaches templates so mutated data sets meet one.
      if (n++ % 16 === 0 || rnd() < 0.05) return { bytes: seeds[i]!, exporter };
      const b = mutate(rnd, seeds[i]!, pick(rnd, seeds), lengths[i]);
      // Keep the IPFIX Length right half of the time, so mutations reach the sets.
      if (b.length >= 4 && b[1] === 10 && rnd() < 0.5) b.writeUInt16BE(b.length & 0xffff, 2);
      return { bytes: b, exporter };
    },
    exec(c, y) {
      const r = decode(c.bytes, c.exporter);
      checkResult(r);
      y.decoded += r.records.length;
      for (const v of Object.values(r.errors)) y.counted += v ?? 0;
    },
    hex: (c) => `exporter ${c.exporter}\n${c.bytes.toString('hex')}`,
    after,
  };
};

/** Target names, in run order. */
export const TARGET_NAMES = [
  'modbus', 'iec104', 'dnp3', 'dnp3-udp', 's7comm', 'mms', 'enip', 'enip-udp', 'opcua', 'bacnet',
  'frames', 'reader', 'v5', 'v9', 'ipfix', 'collector',
] as const;
export type TargetName = (typeof TARGET_NAMES)[number];

/** Builds one target over the corpus. */
export const makeTarget = (name: TargetName, corpus: Corpus): Target => {
  const flows = (proto: number | undefined, ports: number[], extra?: (f: SeedFlow) => boolean): SeedFlow[] =>
    corpus.flows.filter((f) => (proto === undefined || f.proto === proto) && (ports.includes(f.serverPort) || ports.includes(f.clientPort) || (extra?.(f) ?? false)));
  const stream = (a: L7Analyzer, fs: SeedFlow[], udp: boolean): Target => streamTarget(name, a, fs, udp) as Target;
  const clock = fakeClock(T0);
  const addr = (i: number): string => `192.0.2.${i + 1}`;
  switch (name) {
    case 'modbus': return stream(modbusAnalyzer, flows(6, [502]), false);
    case 'iec104': return stream(iec104Analyzer, flows(6, [2404]), false);
    case 'dnp3': return stream(dnp3Analyzer, flows(6, [20000]), false);
    // Few DNP3-over-UDP samples exist: TCP payloads serve as datagrams too.
    case 'dnp3-udp': return stream(dnp3UdpAnalyzer, flows(undefined, [20000]), true);
    case 's7comm': return stream(s7commAnalyzer, flows(6, [102]), false);
    case 'mms': return stream(mmsAnalyzer, flows(6, [102]), false);
    case 'enip': return stream(enipAnalyzer, flows(6, [44818]), false);
    case 'enip-udp': return stream(enipUdpAnalyzer, flows(undefined, [44818, 2222]), true);
    // OPC UA is tried on every TCP flow no other dissector took: other protocols' flows are seeds too.
    case 'opcua': {
      const opc = flows(6, [4840], (f) => f.file.startsWith('pcaps/OPC'));
      const other = corpus.flows.filter((f) => f.proto === 6 && !opc.includes(f)).slice(0, opc.length + 4);
      // OPC UA seeds weighted 4:1 over the other protocols' flows.
      return stream(opcuaAnalyzer, [...opc, ...opc, ...opc, ...opc, ...other], false);
    }
    case 'bacnet': return stream(bacnetAnalyzer, flows(17, [47808, 47809]), true);
    case 'frames': return framesTarget(corpus.frames) as Target;
    case 'reader': return readerTarget(corpus.files) as Target;
    case 'v5': {
      const d = new V5Decoder();
      return datagramTarget(name, corpus.datagrams.v5, [5], (b, e) => d.decode(b, addr(e), T0)) as Target;
    }
    case 'v9': {
      const d = new V9Decoder(clock);
      return datagramTarget(name, corpus.datagrams.v9, [9], (b, e) => d.decode(b, addr(e), T0),
        () => must(d.templates.size <= d.templates.options.maxTotal, `v9 holds ${d.templates.size} templates`)) as Target;
    }
    case 'ipfix': {
      const d = new IpfixDecoder(clock);
      return datagramTarget(name, corpus.datagrams.ipfix, [10], (b, e) => d.decode(b, addr(e), T0),
        () => must(d.templates.size <= d.templates.options.maxTotal, `ipfix holds ${d.templates.size} templates`)) as Target;
    }
    case 'collector': {
      let records = 0;
      const c = new Collector(CollectorConfig.parse({ listen: 'udp://127.0.0.1:0', allowedExporters: ['192.0.2.0/30'] }),
        { clock }, (rs) => { records += rs.length; });
      const seeds = [...corpus.datagrams.v5, ...corpus.datagrams.v9, ...corpus.datagrams.ipfix];
      return datagramTarget(name, seeds, [5, 9, 10, 1, 7], (b, e) => {
        const before = records;
        const r = c.receive(b, { address: addr(e), port: 9995 });
        must(records - before === r.records.length, 'collector handed on a different number of records than it decoded');
        return r;
      }) as Target;
    }
  }
};

// ───────────────────────────── runner ─────────────────────────────

/** What one target's run gave. */
export interface TargetReport {
  target: string;
  seed: number;
  cases: number;
  seconds: number;
  /** Failures (throws past the boundary, broken invariants) by reason. */
  failures: Record<string, number>;
  /** Cases slower than the slow threshold, and the slowest case (ms). */
  slow: number;
  maxCaseMs: number;
  yield: Yield;
  peakRssMb: number;
  heapStartMb: number;
  heapPeakMb: number;
  heapEndMb: number;
  /** Files written under the crash directory. */
  saved: string[];
}

export interface RunOptions {
  cases: number;
  seed: number;
  slowMs: number;
  /** Where failing inputs go as hex; none saved when undefined. */
  crashDir?: string;
  /** Inputs saved per failure reason at most. */
  savePerReason?: number;
}

const nameSeed = (s: string): number => {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
};

const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** A failure reason: error name, message with numbers folded, and where in our code it was thrown. */
export const failureReason = (e: unknown): string => {
  const err = e instanceof Error ? e : new Error(String(e));
  const msg = `${err.name}: ${err.message}`.split('\n')[0]!.replace(/\d+/g, 'N').slice(0, 120);
  // Frames under the project's own ingest/ and core/ only (a checkout at /work/wt-ingest/ is no ingest/ frame).
  const frame = (err.stack ?? '').split('\n').find((l) => l.includes(`${PROJECT_ROOT}ingest/`) || l.includes(`${PROJECT_ROOT}core/`));
  const at = frame?.slice(frame.indexOf(PROJECT_ROOT) + PROJECT_ROOT.length).match(/^((?:ingest|core)\/[^:)]+:\d+)/)?.[1];
  return at ? `${msg} @ ${at}` : msg;
};

const MB = 1024 * 1024;

/** Runs `cases` seeded cases of `t`; never throws for a failing case (it is counted and saved). */
export const runTarget = (t: Target, o: RunOptions): TargetReport => {
  const rnd = mulberry32((o.seed ^ nameSeed(t.name)) >>> 0);
  const failures: Record<string, number> = {};
  const saved: string[] = [];
  const y: Yield = { decoded: 0, counted: 0, rejected: 0 };
  const slowNs = Number.isFinite(o.slowMs) ? BigInt(Math.round(o.slowMs * 1e6)) : BigInt(Number.MAX_SAFE_INTEGER);
  let slow = 0;
  let maxNs = 0n;
  const heapStart = process.memoryUsage().heapUsed;
  let peakRss = process.memoryUsage.rss();
  let heapPeak = heapStart;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < o.cases; i++) {
    const c = t.gen(rnd);
    const start = process.hrtime.bigint();
    let failure: unknown;
    try {
      t.exec(c, y);
    } catch (e) {
      failure = e;
    }
    const ns = process.hrtime.bigint() - start;
    if (ns > maxNs) maxNs = ns;
    if (ns > slowNs) {
      slow++;
      // Slow inputs are kept too (up to 5), to tell a pathological input from a GC pause by replaying it.
      if (o.crashDir && slow <= 5) {
        const dir = join(dirname(o.crashDir), 'slow');
        mkdirSync(dir, { recursive: true });
        const file = join(dir, `${t.name}-s${o.seed}-c${i}.hex`);
        writeFileSync(file, `# target ${t.name} seed ${o.seed} case ${i}: ${(Number(ns) / 1e6).toFixed(1)} ms\n${t.hex(c)}\n`);
      }
    }
    if (failure !== undefined) {
      const reason = failureReason(failure);
      failures[reason] = (failures[reason] ?? 0) + 1;
      if (o.crashDir && failures[reason]! <= (o.savePerReason ?? 3)) {
        mkdirSync(o.crashDir, { recursive: true });
        const file = join(o.crashDir, `${t.name}-s${o.seed}-c${i}.hex`);
        const stack = failure instanceof Error ? (failure.stack ?? '') : String(failure);
        writeFileSync(file, `# target ${t.name} seed ${o.seed} case ${i}\n# ${reason}\n${stack.split('\n').slice(0, 6).map((l) => `# ${l}`).join('\n')}\n${t.hex(c)}\n`);
        saved.push(file);
      }
    }
    if ((i & 4095) === 0) {
      const m = process.memoryUsage();
      if (m.rss > peakRss) peakRss = m.rss;
      if (m.heapUsed > heapPeak) heapPeak = m.heapUsed;
    }
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  try { t.after?.(); } catch (e) { const r = failureReason(e); failures[r] = (failures[r] ?? 0) + 1; }
  const end = process.memoryUsage();
  return {
    target: t.name, seed: o.seed, cases: o.cases, seconds, failures, slow, maxCaseMs: Number(maxNs) / 1e6, yield: y,
    peakRssMb: Math.max(peakRss, end.rss) / MB, heapStartMb: heapStart / MB, heapPeakMb: Math.max(heapPeak, end.heapUsed) / MB,
    heapEndMb: end.heapUsed / MB, saved,
  };
};

// ───────────────────────────── command line ─────────────────────────────

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

const printTable = (reports: TargetReport[]): void => {
  const w = process.stdout;
  w.write(`${'target'.padEnd(10)} ${'cases'.padStart(10)} ${'cases/s'.padStart(9)} ${'failures'.padStart(8)} ${'slow'.padStart(5)} ${'max ms'.padStart(7)} ` +
    `${'peak RSS'.padStart(9)} ${'heap MB start→peak→end'.padStart(22)}  decoded / counted / rejected\n`);
  for (const r of reports) {
    const f = Object.values(r.failures).reduce((a, b) => a + b, 0);
    w.write(`${r.target.padEnd(10)} ${fmt(r.cases).padStart(10)} ${fmt(r.cases / r.seconds).padStart(9)} ${String(f).padStart(8)} ${String(r.slow).padStart(5)} ` +
      `${r.maxCaseMs.toFixed(1).padStart(7)} ${(r.peakRssMb.toFixed(0) + ' MB').padStart(9)} ` +
      `${`${r.heapStartMb.toFixed(0)} → ${r.heapPeakMb.toFixed(0)} → ${r.heapEndMb.toFixed(0)}`.padStart(22)}  ` +
      `${fmt(r.yield.decoded)} / ${fmt(r.yield.counted)} / ${fmt(r.yield.rejected)}\n`);
    for (const [reason, n] of Object.entries(r.failures)) w.write(`    ${n} × ${reason}\n`);
    for (const s of r.saved) w.write(`    saved ${s}\n`);
  }
};

const main = async (): Promise<void> => {
  const { values } = parseArgs({
    options: {
      cases: { type: 'string', default: '1000000' }, target: { type: 'string' }, seed: { type: 'string', default: '1' },
      jobs: { type: 'string', default: '1' }, 'slow-ms': { type: 'string', default: '50' }, json: { type: 'boolean', default: false },
    },
  });
  const opts: RunOptions = {
    cases: Number(values.cases), seed: Number(values.seed), slowMs: Number(values['slow-ms']),
    crashDir: join('.cache', 'fuzz', 'crashes'),
  };
  if (values.target === undefined) {
    // Every target in its own process, so RSS figures are per target.
    const self = fileURLToPath(import.meta.url);
    const reports: TargetReport[] = [];
    const queue = [...TARGET_NAMES];
    const worker = async (): Promise<void> => {
      for (let name = queue.shift(); name; name = queue.shift()) {
        const out = await new Promise<string>((res, rej) => {
          const p = spawn(process.execPath, ['--import', 'tsx', self, '--target', name, '--cases', values.cases!, '--seed', values.seed!,
            '--slow-ms', values['slow-ms']!, '--json'], { stdio: ['ignore', 'pipe', 'inherit'] });
          let s = '';
          p.stdout.on('data', (b: Buffer) => { s += b.toString(); });
          p.on('error', rej);
          p.on('close', (code) => (code === 0 ? res(s) : rej(new Error(`fuzz target ${name} exited with ${code}`))));
        });
        const r = JSON.parse(out.trim().split('\n').at(-1)!) as TargetReport;
        reports.push(r);
        process.stderr.write(`fuzz: ${name} done (${fmt(r.cases / r.seconds)} cases/s)\n`);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Number(values.jobs)) }, worker));
    reports.sort((a, b) => TARGET_NAMES.indexOf(a.target as TargetName) - TARGET_NAMES.indexOf(b.target as TargetName));
    printTable(reports);
    return;
  }
  const name = values.target as TargetName;
  if (!TARGET_NAMES.includes(name)) throw new Error(`unknown target ${name}; one of ${TARGET_NAMES.join(', ')}`);
  const dataDir = defaultDataDir();
  const lemay = join(dataDir, 'lemay', 'send_a_fake_command_modbus_6RTU_with_operate.pcap');
  const datagrams = existsSync(lemay) && statSync(lemay).isFile() ? await cachedSoftflowdSeeds(join('.cache', 'fuzz', 'seeds'), lemay) : undefined;
  const corpus = loadCorpus(dataDir, datagrams ? { datagrams } : {});
  const report = runTarget(makeTarget(name, corpus), opts);
  if (values.json) process.stdout.write(`${JSON.stringify(report)}\n`);
  else printTable([report]);
};

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
