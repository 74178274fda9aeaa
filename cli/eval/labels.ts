/**
 * Label loaders: every label source of an eval spec becomes a list of {@link Attack}s in the
 * input file's own event time. Labels decide what counts as a detection, so a label file that
 * cannot be read, or a row that cannot be parsed, throws `input_invalid` naming the line; it is
 * never skipped silently.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { PipelineError } from '../../core/errors.ts';
import { readButMmsAttackIntervals } from '../../ingest/files/index.ts';
import { readCaptureChunks } from '../../ingest/pcap/reader.ts';
import type { LabelSource } from './spec.ts';

/** One labelled attack. Times are epoch ms in the input file's own time, both ends inclusive. */
export interface Attack {
  id: string;
  /** Base name of the test input it belongs to. */
  input: string;
  kind: string;
  start: number;
  end: number;
  /** Attacker and target address (or CIDR), when the label names them. */
  src?: string;
  dst?: string;
}

const readText = (path: string): string => {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new PipelineError('input_invalid', `Cannot read labels ${path}: ${(e as NodeJS.ErrnoException).code ?? e}. Check the path in the eval spec.`, { file: path }, { cause: e });
  }
};

const badRow = (path: string, line: number, text: string, expected: string): PipelineError =>
  new PipelineError('input_invalid', `${basename(path)}:${line}: cannot read label row "${text.slice(0, 120)}"; expected ${expected}.`, { file: path, line });

/** "1424798344.961695000" (epoch seconds) → epoch ms, exact to the microsecond. */
export const epochSecondsToMs = (text: string): number | undefined => {
  const m = /^(\d+)(?:\.(\d+))?$/.exec(text.trim());
  if (!m) return undefined;
  const frac = (m[2] ?? '').padEnd(6, '0').slice(0, 6);
  return Number(m[1]) * 1000 + Number(frac) / 1000;
};

const toMs = (v: number | string): number => (typeof v === 'number' ? v : Date.parse(v));

/** "192.168.1.104:139" → ["192.168.1.104", 139]; IPv6 in brackets. */
const splitEndpoint = (text: string): [string, number] | undefined => {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(text.trim());
  return m ? [m[1]!, Number(m[2])] : undefined;
};

/**
 * Lemay `malicious_conversations.csv`:
 * `pcap,conversation,proto_l4,malicious_packets,first_epoch,last_epoch`, one conversation
 * ("a:port <-> b:port") per row, times in epoch seconds. The attack id is the conversation text.
 */
export const parseConversations = (text: string, path = 'malicious_conversations.csv'): Attack[] => {
  const lines = text.split(/\r?\n/);
  const header = (lines[0] ?? '').replace(/^\uFEFF/, '').split(',').map((s) => s.trim());
  const col = (n: string) => header.indexOf(n);
  const need = ['pcap', 'conversation', 'proto_l4', 'first_epoch', 'last_epoch'];
  if (need.some((n) => col(n) < 0)) {
    throw new PipelineError('input_invalid', `${basename(path)}: header "${lines[0] ?? ''}" lacks ${need.filter((n) => col(n) < 0).join(', ')}; expected ${need.join(',')},… (Lemay malicious_conversations.csv).`, { file: path });
  }
  const out: Attack[] = [];
  lines.slice(1).forEach((line, i) => {
    if (line.trim() === '') return;
    const f = line.split(',');
    const conv = (f[col('conversation')] ?? '').split('<->');
    const a = splitEndpoint(conv[0] ?? '');
    const b = splitEndpoint(conv[1] ?? '');
    const start = epochSecondsToMs(f[col('first_epoch')] ?? '');
    const end = epochSecondsToMs(f[col('last_epoch')] ?? '');
    if (f.length !== header.length || conv.length !== 2 || !a || !b || start === undefined || end === undefined || end < start) {
      throw badRow(path, i + 2, line, `${header.length} fields, a conversation "ip:port <-> ip:port" and first_epoch <= last_epoch in epoch seconds`);
    }
    out.push({
      id: `${a[0]}:${a[1]} <-> ${b[0]}:${b[1]}`, input: f[col('pcap')]!.trim(), kind: `${f[col('proto_l4')]!.trim()} conversation`,
      start, end, src: a[0], dst: b[0],
    });
  });
  return out;
};

/** Lemay `*_labeled.csv`: `frame_no;label` per row (CRLF), 1 = malicious. Returns the malicious frame numbers. */
export const parseFrameLabels = (text: string, path = 'labeled.csv'): number[] => {
  const out: number[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '') return;
    const m = /^\s*(\d+)\s*;\s*([01])\s*$/.exec(line);
    if (!m) throw badRow(path, i + 1, line, '"frame_no;label" with label 0 or 1');
    if (m[2] === '1') out.push(Number(m[1]));
  });
  return out;
};

/** Event time (epoch ms) of every packet of a capture, by frame number − 1. */
export const packetTimes = async (pcap: string): Promise<number[]> => {
  const times: number[] = [];
  for await (const _ of readCaptureChunks(pcap, (p) => { times.push(p.tsMs); }, { violations: {}, truncated: false })) { /* drain */ }
  return times;
};

/** Sorted times → intervals; a gap larger than `gapMs` starts a new one. */
export const mergeTimes = (times: number[], gapMs: number): [number, number][] => {
  const sorted = [...times].sort((a, b) => a - b);
  const out: [number, number][] = [];
  for (const t of sorted) {
    const last = out.at(-1);
    if (last && t - last[1] <= gapMs) last[1] = t;
    else out.push([t, t]);
  }
  return out;
};

/** Per-packet labels of one pcap → attacks: runs of malicious packets no more than `gapMs` apart. */
export const frameAttacks = async (pcap: string, labelsPath: string, gapMs: number): Promise<Attack[]> => {
  const frames = parseFrameLabels(readText(labelsPath), labelsPath);
  const times = await packetTimes(pcap);
  const beyond = frames.filter((n) => n < 1 || n > times.length);
  if (beyond.length > 0) {
    throw new PipelineError('input_invalid', `${basename(labelsPath)} labels frame ${beyond[0]} but ${basename(pcap)} has ${times.length} packets; is it the labels file of another capture?`, { file: labelsPath });
  }
  return mergeTimes(frames.map((n) => times[n - 1]!), gapMs).map(([start, end], i) => ({
    id: `frames-${i + 1}`, input: basename(pcap), kind: 'malicious packets', start, end,
  }));
};

interface SimAnomaly { id: string; kind: string; start: number; end: number; src?: string; dst?: string }

const isSimAnomaly = (a: unknown): a is SimAnomaly => {
  const o = a as Record<string, unknown> | null;
  return typeof o === 'object' && o !== null && typeof o.id === 'string' && typeof o.kind === 'string'
    && Number.isFinite(o.start) && Number.isFinite(o.end);
};

/** The simulator's `<pcap>.labels.json`: `{ anomalies: [{ id, kind, start, end, src, dst }] }`, epoch ms. */
export const parseSimulatorLabels = (text: string, input: string, path = 'labels.json'): Attack[] => {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new PipelineError('input_invalid', `${basename(path)} is not JSON: ${(e as Error).message}.`, { file: path }, { cause: e });
  }
  const list = (doc as { anomalies?: unknown } | null)?.anomalies;
  if (!Array.isArray(list)) throw new PipelineError('input_invalid', `${basename(path)} has no "anomalies" list; expected the simulator's labels file.`, { file: path });
  return list.map((a, i) => {
    if (!isSimAnomaly(a)) throw new PipelineError('input_invalid', `${basename(path)}: anomalies[${i}] needs string id and kind and numeric start and end (epoch ms).`, { file: path });
    return {
      id: a.id, input, kind: a.kind, start: a.start, end: a.end,
      ...(typeof a.src === 'string' ? { src: a.src } : {}), ...(typeof a.dst === 'string' ? { dst: a.dst } : {}),
    };
  });
};

/** Attacks of one label source for one test input (absolute path), sorted by start then id. */
export const loadAttacks = async (src: LabelSource, input: string, dataRoot: string, windowMs: number): Promise<Attack[]> => {
  const name = basename(input);
  let out: Attack[];
  switch (src.type) {
    case 'intervals':
      out = src.intervals.filter((iv) => iv.input === undefined || iv.input === name).map((iv) => ({
        id: iv.id, input: name, kind: iv.kind, start: toMs(iv.start), end: toMs(iv.end),
        ...(iv.src !== undefined ? { src: iv.src } : {}), ...(iv.dst !== undefined ? { dst: iv.dst } : {}),
      }));
      break;
    case 'simulator': {
      const path = src.file !== undefined ? resolve(dataRoot, src.file) : `${input}.labels.json`;
      out = parseSimulatorLabels(readText(path), name, path);
      break;
    }
    case 'frames': {
      const path = join(dirname(input), `${name.replace(/\.pcapng?$/, '')}${src.suffix}`);
      if (!existsSync(path)) throw new PipelineError('input_invalid', `No per-packet labels for ${name}: ${path} does not exist.`, { file: path });
      out = await frameAttacks(input, path, src.mergeGap ?? windowMs);
      break;
    }
    case 'conversations': {
      const path = resolve(dataRoot, src.file);
      out = parseConversations(readText(path), path).filter((a) => a.input === name);
      break;
    }
    case 'attack-intervals': {
      const path = resolve(dataRoot, src.file);
      // The id names the row (line number) of the CSV, stable as long as the file is.
      out = readButMmsAttackIntervals(path, src.date)
        .map((a, i) => ({ id: `${basename(path)}:${i + 2}`, input: a.file, kind: a.attack, start: a.startMs, end: a.endMs }))
        .filter((a) => a.input === name);
      break;
    }
  }
  return out.sort((a, b) => a.start - b.start || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
};
