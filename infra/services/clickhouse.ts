/**
 * A real ClickHouse server for the server store's transport and fault tests: Debian's
 * `clickhouse-server` (bookworm ships 18.16, so no Map, DateTime64 or LowCardinality by default:
 * test transport and faults on tables that old server holds) on free loopback ports, with its
 * configuration, data and logs in a temp dir. One user, `default`, without a password, loopback only.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { duration } from '../../core/units.ts';
import { ServiceProcess, ensureDebianCommand, freePorts, progress, serviceLifecycle, waitReady, type RunningService } from './process.ts';

/** Options of `startClickHouse`. */
export const ClickHouseOptions = z.object({
  startTimeout: duration.default('60s')
    .describe('How long to wait for GET /ping to answer "Ok." after (re)starting.'),
  stopTimeout: duration.default('20s')
    .describe('How long a gentle stop waits after SIGTERM before SIGKILL.'),
  keepDirs: z.boolean().default(false)
    .describe('Keep the temp dir (config, data, server.log) after stop(), for debugging.'),
}).strict();
export type ClickHouseOptions = z.input<typeof ClickHouseOptions>;

/** A running clickhouse-server. */
export interface ClickHouseService extends RunningService {
  /** `http://127.0.0.1:PORT`, the HTTP interface. */
  url: string;
  /** The native TCP port (clickhouse-client). */
  tcpPort: number;
  /** SIGTERM and wait, keeping ports and data: the server is down until `resume()`. */
  halt(): Promise<void>;
  /** Starts a halted (or killed) server again on the same ports and data, and waits until ready. */
  resume(): Promise<void>;
}

/** Resolves true when GET /ping answers 200 "Ok.". */
export const pingClickHouse = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/ping', timeout: 1_000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => { body += c.toString(); });
      res.on('end', () => resolve(res.statusCode === 200 && body.trim() === 'Ok.'));
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => { req.destroy(); resolve(false); });
    req.end();
  });

const configXml = (dir: string, httpPort: number, tcpPort: number): string => `<?xml version="1.0"?>
<yandex>
  <logger><level>information</level><log>${dir}/server.log</log><errorlog>${dir}/server.err.log</errorlog><console>0</console></logger>
  <http_port>${httpPort}</http_port>
  <tcp_port>${tcpPort}</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>${dir}/data/</path>
  <tmp_path>${dir}/tmp/</tmp_path>
  <user_files_path>${dir}/user_files/</user_files_path>
  <format_schema_path>${dir}/format_schemas/</format_schema_path>
  <users_config>users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>67108864</mark_cache_size>
  <uncompressed_cache_size>67108864</uncompressed_cache_size>
  <max_concurrent_queries>32</max_concurrent_queries>
</yandex>
`;

const USERS_XML = `<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>1000000000</max_memory_usage><max_threads>2</max_threads></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
`;

/** Installs clickhouse-server when missing (root) or throws naming the command, then starts one. */
export const startClickHouse = async (options: ClickHouseOptions = {}): Promise<ClickHouseService> => {
  const opts = ClickHouseOptions.parse(options);
  ensureDebianCommand('clickhouse', 'clickhouse-server', 'clickhouse-server');
  const dir = mkdtempSync(join(tmpdir(), 'conduitwatch-clickhouse-'));
  for (const d of ['data', 'tmp', 'user_files', 'format_schemas']) mkdirSync(join(dir, d));
  const [httpPort, tcpPort] = (await freePorts(2)) as [number, number];
  const config = join(dir, 'config.xml');
  writeFileSync(config, configXml(dir, httpPort, tcpPort));
  writeFileSync(join(dir, 'users.xml'), USERS_XML);
  const logFile = join(dir, 'stdout.log');
  const proc = new ServiceProcess({ command: 'clickhouse-server', args: [`--config-file=${config}`], cwd: dir, logFile });
  const launch = async (): Promise<void> => {
    const t0 = Date.now();
    proc.start();
    await waitReady(`clickhouse-server on 127.0.0.1:${httpPort}`, proc, () => pingClickHouse(httpPort), opts.startTimeout, join(dir, 'server.err.log'));
    progress('clickhouse', `ready on 127.0.0.1:${httpPort} in ${Date.now() - t0} ms (pid ${proc.pid})`);
  };
  try {
    await launch();
  } catch (e) {
    await proc.kill9().catch(() => undefined);
    if (!opts.keepDirs) rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    url: `http://127.0.0.1:${httpPort}`,
    port: httpPort,
    tcpPort,
    dir,
    halt: () => proc.stop(opts.stopTimeout),
    resume: launch,
    ...serviceLifecycle({
      component: 'clickhouse', label: `127.0.0.1:${httpPort}`, startFn: 'startClickHouse', proc, dir,
      stopTimeout: opts.stopTimeout, keepDirs: opts.keepDirs, launch,
    }),
  };
};
