/**
 * The process that owns a chDB data directory answers queries for it: `serve --role query` on a
 * finished replay, and `serve` while it writes, so `conduitwatch sql` works where chDB's directory
 * lock used to refuse it.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { execFile } from 'node:child_process';
import { ENDPOINT_FILE } from '../../../dashboards/http/server.ts';
import { TABLES } from '../../../store/schema.ts';
import { projectRoot, sharedData } from '../../support/data.ts';
import { LEMAY_FAKE_COMMAND, replayShared } from '../../support/replayed.ts';

const exec = promisify(execFile);
const BIN = join(projectRoot, 'bin/conduitwatch.mjs');
const env = { ...process.env, TZ: 'UTC', CONDUITWATCH_LOG: 'warn' };

const sql = async (dir: string, q: string, ...flags: string[]): Promise<string> =>
  (await exec(process.execPath, [BIN, 'sql', '--data', dir, '--format', 'TabSeparated', ...flags, q], { env, timeout: 60_000 })).stdout;

const stop = async (p: ChildProcess): Promise<number | null> => {
  p.kill('SIGTERM');
  return new Promise((r) => p.once('exit', (code) => r(code)));
};

const until = async (what: string, ok: () => Promise<boolean>, ms = 60_000): Promise<void> => {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await ok().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`not reached in ${ms} ms: ${what}`);
};

test('serve --role query answers for a finished replay, and conduitwatch sql goes through it', async (t) => {
  const r = await replayShared(t);
  if (!r) return;
  t.after(() => rm(r.dir, { recursive: true, force: true }));
  const p = spawn(process.execPath, [BIN, 'serve', '--role', 'query', '--data', r.dir, '--listen', 'http://127.0.0.1:0'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  // A failed assertion must not leave the server running (it would keep the test process alive).
  t.after(() => { if (p.exitCode === null) p.kill('SIGKILL'); });
  let out = '';
  p.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  await until('serve --role query prints its address', async () => /on (http:\/\/\S+) /.test(out));
  const url = /on (http:\/\/\S+) /.exec(out)![1]!;
  assert.equal(await (await fetch(`${url}/ping`)).text(), 'Ok.\n');
  assert.equal(await sql(r.dir, `SELECT count() FROM ${TABLES.alerts}`), `${r.report.rawAlerts}\n`);
  // sql refuses a write without --write; with it, it says the holder answers read-only (the
  // endpoint's own readonly=1 refusal is endpoint.test.ts's).
  await assert.rejects(sql(r.dir, `DROP TABLE ${TABLES.alerts}`), /read-only; pass --write/);
  await assert.rejects(sql(r.dir, `DROP TABLE ${TABLES.alerts}`, '--write'), /held by a running conduitwatch process .* answers read-only: stop it to write/);
  assert.equal(await stop(p), 0);
  assert.equal(existsSync(join(r.dir, ENDPOINT_FILE)), false, 'the endpoint file is removed on stop');
  assert.equal(await sql(r.dir, `SELECT count() FROM ${TABLES.alerts}`), `${r.report.rawAlerts}\n`, 'then sql opens the directory itself');
});

test('conduitwatch sql reads the store while serve writes it', async (t) => {
  const input = sharedData(t, LEMAY_FAKE_COMMAND);
  if (!input) return;
  const dir = await mkdtemp(join(tmpdir(), 'cw-serve-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const p = spawn(process.execPath, [BIN, 'serve', '--site', join(projectRoot, 'examples/lemay/site.yaml'), '--role', 'all', '--data', dir,
    '--http', 'off', '--query-listen', 'http://127.0.0.1:0', input], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  t.after(() => { if (p.exitCode === null) p.kill('SIGKILL'); });
  await until('serve stored the capture\'s flows', async () => Number(await sql(dir, `SELECT count() FROM ${TABLES.flows}`)) >= 1_000);
  assert.match(await sql(dir, `SELECT count() > 0 FROM ${TABLES.windows}`), /^1\n$/);
  assert.equal(await stop(p), 0);
});
