/**
 * `conduitwatch console`: the approval console, its HTTP API and the promote-to-block workflow
 * worker in one process — the one process that owns the data directory (chDB allows one), and so
 * the one writer of its audit trail. Wiring only: every piece lives in enforce/.
 *
 *   store        chDB on --data, migrated (flows, alerts, audit, rules …)
 *   audit        part 1's hash-chained trail (audit.jsonl + the audit table, Ed25519 checkpoints)
 *   enforcer     part 1's nftables backend (in --netns when given; --dry-run changes nothing)
 *   what-if      part 1's what-if over every stored flow of the conduit (all its runs), in the worker
 *   workflow     BullMQ on --redis (noeviction + AOF checked at start-up)
 *   API/console  fastify on --listen (loopback by default; TLS with --tls-cert/--tls-key)
 *
 * Prints one JSON line on stdout when ready ({"url": …}) and logs to stderr. SIGTERM/SIGINT stop it
 * cleanly; a SIGKILL leaves nothing half-done that the next start does not finish (reconcile).
 */
import { readFileSync } from 'node:fs';
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
import type { AlertCounter, ProposalInput, Readiness as WorkflowReadiness, WhatIfRunner } from '../enforce/workflow/ports.ts';
import { storedRuns, type Readiness } from '../enforce/baseline.ts';
import { whatIf } from '../enforce/whatif.ts';
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

/** Part 1's readiness verdict (enforce/baseline.ts) as the workflow keeps it. */
const readinessOf = (r: Partial<Readiness> | undefined): WorkflowReadiness => {
  if (!r || typeof r.ready !== 'boolean') return { ready: false, summary: 'the proposal carries no readiness verdict; propose with `conduitwatch rules propose --json`' };
  const summary = r.ready
    ? `${r.fullCycles} full production cycles covered (${r.minCycles} needed), ${r.phasesSeen?.length ?? 0} of ${r.phases} phases seen, ${r.flows} stored flows`
    : (r.reasons ?? []).join('; ');
  return { ready: r.ready, summary, details: r as Record<string, unknown> };
};

/**
 * A submitted proposal → the workflow's input. The body is what `conduitwatch rules propose --json`
 * prints ({proposed, readiness, ruleHash, rule}) or a bare rule (then without readiness: refused).
 * The rule is checked against site.yaml by part 1's parser, learn/unlearn decisions in force are
 * folded in (a changed rule gets a new hash, with `parent` = the proposed one), and its allowed
 * entries become the watched edges.
 */
export const proposalReader = (site: Site, overrides: BaselineOverrides) => (body: Record<string, unknown>): ProposalInput => {
  const raw = (body.kind === 'conduitwatch.rule' ? body : body.rule) as Record<string, unknown> | undefined;
  if (!raw || typeof raw !== 'object') throw new PipelineError('config_invalid', 'The proposal has no rule: submit the JSON that `conduitwatch rules propose --json` wrote (it was refused if "proposed" is false).');
  const { rule: parsed } = parseRule(JSON.stringify(raw), 'proposal', site);
  const hash0 = ruleHash(parsed);
  let rule: Rule = applyOverrides(parsed, overrides.current(parsed.conduit));
  if (rule !== parsed) rule = { ...rule, parent: hash0 };
  return { conduit: rule.conduit, rule, ruleHash: ruleHash(rule), readiness: readinessOf(body.readiness as Partial<Readiness> | undefined), edges: edgesOf(rule) };
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
    const whatif: WhatIfRunner = {
      // Over every stored flow of the conduit: all its runs, the baseline and everything since.
      run: async (conduit, rule) => {
        const runs = (await storedRuns(store, conduit)).map((r) => r.runId);
        if (runs.length === 0) throw new PipelineError('unrecoverable', `The store in ${dataDir} holds no flows of ${conduit}; a what-if needs the stored baseline.`);
        const r = rule as Rule;
        const w = await whatIf(store, r, ruleHash(r), runs);
        return {
          ruleHash: w.ruleHash, whatifHash: w.hash, from: w.from, to: w.to, flowsEvaluated: w.flowsEvaluated, flowsBlocked: w.flowsBlocked,
          blocked: w.blocked.map((b) => ({ ...b })), promotable: w.promotable, reasons: w.notPromotable,
        };
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
      toProposal: readProposal,
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
