/**
 * The same promotion from a terminal: `conduitwatch accounts` makes the people and tokens, `rules
 * submit|approve|status|abort` drive the running console service (real Redis, nftables in
 * namespaces, part 1's proposal and what-if), the watch trips on a provoked drop and rolls back by
 * itself, and `audit verify` passes.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { startAofRedis, tempDir } from './helpers.ts';
import { startConsole } from './support/console.ts';
import { canNetns, startPlant } from './support/netns.ts';
import { proposePlant, writePlantSite } from './support/plant.ts';

const BIN = fileURLToPath(new URL('../../../bin/conduitwatch.mjs', import.meta.url));
const cleanups: (() => Promise<unknown> | void)[] = [];
after(async () => { for (const c of cleanups.reverse()) await c(); });

const cw = (args: string[], o: { stdin?: string; env?: Record<string, string> } = {}): Promise<{ code: number; out: string; err: string }> =>
  new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, CONDUITWATCH_LOG: 'error', ...o.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (b: Buffer) => { out += b.toString(); });
    p.stderr.on('data', (b: Buffer) => { err += b.toString(); });
    p.stdin.end(o.stdin ?? '');
    p.on('close', (code) => resolve({ code: code ?? -1, out, err }));
  });

test('accounts: personal names only, a password from stdin, a scoped token, and --help that teaches', async () => {
  const tmp = tempDir('cli-accounts');
  cleanups.push(() => tmp.remove());
  const data = join(tmp.dir, 'data');
  const bad = await cw(['accounts', 'add', 'operator', '--display-name', 'Night Shift', '--role', 'engineer', '--data', data]);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /names a function or a group, not a person/);
  const ok = await cw(['accounts', 'add', 'a.lindqvist', '--display-name', 'Anna Lindqvist', '--role', 'engineer,approver', '--password-stdin', '--data', data], { stdin: 'tall green lamp post\n' });
  assert.equal(ok.code, 0, ok.err);
  const tok = await cw(['accounts', 'token', 'a.lindqvist', '--scope', 'read', '--expires', '2h', '--data', data]);
  assert.match(tok.out.trim(), /^cw_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
  const list = JSON.parse((await cw(['accounts', 'list', '--tokens', '--json', '--data', data])).out);
  assert.deepEqual(list.accounts.map((a: { name: string; roles: string[]; hasPassword: boolean }) => [a.name, a.roles, a.hasPassword]), [['a.lindqvist', ['engineer', 'approver'], true]]);
  assert.deepEqual(list.tokens[0].scopes, ['read']);
  assert.equal(JSON.stringify(list).includes('secretSha256'), false, 'no secret material listed');
  for (const cmd of [['accounts', '--help'], ['rules', '--help'], ['console', '--help']]) {
    const h = await cw(cmd);
    assert.equal(h.code, 0);
    assert.match(h.out, /Examples:/, cmd.join(' '));
  }
  assert.match((await cw(['rules', '--help'])).out, /rules approve control_to_field-/);
});

test('from the CLI: the proposer is refused, an approver approves, a provoked drop rolls the rule back by itself, audit verify passes', async (t) => {
  if (!canNetns(t)) return;
  const tmp = tempDir('cli-flow');
  cleanups.push(() => tmp.remove());
  const redis = await startAofRedis();
  cleanups.push(() => redis.stop());
  const plant = await startPlant('l');
  cleanups.push(() => plant.stop());
  const poller = plant.startPoller(200);
  const data = join(tmp.dir, 'data');
  for (const [name, display, role] of [['j.weber', 'Jonas Weber', 'engineer,approver'], ['p.tanaka', 'Pia Tanaka', 'approver']]) {
    const r = await cw(['accounts', 'add', name!, '--display-name', display!, '--role', role!, '--data', data]);
    assert.equal(r.code, 0, r.err);
  }
  const token = async (name: string) => (await cw(['accounts', 'token', name, '--expires', '1h', '--data', data])).out.trim();
  const jonas = await token('j.weber');
  const pia = await token('p.tanaka');
  const siteFile = writePlantSite(tmp.dir, { start: new Date(Date.now() - 1_000).toISOString(), duration: '2h' });
  const propFile = join(tmp.dir, 'proposal.json');
  writeFileSync(propFile, JSON.stringify(proposePlant(tmp.dir, siteFile, data)));
  const con = await startConsole({ site: siteFile, data, redis: redis.url, netns: plant.router });
  cleanups.push(() => con.stop());
  const as = (tok: string) => ({ env: { CONDUITWATCH_API: con.url, CONDUITWATCH_TOKEN: tok } });

  const sub = await cw(['rules', 'submit', propFile, '--reason', 'the HMI only reads', '--json'], as(jonas));
  assert.equal(sub.code, 0, sub.err);
  const id = JSON.parse(sub.out).id as string;
  assert.equal((await cw(['rules', 'status', id, '--wait', 'review', '--timeout', '60s'], as(pia))).code, 0);
  const own = await cw(['rules', 'approve', id, '--reason', 'mine'], as(jonas));
  assert.equal(own.code, 1);
  assert.match(own.err, /403: j\.weber proposed .* cannot approve it too/);
  const ok = await cw(['rules', 'approve', id, '--reason', 'what-if clean', '--watch', '10m', '--interval', '1s'], as(pia));
  assert.equal(ok.code, 0, ok.err);
  assert.match(ok.out, /SCHEDULED\n[\s\S]*approved by p\.tanaka: what-if clean; watch 10m/);
  assert.equal((await cw(['rules', 'status', id, '--wait', 'watching', '--timeout', '60s'], as(pia))).code, 0);
  poller.send(16);
  const end = JSON.parse((await cw(['rules', 'status', id, '--wait', 'rolled_back,confirmed', '--timeout', '60s', '--json'], as(pia))).out);
  assert.equal(end.state, 'rolled_back');
  assert.equal(end.outcome.trip.criterion, 'baseline_flow_dropped');
  const text = (await cw(['rules', 'status', id], as(pia))).out;
  assert.match(text, /ROLLED_BACK[\s\S]*baseline_flow_dropped: \d+ packets of baseline edge 10\.10\.1\.10 → 10\.10\.3\.101/);

  await con.stop();
  const v = await cw(['audit', 'verify', '--data', data, '--json']);
  const report = JSON.parse(v.out);
  assert.equal(report.ok, true, v.out.slice(0, 500));
});
