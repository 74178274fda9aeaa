/**
 * A bounded on-disk queue of publishes, for a producer that must outlive its broker (issue 9 item 3):
 * the collector spools what the bus cannot take and publishes it, oldest first, once the bus is back.
 *
 * - One file per entry, `<seq>.spool` in `dir` (16-digit sequence numbers, so names sort in order),
 *   written to a temp name and renamed: a crash leaves whole entries or none. Files are not fsynced:
 *   they survive a crash of the process, not a power loss. An entry holds the messages of one publish
 *   (key, partition, headers, value) and how many records they carry.
 * - Bounded by size and age. Past `maxBytes` the OLDEST entries are dropped to make room (as Kafka's
 *   retention would); an entry older than `maxAgeMs` (by the injected clock) is dropped before it is
 *   published. Every drop is counted (`conduitwatch_spool_dropped_records_total{reason}`) and logged;
 *   appending never fails for lack of room.
 * - Survives restarts: `open` picks up the entries a previous process left; an entry that cannot be
 *   read is renamed `.bad`, counted as dropped (reason `unreadable`) and skipped.
 *
 * The spool does not publish: the caller takes `head()`, publishes it, then `remove`s it (at least
 * once: an entry whose publish landed but was not confirmed is published again, which the sink's
 * dedup on record ids absorbs).
 */
import { mkdir, open as openFile, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from '../core/clock.ts';
import { errorMessage, PipelineError } from '../core/errors.ts';
import { silentLogger, type Logger, type Metrics } from '../core/telemetry.ts';
import type { OutMessage } from './bus.ts';

export interface SpoolOptions {
  /** Directory of the entries (created when missing). One producer per directory. */
  dir: string;
  /** Most bytes of entries kept; the oldest are dropped past it. */
  maxBytes: number;
  /** Entries older than this (ms, by `clock`) are dropped instead of published. */
  maxAgeMs: number;
  clock: Clock;
  log?: Logger;
  metrics?: Metrics;
  /** Metric label `spool`. */
  name?: string;
}

/** One spooled publish. */
export interface SpoolEntry {
  seq: number;
  createdAt: number;
  /** Records (flows) the messages carry, for counting; markers carry none. */
  records: number;
  messages: OutMessage[];
}

interface Indexed {
  seq: number;
  createdAt: number;
  records: number;
  bytes: number;
}

const MAGIC = 0x43575331; // 'CWS1'
const HEAD = 4 + 8 + 4 + 4;
const fileOf = (seq: number): string => `${String(seq).padStart(16, '0')}.spool`;
const FILE_RE = /^(\d{16})\.spool$/;

/** The entry's bytes: magic, createdAt, records, count, then per message partition, key, headers (JSON), value. */
export const encodeEntry = (createdAt: number, records: number, messages: readonly OutMessage[]): Buffer => {
  const parts: Buffer[] = [];
  const head = Buffer.alloc(HEAD);
  head.writeUInt32BE(MAGIC, 0);
  head.writeDoubleBE(createdAt, 4);
  head.writeUInt32BE(records, 12);
  head.writeUInt32BE(messages.length, 16);
  parts.push(head);
  for (const m of messages) {
    const key = Buffer.from(m.key, 'utf8');
    const headers = Buffer.from(JSON.stringify(m.headers ?? {}), 'utf8');
    const lens = Buffer.alloc(16);
    lens.writeInt32BE(m.partition ?? -1, 0);
    lens.writeUInt32BE(key.length, 4);
    lens.writeUInt32BE(headers.length, 8);
    lens.writeUInt32BE(m.value.length, 12);
    parts.push(lens, key, headers, m.value);
  }
  return Buffer.concat(parts);
};

/** The inverse of `encodeEntry`; throws a RangeError naming what is wrong with a damaged entry. */
export const decodeEntry = (buf: Buffer): { createdAt: number; records: number; messages: OutMessage[] } => {
  if (buf.length < HEAD || buf.readUInt32BE(0) !== MAGIC) throw new RangeError('not a spool entry (bad magic)');
  const createdAt = buf.readDoubleBE(4);
  const records = buf.readUInt32BE(12);
  const count = buf.readUInt32BE(16);
  const messages: OutMessage[] = [];
  let at = HEAD;
  for (let i = 0; i < count; i++) {
    if (at + 16 > buf.length) throw new RangeError(`entry truncated in message ${i} of ${count}`);
    const partition = buf.readInt32BE(at);
    const kl = buf.readUInt32BE(at + 4);
    const hl = buf.readUInt32BE(at + 8);
    const vl = buf.readUInt32BE(at + 12);
    at += 16;
    if (at + kl + hl + vl > buf.length) throw new RangeError(`entry truncated in message ${i} of ${count}`);
    const key = buf.toString('utf8', at, at + kl);
    const headers = JSON.parse(buf.toString('utf8', at + kl, at + kl + hl)) as Record<string, string>;
    const value = Buffer.from(buf.subarray(at + kl + hl, at + kl + hl + vl));
    at += kl + hl + vl;
    messages.push({ key, value, headers, ...(partition >= 0 ? { partition } : {}) });
  }
  if (at !== buf.length) throw new RangeError(`entry has ${buf.length - at} trailing bytes`);
  return { createdAt, records, messages };
};

export class Spool {
  private readonly index: Indexed[] = [];
  private nextSeq = 1;
  private totalBytes = 0;
  private totalRecords = 0;
  /** Records dropped by reason since open. */
  readonly dropped = { size: 0, age: 0, unreadable: 0, unwritable: 0 };
  private readonly log: Logger;
  private readonly label: { spool: string };
  /** Appends and removals run one at a time, in call order. */
  private chain: Promise<unknown> = Promise.resolve();

  private constructor(private readonly o: SpoolOptions) {
    this.log = o.log ?? silentLogger();
    this.label = { spool: o.name ?? 'collector' };
  }

  /** Opens (creating) the directory and indexes the entries a previous process left there. */
  static async open(o: SpoolOptions): Promise<Spool> {
    if (!(o.maxBytes > 0) || !(o.maxAgeMs > 0)) {
      throw new PipelineError('config_invalid', `Spool ${o.dir}: maxBytes and maxAgeMs must be positive (got ${o.maxBytes}, ${o.maxAgeMs}).`, { dir: o.dir });
    }
    const s = new Spool(o);
    try {
      await mkdir(o.dir, { recursive: true });
      for (const name of (await readdir(o.dir)).sort()) {
        // A write cut short by a crash: its publish was never acknowledged as spooled.
        if (name.endsWith('.spool.tmp')) { await rm(join(o.dir, name), { force: true }); continue; }
        const m = FILE_RE.exec(name);
        if (!m) continue;
        const seq = Number(m[1]);
        const path = join(o.dir, name);
        try {
          const fh = await openFile(path, 'r');
          try {
            const head = Buffer.alloc(HEAD);
            const { bytesRead } = await fh.read(head, 0, HEAD, 0);
            if (bytesRead < HEAD || head.readUInt32BE(0) !== MAGIC) throw new RangeError('not a spool entry (bad magic)');
            const { size } = await fh.stat();
            s.index.push({ seq, createdAt: head.readDoubleBE(4), records: head.readUInt32BE(12), bytes: size });
          } finally {
            await fh.close();
          }
        } catch (e) {
          await s.quarantine(path, errorMessage(e), 0);
        }
        s.nextSeq = Math.max(s.nextSeq, seq + 1);
      }
    } catch (e) {
      throw new PipelineError('config_invalid', `Cannot open spool directory ${o.dir}: ${errorMessage(e)}. Give --spool a writable directory.`, { dir: o.dir }, { cause: e });
    }
    for (const e of s.index) { s.totalBytes += e.bytes; s.totalRecords += e.records; }
    if (s.index.length) s.log.info({ dir: o.dir, entries: s.index.length, records: s.totalRecords, bytes: s.totalBytes }, 'Spool holds entries from before; publishing them first.');
    s.gauges();
    return s;
  }

  get dir(): string { return this.o.dir; }
  /** Entries waiting. */
  get entries(): number { return this.index.length; }
  get bytes(): number { return this.totalBytes; }
  /** Records waiting. */
  get records(): number { return this.totalRecords; }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Writes one entry, dropping the oldest entries first if it would not fit. */
  append(messages: readonly OutMessage[], records: number): Promise<void> {
    return this.serial(async () => {
      const buf = encodeEntry(this.o.clock.now(), records, messages);
      if (buf.length > this.o.maxBytes) {
        this.drop('size', records, 1, `one publish of ${buf.length} bytes is larger than the spool (${this.o.maxBytes} bytes)`);
        return;
      }
      let freed = 0;
      let freedRecords = 0;
      while (this.index.length && this.totalBytes + buf.length > this.o.maxBytes) {
        const old = this.index.shift()!;
        await rm(join(this.o.dir, fileOf(old.seq)), { force: true });
        this.forget(old);
        freed++;
        freedRecords += old.records;
      }
      if (freed) this.drop('size', freedRecords, freed, `the spool is full (${this.o.maxBytes} bytes); dropped its oldest entries`);
      const seq = this.nextSeq++;
      const path = join(this.o.dir, fileOf(seq));
      try {
        const fh = await openFile(`${path}.tmp`, 'w');
        try { await fh.writeFile(buf); } finally { await fh.close(); }
        await rename(`${path}.tmp`, path);
      } catch (e) {
        await rm(`${path}.tmp`, { force: true }).catch(() => undefined);
        // The disk refused: nothing is kept of this publish. Count it rather than crash the producer.
        this.drop('unwritable', records, 1, `cannot write ${path}: ${errorMessage(e)}`);
        return;
      }
      this.index.push({ seq, createdAt: this.o.clock.now(), records, bytes: buf.length });
      this.totalBytes += buf.length;
      this.totalRecords += records;
      this.o.metrics?.add('conduitwatch_spool_appended_records_total', this.label, records);
      this.gauges();
    });
  }

  /** The oldest entry young enough to publish (older ones are dropped on the way), or undefined. */
  head(): Promise<SpoolEntry | undefined> {
    return this.serial(async () => {
      for (;;) {
        const e = this.index[0];
        if (!e) return undefined;
        const path = join(this.o.dir, fileOf(e.seq));
        if (this.o.clock.now() - e.createdAt > this.o.maxAgeMs) {
          this.index.shift();
          this.forget(e);
          await rm(path, { force: true });
          this.drop('age', e.records, 1, `an entry waited longer than ${this.o.maxAgeMs} ms`);
          continue;
        }
        try {
          const d = decodeEntry(await readFile(path));
          return { seq: e.seq, createdAt: d.createdAt, records: d.records, messages: d.messages };
        } catch (err) {
          this.index.shift();
          this.forget(e);
          await this.quarantine(path, errorMessage(err), e.records);
        }
      }
    });
  }

  /** Removes an entry once it was published. */
  remove(seq: number): Promise<void> {
    return this.serial(async () => {
      const i = this.index.findIndex((e) => e.seq === seq);
      if (i < 0) return;
      const [e] = this.index.splice(i, 1);
      this.forget(e!);
      await rm(join(this.o.dir, fileOf(seq)), { force: true });
      this.o.metrics?.add('conduitwatch_spool_published_records_total', this.label, e!.records);
      this.gauges();
    });
  }

  private forget(e: Indexed): void {
    this.totalBytes -= e.bytes;
    this.totalRecords -= e.records;
    this.gauges();
  }

  private async quarantine(path: string, why: string, records: number): Promise<void> {
    await rename(path, `${path}.bad`).catch(() => undefined);
    this.drop('unreadable', records, 1, `cannot read ${path} (${why}); renamed it .bad`);
  }

  private drop(reason: 'size' | 'age' | 'unreadable' | 'unwritable', records: number, entries: number, why: string): void {
    this.dropped[reason] += records;
    this.o.metrics?.add('conduitwatch_spool_dropped_records_total', { ...this.label, reason }, records);
    this.log.warn({ dir: this.o.dir, reason, records, entries, event: 'spool_dropped' }, `Spool dropped ${records} record(s): ${why}.`);
  }

  private gauges(): void {
    this.o.metrics?.set('conduitwatch_spool_records', this.label, this.totalRecords);
    this.o.metrics?.set('conduitwatch_spool_bytes', this.label, this.totalBytes);
  }
}
