/**
 * Input files: sniffs what a file is (pcap, pcapng, a known flow CSV) and opens the matching
 * reader. Every reader yields FlowRecord batches in event-time order, sliced at `sliceMs`.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import type { FlowRecord } from '../core/records.ts';
import { PipelineError } from '../core/errors.ts';
import { newPcapStats, readPcapFlows } from '../ingest/pcap/index.ts';
import { truncationText } from '../ingest/pcap/reader.ts';
import {
  loadCsvMapping, newFileStats, readButIec104, readButMms, readGenericCsv, readIpfixFile, readNfdumpCsv, readZeek,
  sniffFlowFile, unknownFlowFile, type FileStats, type FlowFileKind,
} from '../ingest/files/index.ts';

/** What sniffing can tell from a file's content. */
export type SniffedKind = 'pcap' | 'pcapng' | FlowFileKind;
export type InputKind = SniffedKind | 'generic-csv';

/** What every input reports while it is read, for progress and the summary. */
export interface InputProgress {
  file: string;
  kind: InputKind;
  /** Bytes of the file consumed so far and its size, for a progress bar. */
  bytesRead(): number;
  fileSize: number;
  /** Packets (pcap) or rows (flow files) read so far. */
  units(): number;
  /** Records produced so far. */
  records(): number;
  /** Problems worth a warning: truncation, malformed packets or rows (reason → count). */
  problems(): Record<string, number>;
  truncated(): boolean;
  /** Where the end of the file cut a record, in words, when the reader knows. */
  truncation?(): string | undefined;
}

export interface OpenedInput {
  progress: InputProgress;
  flows: AsyncIterable<FlowRecord[]>;
}

export interface InputOptions {
  /** Event-time slice length: flow records never span a multiple of it (the detection window). */
  sliceMs: number;
  /** A generic CSV mapping file (see ingest/files/README.md); every input is then read with it. */
  mapping?: string;
}

const PCAP_MAGICS = new Set([0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1]);
const PCAPNG_MAGIC = 0x0a0d0d0a;

const fail = (file: string, what: string, e: unknown): never => {
  const code = (e as NodeJS.ErrnoException).code;
  throw new PipelineError('input_invalid', `Cannot ${what} input ${file}: ${code === 'ENOENT' ? 'no such file' : code}. Check the path.`, { file }, { cause: e });
};

/** Names the kind of `file` (a file or a Zeek log folder) from its first bytes, or throws input_invalid. */
export const sniffInput = (file: string): SniffedKind => {
  let isDir = false;
  try {
    isDir = statSync(file).isDirectory();
  } catch (e) {
    fail(file, 'open', e);
  }
  if (!isDir) {
    const head = Buffer.alloc(4);
    let n = 0;
    let fd: number | undefined;
    try {
      fd = openSync(file, 'r');
      n = readSync(fd, head, 0, 4, 0);
    } catch (e) {
      fail(file, 'read', e);
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
    if (n === 4 && PCAP_MAGICS.has(head.readUInt32BE(0))) return 'pcap';
    if (n === 4 && head.readUInt32BE(0) === PCAPNG_MAGIC) return 'pcapng';
  }
  const kind = sniffFlowFile(file);
  if (kind) return kind;
  throw unknownFlowFile(file);
};

const fileProgress = (file: string, kind: InputKind, stats: FileStats, fileSize: number): InputProgress => ({
  file, kind, fileSize,
  bytesRead: () => stats.bytesRead,
  units: () => stats.rows,
  records: () => stats.records,
  problems: () => ({ ...stats.badRows, ...(stats.late ? { late_records: stats.late } : {}) }),
  truncated: () => false,
});

export const openInput = (file: string, opts: InputOptions): OpenedInput => {
  const { sliceMs } = opts;
  if (opts.mapping) {
    const mapping = loadCsvMapping(opts.mapping);
    const stats = newFileStats(file);
    return { flows: readGenericCsv(file, mapping, {}, stats), progress: fileProgress(file, 'generic-csv', stats, statSync(file).size) };
  }
  const kind = sniffInput(file);
  const st = statSync(file);
  const fileSize = st.isDirectory() ? 0 : st.size;
  if (kind === 'pcap' || kind === 'pcapng') {
    const stats = newPcapStats(file);
    return {
      flows: readPcapFlows(file, { sliceMs }, stats),
      progress: {
        file, kind, fileSize,
        bytesRead: () => stats.bytesRead,
        units: () => stats.packets,
        records: () => stats.flows,
        problems: () => stats.violations,
        truncated: () => stats.truncated,
        truncation: () => (stats.truncation ? truncationText(stats.truncation) : undefined),
      },
    };
  }
  const stats = newFileStats(file);
  const readers: Record<FlowFileKind, () => AsyncIterable<FlowRecord[]>> = {
    'but-iec104': () => readButIec104(file, { sliceMs }, stats),
    'but-mms': () => readButMms(file, { sliceMs }, stats),
    zeek: () => readZeek(file, {}, stats),
    'nfdump-csv': () => readNfdumpCsv(file, {}, stats),
    ipfix: () => readIpfixFile(file, {}, stats),
  };
  return { flows: readers[kind](), progress: fileProgress(file, kind, stats, fileSize) };
};

export const displayName = (file: string): string => basename(file);

/**
 * The exporter allow-list of `collect` and `serve`: `--allow-exporter CIDR` (repeatable, each may be a
 * comma list; `--allow` is the older spelling), as the collector's `allowedExporters`.
 */
export const allowedExporters = (v: Record<string, unknown>): string[] | undefined => {
  const given = [v['allow-exporter'], v.allow].flatMap((x) => (Array.isArray(x) ? x : typeof x === 'string' ? [x] : [])) as string[];
  if (given.length === 0) return undefined;
  return given.flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
};
