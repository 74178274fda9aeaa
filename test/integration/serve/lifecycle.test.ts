/**
 * serve as an operator meets it, as a real process: a broker that cannot be reached is one error
 * line with the address and the fix, tried again, and given up after --connect-timeout (exit 1);
 * file inputs say when they are published and when all of it is scored and stored; a stop
 * (SIGTERM) ends with a summary of what each role did.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { projectRoot, sharedData } from '../../support/data.ts';
import { LEMAY_FAKE_COMMAND } from '../../support/replayed.ts';

const bin = join(projectRoot, 'bin', 'conduitwatch.mjs');
const site = join(projectRoot, 'examples', 'lemay', 'site.yaml');

/** A loopback port nothing listens on (bound, then released). */
const closedPort = (): Promise<number> => new Promise((resolve, reject) => {
  const s = createServer();
  s.once('error', reject);
  s.listen(0, '127.0.0.1', () => {
    const { port } = s.address() as { port: number };
    s.close(() => resolve(port));
  });
});

interface Proc { exit: Promise<number | null>; lines(): Record<string, unknown>[]; err(): string; pid: number }

/** serve with JSON logs (stderr is a pipe), its log lines parsed as they come. */
const serve = (args: string[]): Proc => {
  const p = spawn(process.execPath, [bin, 'serve', ...args], { env: { ...process.env, TZ: 'UTC', CONDUITWATCH_LOG_FORMAT: 'json' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  p.stderr.setEncoding('utf8').on('data', (d: string) => { err += d; });
  p.stdout.resume();
  const exit = new Promise<number | null>((r) => p.once('exit', (code) => r(code)));
  const lines = () => err.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  return { exit, lines, err: () => err, pid: p.pid! };
};

const until = async (what: string, ok: () => boolean, ms = 60_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

test('a Kafka broker nobody listens for: one error line with the address and the fix, retried, then exit 1 after --connect-timeout', async (t) => {
  const port = await closedPort();
  const p = serve(['--site', site, '--kafka', `127.0.0.1:${port}`, '--role', 'detector', '--http', 'off', '--connect-timeout', '3s']);
  t.after(() => { try { process.kill(p.pid, 'SIGKILL'); } catch { /* exited */ } });
  assert.equal(await p.exit, 1, p.err());
  const unreachable = p.lines().filter((l) => l.event === 'service_unreachable');
  assert.equal(unreachable.length, 1, p.err());
  assert.equal(unreachable[0]!.address, `127.0.0.1:${port}`);
  assert.match(String(unreachable[0]!.msg), new RegExp(`^Cannot reach Kafka at 127\\.0\\.0\\.1:${port}: .*ECONNREFUSED.*Start the broker, or pass --kafka HOST:PORT`));
  // The rest of stderr: the final plain line, and no kafkajs noise or stack traces.
  const plain = p.err().split('\n').filter((l) => l && !l.startsWith('{'));
  assert.equal(plain.length, 1, p.err());
  assert.match(plain[0]!, new RegExp(`^conduitwatch serve: failed: gave up on Kafka at 127\\.0\\.0\\.1:${port} after [0-9]s \\([3-9] tries; --connect-timeout 3s\\)`));
  assert.doesNotMatch(p.err(), /\bat .+:\d+:\d+\)|"stack"/);
  assert.equal(p.lines().length, 1, 'one log line for the whole outage');
});

test('serve with file inputs says when they are published and when they are stored, and prints a summary on SIGTERM', async (t) => {
  const pcap = sharedData(t, LEMAY_FAKE_COMMAND);
  if (!pcap) return;
  const dir = await mkdtemp(join(tmpdir(), 'cw-serve-life-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  // --http off and --query-listen off: nothing else holds the process; it must still wait for the signal.
  const p = serve(['--site', site, '--role', 'all', '--data', dir, '--http', 'off', '--query-listen', 'off', pcap]);
  t.after(() => { try { process.kill(p.pid, 'SIGKILL'); } catch { /* exited */ } });
  await until('the inputs are stored', () => p.lines().some((l) => l.event === 'inputs_stored'));
  const done = p.lines().find((l) => l.event === 'inputs_done')!;
  assert.equal(done.flows, 1249, 'the capture\'s flows (README tour)');
  const stored = p.lines().find((l) => l.event === 'inputs_stored')!;
  assert.deepEqual([stored.flows, stored.alerts], [1249, 6]);
  assert.match(String(stored.msg), /^Inputs scored and stored: 1,249 flows, 6 alerts, \d+ incident versions after \d+s\. Still serving; Ctrl-C stops\.$/);
  process.kill(p.pid, 'SIGTERM');
  assert.equal(await p.exit, 0, p.err());
  const stop = p.lines().find((l) => l.event === 'serve_stopped')!;
  assert.match(String(stop.msg), /^Stopped after \d+s: collector published 1,249 flows; detector scored 1,249 flows: \d+ scores, 6 alerts, \d+ incident updates; sink wrote 1,249 flows, \d+ windows, 6 alerts, \d+ incident versions\.$/);
});
