/**
 * Shared plumbing for the service launchers: progress lines, free loopback ports, Debian installs,
 * and a child process that can be stopped gently, killed hard and started again.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { PipelineError } from '../../core/errors.ts';

/** One progress line on stderr, prefixed so it is easy to tell apart from test output. */
export const progress = (service: string, message: string): void => {
  process.stderr.write(`conduitwatch services: ${service}: ${message}\n`);
};

/** A TCP port on 127.0.0.1 that was free a moment ago (bound to :0, then released). */
export const freePort = (): Promise<number> =>
  new Promise((resolvePromise, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port > 0 ? resolvePromise(port) : reject(new Error('could not read the bound port'))));
    });
  });

/** A UDP port on 127.0.0.1 that was free a moment ago (for an exporter's collector, bound then released). */
export const freeUdpPort = async (): Promise<number> => {
  const s = createSocket('udp4');
  await new Promise<void>((ok, fail) => { s.once('error', fail); s.bind(0, '127.0.0.1', () => ok()); });
  const { port } = s.address();
  await new Promise<void>((ok) => s.close(() => ok()));
  return port;
};

/** `count` distinct free ports. */
export const freePorts = async (count: number): Promise<number[]> => {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
};

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Whether `command` is on PATH. */
export const hasCommand = (command: string): boolean =>
  spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;

/**
 * Makes sure `command` exists: installs Debian `pkg` with apt-get when running as root, otherwise
 * throws an error naming the command to run.
 */
export const ensureDebianCommand = (service: string, command: string, pkg: string): void => {
  if (hasCommand(command)) return;
  const install = `apt-get update && apt-get install -y --no-install-recommends ${pkg}`;
  if (process.getuid?.() !== 0) {
    throw new PipelineError('unrecoverable', `${service} needs \`${command}\`, which is not installed. Run: sudo ${install}`, { command, pkg });
  }
  progress(service, `installing Debian package ${pkg} (${command} is missing)…`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update', '-qq'], ['install', '-y', '-qq', '--no-install-recommends', pkg]]) {
    const r = spawnSync('apt-get', args, { env, encoding: 'utf8' });
    if (r.status !== 0) {
      throw new PipelineError('unrecoverable', `apt-get ${args.join(' ')} failed (exit ${r.status}); run it by hand: ${install}\n${tail(r.stderr ?? '', 20)}`, { command, pkg });
    }
  }
  if (!hasCommand(command)) throw new PipelineError('unrecoverable', `${pkg} installed but \`${command}\` is still not on PATH`, { command, pkg });
};

/** The last `lines` lines of a text. */
export const tail = (text: string, lines: number): string => text.trimEnd().split('\n').slice(-lines).join('\n');

/** The last `lines` lines of a file, or '' when it does not exist. */
export const tailFile = (path: string, lines = 30): string => (existsSync(path) ? tail(readFileSync(path, 'utf8'), lines) : '');

/** Children still alive, killed hard if the test process exits without stopping them. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;
const installExitHook = (): void => {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  const killAll = (): void => {
    for (const child of live) child.kill('SIGKILL');
  };
  process.on('exit', killAll);
  // 'exit' does not run when a signal ends the process (the test runner's timeout sends SIGTERM):
  // kill the children, then re-raise the signal so the default behaviour still applies.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      killAll();
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
};

/** The lifecycle every test service offers (Kafka, Redis). */
export interface RunningService {
  port: number;
  /** The service's temp dir: configuration, data and its log. */
  dir: string;
  pid(): number | undefined;
  /** SIGTERM, wait, SIGKILL; removes the temp dir. Safe to call twice. */
  stop(): Promise<void>;
  /** SIGKILL as a crash would; ports and data stay for restart(). */
  kill9(): Promise<void>;
  /** Start again on the same ports and data (stopping gently first if it is running). */
  restart(): Promise<void>;
}

/**
 * stop / kill9 / restart of a service run by `proc` in the temp dir `dir`, relaunched by `launch`
 * (start and wait until ready). `label` names it in progress lines, `startFn` in the error of a
 * restart after stop.
 */
export const serviceLifecycle = (s: {
  component: string; label: string; startFn: string; proc: ServiceProcess; dir: string;
  stopTimeout: number; keepDirs: boolean; launch: () => Promise<void>;
}): Pick<RunningService, 'pid' | 'stop' | 'kill9' | 'restart'> => {
  let stopped = false;
  return {
    pid: () => s.proc.pid,
    async stop() {
      if (stopped) return;
      stopped = true;
      await s.proc.stop(s.stopTimeout);
      if (!s.keepDirs) rmSync(s.dir, { recursive: true, force: true });
      progress(s.component, `${s.label} stopped`);
    },
    async kill9() {
      await s.proc.kill9();
    },
    async restart() {
      if (stopped) throw new Error(`restart() after stop(): ${s.dir} is gone; call ${s.startFn}() again`);
      await s.proc.stop(s.stopTimeout);
      await s.launch();
    },
  };
};

/** What to run; `logFile` receives stdout and stderr (appended, so restarts keep the history). */
export interface ProcessSpec {
  command: string;
  args: string[];
  cwd: string;
  logFile: string;
  env?: NodeJS.ProcessEnv;
}

/** A service process that can be started, stopped and killed any number of times. */
export class ServiceProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();

  constructor(private readonly spec: ProcessSpec) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Spawns the process; throws when it is already running or the command cannot be spawned. */
  start(): void {
    if (this.running) throw new Error(`${this.spec.command} is already running (pid ${this.pid})`);
    installExitHook();
    const fd = openSync(this.spec.logFile, 'a');
    try {
      const child = spawn(this.spec.command, this.spec.args, {
        cwd: this.spec.cwd,
        env: this.spec.env ?? process.env,
        stdio: ['ignore', fd, fd],
      });
      this.child = child;
      live.add(child);
      this.exited = new Promise((resolvePromise) => {
        child.once('exit', () => {
          live.delete(child);
          resolvePromise();
        });
        child.once('error', () => {
          live.delete(child);
          resolvePromise();
        });
      });
    } finally {
      closeSync(fd);
    }
  }

  /** Resolves once the current child has exited (immediately when none runs). */
  waitExit(): Promise<void> {
    return this.exited;
  }

  /** SIGTERM, wait up to `graceMs`, then SIGKILL; resolves once the process is gone. */
  async stop(graceMs: number): Promise<void> {
    if (!this.running) return this.exited;
    this.child!.kill('SIGTERM');
    const gone = await Promise.race([this.exited.then(() => true), sleep(graceMs).then(() => false)]);
    if (!gone) {
      this.child!.kill('SIGKILL');
      await this.exited;
    }
  }

  /** SIGKILL now, as a crash would; resolves once the process is gone. */
  async kill9(): Promise<void> {
    if (this.running) this.child!.kill('SIGKILL');
    await this.exited;
  }
}

/**
 * Polls `probe` until it resolves true, the process dies, or `timeoutMs` passes. On failure the
 * error carries the tail of the service log.
 */
export const waitReady = async (
  service: string,
  proc: ServiceProcess,
  probe: () => Promise<boolean>,
  timeoutMs: number,
  logFile: string,
): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!proc.running) {
      throw new PipelineError('not_connected', `${service} exited before it became ready. Last lines of ${logFile}:\n${tailFile(logFile)}`, { logFile });
    }
    if (await probe().catch(() => false)) return;
    await sleep(200);
  }
  await proc.kill9();
  throw new PipelineError('not_connected', `${service} was not ready within ${timeoutMs} ms (killed). Last lines of ${logFile}:\n${tailFile(logFile)}`, { logFile });
};
