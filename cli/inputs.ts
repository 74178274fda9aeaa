/**
 * Input files: sniffs what a file is (pcap, pcapng, a known flow CSV) and opens the matching
 * reader. Every reader yields FlowRecord batches in event-time order, sliced at `sliceMs`.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import type { FlowRecord } from '../core/records.ts';
import { PipelineError } from '../core/errors.ts';
import { newPcapStats, readPcapFlows } from '../ingest/pcap/index.ts';
import { newFileStats, readButIec104, readButMms, sniffCsvKind } from '../ingest/files/index.ts';

export type InputKind = 'pcap' | 'pcapng' | 'but-iec104' | 'but-mms';

/** What every input reports while it is read, for progress and the summary. */
export interface InputProgress {
  file: string;
  kind: InputKind;
  /** Bytes of the file consumed so far and its size, for a progress bar. */
  bytesRead(): number;
  fileSize: number;
  /** Packets (pcap) or rows (CSV) read so far. */
  units(): number;
  /** Records produced so far. */
  records(): number;
  /** Problems worth a warning: truncation, malformed packets or rows (reason → count). */
  problems(): Record<string, number>;
  truncated(): boolean;
}

export interface OpenedInput {
  progress: InputProgress;
  flows: AsyncIterable<FlowRecord[]>;
}

const PCAP_MAGICS = new Set([0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1]);
const PCAPNG_MAGIC = 0x0a0d0d0a;

/** Names the kind of `file` from its first bytes, or throws input_invalid saying what it saw. */
export const sniffInput = (file: string): InputKind => {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new PipelineError('input_invalid', `Cannot open input ${file}: ${code === 'ENOENT' ? 'no such file' : code}. Check the path.`, { file }, { cause: e });
  }
  const head = Buffer.alloc(4);
  let n: number;
  try {
    n = readSync(fd, head, 0, 4, 0);
  } catch (e) {
    throw new PipelineError('input_invalid', `Cannot read input ${file}: ${(e as NodeJS.ErrnoException).code}. Is it a directory?`, { file }, { cause: e });
  } finally {
    closeSync(fd);
  }
  if (n === 4 && PCAP_MAGICS.has(head.readUInt32BE(0))) return 'pcap';
  if (n === 4 && head.readUInt32BE(0) === PCAPNG_MAGIC) return 'pcapng';
  const csv = sniffCsvKind(file);
  if (csv) return csv;
  throw new PipelineError('input_invalid',
    `${file} is not a capture or flow file conduitwatch can read (first bytes ${head.subarray(0, n).toString('hex') || 'none: empty file'}). ` +
    'It reads pcap and pcapng captures, and the per-message CSVs of the BUT IEC 104 and MMS data sets.', { file });
};

export const openInput = (file: string, sliceMs: number): OpenedInput => {
  const kind = sniffInput(file);
  const fileSize = statSync(file).size;
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
      },
    };
  }
  const stats = newFileStats(file);
  const read = kind === 'but-iec104' ? readButIec104 : readButMms;
  return {
    flows: read(file, { sliceMs }, stats),
    progress: {
      file, kind, fileSize,
      bytesRead: () => stats.bytesRead,
      units: () => stats.rows,
      records: () => stats.records,
      problems: () => stats.badRows,
      truncated: () => false,
    },
  };
};

export const displayName = (file: string): string => basename(file);
