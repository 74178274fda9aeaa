/**
 * `conduitwatch console`: the approval console, its HTTP API and the promote-to-block workflow
 * worker in one process — the one process that owns the data directory (chDB allows one), and so
 * the one writer of its audit trail. Wiring only: every piece lives in enforce/.
 *
 *   store        chDB on --data, migrated (flows, alerts, audit, rules …)
 *   audit        part 1's hash-chained trail (audit.jsonl + the audit table, Ed25519 checkpoints)
 *   enforcer     part 1's nftables backend (in --netns when given; --dry-run changes nothing)
 *   what-if      the proposal's what-if (part 1's `rules whatif --json`), checked against its rule hash
 *   workflow     BullMQ on --redis (noeviction + AOF checked at start-up)
 *   API/console  fastify on --listen (loopback by default; TLS with --tls-cert/--tls-key)
 *
 * Prints one JSON line on stdout when ready ({"url": …}) and logs to stderr. SIGTERM/SIGINT stop it
 * cleanly; a SIGKILL leaves nothing half-done that the next start does not finish (reconcile).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { systemClock } from '../core/clock.ts';
import { loadSite, type Site } from '../core/config.ts';
import { errorMessage, PipelineError } from '../core/errors.ts';
import { createLogger } from '../core/telemetry.ts';
import { AccountStore } from '../enforce/accounts.ts';
import { buildApi, listenApi } from '../enforce/api/server.ts';
import { AuditTrail, DEFAULT_KEY_FILE, loadOrCreateSigningKey } from '../enforce/audit.ts';
import { NftablesBackend } from '../enforce/nftables/backend.ts';
import { parseRule, ruleHash, type Rule } from '../enforce/rules.ts';
import { backendEnforcer, edgesOf } from '../enforce/workflow/backend-enforcer.ts';
import { applyOverrides, BaselineOverrides } from '../enforce/workflow/learn.ts';
import type { AlertCounter, ProposalInput, Readiness, WhatIfResult, WhatIfRunner } from '../enforce/workflow/ports.ts';
import { WorkflowQueue } from '../enforce/workflow/queue.ts';
import { fileSnapshots } from '../enforce/workflow/snapshots.ts';
import { Workflow } from '../enforce/workflow/workflow.ts';
import { openChdb } from '../store/chdb.ts';
import { migrate } from '../store/migrate.ts';
import type { Store } from '../store/store.ts';
import { parseHttp } from './serve/http.ts';
import { usageError } from './args.ts';
import { DEFAULT_DATA_DIR } from './replay-command.ts';

/** Alerts on a conduit in [from, to) from the store's `alerts` table. */
export const storeAlerts = (store: Store): AlertCounter => ({
  count: async (conduit, from, to) => {
    const q = conduit.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
    const rows = await store.query<{ n: string }>(
      `SELECT count() AS n FROM alerts WHERE conduit = '${q}' AND ts_start >= fromUnixTimestamp64Milli(${Math.floor(from)}) AND ts_start < fromUnixTimestamp64Milli(${Math.ceil(to)})`);
    return Number(rows[0]?.n ?? 0);
  },
});

/**
 * A submitted proposal → the workflow's input: `{rule, readiness, whatif?}` as `rules propose --json`
 * writes it (or a bare rule). The rule is checked against site.yaml (part 1's parser), learn/unlearn
 * decisions in force are folded in (a changed rule gets a new hash and `parent`), and the rule's
 * baseline edges become the watched edges.
 */
export const proposalReader = (site: Site, overrides: BaselineOverrides) => (body: Record<string, unknown>): ProposalInput & { whatif?: WhatIfResult } => {
  const raw = (body.kind === 'conduitwatch.rule' ? body : body.rule) as Record<string, unknown> | undefined;
  if (!raw || typeof raw !== 'object') throw new PipelineError('config_invalid', 'The proposal has no rule: submit the JSON that `conduitwatch rules propose --json` wrote.');
  const { rule: parsed } = parseRule(JSON.stringify(raw), 'proposal', site);
  const hash0 = ruleHash(parsed);
  let rule: Rule = applyOverrides(parsed, overrides.current(parsed.conduit));
  if (rule !== parsed) rule = { ...rule, parent: hash0 };
  const readiness = (body.readiness as Readiness | undefined) ?? { ready: false, summary: 'the proposal carries no readiness evidence; propose with `conduitwatch rules propose`' };
  const whatif = body.whatif as WhatIfResult | undefined;
  return { conduit: rule.conduit, rule, ruleHash: ruleHash(rule), readiness, edges: edgesOf(rule), ...(whatif ? { whatif } : {}) };
};

export const runConsoleCommand = async (v: Record<string, unknown>): Promise<number> => {
  if (typeof v.site !== 'string') throw usageError('console', '--site FILE is required (zones, conduits, maintenance windows).');
  const site = loadSite(v.site);
  const dataDir = resolve(typeof v.data === 'string' ? v.data : DEFAULT_DATA_DIR);
  const log = createLogger(process.env.CONDUITWATCH_LOG ?? 'info');
  const clock = systemClock;
  const { host, port } = parseHttp(typeof v.listen === 'string' ? v.listen : '127.0.0.1:8443');
  const tls = typeof v['tls-cert'] === 'string' || typeof v['tls-key'] === 'string';
  if (tls && (typeof v['tls-cert'] !== 'string' || typeof v['tls-key'] !== 'string')) throw usageError('console', 'TLS needs both --tls-cert and --tls-key.');

  const store = await openChdb(dataDir);
  const closers: (() => Promise<unknown>)[] = [() => store.close()];
  const close = async (): Promise<void> => { for (const c of closers.reverse()) await c().catch((e) => log.warn({ err: errorMessage(e) }, 'Close failed.')); };
  try {
    await migrate(store);
    const { key } = await loadOrCreateSigningKey(join(dataDir, DEFAULT_KEY_FILE));
    const audit = await AuditTrail.open({ dataDir, store, signingKey: key, clock, origin: `conduitwatch/${site.site}` });
    const queue = await WorkflowQueue.open({ url: typeof v.redis === 'string' ? v.redis : 'redis://127.0.0.1:6379', prefix: typeof v.prefix === 'string' ? v.prefix : undefined }, { role: 'worker' });
    closers.push(() => queue.close());
    const overrides = new BaselineOverrides(dataDir);
    const readProposal = proposalReader(site, overrides);
    // Until part 1's stored-flow what-if is wired here, the proposal's own what-if (from `rules
    // whatif --json`, over the same store) is used, and only for the rule hash it names.
    // Kept on disk, so a worker restarted before the what-if step still finds it.
    const carriedFile = (h: string): string => join(dataDir, 'promotions', `${h.replace(/^sha256:/, '')}.whatif.json`);
    mkdirSync(join(dataDir, 'promotions'), { recursive: true });
    const whatif: WhatIfRunner = {
      run: async (_conduit, rule) => {
        const h = ruleHash(rule as Rule);
        const w = existsSync(carriedFile(h)) ? JSON.parse(readFileSync(carriedFile(h), 'utf8')) as WhatIfResult : undefined;
        if (!w) throw new PipelineError('unrecoverable', `No what-if for rule ${h}: submit the proposal with the output of 'conduitwatch rules whatif --json' for this rule.`);
        return w;
      },
    };
    const wf = new Workflow({
      queue, audit, whatif, clock, log,
      enforcer: backendEnforcer(new NftablesBackend({ netns: typeof v.netns === 'string' ? v.netns : undefined, clock }), site, { dryRun: v['dry-run'] === true }),
      alerts: storeAlerts(store),
      snapshots: fileSnapshots(join(dataDir, 'promotions')),
      windows: site.maintenanceWindows,
      applyNeedMs: Number(process.env.CONDUITWATCH_APPLY_NEED_MS ?? 60_000),
    });
    const worker = await wf.startWorker({
      lockMs: Number(process.env.CONDUITWATCH_WORKER_LOCK_MS ?? 30_000),
      stalledIntervalMs: Number(process.env.CONDUITWATCH_WORKER_STALLED_MS ?? 30_000),
      reconcileMs: Number(process.env.CONDUITWATCH_RECONCILE_MS ?? 30_000),
    });
    closers.push(() => worker.close());
    const app = await buildApi({
      accounts: new AccountStore(dataDir), workflow: wf, audit, overrides, clock, log,
      toProposal: (body) => {
        const p = readProposal(body);
        if (p.whatif) {
          if (p.whatif.ruleHash !== p.ruleHash) throw new PipelineError('config_invalid', `The proposal's what-if is of rule ${p.whatif.ruleHash}, not ${p.ruleHash} (a learn/unlearn decision changed the rule?): run 'rules whatif' again.`);
          writeFileSync(carriedFile(p.ruleHash), JSON.stringify(p.whatif));
        }
        return p;
      },
      ...(tls ? { tls: { cert: readFileSync(String(v['tls-cert']), 'utf8'), key: readFileSync(String(v['tls-key']), 'utf8') } } : {}),
    });
    closers.push(() => app.close());
    const url = await listenApi(app, { host, port, tls, insecureHttp: v['insecure-http'] === true });
    log.info({ url, dataDir, redis: v.redis, policy: queue.policy }, 'Console ready.');
    process.stdout.write(`${JSON.stringify({ url, pid: process.pid })}\n`);
    await new Promise<void>((res) => {
      process.once('SIGTERM', res);
      process.once('SIGINT', res);
    });
    log.info('Console stopping.');
  } finally {
    await close();
  }
  return 0;
};
