/**
 * The promote-to-block workflow: propose → what-if → approve → schedule → apply → watch →
 * confirm | roll back, one conduit at a time, on BullMQ (queue.ts) with the records in Redis
 * (records.ts). People's actions (`propose`, `approve`, `reject`, `schedule`, `abort`, `rollback`)
 * change a record and enqueue a job; the worker's steps (`runStep`) do the work:
 *
 *   job id                 when                          does
 *   whatif.<id>            on propose                    runs the what-if; → review
 *   apply.<id>.<n>         delayed to window n's opening saves known-good, applies, verifies; → watching
 *   watch.<id>.<tick>      every interval while watching reads counters + alerts; trips → roll back;
 *                                                        watch over → confirmed
 *   abort.<id>.<k>         on operator abort / rollback  restores the known-good ruleset; → rolled_back
 *
 * Every step re-reads the record and does nothing when the record has moved on (a stale or re-run
 * job), every side effect is idempotent (apply the same table again, restore the same snapshot),
 * and every audit entry is written before the state change it reports and before the side effect
 * it announces: if the audit trail refuses a write, the step does not happen (SR 2.10). A worker
 * killed at any point leaves a record whose next step `reconcile` (at start-up and every
 * `reconcileMs`) puts back on the queue, so each promotion ends confirmed or rolled back.
 */
import { systemClock, type Clock } from '../../core/clock.ts';
import type { MaintenanceWindow } from '../../core/config.ts';
import { errorMessage, PipelineError } from '../../core/errors.ts';
import { silentLogger, type Logger } from '../../core/telemetry.ts';
import { formatDuration } from '../../core/units.ts';
import { failpoint } from './failpoints.ts';
import { evaluate, fixCriteria, startWatch, type AbortCriteriaInput, type Trip } from './criteria.ts';
import type { AlertCounter, AuditEntry, AuditLog, CounterReading, Enforcer, ProposalInput, WhatIfRunner } from './ports.ts';
import { promotionIdFor, TERMINAL, type Person, type Promotion, type State } from './promotion.ts';
import { moveTo, PromotionRecords } from './records.ts';
import type { SnapshotStore } from './snapshots.ts';
import type { StepJob, WorkerHandle, WorkflowQueue } from './queue.ts';
import { requireWindow } from './windows.ts';

/** Who acts: a named person with their roles (the API and CLI have checked the permission). */
export interface Actor extends Person {
  roles: readonly string[];
  /** Request id from the API, for the audit trail. */
  requestId?: string;
}

export interface WorkflowDeps {
  queue: WorkflowQueue;
  audit: AuditLog;
  whatif: WhatIfRunner;
  enforcer: Enforcer;
  alerts: AlertCounter;
  snapshots: SnapshotStore;
  /** site.yaml maintenanceWindows. */
  windows: readonly MaintenanceWindow[];
  clock?: Clock;
  log?: Logger;
  /** How much of a window an apply needs to be worth starting (default 1 min). */
  applyNeedMs?: number;
  /** Defaults for the abort criteria an approver does not set. */
  criteriaDefaults?: AbortCriteriaInput;
}

/** Kept blocked flows per what-if in the record (the total is always there). */
export const WHATIF_KEEP = 200;
/** The worker's service account in the audit trail. */
export const WORKFLOW = 'svc:workflow';

export class Workflow {
  readonly records: PromotionRecords;
  private readonly clock: Clock;
  private readonly log: Logger;
  private reconcileTimer?: NodeJS.Timeout;

  constructor(private readonly d: WorkflowDeps) {
    this.records = new PromotionRecords(d.queue.kv, d.queue.prefix);
    this.clock = d.clock ?? systemClock;
    this.log = d.log ?? silentLogger();
  }

  private async audit(e: AuditEntry): Promise<void> {
    try {
      await this.d.audit.append(e);
    } catch (err) {
      throw new PipelineError('write_rejected', `The audit trail refused "${e.action}" on ${e.target} (${errorMessage(err)}); the step was not done (IEC 62443-3-3 SR 2.10).`, { status: 503 }, { cause: err });
    }
  }

  private deny(actor: Actor, action: string, target: string, reason: string, status = 403): Promise<never> {
    return this.audit({ actor: actor.account, role: actor.roles.join(','), action, target, result: 'refused', reason, requestId: actor.requestId })
      .then(() => { throw new PipelineError('unrecoverable', reason, { status, target }); });
  }

  // ── people's actions ──────────────────────────────────────────────────────────────────────

  /**
   * Submits a proposal (part 1's `rules propose` output) and queues its what-if. Proposing the
   * same rule twice while it is in flight returns the same promotion (one job, one block); another
   * rule on a conduit that has a promotion in flight is refused.
   */
  async propose(actor: Actor, input: ProposalInput, reason: string): Promise<{ promotion: Promotion; existed: boolean }> {
    const target = input.conduit;
    if (!input.readiness.ready) return this.deny(actor, 'propose', target, `The baseline of ${input.conduit} is not ready: ${input.readiness.summary}`, 422);
    const now = this.clock.now();
    const draft: Promotion = {
      id: promotionIdFor(input.conduit, input.ruleHash), conduit: input.conduit, ruleHash: input.ruleHash, rule: input.rule,
      readiness: input.readiness, edges: input.edges, state: 'proposed', version: 1,
      proposer: { account: actor.account, displayName: actor.displayName }, proposedAt: now, proposeReason: reason,
      history: [{ at: now, state: 'proposed', actor: actor.account }],
    };
    const holder = await this.records.inFlight(input.conduit);
    if (holder && !holder.startsWith(draft.id)) {
      return this.deny(actor, 'propose', target, `Conduit ${input.conduit} has promotion ${holder} in flight; one conduit at a time. Wait for it to end, or abort it.`, 409);
    }
    await this.audit({ actor: actor.account, role: actor.roles.join(','), action: 'propose', target, result: 'ok', reason, ruleHash: input.ruleHash, requestId: actor.requestId });
    const r = await this.records.create(draft);
    if (r.outcome === 'busy') return this.deny(actor, 'propose', target, `Conduit ${input.conduit} has promotion ${r.holder} in flight; one conduit at a time.`, 409);
    await this.d.queue.add('whatif', { id: r.promotion.id }, { jobId: `whatif.${r.promotion.id}` });
    return { promotion: r.promotion, existed: r.outcome === 'exists' };
  }

  /**
   * Approves a promotion whose what-if is promotable, fixing its abort criteria, and (unless
   * `schedule` is false) schedules it into the next maintenance window. The proposer can never
   * approve their own proposal (two-person rule, IEC 62443-3-3 SR 2.1 RE4).
   */
  async approve(actor: Actor, id: string, reason: string, o: { criteria?: AbortCriteriaInput; schedule?: boolean; window?: string } = {}): Promise<Promotion> {
    const p = await this.records.require(id);
    if (p.proposer.account === actor.account) {
      return this.deny(actor, 'approve', id, `${actor.account} proposed ${id} and cannot approve it too: a second named approver must (two-person rule, IEC 62443-3-3 SR 2.1 RE4).`);
    }
    if (!reason.trim()) return this.deny(actor, 'approve', id, 'An approval needs a reason.', 422);
    if (p.state !== 'review') return this.deny(actor, 'approve', id, `${id} is ${p.state}; only a promotion in review can be approved.`, 409);
    if (!p.whatif?.promotable) return this.deny(actor, 'approve', id, `${id} is not promotable: ${(p.whatif?.reasons ?? ['no what-if']).join('; ')}`, 422);
    const criteria = fixCriteria({ ...this.d.criteriaDefaults, ...o.criteria }, p.edges);
    await this.audit({
      actor: actor.account, role: actor.roles.join(','), action: 'approve', target: id, result: 'ok', reason,
      ruleHash: p.ruleHash, whatifHash: p.whatif.whatifHash, requestId: actor.requestId, details: { criteria: { ...criteria, edges: criteria.edges.length } },
    });
    const now = this.clock.now();
    const { promotion } = await this.records.update(id, (cur) => {
      if (cur.state !== 'review') throw new PipelineError('unrecoverable', `${id} is ${cur.state} now.`, { status: 409 });
      return { ...moveTo(cur, 'approved', actor.account, now, reason), approval: { account: actor.account, displayName: actor.displayName, at: now, reason, criteria } };
    });
    if (o.schedule === false) return promotion;
    return this.schedule(actor, id, o.window);
  }

  async reject(actor: Actor, id: string, reason: string): Promise<Promotion> {
    const p = await this.records.require(id);
    if (!reason.trim()) return this.deny(actor, 'reject', id, 'A rejection needs a reason.', 422);
    if (p.state !== 'review' && p.state !== 'proposed') return this.deny(actor, 'reject', id, `${id} is ${p.state}; only a proposal not yet approved can be rejected.`, 409);
    await this.audit({ actor: actor.account, role: actor.roles.join(','), action: 'reject', target: id, result: 'ok', reason, ruleHash: p.ruleHash, requestId: actor.requestId });
    const now = this.clock.now();
    return (await this.records.update(id, (cur) => ({ ...moveTo(cur, 'rejected', actor.account, now, reason), rejection: { account: actor.account, displayName: actor.displayName, at: now, reason }, outcome: { state: 'rejected', at: now, note: reason } }))).promotion;
  }

  /** Schedules (or reschedules) an approved promotion's apply into the next window (or the one named). */
  async schedule(actor: Actor, id: string, windowName?: string): Promise<Promotion> {
    const p = await this.records.require(id);
    if (p.state !== 'approved' && p.state !== 'scheduled') return this.deny(actor, 'schedule', id, `${id} is ${p.state}; only an approved promotion can be scheduled.`, 409);
    const now = this.clock.now();
    const w = requireWindow(this.d.windows, now, { needMs: this.d.applyNeedMs ?? 60_000, name: windowName });
    await this.audit({ actor: actor.account, role: actor.roles.join(','), action: 'schedule', target: id, result: 'ok', ruleHash: p.ruleHash, requestId: actor.requestId, details: { window: w.name, opensAt: new Date(w.opensAt).toISOString(), closesAt: new Date(w.closesAt).toISOString() } });
    const prev = p.schedule?.n;
    const { promotion } = await this.records.update(id, (cur) => {
      if (cur.state !== 'approved' && cur.state !== 'scheduled') throw new PipelineError('unrecoverable', `${id} is ${cur.state} now.`, { status: 409 });
      const n = (cur.schedule?.n ?? 0) + 1;
      return { ...moveTo(cur, 'scheduled', actor.account, now, `${w.name} ${new Date(w.opensAt).toISOString()}`), schedule: { ...w, by: actor.account, at: now, n } };
    });
    if (prev !== undefined) await this.d.queue.remove(`apply.${id}.${prev}`);
    await this.enqueueApply(promotion);
    return promotion;
  }

  private enqueueApply(p: Promotion, suffix = ''): Promise<unknown> {
    const s = p.schedule!;
    return this.d.queue.add('apply', { id: p.id, n: s.n }, { jobId: `apply.${p.id}.${s.n}${suffix}`, delayMs: s.opensAt - this.clock.now() });
  }

  /**
   * Operator abort: before apply it cancels (nothing was applied); during apply or the watch it
   * asks the worker to restore the known-good ruleset at once. `rollback` does the same, and also
   * rolls back a confirmed rule on command.
   */
  async abort(actor: Actor, id: string, reason: string, kind: 'abort' | 'rollback' = 'abort'): Promise<Promotion> {
    const action = kind;
    const p = await this.records.require(id);
    if (!reason.trim()) return this.deny(actor, action, id, `An ${kind} needs a reason.`, 422);
    const now = this.clock.now();
    const who = { account: actor.account, displayName: actor.displayName, at: now, reason, kind };
    if (p.state === 'proposed' || p.state === 'review' || p.state === 'approved' || (p.state === 'scheduled' && !this.d.snapshots.get(id))) {
      await this.audit({ actor: actor.account, role: actor.roles.join(','), action, target: id, result: 'ok', reason, ruleHash: p.ruleHash, requestId: actor.requestId, details: { before: p.state, effect: 'cancelled; nothing was applied' } });
      const { promotion } = await this.records.update(id, (cur) => {
        if (cur.state === 'applying' || cur.state === 'watching') return { ...cur, abort: who };
        if (TERMINAL.has(cur.state) || cur.state === 'rolling_back') return undefined;
        return { ...moveTo(cur, 'cancelled', actor.account, now, reason), abort: who, outcome: { state: 'cancelled', at: now, note: reason } };
      });
      if (p.schedule) await this.d.queue.remove(`apply.${id}.${p.schedule.n}`);
      if (promotion.state !== 'cancelled') await this.d.queue.add('abort', { id }, { jobId: `abort.${id}.${promotion.version}` });
      return promotion;
    }
    const live = p.state === 'applying' || p.state === 'watching' || p.state === 'scheduled' || p.state === 'rolling_back';
    const confirmedRollback = p.state === 'confirmed' && kind === 'rollback';
    if (!live && !confirmedRollback) return this.deny(actor, action, id, `${id} is ${p.state}; nothing to ${kind}.`, 409);
    await this.audit({ actor: actor.account, role: actor.roles.join(','), action, target: id, result: 'ok', reason, ruleHash: p.ruleHash, requestId: actor.requestId, details: { before: p.state } });
    const { promotion } = await this.records.update(id, (cur) => {
      if (cur.state === 'confirmed') return { ...moveTo(cur, 'rolling_back', actor.account, now, reason), abort: who, outcome: { state: 'rolled_back', at: now, trip: operatorTrip(who) } };
      return { ...cur, abort: who };
    }, { acquire: confirmedRollback });
    await this.d.queue.add('abort', { id }, { jobId: `abort.${id}.${promotion.version}` });
    return promotion;
  }

  // ── the worker's steps ────────────────────────────────────────────────────────────────────

  /** Runs one job (the worker's handler). */
  async runStep(job: StepJob): Promise<void> {
    const id = String(job.data.id);
    const p = await this.records.get(id);
    if (!p) return;
    switch (job.name) {
      case 'whatif': return this.stepWhatif(p, job);
      case 'apply': return this.stepApply(p, Number(job.data.n), job);
      case 'watch': return this.stepWatch(p, Number(job.data.tick));
      case 'abort': return this.stepAbort(p);
      default: throw new PipelineError('unrecoverable', `Unknown workflow job "${job.name}".`);
    }
  }

  private async stepWhatif(p: Promotion, job: StepJob): Promise<void> {
    if (p.state !== 'proposed') return;
    const w = await this.d.whatif.run(p.conduit, p.rule);
    const kept = { ...w, blocked: w.blocked.slice(0, WHATIF_KEEP) };
    if (w.ruleHash !== p.ruleHash) throw new PipelineError('unrecoverable', `The what-if ran rule ${w.ruleHash}, not the proposed ${p.ruleHash}.`);
    await this.audit({
      actor: WORKFLOW, action: 'whatif', target: p.id, result: 'ok', ruleHash: p.ruleHash, whatifHash: w.whatifHash,
      reason: w.promotable ? 'promotable' : `not promotable: ${w.reasons.join('; ')}`,
      details: { flowsEvaluated: w.flowsEvaluated, flowsBlocked: w.flowsBlocked, from: w.from, to: w.to, attempt: job.attempt },
    });
    const now = this.clock.now();
    await this.records.update(p.id, (cur) => (cur.state === 'proposed' ? { ...moveTo(cur, 'review', WORKFLOW, now, `what-if: ${w.flowsBlocked} of ${w.flowsEvaluated} flows would be blocked`), whatif: kept } : undefined));
  }

  private async stepApply(p: Promotion, n: number, job: StepJob): Promise<void> {
    if ((p.state !== 'scheduled' && p.state !== 'applying') || p.schedule?.n !== n) return;
    const s = p.schedule;
    const now = this.clock.now();
    if (p.abort) return this.rollback(p, operatorTrip(p.abort));
    if (p.state === 'scheduled' && now >= s.closesAt) {
      return this.rollback(p, windowTrip(s, now, 'the window closed before the apply began (was the worker down?)'));
    }
    if (p.state === 'scheduled' && now < s.opensAt - 1_000) {
      // Early (clock skew between Redis and this host): come back at the opening.
      await this.d.queue.add('apply', { id: p.id, n }, { jobId: `apply.${p.id}.${n}.at${s.opensAt}`, delayMs: s.opensAt - now });
      return;
    }
    await this.audit({ actor: WORKFLOW, action: 'apply', target: p.id, result: 'requested', ruleHash: p.ruleHash, details: { window: s.name, attempt: (p.apply?.attempts ?? 0) + 1, job: job.id } });
    const started = await this.records.update(p.id, (cur) => {
      if ((cur.state !== 'scheduled' && cur.state !== 'applying') || cur.schedule?.n !== n) return undefined;
      const attempts = (cur.apply?.attempts ?? 0) + 1;
      const next = cur.state === 'scheduled' ? moveTo(cur, 'applying', WORKFLOW, now, `window ${s.name}`) : cur;
      return { ...next, apply: { ...cur.apply, attempts, startedAt: cur.apply?.startedAt ?? now } };
    });
    if (started.promotion.state !== 'applying') return;
    // The known-good ruleset is saved once, before the rule goes live; a re-run reuses it.
    let saved = this.d.snapshots.get(p.id);
    if (saved === undefined) saved = this.d.snapshots.putOnce(p.id, await this.d.enforcer.save(p.conduit, p.rule));
    failpoint('apply.after-save');
    await this.d.enforcer.apply(p.conduit, p.rule);
    failpoint('apply.after-apply');
    if (!(await this.d.enforcer.isApplied(p.conduit, p.rule))) {
      throw new PipelineError('write_rejected', `Applied rule ${p.ruleHash} to ${p.conduit}, but the live ruleset does not show it; retrying.`);
    }
    const appliedAt = this.clock.now();
    if (appliedAt >= s.closesAt) return this.rollback((await this.records.require(p.id)), windowTrip(s, appliedAt, 'the window closed before the apply finished'));
    const fresh = await this.records.require(p.id);
    if (fresh.abort) return this.rollback(fresh, operatorTrip(fresh.abort));
    const c = fresh.approval!.criteria;
    await this.audit({ actor: WORKFLOW, action: 'apply', target: p.id, result: 'ok', ruleHash: p.ruleHash, details: { window: s.name, appliedAt: new Date(appliedAt).toISOString(), watchMs: c.watchMs, knownGoodBytes: saved.length } });
    const { promotion } = await this.records.update(p.id, (cur) => {
      if (cur.state !== 'applying') return undefined;
      return { ...moveTo(cur, 'watching', WORKFLOW, appliedAt, `rule live; watching for ${formatDuration(c.watchMs)}`), apply: { ...cur.apply!, appliedAt, snapshot: `${p.id}.known-good` }, watch: { ...startWatch(appliedAt), until: appliedAt + c.watchMs } };
    });
    if (promotion.state === 'watching') await this.enqueueWatch(promotion);
  }

  private enqueueWatch(p: Promotion, suffix = ''): Promise<unknown> {
    const tick = p.watch!.ticks + 1;
    return this.d.queue.add('watch', { id: p.id, tick }, { jobId: `watch.${p.id}.${tick}${suffix}`, delayMs: p.approval!.criteria.intervalMs });
  }

  private async stepWatch(p: Promotion, tick: number): Promise<void> {
    if (p.state !== 'watching' || !p.watch) return;
    if (tick <= p.watch.ticks) {
      // A re-run of a tick that already counted: make sure the next one is queued, nothing else.
      if (tick === p.watch.ticks) await this.enqueueWatch(p);
      return;
    }
    if (tick !== p.watch.ticks + 1) return;
    if (p.abort) return this.rollback(p, operatorTrip(p.abort));
    const c = p.approval!.criteria;
    const now = this.clock.now();
    const reading = await this.d.enforcer.counters(p.conduit, p.rule);
    const alerts = await this.d.alerts.count(p.conduit, Math.max(p.watch.appliedAt, now - c.alertWithinMs), now);
    const { state, trip } = evaluate(c, p.watch, reading, alerts, now);
    if (trip) return this.rollback(p, trip, { reading, alerts });
    if (now >= p.watch.until) {
      await this.audit({ actor: WORKFLOW, action: 'confirm', target: p.id, result: 'ok', ruleHash: p.ruleHash, reason: `no abort criterion tripped in ${state.ticks} checks`, details: { ticks: state.ticks, alerts, accepted: reading.accepted, dropped: reading.dropped } });
      await this.records.update(p.id, (cur) => (cur.state === 'watching' ? { ...moveTo(cur, 'confirmed', WORKFLOW, now, `${state.ticks} checks clean`), watch: { ...cur.watch!, ...state, lastTickAt: now, alerts }, outcome: { state: 'confirmed', at: now } } : undefined));
      return;
    }
    const { promotion } = await this.records.update(p.id, (cur) => (cur.state === 'watching' && cur.watch?.ticks === tick - 1
      ? { ...cur, watch: { ...cur.watch, ...state, lastTickAt: now, alerts, lastReading: reading } } : undefined));
    failpoint('watch.after-tick');
    if (promotion.state === 'watching' && promotion.watch?.ticks === tick) await this.enqueueWatch(promotion);
  }

  private async stepAbort(p: Promotion): Promise<void> {
    if (p.state === 'rolling_back') return this.rollback(p, p.outcome?.trip ?? { criterion: 'operator_abort', message: 'rollback resumed', figures: {} });
    if (!p.abort) return;
    if (p.state === 'applying' || p.state === 'watching' || p.state === 'scheduled') return this.rollback(p, operatorTrip(p.abort));
  }

  /** Restores the known-good ruleset (when one was saved) and ends the promotion rolled back. */
  private async rollback(p: Promotion, trip: Trip, seen?: Record<string, unknown>): Promise<void> {
    const now = this.clock.now();
    if (p.state !== 'rolling_back') {
      await this.audit({ actor: WORKFLOW, action: 'rollback', target: p.id, result: 'requested', ruleHash: p.ruleHash, reason: `${trip.criterion}: ${trip.message}`, details: { criterion: trip.criterion, figures: trip.figures, ...seen } });
      const r = await this.records.update(p.id, (cur) => {
        if (cur.state === 'rolling_back' || TERMINAL.has(cur.state)) return undefined;
        const reading = seen?.reading as CounterReading | undefined;
        const watch = cur.watch && reading ? { ...cur.watch, lastReading: reading, lastTickAt: now } : cur.watch;
        return { ...moveTo(cur, 'rolling_back', WORKFLOW, now, trip.criterion), watch, outcome: { state: 'rolled_back', at: now, trip } };
      });
      p = r.promotion;
      if (p.state !== 'rolling_back') return;
    }
    const saved = this.d.snapshots.get(p.id);
    if (saved !== undefined) {
      await this.d.enforcer.restore(p.conduit, saved);
      failpoint('rollback.after-restore');
      if (await this.d.enforcer.isApplied(p.conduit, p.rule)) throw new PipelineError('write_rejected', `Restored the known-good ruleset of ${p.conduit}, but rule ${p.ruleHash} still shows; retrying.`);
    }
    const t = p.outcome?.trip ?? trip;
    await this.audit({ actor: WORKFLOW, action: 'rollback', target: p.id, result: 'ok', ruleHash: p.ruleHash, reason: `${t.criterion}: ${t.message}`, details: { criterion: t.criterion, figures: t.figures, restored: saved !== undefined } });
    await this.records.update(p.id, (cur) => (cur.state === 'rolling_back' ? { ...moveTo(cur, 'rolled_back', WORKFLOW, this.clock.now(), saved === undefined ? 'nothing had been applied' : 'known-good ruleset restored'), outcome: { state: 'rolled_back', at: this.clock.now(), trip: t } } : undefined));
  }

  // ── the worker ────────────────────────────────────────────────────────────────────────────

  /**
   * Puts the next step of every promotion in flight back on the queue when its job is missing or
   * failed for good (after a crash, or Redis losing its last writes). Safe to run any time.
   */
  async reconcile(): Promise<number> {
    let fixed = 0;
    for (const p of await this.records.list(1000)) {
      if (TERMINAL.has(p.state) || p.state === 'review' || p.state === 'approved') continue;
      const want = nextJob(p);
      if (!want) continue;
      const st = await this.d.queue.jobState(want.jobId);
      if (st === 'failed') { await this.d.queue.retry(want.jobId); fixed++; continue; }
      if (st !== 'missing' && st !== 'completed') continue;
      const suffix = st === 'completed' ? `.re${this.clock.now()}` : '';
      if (want.name === 'apply') await this.enqueueApply(p, suffix);
      else if (want.name === 'watch') await this.enqueueWatch(p, suffix);
      else await this.d.queue.add(want.name, { id: p.id }, { jobId: `${want.jobId}${suffix}` });
      fixed++;
    }
    if (fixed) this.log.warn({ fixed }, 'Workflow steps put back on the queue.');
    return fixed;
  }

  /** Starts the worker: reconciles, then runs jobs (one at a time by default) and reconciles every `reconcileMs`. */
  async startWorker(o: { lockMs?: number; stalledIntervalMs?: number; reconcileMs?: number } = {}): Promise<WorkerHandle> {
    await this.reconcile();
    const w = await this.d.queue.startWorker((job) => this.runStep(job), { lockMs: o.lockMs, stalledIntervalMs: o.stalledIntervalMs, log: this.log });
    this.reconcileTimer = setInterval(() => { this.reconcile().catch((e) => this.log.warn({ err: errorMessage(e) }, 'Reconcile failed; next try later.')); }, o.reconcileMs ?? 30_000);
    this.reconcileTimer.unref();
    return { close: async () => { clearInterval(this.reconcileTimer); await w.close(); } };
  }
}

const nextJob = (p: Promotion): { name: string; jobId: string } | undefined => {
  const s: State = p.state;
  if (s === 'proposed') return { name: 'whatif', jobId: `whatif.${p.id}` };
  if ((s === 'scheduled' || s === 'applying') && p.schedule) return { name: 'apply', jobId: `apply.${p.id}.${p.schedule.n}` };
  if (s === 'watching' && p.watch) return { name: 'watch', jobId: `watch.${p.id}.${p.watch.ticks + 1}` };
  if (s === 'rolling_back') return { name: 'abort', jobId: `abort.${p.id}.${p.version}` };
  return undefined;
};

const operatorTrip = (a: NonNullable<Promotion['abort']>): Trip => ({
  criterion: 'operator_abort',
  message: `${a.kind} by ${a.account} (${a.displayName}): ${a.reason}`,
  figures: { by: a.account, at: new Date(a.at).toISOString(), reason: a.reason },
});

const windowTrip = (s: NonNullable<Promotion['schedule']>, now: number, why: string): Trip => ({
  criterion: 'window_closed',
  message: `${why}: window ${s.name} closed at ${new Date(s.closesAt).toISOString()}`,
  figures: { window: s.name, opensAt: new Date(s.opensAt).toISOString(), closesAt: new Date(s.closesAt).toISOString(), now: new Date(now).toISOString(), lateMs: now - s.closesAt },
});
