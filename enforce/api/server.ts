/**
 * The HTTP API of promote-to-block (fastify): proposals with their what-if flows and readiness,
 * approve/reject with a reason, schedule, live status during the watch, abort and rollback,
 * learn/unlearn, accounts and tokens, the audit trail's tail — and the approval console
 * (enforce/console/) at `/`.
 *
 * - Every route declares the one permission it needs (`ROUTES`); a hook authenticates the bearer
 *   token (`Authorization: Bearer cw_…`, from `accounts token` or a console login) and checks it.
 *   A refusal (no credentials, expired, disabled, missing permission) answers 401/403 and is
 *   written to the audit trail (SR 2.8: access control events). Only /api/v1/login, the OpenAPI
 *   document and the console's static files are open.
 * - The OpenAPI 3 document (`/openapi.json`) is generated from the route schemas (@fastify/swagger),
 *   so it cannot drift from what the routes validate.
 * - Binds to 127.0.0.1 unless told otherwise; serves HTTPS when a certificate and key are given
 *   (SR 4.1/3.1 over untrusted networks). A non-loopback address without TLS is refused unless
 *   `insecureHttp` says the operator knows (a reverse proxy terminates TLS).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { systemClock, type Clock } from '../../core/clock.ts';
import { errorMessage, hasCode, PipelineError } from '../../core/errors.ts';
import { silentLogger, type Logger } from '../../core/telemetry.ts';
import { parseDuration } from '../../core/units.ts';
import { AccountStore, AuthError, PERMISSIONS, ROLES, type Permission, type Principal, type Role } from '../accounts.ts';
import { BaselineOverrides, type BaselineItem } from '../workflow/learn.ts';
import type { AuditEntry, AuditLog, ProposalInput } from '../workflow/ports.ts';
import { summarize } from '../workflow/promotion.ts';
import type { Actor, Workflow } from '../workflow/workflow.ts';

/** A route: its method, path, the permission it needs ('open' for none) and what it does. */
export interface RouteDef {
  method: 'GET' | 'POST';
  url: string;
  permission: Permission | 'open';
  summary: string;
}

/** Every route of the API. The RBAC matrix test calls each with each role. */
export const ROUTES: readonly RouteDef[] = [
  { method: 'POST', url: '/api/v1/login', permission: 'open', summary: 'Log in with account name and password; returns a session token for one shift.' },
  { method: 'POST', url: '/api/v1/logout', permission: 'read', summary: 'Revoke the session token of this request.' },
  { method: 'GET', url: '/api/v1/me', permission: 'read', summary: 'Who this token acts as, its roles and permissions.' },
  { method: 'GET', url: '/api/v1/promotions', permission: 'read', summary: 'Promotions, newest first (the approval queue and history).' },
  { method: 'GET', url: '/api/v1/promotions/:id', permission: 'read', summary: 'One promotion: rule, readiness, what-if flows, approval, schedule, live watch status, outcome.' },
  { method: 'POST', url: '/api/v1/promotions', permission: 'propose', summary: 'Submit a proposal (the JSON of `conduitwatch rules propose --json`); its what-if runs.' },
  { method: 'POST', url: '/api/v1/promotions/:id/approve', permission: 'approve', summary: 'Approve (never your own proposal) with a reason; fixes the abort criteria and schedules into the next window.' },
  { method: 'POST', url: '/api/v1/promotions/:id/reject', permission: 'approve', summary: 'Reject with a reason.' },
  { method: 'POST', url: '/api/v1/promotions/:id/schedule', permission: 'schedule', summary: 'Schedule or reschedule an approved promotion into a maintenance window.' },
  { method: 'POST', url: '/api/v1/promotions/:id/abort', permission: 'abort', summary: 'Operator abort: cancel before apply, or restore the known-good ruleset during apply/watch.' },
  { method: 'POST', url: '/api/v1/promotions/:id/rollback', permission: 'rollback', summary: 'Restore the known-good ruleset of a promotion on command (also after it was confirmed).' },
  { method: 'GET', url: '/api/v1/baseline/overrides', permission: 'read', summary: 'Learn/unlearn decisions in force.' },
  { method: 'POST', url: '/api/v1/baseline/learn', permission: 'learn', summary: 'Fold an edge or operation into the baseline, with a reason.' },
  { method: 'POST', url: '/api/v1/baseline/unlearn', permission: 'learn', summary: 'Take an edge or operation out of the baseline, with a reason.' },
  { method: 'GET', url: '/api/v1/accounts', permission: 'accounts', summary: 'Accounts and their tokens (never a secret).' },
  { method: 'POST', url: '/api/v1/accounts', permission: 'accounts', summary: 'Add a named account.' },
  { method: 'POST', url: '/api/v1/accounts/:name/disable', permission: 'accounts', summary: 'Disable an account; its tokens stop working at once.' },
  { method: 'POST', url: '/api/v1/accounts/:name/tokens', permission: 'accounts', summary: 'Issue a scoped, expiring API token for an account.' },
];

export interface ApiOptions {
  accounts: AccountStore;
  workflow: Workflow;
  audit: AuditLog;
  overrides: BaselineOverrides;
  /** Turns a submitted proposal (part 1's `rules propose --json`) into the workflow's input, folding learn/unlearn in. */
  toProposal: (body: Record<string, unknown>) => ProposalInput;
  clock?: Clock;
  log?: Logger;
  /** PEM certificate and key: serve HTTPS. */
  tls?: { cert: string; key: string };
}

export interface ListenOptions {
  host?: string;
  port?: number;
  /** Allow a non-loopback address without TLS (TLS terminated by a proxy in front). */
  insecureHttp?: boolean;
}

const CONSOLE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'console');
const STATIC: Record<string, string> = { '/': 'index.html', '/console.js': 'console.js', '/console.css': 'console.css' };
const TYPES: Record<string, string> = { html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' };

const reason = { type: 'string', minLength: 1, maxLength: 2000, description: 'Why, in words; goes into the audit trail.' } as const;
const anyObject = { type: 'object', additionalProperties: true } as const;
const idParam = { type: 'object', properties: { id: { type: 'string', pattern: '^[A-Za-z0-9_.-]+$' } }, required: ['id'] } as const;
const nameParam = { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] } as const;
const errorBody = { type: 'object', properties: { error: { type: 'string' }, message: { type: 'string' } } } as const;
const criteria = {
  type: 'object', additionalProperties: false, description: 'Abort criteria (defaults from the server).',
  properties: {
    watch: { type: 'string', description: 'How long to watch after apply, e.g. "15m".' },
    interval: { type: 'string', description: 'How often to check, e.g. "10s".' },
    alertCount: { type: 'integer', minimum: 1, description: 'N alerts …' },
    alertWithin: { type: 'string', description: '… within M, e.g. "5m".' },
    droppedPackets: { type: 'integer', minimum: 1, description: 'Packets dropped on a baseline edge that trip.' },
    silenceFactor: { type: 'number', minimum: 1, description: 'Silence on a regular baseline edge, in multiples of its normal gap, that trips.' },
  },
} as const;
const item = {
  type: 'object', additionalProperties: false, required: ['conduit', 'src', 'dst', 'proto', 'dstPort'],
  properties: {
    conduit: { type: 'string' }, src: { type: 'string' }, dst: { type: 'string' },
    proto: { type: 'integer', minimum: 0, maximum: 255 }, dstPort: { type: 'integer', minimum: 0, maximum: 65535 },
    l7: { type: 'string' }, op: { type: 'string' }, units: { type: 'array', items: { type: 'integer', minimum: 0 } },
  },
} as const;

/** Request and response schemas per route (keyed `METHOD url`). */
const SCHEMAS: Record<string, Record<string, unknown>> = {
  'POST /api/v1/login': {
    body: { type: 'object', additionalProperties: false, required: ['account', 'password'], properties: { account: { type: 'string' }, password: { type: 'string' } } },
    response: { 200: { type: 'object', properties: { token: { type: 'string' }, expiresAt: { type: 'integer' }, account: { type: 'string' }, displayName: { type: 'string' }, roles: { type: 'array', items: { type: 'string' } }, permissions: { type: 'array', items: { type: 'string' } } } }, 401: errorBody },
  },
  'POST /api/v1/logout': { response: { 200: anyObject } },
  'GET /api/v1/me': { response: { 200: { type: 'object', properties: { account: { type: 'string' }, displayName: { type: 'string' }, roles: { type: 'array', items: { type: 'string' } }, permissions: { type: 'array', items: { type: 'string' } }, tokenKind: { type: 'string' }, expiresAt: { type: 'integer' } } } } },
  'GET /api/v1/promotions': {
    querystring: { type: 'object', properties: { limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } } },
    response: { 200: { type: 'object', properties: { promotions: { type: 'array', items: anyObject } } } },
  },
  'GET /api/v1/promotions/:id': { params: idParam, response: { 200: anyObject, 404: errorBody } },
  'POST /api/v1/promotions': {
    body: { type: 'object', required: ['proposal', 'reason'], additionalProperties: false, properties: { proposal: { ...anyObject, description: 'The JSON of `conduitwatch rules propose --json`.' }, reason } },
    response: { 201: anyObject, 200: anyObject },
  },
  'POST /api/v1/promotions/:id/approve': {
    params: idParam,
    body: { type: 'object', required: ['reason'], additionalProperties: false, properties: { reason, criteria, window: { type: 'string', description: 'Maintenance window name; default the next one.' }, schedule: { type: 'boolean', default: true } } },
    response: { 200: anyObject },
  },
  'POST /api/v1/promotions/:id/reject': { params: idParam, body: { type: 'object', required: ['reason'], additionalProperties: false, properties: { reason } }, response: { 200: anyObject } },
  'POST /api/v1/promotions/:id/schedule': { params: idParam, body: { type: 'object', additionalProperties: false, properties: { window: { type: 'string' } } }, response: { 200: anyObject } },
  'POST /api/v1/promotions/:id/abort': { params: idParam, body: { type: 'object', required: ['reason'], additionalProperties: false, properties: { reason } }, response: { 200: anyObject } },
  'POST /api/v1/promotions/:id/rollback': { params: idParam, body: { type: 'object', required: ['reason'], additionalProperties: false, properties: { reason } }, response: { 200: anyObject } },
  'GET /api/v1/baseline/overrides': { querystring: { type: 'object', properties: { conduit: { type: 'string' } } }, response: { 200: { type: 'object', properties: { overrides: { type: 'array', items: anyObject } } } } },
  'POST /api/v1/baseline/learn': { body: { type: 'object', required: ['item', 'reason'], additionalProperties: false, properties: { item, reason } }, response: { 201: anyObject } },
  'POST /api/v1/baseline/unlearn': { body: { type: 'object', required: ['item', 'reason'], additionalProperties: false, properties: { item, reason } }, response: { 201: anyObject } },
  'GET /api/v1/accounts': { response: { 200: { type: 'object', properties: { accounts: { type: 'array', items: anyObject }, tokens: { type: 'array', items: anyObject } } } } },
  'POST /api/v1/accounts': {
    body: { type: 'object', required: ['name', 'displayName', 'roles'], additionalProperties: false, properties: { name: { type: 'string' }, displayName: { type: 'string' }, roles: { type: 'array', minItems: 1, items: { type: 'string', enum: [...ROLES] } }, password: { type: 'string' } } },
    response: { 201: anyObject },
  },
  'POST /api/v1/accounts/:name/disable': { params: nameParam, response: { 200: anyObject } },
  'POST /api/v1/accounts/:name/tokens': {
    params: nameParam,
    body: { type: 'object', required: ['expires'], additionalProperties: false, properties: { expires: { type: 'string', description: 'Lifetime, e.g. "30d".' }, scopes: { type: 'array', items: { type: 'string', enum: [...PERMISSIONS] } }, label: { type: 'string' } } },
    response: { 201: { type: 'object', properties: { token: { type: 'string' }, id: { type: 'string' }, expiresAt: { type: 'integer' }, scopes: { type: 'array', items: { type: 'string' } } } } },
  },
};

declare module 'fastify' {
  interface FastifyRequest { principal?: Principal }
  interface FastifyContextConfig { permission?: Permission | 'open' }
}

const statusOf = (e: unknown): number => {
  if (e instanceof AuthError) return 401;
  const s = (e as { details?: { status?: unknown } }).details?.status;
  if (typeof s === 'number') return s;
  if (hasCode(e, 'config_invalid')) return 400;
  if (hasCode(e, 'not_connected') || hasCode(e, 'write_rejected')) return 503;
  if (hasCode(e, 'unrecoverable')) return 409;
  const v = (e as { validation?: unknown; statusCode?: number });
  if (v.validation || (v.statusCode && v.statusCode < 500)) return v.statusCode ?? 400;
  return 500;
};

const actorOf = (req: FastifyRequest): Actor => ({
  account: req.principal!.account, displayName: req.principal!.displayName, roles: req.principal!.roles, requestId: String(req.id),
});

/** Builds the fastify app (not listening yet). */
export const buildApi = async (o: ApiOptions): Promise<FastifyInstance> => {
  const clock = o.clock ?? systemClock;
  const log = o.log ?? silentLogger();
  const app = Fastify({
    logger: false,
    genReqId: () => `req-${clock.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`,
    bodyLimit: 8 * 1024 * 1024,
    ...(o.tls ? { https: { cert: o.tls.cert, key: o.tls.key } } : {}),
  });
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'conduitwatch promote-to-block API', version: '1', description: 'Proposals, approvals, maintenance-window scheduling, watch and rollback, learn/unlearn, accounts. Every route but /api/v1/login needs "Authorization: Bearer cw_…".' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'A token from `conduitwatch accounts token` or POST /api/v1/login.' } } },
    },
  });

  const audit = async (e: AuditEntry): Promise<void> => { await o.audit.append(e); };

  app.addHook('onRequest', async (req, reply) => {
    const perm = req.routeOptions.config?.permission;
    if (perm === undefined || perm === 'open') return;
    const h = req.headers.authorization;
    const bearer = h?.startsWith('Bearer ') ? h.slice(7).trim() : undefined;
    const target = `${req.method} ${req.routeOptions.url}`;
    try {
      req.principal = o.accounts.authenticate(bearer);
    } catch (e) {
      const why = e instanceof AuthError ? e.reason : 'error';
      await audit({ actor: (e as AuthError).account ?? 'anonymous', action: 'access', target, result: 'refused', reason: `${why}: ${errorMessage(e)}`, requestId: String(req.id) })
        .catch((ae) => log.error({ err: errorMessage(ae) }, 'Could not audit a refused request.'));
      return reply.code(401).send({ error: why, message: errorMessage(e) });
    }
    if (!req.principal.permissions.has(perm)) {
      const p = req.principal;
      const msg = `${p.account} (roles ${p.roles.join(', ')}${p.tokenKind === 'api' ? `, token ${p.tokenId}` : ''}) lacks the "${perm}" permission for ${target}.`;
      await audit({ actor: p.account, role: p.roles.join(','), action: 'access', target, result: 'refused', reason: msg, requestId: String(req.id) })
        .catch((ae) => log.error({ err: errorMessage(ae) }, 'Could not audit a refused request.'));
      return reply.code(403).send({ error: 'forbidden', message: msg });
    }
  });

  app.setErrorHandler((e, req, reply) => {
    const status = statusOf(e);
    if (status >= 500) log.error({ err: errorMessage(e), url: req.url }, 'API request failed.');
    reply.code(status).send({ error: hasCode(e, 'config_invalid') ? 'invalid' : (e as { code?: string }).code ?? 'error', message: errorMessage(e) });
  });

  const route = (def: RouteDef, handler: (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>): void => {
    const key = `${def.method} ${def.url}`;
    app.route({
      method: def.method, url: def.url, config: { permission: def.permission },
      schema: { summary: def.summary, ...(def.permission === 'open' ? {} : { security: [{ bearer: [] }], description: `Needs the "${def.permission}" permission.` }), ...SCHEMAS[key] },
      handler,
    });
  };
  const def = (method: RouteDef['method'], url: string): RouteDef => {
    const d = ROUTES.find((r) => r.method === method && r.url === url);
    if (!d) throw new RangeError(`route ${method} ${url} is not in ROUTES`);
    return d;
  };
  type Body = Record<string, unknown>;
  const body = (req: FastifyRequest): Body => (req.body ?? {}) as Body;
  const id = (req: FastifyRequest): string => (req.params as { id: string }).id;

  route(def('POST', '/api/v1/login'), async (req, reply) => {
    const b = body(req) as { account: string; password: string };
    try {
      const l = await o.accounts.login(b.account, b.password);
      await audit({ actor: l.principal.account, role: l.principal.roles.join(','), action: 'login', target: 'console', result: 'ok', requestId: String(req.id), details: { tokenId: l.id } });
      return { token: l.token, expiresAt: l.expiresAt, account: l.principal.account, displayName: l.principal.displayName, roles: l.principal.roles, permissions: [...l.principal.permissions] };
    } catch (e) {
      if (!(e instanceof AuthError)) throw e;
      await audit({ actor: b.account || 'anonymous', action: 'login', target: 'console', result: 'refused', reason: e.reason, requestId: String(req.id) });
      return reply.code(401).send({ error: e.reason, message: e.message });
    }
  });
  route(def('POST', '/api/v1/logout'), async (req) => {
    o.accounts.revokeToken(req.principal!.tokenId);
    await audit({ actor: req.principal!.account, action: 'logout', target: 'console', result: 'ok', requestId: String(req.id), details: { tokenId: req.principal!.tokenId } });
    return { ok: true };
  });
  route(def('GET', '/api/v1/me'), async (req) => {
    const p = req.principal!;
    return { account: p.account, displayName: p.displayName, roles: p.roles, permissions: [...p.permissions], tokenKind: p.tokenKind, expiresAt: p.expiresAt };
  });
  route(def('GET', '/api/v1/promotions'), async (req) => {
    const limit = (req.query as { limit?: number }).limit ?? 100;
    return { promotions: (await o.workflow.records.list(limit)).map((p) => {
      const { whatif, ...rest } = summarize(p);
      return { ...rest, whatif: whatif && { ...whatif, blocked: undefined } };
    }) };
  });
  route(def('GET', '/api/v1/promotions/:id'), async (req) => {
    const p = await o.workflow.records.require(id(req)).catch((e) => { throw Object.assign(e, { details: { status: 404 } }); });
    return p;
  });
  route(def('POST', '/api/v1/promotions'), async (req, reply) => {
    const b = body(req) as { proposal: Body; reason: string };
    let input: ProposalInput;
    try {
      input = o.toProposal(b.proposal);
    } catch (e) {
      throw new PipelineError('config_invalid', `The proposal does not parse: ${errorMessage(e)}`, { status: 400 }, { cause: e });
    }
    const r = await o.workflow.propose(actorOf(req), input, b.reason);
    return reply.code(r.existed ? 200 : 201).send(summarize(r.promotion));
  });
  route(def('POST', '/api/v1/promotions/:id/approve'), async (req) => {
    const b = body(req) as { reason: string; criteria?: Record<string, unknown>; window?: string; schedule?: boolean };
    return summarize(await o.workflow.approve(actorOf(req), id(req), b.reason, { criteria: b.criteria, window: b.window, schedule: b.schedule }));
  });
  route(def('POST', '/api/v1/promotions/:id/reject'), async (req) => summarize(await o.workflow.reject(actorOf(req), id(req), (body(req) as { reason: string }).reason)));
  route(def('POST', '/api/v1/promotions/:id/schedule'), async (req) => summarize(await o.workflow.schedule(actorOf(req), id(req), (body(req) as { window?: string }).window)));
  route(def('POST', '/api/v1/promotions/:id/abort'), async (req) => summarize(await o.workflow.abort(actorOf(req), id(req), (body(req) as { reason: string }).reason, 'abort')));
  route(def('POST', '/api/v1/promotions/:id/rollback'), async (req) => summarize(await o.workflow.abort(actorOf(req), id(req), (body(req) as { reason: string }).reason, 'rollback')));

  route(def('GET', '/api/v1/baseline/overrides'), async (req) => ({ overrides: o.overrides.current((req.query as { conduit?: string }).conduit) }));
  for (const kind of ['learn', 'unlearn'] as const) {
    route(def('POST', `/api/v1/baseline/${kind}`), async (req, reply) => {
      const b = body(req) as { item: BaselineItem; reason: string };
      const a = actorOf(req);
      await audit({ actor: a.account, role: a.roles.join(','), action: kind, target: b.item.conduit, result: 'ok', reason: b.reason, requestId: a.requestId, details: { item: b.item } });
      return reply.code(201).send(o.overrides.record(kind, b.item, a.account, b.reason, clock.now()));
    });
  }

  route(def('GET', '/api/v1/accounts'), async () => ({
    accounts: o.accounts.list().map(({ passwordHash, ...a }) => ({ ...a, hasPassword: passwordHash !== '' })),
    tokens: o.accounts.tokens(),
  }));
  route(def('POST', '/api/v1/accounts'), async (req, reply) => {
    const b = body(req) as { name: string; displayName: string; roles: Role[]; password?: string };
    const a = actorOf(req);
    await audit({ actor: a.account, role: a.roles.join(','), action: 'account.add', target: b.name, result: 'ok', requestId: a.requestId, details: { roles: b.roles } });
    const { passwordHash, ...acc } = await o.accounts.add({ ...b, by: a.account });
    return reply.code(201).send({ ...acc, hasPassword: passwordHash !== '' });
  });
  route(def('POST', '/api/v1/accounts/:name/disable'), async (req) => {
    const name = (req.params as { name: string }).name;
    const a = actorOf(req);
    await audit({ actor: a.account, role: a.roles.join(','), action: 'account.disable', target: name, result: 'ok', requestId: a.requestId });
    const { passwordHash: _p, ...acc } = o.accounts.setDisabled(name, true);
    return acc;
  });
  route(def('POST', '/api/v1/accounts/:name/tokens'), async (req, reply) => {
    const name = (req.params as { name: string }).name;
    const b = body(req) as { expires: string; scopes?: Permission[]; label?: string };
    const a = actorOf(req);
    let ttlMs: number;
    try { ttlMs = parseDuration(b.expires); } catch (e) { throw new PipelineError('config_invalid', `expires: ${errorMessage(e)}`); }
    await audit({ actor: a.account, role: a.roles.join(','), action: 'token.issue', target: name, result: 'ok', requestId: a.requestId, details: { scopes: b.scopes ?? 'all', expires: b.expires, label: b.label ?? '' } });
    return reply.code(201).send(o.accounts.issueToken(name, { scopes: b.scopes, ttlMs, label: b.label }));
  });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  for (const [url, file] of Object.entries(STATIC)) {
    const type = TYPES[file.split('.').pop()!]!;
    app.get(url, { schema: { hide: true } }, async (_req, reply) => reply
      .header('content-type', type)
      .header('content-security-policy', "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
      .header('x-content-type-options', 'nosniff')
      .send(readFileSync(join(CONSOLE_DIR, file))));
  }
  return app;
};

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** Starts listening; returns the base URL. */
export const listenApi = async (app: FastifyInstance, o: ListenOptions & { tls: boolean }): Promise<string> => {
  const host = o.host ?? '127.0.0.1';
  if (!LOOPBACK.has(host) && !o.tls && !o.insecureHttp) {
    throw new PipelineError('config_invalid', `Refusing to serve the approval API on ${host} without TLS: pass --tls-cert and --tls-key, or bind 127.0.0.1 behind a TLS proxy (--insecure-http if that proxy is on another host).`);
  }
  await app.listen({ host, port: o.port ?? 8443 });
  const a = app.server.address();
  const port = typeof a === 'object' && a ? a.port : o.port;
  return `${o.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
};
