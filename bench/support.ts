/**
 * Helpers the benches share: timing a peer tool as a whole process, running one part of a bench in a
 * child node process (so its peak RSS and CPU are its own), and the tiled Lemay input.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { readCaptureChunks } from '../ingest/pcap/reader.ts';

/** Where benches keep the inputs they generate (reused by the next run). */
export const BENCH_DIR = join('.cache', 'bench');

/** What {@link timedProcess} measured. */
export interface Timed {
  /** Wall seconds from spawn to exit. */
  seconds: number;
  /** User + system CPU seconds of the command. */
  cpu: number;
  peakRssMb: number;
  /** Lines the command wrote to stdout (read and counted, not kept). */
  lines: number;
  code: number | null;
}

/** Runs `cmd args` under `/usr/bin/time -v` and resolves with its wall and CPU seconds, peak RSS and stdout line count. */
export const timedProcess = (cmd: string, args: string[]): Promise<Timed> =>
  new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const p = spawn('/usr/bin/time', ['-v', cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let lines = 0;
    let err = '';
    p.stdout.on('data', (b: Buffer) => { for (const c of b) if (c === 10) lines++; });
    p.stderr.on('data', (b: Buffer) => { err += b.toString(); if (err.length > 1e6) err = err.slice(-100_000); });
    p.on('error', reject);
    p.on('close', (code) => {
      const num = (re: RegExp): number => Number(err.match(re)?.[1] ?? 0);
      resolve({
        seconds: Number(process.hrtime.bigint() - t0) / 1e9,
        cpu: num(/User time \(seconds\): ([\d.]+)/) + num(/System time \(seconds\): ([\d.]+)/),
        peakRssMb: num(/Maximum resident set size \(kbytes\): (\d+)/) / 1024,
        lines,
        code,
      });
    });
  });

/**
 * Runs `script args` in a child node process (with tsx and `nodeFlags`) and parses the JSON object on
 * its last stdout line; rejects when it exits non-zero.
 */
export const runPart = <T>(script: string, args: string[], nodeFlags: string[] = []): Promise<T> =>
  new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let s = '';
    p.stdout.on('data', (b: Buffer) => { s += b.toString(); });
    p.on('error', reject);
    p.on('close', (code) => {
      if (code !== 0) { reject(new Error(`bench part ${args.join(' ')} exited with ${code}`)); return; }
      resolve(JSON.parse(s.trim().split('\n').at(-1)!) as T);
    });
  });

/**
 * The Lemay connection-per-poll capture tiled into `tiles` × 6 RTUs and `rounds` rounds: the shared
 * send_a_fake_command capture (Modbus/TCP, one connection per poll, about 9 packets per flow), copy k's
 * RTUs at 10.k/16, the copies interleaved packet by packet 1 µs apart, each round the 670 s capture
 * shifted by its span in event time (bench/ingest.ts, bench/replay.ts --whole): RTU addresses 192.168.1.101–106 become 10.(k >> 8).(k & 255).101–106 for copy k; IPv4
 * header checksums are recomputed.
 */
export const ensureLemayTiles = async (tiles: number, rounds: number): Promise<string> => {
  mkdirSync(BENCH_DIR, { recursive: true });
  const file = join(BENCH_DIR, `lemay-tiles-${tiles}x${rounds}.pcap`);
  if (existsSync(file)) return file;
  const src = join('..', 'shared', 'data', 'lemay', 'send_a_fake_command_modbus_6RTU_with_operate.pcap');
  const frames: { ts: number; bytes: Buffer }[] = [];
  let link = 1;
  await (async () => {
    for await (const _ of readCaptureChunks(src, (p) => { link = p.linkType; frames.push({ ts: p.tsMs, bytes: Buffer.from(p.buf.subarray(p.off, p.off + p.caplen)) }); },
      { violations: {}, truncated: false })) { /* collecting */ }
  })();
  if (link !== 1) throw new Error(`${src}: expected Ethernet frames`);
  const span = frames.at(-1)!.ts - frames[0]!.ts + 1_000;
  const out = createWriteStream(file);
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0xa1b2c3d4, 0); head.writeUInt16LE(2, 4); head.writeUInt16LE(4, 6); head.writeUInt32LE(65535, 16); head.writeUInt32LE(1, 20);
  out.write(head);
  const rtu = (b: Buffer, o: number, k: number): void => {
    if (b[o] === 192 && b[o + 1] === 168 && b[o + 2] === 1 && b[o + 3]! >= 101 && b[o + 3]! <= 106) { b[o] = 10; b[o + 1] = k >> 8; b[o + 2] = k & 255; }
  };
  let pending: Buffer[] = [];
  let bytes = 0;
  for (let r = 0; r < rounds; r++) {
    for (const f of frames) {
      for (let k = 0; k < tiles; k++) {
        const b = Buffer.from(f.bytes);
        let ip = 14;
        if (b.readUInt16BE(12) === 0x8100) ip = 18;
        if (b.readUInt16BE(ip - 2) === 0x0800 && b.length >= ip + 20) {
          rtu(b, ip + 12, k); rtu(b, ip + 16, k);
          const ihl = (b[ip]! & 15) * 4;
          b.writeUInt16BE(0, ip + 10);
          let sum = 0;
          for (let i = 0; i < ihl; i += 2) sum += b.readUInt16BE(ip + i);
          while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
          b.writeUInt16BE(~sum & 0xffff, ip + 10);
        }
        const us = Math.round((f.ts + r * span) * 1000) + k;
        const h = Buffer.alloc(16);
        h.writeUInt32LE(Math.floor(us / 1e6), 0); h.writeUInt32LE(us % 1e6, 4); h.writeUInt32LE(b.length, 8); h.writeUInt32LE(b.length, 12);
        pending.push(h, b);
        bytes += 16 + b.length;
        if (bytes > 4 << 20) { if (!out.write(Buffer.concat(pending))) await new Promise<void>((ok) => out.once('drain', () => ok())); pending = []; bytes = 0; }
      }
    }
  }
  out.end(Buffer.concat(pending));
  await new Promise<void>((ok) => out.once('finish', () => ok()));
  return file;
};
