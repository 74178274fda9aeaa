/**
 * The console service (`conduitwatch console`) as a child process for the crash and browser tests:
 * start it, SIGKILL it (as a crash would), start it again on the same data directory and Redis.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { AccountStore, type Role } from '../../../../enforce/accounts.ts';

const BIN = fileURLToPath(new URL('../../../../bin/conduitwatch.mjs', import.meta.url));

export interface ConsoleProcess {
  url: string;
  pid: number;
  /** Resolves with the exit signal/code. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill9(): Promise<void>;
  stop(): Promise<void>;
  /** stderr so far (logs), for failure messages. */
  log(): string;
}

export interface ConsoleSpec {
  site: string;
  data: string;
  redis: string;
  netns?: string;
  env?: Record<string, string>;
  extra?: string[];
}

/** Starts `conduitwatch console` and waits for its ready line. */
export const startConsole = async (s: ConsoleSpec): Promise<ConsoleProcess> => {
  const args = [BIN, 'console', '--site', s.site, '--data', s.data, '--redis', s.redis, '--listen', '127.0.0.1:0', ...(s.netns ? ['--netns', s.netns] : []), ...(s.extra ?? [])];
  const child: ChildProcess = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env, CONDUITWATCH_LOG: 'info', CONDUITWATCH_WORKER_LOCK_MS: '2000', CONDUITWATCH_WORKER_STALLED_MS: '1000',
      CONDUITWATCH_RECONCILE_MS: '2000', CONDUITWATCH_APPLY_NEED_MS: '1000', ...s.env,
    },
  });
  let err = '';
  child.stderr!.on('data', (b: Buffer) => { err += b.toString(); if (err.length > 200_000) err = err.slice(-100_000); });
  const exited = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  const ready = await new Promise<{ url: string; pid: number }>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve(JSON.parse(line));
    });
    void exited.then((e) => reject(new Error(`console exited (${e.code ?? e.signal}) before it was ready:\n${err.slice(-3000)}`)));
  });
  return {
    ...ready, exited,
    kill9: async () => { child.kill('SIGKILL'); await exited; },
    stop: async () => { if (child.exitCode === null && child.signalCode === null) { child.kill('SIGTERM'); await exited; } },
    log: () => err,
  };
};

/** People of the tests, one per role, and an API token each (scrypt cost lowered for speed). */
type Person = 'engineer' | 'approver' | 'viewer' | 'lead';
/** `lead` is an engineer who is also an approver: the proposer whose own approval must be refused. */
export const addPeople = async (data: string): Promise<Record<Person, { name: string; password: string; token: string }>> => {
  const acc = new AccountStore(data, { scrypt: { N: 1024, r: 8, p: 1 } });
  const out = {} as Record<Person, { name: string; password: string; token: string }>;
  const people: [Person, Role[], string, string][] = [
    ['engineer', ['engineer'], 'e.moreau', 'Emma Moreau'], ['approver', ['approver'], 'p.tanaka', 'Pia Tanaka'],
    ['viewer', ['viewer'], 'v.petrov', 'Vlad Petrov'], ['lead', ['engineer', 'approver'], 'j.weber', 'Jonas Weber'],
  ];
  for (const [key, roles, name, display] of people) {
    const password = `${key} passphrase for tests`;
    await acc.add({ name, displayName: display, roles, password, by: 'test' });
    out[key] = { name, password, token: acc.issueToken(name, { ttlMs: 3_600_000 }).token };
  }
  return out;
};

/** A small API client with a token. */
export const apiClient = (url: string, token: string) => async <T = Record<string, unknown>>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; body: T }> => {
  const res = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(15_000), method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
  return { status: res.status, body: (await res.json()) as T };
};
