import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fakeClock } from '../../../core/clock.ts';
import { hasCode } from '../../../core/errors.ts';
import { AccountStore, hashPassword, permissionsOf, ROLES, sharedNameReason, verifyPassword } from '../../../enforce/accounts.ts';

const FAST = { N: 1024, r: 8, p: 1 };
const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const store = (clock = fakeClock('2026-01-05T08:00:00Z')) => {
  const d = mkdtempSync(join(tmpdir(), 'cw-accounts-'));
  dirs.push(d);
  return { s: new AccountStore(d, { clock, scrypt: FAST }), clock, dir: d };
};
const authFails = (fn: () => unknown, reason: string) =>
  assert.throws(fn, (e: unknown) => (e as { reason?: string }).reason === reason);

test('scrypt hashes verify the right password only and record their parameters', async () => {
  const h = await hashPassword('correct horse battery', FAST);
  assert.match(h, /^scrypt\$1024\$8\$1\$/);
  assert.equal(await verifyPassword('correct horse battery', h), true);
  assert.equal(await verifyPassword('correct horse batterY', h), false);
  assert.notEqual(h, await hashPassword('correct horse battery', FAST), 'each hash has its own salt');
});

test('the default scrypt cost is memory-hard and still verifies', async () => {
  const h = await hashPassword('a long enough passphrase');
  assert.match(h, /^scrypt\$32768\$8\$1\$/);
  assert.equal(await verifyPassword('a long enough passphrase', h), true);
});

test('shared and generic account names are refused, personal ones accepted', () => {
  const shared = ['admin', 'operator', 'operator2', 'shift', 'root', 'scada', 'Admin', 'a b'];
  assert.ok(shared.length > 0);
  for (const n of shared) assert.ok(sharedNameReason(n), n);
  for (const n of ['a.lindqvist', 'jkowalski', 'm_okafor2']) assert.equal(sharedNameReason(n), undefined, n);
});

test('adding refuses a shared name, a missing full name, a short password and a duplicate', async () => {
  const { s } = store();
  await assert.rejects(s.add({ name: 'operator', displayName: 'Night Shift', roles: ['engineer'], password: 'x'.repeat(14), by: 'setup' }), (e) => hasCode(e, 'config_invalid'));
  await assert.rejects(s.add({ name: 'a.lindqvist', displayName: 'Anna', roles: ['engineer'], password: 'x'.repeat(14), by: 'setup' }), /full name/);
  await assert.rejects(s.add({ name: 'a.lindqvist', displayName: 'Anna Lindqvist', roles: ['engineer'], password: 'short', by: 'setup' }), /12 characters/);
  await s.add({ name: 'a.lindqvist', displayName: 'Anna Lindqvist', roles: ['engineer'], password: 'tall green lamp post', by: 'setup' });
  await assert.rejects(s.add({ name: 'a.lindqvist', displayName: 'Anna Lindqvist', roles: ['viewer'], by: 'setup' }), /exists already/);
  assert.equal(statSync(s.file).mode & 0o777, 0o600);
});

test('login gives a session with the account\'s permissions; a wrong password or unknown name is refused alike', async () => {
  const { s } = store();
  await s.add({ name: 'b.okafor', displayName: 'Bola Okafor', roles: ['approver'], password: 'quiet river stones', by: 'setup' });
  const l = await s.login('b.okafor', 'quiet river stones');
  assert.deepEqual([...l.principal.permissions].sort(), [...permissionsOf(['approver'])].sort());
  assert.equal(s.authenticate(l.token).account, 'b.okafor');
  await assert.rejects(s.login('b.okafor', 'quiet river stone'), /Wrong account name or password/);
  await assert.rejects(s.login('nobody', 'quiet river stones'), /Wrong account name or password/);
});

test('a token is scoped, expires, and never widens its account', async () => {
  const { s, clock } = store();
  await s.add({ name: 'c.meyer', displayName: 'Carl Meyer', roles: ['engineer'], by: 'setup' });
  const t = s.issueToken('c.meyer', { scopes: ['read'], ttlMs: 3_600_000, label: 'dashboard' });
  const p = s.authenticate(t.token);
  assert.deepEqual([...p.permissions], ['read']);
  assert.throws(() => s.issueToken('c.meyer', { scopes: ['approve'], ttlMs: 60_000 }), /does not hold approve/);
  assert.throws(() => s.issueToken('c.meyer', { ttlMs: 400 * 86_400_000 }), /lifetime/);
  clock.advance('1h');
  authFails(() => s.authenticate(t.token), 'expired');
});

test('disabling an account refuses its tokens at once; removing a role narrows them', async () => {
  const { s } = store();
  await s.add({ name: 'd.nguyen', displayName: 'Dao Nguyen', roles: ['engineer', 'analyst'], by: 'setup' });
  const t = s.issueToken('d.nguyen', { ttlMs: 86_400_000 });
  assert.ok(s.authenticate(t.token).permissions.has('learn'));
  s.setRoles('d.nguyen', ['engineer']);
  assert.equal(s.authenticate(t.token).permissions.has('learn'), false);
  s.setDisabled('d.nguyen', true);
  authFails(() => s.authenticate(t.token), 'account_disabled');
  s.revokeToken(t.id);
  s.setDisabled('d.nguyen', false);
  authFails(() => s.authenticate(t.token), 'revoked');
});

test('anonymous, malformed and forged tokens are refused with their reason', async () => {
  const { s } = store();
  await s.add({ name: 'e.silva', displayName: 'Eva Silva', roles: ['viewer'], by: 'setup' });
  const t = s.issueToken('e.silva', { ttlMs: 60_000 });
  authFails(() => s.authenticate(undefined), 'no_credentials');
  authFails(() => s.authenticate('hunter2'), 'malformed_token');
  const forged = t.token.slice(0, -1) + (t.token.endsWith('A') ? 'B' : 'A');
  authFails(() => s.authenticate(forged), 'unknown_token');
});

test('every role maps to permissions and only admins manage accounts', () => {
  assert.equal(ROLES.length, 5);
  for (const r of ROLES) assert.ok(permissionsOf([r]).has('read'), r);
  assert.deepEqual(ROLES.filter((r) => permissionsOf([r]).has('accounts')), ['admin']);
  assert.deepEqual(ROLES.filter((r) => permissionsOf([r]).has('approve')), ['approver']);
});
