/**
 * `conduitwatch rules submit|approve|reject|schedule|status|abort|rollback`: the workflow steps of
 * promote-to-block from a terminal. They talk to the running console service's HTTP API (the
 * process that owns the data directory, the audit trail and the workflow worker) as a named
 * person, with an API token: the same permissions, the same two-person rule and the same audit
 * trail as the approval console.
 *
 *   --api URL     the console service (default $CONDUITWATCH_API or http://127.0.0.1:8443)
 *   --token T     an API token (default $CONDUITWATCH_TOKEN; conduitwatch accounts token NAME)
 */
import { readFileSync } from 'node:fs';
import { errorMessage, PipelineError } from '../core/errors.ts';
import { formatDuration } from '../core/units.ts';
import { durationArg, intArg, usageError } from './args.ts';

export const WORKFLOW_SUBCOMMANDS = ['submit', 'approve', 'reject', 'schedule', 'status', 'abort', 'rollback'] as const;

/**
 * True for the workflow's subcommands; `rollback` is the workflow's when it names a promotion id,
 * and part 1's direct table rollback when it names `--conduit` (cli/rules.ts).
 */
export const isWorkflowCall = (positionals: string[], v: Record<string, unknown>): boolean => {
  const [sub, id] = positionals;
  if (sub === 'rollback') return id !== undefined && v.conduit === undefined;
  return (WORKFLOW_SUBCOMMANDS as readonly string[]).includes(sub ?? '');
};

interface Promotion {
  id: string; conduit: string; state: string; ruleHash: string; proposer: { account: string; displayName: string };
  proposedAt: number; whatif?: { flowsEvaluated: number; flowsBlocked: number; promotable: boolean; reasons: string[] };
  approval?: { account: string; reason: string; criteria: { watchMs: number; alertCount: number; alertWithinMs: number } };
  schedule?: { name: string; opensAt: number; closesAt: number };
  watch?: { ticks: number; until: number; alerts?: number };
  outcome?: { state: string; trip?: { criterion: string; message: string; figures: Record<string, unknown> } };
  history: { at: number; state: string; actor: string; note?: string }[];
}

const iso = (ms: number | undefined): string => (ms ? new Date(ms).toISOString() : '—');

const client = (v: Record<string, unknown>) => {
  const base = (typeof v.api === 'string' ? v.api : process.env.CONDUITWATCH_API ?? 'http://127.0.0.1:8443').replace(/\/$/, '');
  const token = typeof v.token === 'string' ? v.token : process.env.CONDUITWATCH_TOKEN;
  if (!token) throw usageError('rules', 'No token: pass --token or set CONDUITWATCH_TOKEN (an admin issues one: conduitwatch accounts token YOUR.NAME --expires 30d).');
  return async <T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> => {
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, {
        method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
    } catch (e) {
      throw new PipelineError('not_connected', `Cannot reach the console service at ${base} (${errorMessage((e as { cause?: unknown }).cause ?? e)}). Start it with 'conduitwatch console --site site.yaml --data DIR --redis redis://127.0.0.1:6379', or pass --api.`);
    }
    const data = (await res.json().catch(() => ({}))) as { message?: string };
    if (!res.ok) throw new PipelineError(res.status === 400 || res.status === 422 ? 'config_invalid' : 'unrecoverable', `${res.status}: ${data.message ?? res.statusText}`);
    return data as T;
  };
};

const describe = (p: Promotion): string => {
  const lines = [`${p.id}  ${p.conduit}  ${p.state.toUpperCase()}`, `  rule ${p.ruleHash}, proposed by ${p.proposer.displayName} (${p.proposer.account}) at ${iso(p.proposedAt)}`];
  if (p.whatif) lines.push(`  what-if: ${p.whatif.flowsBlocked} of ${p.whatif.flowsEvaluated} stored flows would be blocked; ${p.whatif.promotable ? 'promotable' : `not promotable: ${p.whatif.reasons.join('; ')}`}`);
  if (p.approval) lines.push(`  approved by ${p.approval.account}: ${p.approval.reason}; watch ${formatDuration(p.approval.criteria.watchMs)}, abort on ${p.approval.criteria.alertCount} alerts in ${formatDuration(p.approval.criteria.alertWithinMs)}, a baseline flow dropped, or an operator abort`);
  if (p.schedule) lines.push(`  window ${p.schedule.name}: ${iso(p.schedule.opensAt)} – ${iso(p.schedule.closesAt)}`);
  if (p.watch) lines.push(`  watch: ${p.watch.ticks} checks, ${p.watch.alerts ?? 0} alerts, until ${iso(p.watch.until)}`);
  if (p.outcome?.trip) lines.push(`  ${p.outcome.trip.criterion}: ${p.outcome.trip.message}`);
  return lines.join('\n');
};

const reasonOf = (sub: string, v: Record<string, unknown>): string => {
  if (typeof v.reason !== 'string' || !v.reason.trim()) throw usageError('rules', `rules ${sub} needs --reason "…": it goes into the audit trail with your name.`);
  return v.reason;
};

export const runRulesWorkflow = async (sub: string, v: Record<string, unknown>, positionals: string[]): Promise<number> => {
  const call = client(v);
  const out = (p: Promotion): number => {
    process.stdout.write(v.json ? `${JSON.stringify(p)}\n` : `${describe(p)}\n`);
    return 0;
  };
  const id = (): string => {
    const x = positionals[0];
    if (!x) throw usageError('rules', `rules ${sub} needs the promotion id (rules status lists them).`);
    return encodeURIComponent(x);
  };
  switch (sub) {
    case 'submit': {
      const file = positionals[0];
      if (!file) throw usageError('rules', 'rules submit needs the proposal file that `rules propose --json` wrote.');
      let proposal: unknown;
      try {
        proposal = JSON.parse(readFileSync(file, 'utf8'));
      } catch (e) {
        throw new PipelineError('input_invalid', `${file}: ${errorMessage(e)}. Pass the JSON written by 'conduitwatch rules propose --json'.`);
      }
      return out(await call<Promotion>('POST', '/api/v1/promotions', { proposal, reason: reasonOf(sub, v) }));
    }
    case 'approve': {
      const criteria: Record<string, unknown> = {};
      if (typeof v.watch === 'string') criteria.watch = v.watch;
      if (typeof v.interval === 'string') criteria.interval = v.interval;
      if (v.alerts !== undefined) criteria.alertCount = intArg('rules', 'alerts', v.alerts, 3);
      if (typeof v.within === 'string') criteria.alertWithin = v.within;
      if (v['dropped-packets'] !== undefined) criteria.droppedPackets = intArg('rules', 'dropped-packets', v['dropped-packets'], 1);
      return out(await call<Promotion>('POST', `/api/v1/promotions/${id()}/approve`, {
        reason: reasonOf(sub, v), ...(Object.keys(criteria).length ? { criteria } : {}),
        ...(typeof v.window === 'string' ? { window: v.window } : {}), schedule: !v['no-schedule'],
      }));
    }
    case 'reject': return out(await call<Promotion>('POST', `/api/v1/promotions/${id()}/reject`, { reason: reasonOf(sub, v) }));
    case 'schedule': return out(await call<Promotion>('POST', `/api/v1/promotions/${id()}/schedule`, typeof v.window === 'string' ? { window: v.window } : {}));
    case 'abort': return out(await call<Promotion>('POST', `/api/v1/promotions/${id()}/abort`, { reason: reasonOf(sub, v) }));
    case 'rollback': return out(await call<Promotion>('POST', `/api/v1/promotions/${id()}/rollback`, { reason: reasonOf(sub, v) }));
    case 'status': {
      if (!positionals[0]) {
        const { promotions } = await call<{ promotions: Promotion[] }>('GET', '/api/v1/promotions');
        if (v.json) process.stdout.write(`${JSON.stringify(promotions)}\n`);
        else process.stdout.write(promotions.length ? `${promotions.map(describe).join('\n')}\n` : 'No promotions yet.\n');
        return 0;
      }
      const path = `/api/v1/promotions/${id()}`;
      let p = await call<Promotion>('GET', path);
      if (typeof v.wait === 'string') {
        const want = v.wait.split(',');
        const end = Date.now() + durationArg('rules', 'timeout', v.timeout, '30m');
        while (!want.includes(p.state)) {
          if (Date.now() > end) { out(p); throw new PipelineError('unrecoverable', `${p.id} is still ${p.state}; waited for ${want.join('|')}.`); }
          await new Promise((r) => setTimeout(r, 500));
          p = await call<Promotion>('GET', path);
        }
      }
      return out(p);
    }
    default:
      throw usageError('rules', `Unknown subcommand "${sub}".`);
  }
};
