/**
 * The clickhouse-go test program (test/integration/dashboards/chgo/, built from the Go module proxy):
 * clickhouse-go v2 is the driver inside Grafana's ClickHouse plugin.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { promisify } from 'node:util';
import { projectRoot, requireTool } from './data.ts';

const run = promisify(execFile);

export interface GoResult {
  columns?: string[];
  types?: string[];
  rows?: unknown[][];
  error?: string;
}

/** Builds chgo into `dir` (the Go build cache makes later builds quick); undefined when Go is missing outside CI. */
export const buildChgo = async (t: TestContext, dir: string): Promise<string | undefined> => {
  if (!(await requireTool(t, 'go', 'Go 1.26 from go.dev or Debian golang; /usr/local/go/bin on this machine'))) return undefined;
  const out = join(dir, 'chgo');
  await run('go', ['build', '-o', out, '.'], { cwd: join(projectRoot, 'test/integration/dashboards/chgo'), timeout: 600_000, maxBuffer: 16 << 20 });
  return out;
};

/** Runs `queries` through chgo against `addr` (host:port). */
export const runChgo = async (bin: string, addr: string, queries: string[], user = 'default', password = ''): Promise<GoResult[]> => {
  const { spawn } = await import('node:child_process');
  const p = spawn(bin, ['-addr', addr, '-user', user, '-password', password], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout.on('data', (d: Buffer) => { out += d.toString('utf8'); });
  p.stderr.on('data', (d: Buffer) => { err += d.toString('utf8'); });
  p.stdin.end(JSON.stringify(queries));
  const code = await new Promise<number | null>((r) => p.on('close', r));
  if (code !== 0) throw new Error(`chgo exited ${code}: ${err}`);
  return JSON.parse(out) as GoResult[];
};
