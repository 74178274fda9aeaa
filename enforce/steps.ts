/**
 * The rule steps, each audited before it takes effect: propose (behind the readiness gate),
 * what-if, waive, apply and roll back. `conduitwatch rules …` calls these; so does the
 * promote-to-block workflow (enforce/workflow/, part 2), which adds approvals, maintenance windows
 * and retries around them.
 *
 * Fail closed (IEC 62443-3-3 SR 2.10): every step appends its audit entry with
 * `AuditTrail.append` and goes on only once that resolved; an audit failure rejects the step with
 * `write_rejected` before it has any effect (a proposal is not stored, a what-if not returned, a
 * ruleset not loaded). Apply and rollback write a `requested` entry before touching the firewall and
 * an `ok`/`failed` entry after.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Clock } from '../core/clock.ts';
import type { Site } from '../core/config.ts';
import { errorMessage, PipelineError } from '../core/errors.ts';
import { tables } from '../store/schema.ts';
import type { Store } from '../store/store.ts';
import type { AuditTrail } from './audit.ts';
import type { ApplyResult, EnforcementBackend, SavedState } from './backend.ts';
import { learnRule, readiness, resolveRuns, sqlString, type Readiness } from './baseline.ts';
import { parseRule, ruleHash, ruleJson, Waiver, type Rule } from './rules.ts';
import { whatIf, type WhatIfResult } from './whatif.ts';

/** Who acts, for the audit trail. */
export interface Actor {
  actor: string;
  role?: string;
  requestId?: string;
}

const who = (a: Actor) => ({ actor: a.actor, ...(a.role ? { role: a.role } : {}), ...(a.requestId ? { requestId: a.requestId } : {}) });

export interface ProposeResult {
  readiness: Readiness;
  /** Present when the gate let it through. */
  rule?: Rule;
  hash?: string;
}

/**
 * The readiness gate and the proposal: reads the conduit's stored baseline (runs per
 * `resolveRuns(run)`), and when it is ready learns the rule, audits `propose ok`, and stores the
 * rule in the `rules` table. When it is not ready it audits `propose refused` with the reasons
 * and returns without a rule.
 */
export const propose = async (o: { store: Store; site: Site; conduit: string; run?: string; audit: AuditTrail; by: Actor; clock: Clock }): Promise<ProposeResult> => {
  const runs = await resolveRuns(o.store, o.conduit, o.run);
  const ready = await readiness(o.store, o.site, o.conduit, runs);
  if (!ready.ready) {
    await o.audit.append({ ...who(o.by), action: 'propose', target: o.conduit, result: 'refused', reason: ready.reasons.join('; '),
      details: { runs, fullCycles: ready.fullCycles, minCycles: ready.minCycles, phasesMissing: ready.phasesMissing } });
    return { readiness: ready };
  }
  const rule = await learnRule(o.store, o.site, o.conduit, runs, ready);
  const hash = ruleHash(rule);
  const held = rule.entries.filter((e) => e.status === 'hold').length + rule.entries.reduce((n, e) => n + e.ops.filter((x) => x.status === 'hold').length, 0);
  await o.audit.append({ ...who(o.by), action: 'propose', target: o.conduit, result: 'ok', ruleHash: hash,
    reason: `baseline covers ${ready.fullCycles} full cycles and all ${ready.phases} phases`,
    details: { runs, entries: rule.entries.length, held } });
  await storeRule(o.store, rule, hash, o.by.actor, o.clock);
  return { readiness: ready, rule, hash };
};

/** Stores a rule version in the `rules` table (idempotent per hash: a retried insert is deduplicated). */
export const storeRule = async (store: Pick<Store, 'insertRows'>, rule: Rule, hash: string, by: string, clock: Clock): Promise<void> => {
  const c = tables.rules.columns;
  await store.insertRows(tables.rules.name, [{
    [c.hash]: hash, [c.conduit]: rule.conduit, [c.parent]: rule.parent, [c.createdAt]: clock.now(), [c.createdBy]: by, [c.json]: ruleJson(rule),
  }], { dedupToken: `rule:${hash}` });
};

/** The newest stored rule version of a conduit (a version nothing was derived from, then the latest stored), or undefined. */
export const latestRule = async (store: Pick<Store, 'query'>, site: Site, conduit: string): Promise<{ rule: Rule; hash: string } | undefined> => {
  const c = tables.rules.columns;
  const [row] = await store.query<{ json: string; hash: string }>(
    `SELECT ${c.json} AS json, ${c.hash} AS hash FROM ${tables.rules.name} WHERE ${c.conduit} = ${sqlString(conduit)}
       ORDER BY ${c.hash} IN (SELECT ${c.parent} FROM ${tables.rules.name} WHERE ${c.conduit} = ${sqlString(conduit)}), ${c.createdAt} DESC, ${c.hash} DESC LIMIT 1`);
  if (!row) return undefined;
  const { rule, hash } = parseRule(row.json, `rules table (${row.hash})`, site);
  return { rule, hash };
};

/** Reads and checks a rule file (JSON or YAML); errors name the file and line. */
export const readRuleFile = async (file: string, site: Site): Promise<{ rule: Rule; hash: string }> => {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new PipelineError('config_invalid', `Cannot read rule file ${file}: ${(e as NodeJS.ErrnoException).code ?? errorMessage(e)}. ` +
      "Pass --rule with a file 'conduitwatch rules propose --out FILE' wrote.", { file }, { cause: e });
  }
  const { rule, hash } = parseRule(text, file, site);
  return { rule, hash };
};

/** Runs the what-if over the runs `resolveRuns(run)` picks (default: the newest run holding the conduit) and audits it (`whatif ok` with the rule and what-if hashes). */
export const auditedWhatIf = async (o: { store: Store; rule: Rule; hash: string; run?: string; audit: AuditTrail; by: Actor }): Promise<WhatIfResult> => {
  const runs = await resolveRuns(o.store, o.rule.conduit, o.run);
  const result = await whatIf(o.store, o.rule, o.hash, runs);
  await o.audit.append({ ...who(o.by), action: 'whatif', target: o.rule.conduit, result: 'ok', ruleHash: o.hash, whatifHash: result.hash,
    details: { runs, flowsEvaluated: result.flowsEvaluated, flowsBlocked: result.flowsBlocked, unwaived: result.unwaived, promotable: result.promotable } });
  return result;
};

/**
 * Adds a waiver to a rule: a new version (parent = the old hash) that accepts that the named
 * blocked flows will be blocked. Audits `waive ok`, stores the new version, returns it.
 */
export const waive = async (o: { store: Store; rule: Rule; hash: string; waiver: Omit<Waiver, 'at'>; audit: AuditTrail; by: Actor; clock: Clock }): Promise<{ rule: Rule; hash: string }> => {
  const parsed = Waiver.safeParse({ ...o.waiver, at: o.clock.now() });
  if (!parsed.success) {
    throw new PipelineError('config_invalid', `Invalid waiver: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}.`);
  }
  const rule: Rule = { ...o.rule, parent: o.hash, waivers: [...o.rule.waivers, parsed.data] };
  const hash = ruleHash(rule);
  await o.audit.append({ ...who(o.by), action: 'waive', target: o.rule.conduit, result: 'ok', ruleHash: hash, reason: parsed.data.reason,
    details: { parent: o.hash, waiver: parsed.data } });
  await storeRule(o.store, rule, hash, o.by.actor, o.clock);
  return { rule, hash };
};

/** Where the state saved before an apply lives: `<data>/enforce/<target>.previous.json`. */
export const savedStatePath = (dataDir: string, target: string): string => join(resolve(dataDir), 'enforce', `${target.replace(/\s+/g, '_')}.previous.json`);

/**
 * Applies a rule with a backend: refuses (audited `apply refused`) unless the what-if over the
 * stored flows is promotable; else saves what is live to the data directory, audits
 * `apply requested`, applies atomically, audits `apply ok` (or `failed` and rethrows). With
 * `dryRun` every check runs and nothing changes.
 */
export const applyRule = async (o: {
  store: Store; site: Site; rule: Rule; hash: string; backend: EnforcementBackend; audit: AuditTrail; by: Actor; dataDir: string; run?: string; dryRun?: boolean;
}): Promise<{ applied?: ApplyResult; whatif: WhatIfResult; limits: string[] }> => {
  const wi = await whatIf(o.store, o.rule, o.hash, await resolveRuns(o.store, o.rule.conduit, o.run));
  const rs = o.backend.generate(o.rule, o.site, o.hash);
  if (!wi.promotable) {
    await o.audit.append({ ...who(o.by), action: 'apply', target: o.rule.conduit, result: 'refused', ruleHash: o.hash, whatifHash: wi.hash, reason: wi.notPromotable.join('; ') });
    return { whatif: wi, limits: rs.limits };
  }
  await o.backend.preflight();
  await o.backend.validate(rs);
  const before = await o.backend.saveCurrent(rs.target);
  const path = savedStatePath(o.dataDir, rs.target);
  const dryRun = o.dryRun === true;
  await o.audit.append({ ...who(o.by), action: 'apply', target: o.rule.conduit, result: 'requested', ruleHash: o.hash, whatifHash: wi.hash,
    details: { backend: o.backend.name, target: rs.target, rulesetHash: rs.hash, dryRun, previousHash: before.hash, previousExisted: before.existed } });
  if (!dryRun && before.hash !== rs.hash) {
    await mkdir(join(resolve(o.dataDir), 'enforce'), { recursive: true });
    await writeFile(`${path}.tmp`, JSON.stringify(before));
    await rename(`${path}.tmp`, path);
  }
  let applied: ApplyResult;
  try {
    applied = await o.backend.apply(rs, { dryRun });
  } catch (e) {
    await o.audit.append({ ...who(o.by), action: 'apply', target: o.rule.conduit, result: 'failed', ruleHash: o.hash, reason: errorMessage(e).slice(0, 500) });
    throw e;
  }
  await o.audit.append({ ...who(o.by), action: 'apply', target: o.rule.conduit, result: 'ok', ruleHash: o.hash, whatifHash: wi.hash,
    details: { target: rs.target, rulesetHash: rs.hash, changed: applied.changed, dryRun } });
  return { applied, whatif: wi, limits: rs.limits };
};

/** Restores what was live before the last apply of the conduit's table (audited; idempotent). */
export const rollback = async (o: { conduit: string; target: string; backend: EnforcementBackend; audit: AuditTrail; by: Actor; dataDir: string; reason?: string; dryRun?: boolean }): Promise<{ changed: boolean; saved: SavedState }> => {
  const path = savedStatePath(o.dataDir, o.target);
  let saved: SavedState;
  try {
    saved = JSON.parse(await readFile(path, 'utf8')) as SavedState;
  } catch (e) {
    throw new PipelineError('input_invalid', `Nothing to roll back for ${o.conduit}: no saved state at ${path} (no rule was applied from this data directory).`, { path }, { cause: e });
  }
  await o.backend.preflight();
  await o.audit.append({ ...who(o.by), action: 'rollback', target: o.conduit, result: 'requested', reason: o.reason ?? '',
    details: { target: o.target, restoreHash: saved.hash, restoreExisted: saved.existed, dryRun: o.dryRun === true } });
  let out: { changed: boolean };
  try {
    out = await o.backend.restore(saved, { dryRun: o.dryRun === true });
  } catch (e) {
    await o.audit.append({ ...who(o.by), action: 'rollback', target: o.conduit, result: 'failed', reason: errorMessage(e).slice(0, 500) });
    throw e;
  }
  await o.audit.append({ ...who(o.by), action: 'rollback', target: o.conduit, result: 'ok', details: { target: o.target, changed: out.changed } });
  return { changed: out.changed, saved };
};
