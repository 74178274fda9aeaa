/**
 * Process helpers the benches share: timing a peer tool as a whole process, and running one part of
 * a bench in a child node process (so its peak RSS and CPU are its own).
 */
import { spawn } from 'node:child_process';

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
