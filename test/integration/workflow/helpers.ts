/** Shared pieces of the workflow tests: a Redis with AOF, a workflow over it, waiting for states. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRedis, type RedisService } from '../../../infra/services/index.ts';
import type { MaintenanceWindow } from '../../../core/config.ts';
import type { AuditEntry, AuditLog, CounterReading, Enforcer, ProposalInput, WhatIfResult, WhatIfRunner } from '../../../enforce/workflow/ports.ts';
import type { Promotion, State } from '../../../enforce/workflow/promotion.ts';
import type { Workflow } from '../../../enforce/workflow/workflow.ts';

export const startAofRedis = (): Promise<RedisService> => startRedis({ persistence: 'aof', appendfsync: 'always' });

export const tempDir = (label: string): { dir: string; remove(): void } => {
  const dir = mkdtempSync(join(tmpdir(), `cw-${label}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
};

/** A one-off window that opens `inMs` from now and stays open `forMs`. */
export const windowSoon = (inMs: number, forMs: number, name = 'test-window'): MaintenanceWindow => ({
  name, start: new Date(Date.now() + inMs).toISOString(), duration: forMs,
});

/** Polls the record until its state is one of `states` (or throws after `timeoutMs`, naming the state it is in). */
export const waitForState = async (wf: Workflow, id: string, states: State[], timeoutMs = 20_000): Promise<Promotion> => {
  const end = Date.now() + timeoutMs;
  let p: Promotion | undefined;
  while (Date.now() < end) {
    p = await wf.records.get(id);
    if (p && states.includes(p.state)) return p;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`promotion ${id} is ${p?.state ?? 'missing'} after ${timeoutMs} ms; wanted ${states.join('|')}; history ${JSON.stringify(p?.history)}`);
};

/** An audit log in memory (for tests of the step logic; the crash tests use the real chain). */
export const memoryAudit = (): AuditLog & { entries: AuditEntry[]; refuse: boolean } => {
  const a = {
    entries: [] as AuditEntry[],
    refuse: false,
    append: async (e: AuditEntry) => {
      if (a.refuse) throw new Error('audit store is read-only');
      a.entries.push(e);
    },
  };
  return a;
};

export const fixedWhatif = (over: Partial<WhatIfResult> = {}): WhatIfRunner & { runs: number } => {
  const w = {
    runs: 0,
    run: async (_c: string, rule: unknown): Promise<WhatIfResult> => {
      w.runs++;
      return { ruleHash: (rule as { hash: string }).hash, whatifHash: 'w'.repeat(64), from: 0, to: 1, flowsEvaluated: 1000, flowsBlocked: 0, blocked: [], promotable: true, reasons: [], ...over };
    },
  };
  return w;
};

/** An enforcer double: the live ruleset per conduit as text; counters the test sets. */
export const memoryEnforcer = (): Enforcer & { live: Map<string, string>; reading: CounterReading; applyDelayMs: number; applies: number; restores: number } => {
  const e = {
    live: new Map<string, string>(),
    reading: { accepted: {}, dropped: {} } as CounterReading,
    applyDelayMs: 0,
    applies: 0,
    restores: 0,
    save: async (c: string) => e.live.get(c) ?? 'known-good',
    apply: async (c: string, rule: unknown) => {
      await new Promise((r) => setTimeout(r, e.applyDelayMs));
      e.applies++;
      e.live.set(c, `rule ${(rule as { hash: string }).hash}`);
    },
    restore: async (c: string, saved: string) => { e.restores++; e.live.set(c, saved); },
    isApplied: async (c: string, rule: unknown) => e.live.get(c) === `rule ${(rule as { hash: string }).hash}`,
    counters: async () => e.reading,
  };
  return e;
};

export const proposal = (conduit: string, hash: string): ProposalInput => ({
  conduit, rule: { hash }, ruleHash: hash,
  readiness: { ready: true, summary: '3 of 3 cycles covered, every phase seen' },
  edges: [{ key: 'hmi-plc', label: '10.0.1.5 → 10.0.2.7 tcp/502', expectedEveryMs: 500 }],
});
