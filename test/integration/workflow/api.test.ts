/**
 * The HTTP API on a real Redis: the RBAC matrix (every route × every role, plus no token), the
 * OpenAPI document generated from the route schemas, refusals audited, loopback/TLS binding.
 * The what-if and enforcer are doubles here; the console test and crash tests use the real ones.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { AccountStore, permissionsOf, ROLES, type Role } from '../../../enforce/accounts.ts';
import { buildApi, listenApi, ROUTES } from '../../../enforce/api/server.ts';
import { BaselineOverrides } from '../../../enforce/workflow/learn.ts';
import { WorkflowQueue } from '../../../enforce/workflow/queue.ts';
import { fileSnapshots } from '../../../enforce/workflow/snapshots.ts';
import { Workflow } from '../../../enforce/workflow/workflow.ts';
import type { ProposalInput } from '../../../enforce/workflow/ports.ts';
import type { RedisService } from '../../../infra/services/index.ts';
import { fixedWhatif, memoryAudit, memoryEnforcer, proposal, startAofRedis, tempDir, waitForState, windowSoon } from './helpers.ts';

const FAST = { N: 1024, r: 8, p: 1 };
let redis: RedisService;
let app: FastifyInstance;
let queue: WorkflowQueue;
let wf: Workflow;
let accounts: AccountStore;
const audit = memoryAudit();
const tmp = tempDir('api');
const people: Record<Role, string> = { viewer: 'v.petrov', analyst: 'a.haddad', engineer: 'e.moreau', approver: 'p.tanaka', admin: 'd.kowalski' };

before(async () => {
  redis = await startAofRedis();
  queue = await WorkflowQueue.open({ url: redis.url, prefix: 'api' }, { role: 'worker' });
  wf = new Workflow({ queue, audit, whatif: fixedWhatif(), enforcer: memoryEnforcer(), alerts: { count: async () => 0 }, snapshots: fileSnapshots(`${tmp.dir}/snap`), windows: [windowSoon(60_000, 3_600_000)] });
  accounts = new AccountStore(tmp.dir, { scrypt: FAST });
  for (const r of ROLES) await accounts.add({ name: people[r], displayName: `Test ${r[0]!.toUpperCase()}${r.slice(1)}`, roles: [r], password: `${r} long test passphrase`, by: 'setup' });
  app = await buildApi({ accounts, workflow: wf, audit, overrides: new BaselineOverrides(tmp.dir), toProposal: (b) => b as unknown as ProposalInput });
});
after(async () => {
  await app.close();
  await queue.close();
  await redis.stop();
  tmp.remove();
});

const call = (method: string, url: string, token?: string, payload?: unknown) =>
  app.inject({ method: method as 'GET', url, headers: token ? { authorization: `Bearer ${token}` } : {}, ...(payload ? { payload: payload as object } : {}) });
const concrete = (url: string) => url.replace(':id', 'no-such-promotion').replace(':name', 'n.nobody');

test('the RBAC matrix: every route with every role answers 403 exactly where the role lacks the permission', async () => {
  const guarded = ROUTES.filter((r) => r.permission !== 'open');
  assert.ok(guarded.length >= 15);
  const refusedBefore = audit.entries.filter((e) => e.action === 'access' && e.result === 'refused').length;
  let denied = 0;
  const matrix: string[] = [];
  for (const r of guarded) {
    for (const role of ROLES) {
      const t = accounts.issueToken(people[role], { ttlMs: 60_000 }).token;
      const res = await call(r.method, concrete(r.url), t, r.method === 'POST' ? {} : undefined);
      const allowed = permissionsOf([role]).has(r.permission as never);
      matrix.push(`${r.method} ${r.url} ${role} ${res.statusCode}`);
      assert.notEqual(res.statusCode, 401, `${r.method} ${r.url} as ${role}`);
      assert.equal(res.statusCode === 403, !allowed, `${r.method} ${r.url} as ${role}: ${res.statusCode} ${res.body}`);
      if (!allowed) {
        denied++;
        assert.match(JSON.parse(res.body).message, new RegExp(`lacks the "${r.permission}" permission`));
      }
    }
    const anon = await call(r.method, concrete(r.url));
    assert.equal(anon.statusCode, 401, `${r.method} ${r.url} without a token`);
    denied++;
  }
  assert.equal(matrix.length, guarded.length * ROLES.length);
  const refused = audit.entries.filter((e) => e.action === 'access' && e.result === 'refused');
  assert.equal(refused.length - refusedBefore, denied, 'every denied request is audited');
  assert.ok(refused.some((e) => e.actor === 'anonymous' && /no_credentials/.test(e.reason!)));
});

test('a token scoped to read cannot approve although its account can', async () => {
  const t = accounts.issueToken(people.approver, { scopes: ['read'], ttlMs: 60_000 }).token;
  assert.equal((await call('GET', '/api/v1/promotions', t)).statusCode, 200);
  assert.equal((await call('POST', '/api/v1/promotions/x/approve', t, { reason: 'r' })).statusCode, 403);
});

test('login gives a session; a wrong password is refused and audited; a disabled account is shut out at once', async () => {
  const bad = await call('POST', '/api/v1/login', undefined, { account: people.viewer, password: 'wrong password here' });
  assert.equal(bad.statusCode, 401);
  assert.ok(audit.entries.some((e) => e.action === 'login' && e.result === 'refused' && e.actor === people.viewer));
  const ok = await call('POST', '/api/v1/login', undefined, { account: people.analyst, password: 'analyst long test passphrase' });
  assert.equal(ok.statusCode, 200);
  const { token, permissions } = JSON.parse(ok.body);
  assert.deepEqual(permissions.sort(), ['learn', 'read']);
  assert.equal((await call('GET', '/api/v1/me', token)).statusCode, 200);
  accounts.setDisabled(people.analyst, true);
  const after1 = await call('GET', '/api/v1/me', token);
  assert.equal(after1.statusCode, 401);
  assert.match(after1.body, /account_disabled/);
  accounts.setDisabled(people.analyst, false);
});

test('propose, approve by the proposer (refused), approve by an approver, status over HTTP', async () => {
  const eng = accounts.issueToken(people.engineer, { ttlMs: 600_000 }).token;
  const apr = accounts.issueToken(people.approver, { ttlMs: 600_000 }).token;
  const prop = await call('POST', '/api/v1/promotions', eng, { proposal: proposal('scada->field', 'ab'.repeat(32)), reason: 'only the HMI polls' });
  assert.equal(prop.statusCode, 201, prop.body);
  const id = JSON.parse(prop.body).id;
  const again = await call('POST', '/api/v1/promotions', eng, { proposal: proposal('scada->field', 'ab'.repeat(32)), reason: 'double click' });
  assert.equal(again.statusCode, 200);
  assert.equal(JSON.parse(again.body).id, id);
  const worker = await wf.startWorker({ lockMs: 2_000, stalledIntervalMs: 1_000 });
  try {
    await waitForState(wf, id, ['review']);
  } finally {
    await worker.close();
  }
  const own = await call('POST', `/api/v1/promotions/${id}/approve`, eng, { reason: 'mine' });
  assert.equal(own.statusCode, 403, 'engineers lack approve');
  // An engineer who is also an approver still cannot approve their own proposal.
  accounts.setRoles(people.engineer, ['engineer', 'approver']);
  const both = accounts.issueToken(people.engineer, { ttlMs: 60_000 }).token;
  const own2 = await call('POST', `/api/v1/promotions/${id}/approve`, both, { reason: 'mine' });
  assert.equal(own2.statusCode, 403);
  assert.match(JSON.parse(own2.body).message, /cannot approve it too/);
  accounts.setRoles(people.engineer, ['engineer']);
  const ok = await call('POST', `/api/v1/promotions/${id}/approve`, apr, { reason: 'what-if clean over 3 cycles', criteria: { watch: '5m' } });
  assert.equal(ok.statusCode, 200, ok.body);
  const st = JSON.parse((await call('GET', `/api/v1/promotions/${id}`, apr)).body);
  assert.equal(st.state, 'scheduled');
  assert.equal(st.approval.criteria.watchMs, 300_000);
  assert.equal(st.schedule.name, 'test-window');
  const ab = await call('POST', `/api/v1/promotions/${id}/abort`, eng, { reason: 'not this week' });
  assert.equal(JSON.parse(ab.body).state, 'cancelled');
});

test('learn and unlearn are recorded with who and why, and audited', async () => {
  const an = accounts.issueToken(people.analyst, { ttlMs: 60_000 }).token;
  const item = { conduit: 'scada->field', src: '10.0.1.20', dst: '10.0.2.7', proto: 6, dstPort: 502, l7: 'modbus' };
  assert.equal((await call('POST', '/api/v1/baseline/learn', an, { item, reason: 'new historian' })).statusCode, 201);
  assert.equal((await call('POST', '/api/v1/baseline/unlearn', an, { item: { ...item, op: 'write_single_register' }, reason: 'never writes' })).statusCode, 201);
  const cur = JSON.parse((await call('GET', '/api/v1/baseline/overrides', an)).body).overrides;
  assert.deepEqual(cur.map((o: { kind: string; actor: string }) => `${o.kind}:${o.actor}`), ['learn:a.haddad', 'unlearn:a.haddad']);
  assert.ok(audit.entries.some((e) => e.action === 'learn' && e.reason === 'new historian' && e.actor === people.analyst));
});

test('the OpenAPI document is generated from the route schemas and lists every route with its security', async () => {
  const doc = JSON.parse((await call('GET', '/openapi.json')).body);
  assert.equal(doc.openapi, '3.0.3');
  assert.ok(ROUTES.length > 0);
  for (const r of ROUTES) {
    const path = r.url.replace(/:(\w+)/g, '{$1}');
    const op = doc.paths[path]?.[r.method.toLowerCase()];
    assert.ok(op, `${r.method} ${path} in the spec`);
    assert.equal(op.summary, r.summary);
    assert.equal(Boolean(op.security), r.permission !== 'open', path);
  }
  assert.ok(doc.paths['/api/v1/promotions/{id}/approve'].post.requestBody.content['application/json'].schema.required.includes('reason'));
});

test('with a certificate configured the API serves HTTPS, and a non-loopback address is then allowed', async () => {
  const dir = `${tmp.dir}/tls`;
  execFileSync('sh', ['-c', `mkdir -p ${dir} && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout ${dir}/key.pem -out ${dir}/cert.pem 2>/dev/null`]);
  const cert = readFileSync(`${dir}/cert.pem`, 'utf8');
  const tlsApp = await buildApi({ accounts, workflow: wf, audit, overrides: new BaselineOverrides(tmp.dir), toProposal: (b) => b as unknown as ProposalInput, tls: { cert, key: readFileSync(`${dir}/key.pem`, 'utf8') } });
  try {
    const url = await listenApi(tlsApp, { port: 0, tls: true });
    assert.match(url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const body = await new Promise<string>((resolve, reject) => {
      https.get(`${url}/openapi.json`, { ca: cert }, (res) => {
        let b = '';
        res.on('data', (c: Buffer) => { b += c.toString(); });
        res.on('end', () => resolve(b));
      }).on('error', reject);
    });
    assert.equal(JSON.parse(body).openapi, '3.0.3');
  } finally {
    await tlsApp.close();
  }
});

test('the API binds to loopback by default and refuses another address without TLS', async () => {
  const other = await buildApi({ accounts, workflow: wf, audit, overrides: new BaselineOverrides(tmp.dir), toProposal: (b) => b as unknown as ProposalInput });
  try {
    await assert.rejects(listenApi(other, { host: '0.0.0.0', port: 0, tls: false }), /without TLS/);
    const url = await listenApi(other, { port: 0, tls: false });
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const page = await fetch(`${url}/`);
    assert.match(await page.text(), /approval console/);
    assert.match(page.headers.get('content-security-policy')!, /default-src 'self'/);
  } finally {
    await other.close();
  }
});

test('the route table of enforce/api/README.md is the one the server enforces', () => {
  const readme = readFileSync(new URL('../../../enforce/api/README.md', import.meta.url), 'utf8');
  const rows = [...readme.matchAll(/^\| `(GET|POST) ([^`]+)` \| ([a-z]+) \| ([^|]+) \|/gm)].map((m) => `${m[1]} ${m[2]} ${m[3]} ${m[4]!.trim()}`);
  const want = ROUTES.map((r) => `${r.method} ${r.url} ${r.permission} ${r.permission === 'open' ? 'anyone' : ROLES.filter((x) => permissionsOf([x]).has(r.permission as never)).join(', ')}`);
  assert.ok(want.length > 0);
  assert.deepEqual(rows, want);
});
