/**
 * A real Redis for BullMQ tests: Debian's `redis-server` on a free loopback port, with its files in a
 * temp dir and `maxmemory-policy noeviction` (BullMQ's "Going to production": the only policy that
 * guarantees correct behaviour). Persistence is off unless the test asks for AOF.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { duration } from '../../core/units.ts';
import { redisCommand } from './resp.ts';
import { ServiceProcess, ensureDebianCommand, freePort, progress, serviceLifecycle, waitReady, type RunningService } from './process.ts';

/** Options of `startRedis`. */
export const RedisOptions = z.object({
  persistence: z.enum(['none', 'aof']).default('none')
    .describe("'none': no RDB, no AOF (fast). 'aof': appendonly with the chosen fsync, for restart/crash tests."),
  appendfsync: z.enum(['always', 'everysec', 'no']).default('everysec')
    .describe("AOF fsync policy when persistence is 'aof'; everysec may lose ~1 s of acks on a crash."),
  maxmemory: z.string().regex(/^\d+(mb|gb)?$/i).default('256mb')
    .describe('maxmemory; with noeviction, writes fail with OOM past it instead of dropping keys.'),
  startTimeout: duration.default('20s')
    .describe('How long to wait for PING to answer PONG after (re)starting.'),
  stopTimeout: duration.default('10s')
    .describe('How long stop() waits after SIGTERM before SIGKILL.'),
  keepDirs: z.boolean().default(false)
    .describe('Keep the temp dir (redis.log, AOF files) after stop(), for debugging.'),
}).strict();
export type RedisOptions = z.input<typeof RedisOptions>;

/** A running redis-server; `dir` is its working dir (AOF files) and redis.log. stop() sends SIGTERM, so Redis flushes its AOF. */
export interface RedisService extends RunningService {
  /** `redis://127.0.0.1:PORT`. */
  url: string;
}

/** Resolves true when PING answers PONG (a LOADING error while the AOF replays means "not yet"). */
export const pingRedis = async (port: number): Promise<boolean> => (await redisCommand(port, ['PING'], 1_000)) === 'PONG';

/** Installs redis-server when missing (root) or throws naming the command, then starts one. */
export const startRedis = async (options: RedisOptions = {}): Promise<RedisService> => {
  const opts = RedisOptions.parse(options);
  ensureDebianCommand('redis', 'redis-server', 'redis-server');
  const dir = mkdtempSync(join(tmpdir(), 'conduitwatch-redis-'));
  const port = await freePort();
  const logFile = join(dir, 'redis.log');
  const aof = opts.persistence === 'aof';
  const proc = new ServiceProcess({
    command: 'redis-server',
    args: [
      '--port', String(port),
      '--bind', '127.0.0.1',
      '--protected-mode', 'yes',
      '--daemonize', 'no',
      '--dir', dir,
      '--save', '',
      '--appendonly', aof ? 'yes' : 'no',
      '--appendfsync', opts.appendfsync,
      '--maxmemory', opts.maxmemory,
      '--maxmemory-policy', 'noeviction',
      '--logfile', '',
    ],
    cwd: dir,
    logFile,
  });
  const launch = async (): Promise<void> => {
    const t0 = Date.now();
    proc.start();
    await waitReady(`redis-server on 127.0.0.1:${port}`, proc, () => pingRedis(port), opts.startTimeout, logFile);
    progress('redis', `ready on 127.0.0.1:${port} in ${Date.now() - t0} ms (pid ${proc.pid}, persistence ${opts.persistence})`);
  };
  try {
    await launch();
  } catch (e) {
    if (!opts.keepDirs) rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    ...serviceLifecycle({
      component: 'redis', label: `127.0.0.1:${port}`, startFn: 'startRedis', proc, dir,
      stopTimeout: opts.stopTimeout, keepDirs: opts.keepDirs, launch,
    }),
  };
};
