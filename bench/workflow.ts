/**
 * bench/workflow: promotions per second through the whole promote-to-block workflow (propose →
 * what-if job → approve → schedule → apply job → watch job → confirmed) on a real redis-server (AOF,
 * noeviction), with the nftables apply skipped (an in-memory enforcer) and an in-memory what-if —
 * beside BullMQ's own bare job throughput (a no-op processor) on the same Redis: its ceiling here.
 *
 *   node --import tsx bench/workflow.ts [--promotions 300] [--jobs 5000] [--fsync everysec|always] [--concurrency 1]
 *
 * Each promotion is 3 jobs (whatif, apply, one watch tick that confirms) plus the
 * people's calls (propose, approve+schedule), ~20 Redis round trips and 8 audit appends (in memory
 * here: the audit trail's own cost is in bench/whatif / enforce/README). Prints wall and CPU seconds
 * of this process and of redis-server, and the machine's load.
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { bareJobThroughput, WorkflowQueue } from '../enforce/workflow/queue.ts';
import { fileSnapshots } from '../enforce/workflow/snapshots.ts';
import { Workflow, type Actor } from '../enforce/workflow/workflow.ts';
import type { AuditEntry, CounterReading, Enforcer } from '../enforce/workflow/ports.ts';
import { redisCommand, startRedis } from '../infra/services/index.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const { values } = parseArgs({ options: {
  promotions: { type: 'string', default: '300' }, jobs: { type: 'string', default: '5000' },
  fsync: { type: 'string', default: 'everysec' }, concurrency: { type: 'string', default: '1' },
} });
const P = Number(values.promotions);
const J = Number(values.jobs);
const concurrency = Number(values.concurrency);
const fsync = values.fsync as 'everysec' | 'always';

const redisCpu = async (port: number): Promise<number> => {
  const info = String(await redisCommand(port, ['INFO', 'cpu']));
  const n = (k: string): number => Number(new RegExp(`${k}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  return n('used_cpu_user') + n('used_cpu_sys');
};
const cpuS = (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };

const redis = await startRedis({ persistence: 'aof', appendfsync: fsync });
const dir = mkdtempSync(join(tmpdir(), 'cw-bench-workflow-'));
try {
  // BullMQ alone: J no-op jobs added in bulk, one worker.
  let r0 = await redisCpu(redis.port);
  let c0 = cpuS();
  const bare = await bareJobThroughput({ url: redis.url, prefix: 'bare' }, J, concurrency);
  const bareCpu = cpuS() - c0;
  const bareRedisCpu = (await redisCpu(redis.port)) - r0;

  // The workflow: P promotions on P conduits, each through every step.
  const queue = await WorkflowQueue.open({ url: redis.url, prefix: 'wf' }, { role: 'worker' });
  const entries: AuditEntry[] = [];
  const live = new Map<string, string>();
  const zero: CounterReading = { accepted: {}, dropped: {} };
  const enforcer: Enforcer = {
    save: async (c) => live.get(c) ?? '',
    apply: async (c, rule) => { live.set(c, (rule as { hash: string }).hash); },
    restore: async (c, s) => { live.set(c, s); },
    isApplied: async (c, rule) => live.get(c) === (rule as { hash: string }).hash,
    counters: async () => zero,
  };
  const wf = new Workflow({
    queue, enforcer, snapshots: fileSnapshots(dir),
    audit: { append: async (e) => { entries.push(e); } },
    whatif: { run: async (_c, rule) => ({ ruleHash: (rule as { hash: string }).hash, whatifHash: 'w', from: 0, to: 1, flowsEvaluated: 1, flowsBlocked: 0, blocked: [], promotable: true, reasons: [] }) },
    alerts: { count: async () => 0 },
    windows: [{ name: 'bench', start: new Date(Date.now() - 1_000).toISOString(), duration: 86_400_000 }],
    applyNeedMs: 1, criteriaDefaults: { watch: '1ms', interval: '1ms' },
  });
  const eng: Actor = { account: 'e.bench', displayName: 'Eve Bench', roles: ['engineer'] };
  const apr: Actor = { account: 'a.bench', displayName: 'Abe Bench', roles: ['approver'] };
  const hash = (i: number): string => i.toString(16).padStart(64, '0');
  const worker = await wf.startWorker({ reconcileMs: 3_600_000 });
  r0 = await redisCpu(redis.port);
  c0 = cpuS();
  const t0 = performance.now();
  const ids: string[] = [];
  for (let i = 0; i < P; i++) ids.push((await wf.propose(eng, { conduit: `z${i}->field`, rule: { hash: hash(i) }, ruleHash: hash(i), readiness: { ready: true, summary: 'bench' }, edges: [] }, 'bench')).promotion.id);
  // Approve each as soon as its what-if is in (the people's side runs beside the worker).
  const pending = new Set(ids);
  while (pending.size) {
    for (const id of [...pending]) {
      const p = await wf.records.get(id);
      if (p?.state === 'review') { await wf.approve(apr, id, 'bench'); pending.delete(id); }
    }
  }
  const open = new Set(ids);
  while (open.size) {
    for (const id of [...open]) if ((await wf.records.get(id))?.state === 'confirmed') open.delete(id);
    if (open.size) await new Promise((r) => setTimeout(r, 5));
  }
  const ms = performance.now() - t0;
  const wfCpu = cpuS() - c0;
  const wfRedisCpu = (await redisCpu(redis.port)) - r0;
  await worker.close();
  await queue.close();

  const [l1, l5] = loadavg();
  const rows = [
    ['BullMQ bare (no-op jobs)', `${J} jobs`, (bare.ms / 1e3).toFixed(2), (J / (bare.ms / 1e3)).toFixed(0), 'jobs/s', bareCpu.toFixed(2), bareRedisCpu.toFixed(2)],
    ['workflow (apply skipped)', `${P} promotions`, (ms / 1e3).toFixed(2), (P / (ms / 1e3)).toFixed(1), 'promotions/s', wfCpu.toFixed(2), wfRedisCpu.toFixed(2)],
    ['  = workflow jobs', `${P * 3} jobs`, (ms / 1e3).toFixed(2), ((P * 3) / (ms / 1e3)).toFixed(0), 'jobs/s', '', ''],
  ];
  process.stdout.write(`redis-server AOF appendfsync ${fsync}, worker concurrency ${concurrency}; load ${l1!.toFixed(2)} / ${l5!.toFixed(2)} (1/5 min); audit entries ${entries.length}\n`);
  process.stdout.write(`${['what', 'n', 'wall s', 'rate', '', 'node CPU s', 'redis CPU s'].join(' | ')}\n`);
  for (const r of rows) process.stdout.write(`${r.join(' | ')}\n`);
} finally {
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
}
