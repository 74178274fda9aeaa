/**
 * The workflow's step logic on a real Redis (AOF, noeviction) and real BullMQ, with in-memory
 * doubles for the what-if, the enforcer and the audit log. The crash tests (crash.test.ts) run the
 * same workflow on real nftables in namespaces and the real audit chain.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { hasCode } from '../../../core/errors.ts';
import { fileSnapshots } from '../../../enforce/workflow/snapshots.ts';
import { WorkflowQueue } from '../../../enforce/workflow/queue.ts';
import { Workflow, type Actor } from '../../../enforce/workflow/workflow.ts';
import type { MaintenanceWindow } from '../../../core/config.ts';
import type { RedisService } from '../../../infra/services/index.ts';
import { startRedis, redisCommand } from '../../../infra/services/index.ts';
import { fixedWhatif, memoryAudit, memoryEnforcer, proposal, startAofRedis, tempDir, waitForState, windowSoon } from './helpers.ts';

const anna: Actor = { account: 'a.lindqvist', displayName: 'Anna Lindqvist', roles: ['engineer'] };
const bola: Actor = { account: 'b.okafor', displayName: 'Bola Okafor', roles: ['approver'] };
const FAST = { watch: '1200ms', interval: '150ms', alertCount: 2, alertWithin: '1m' };

let redis: RedisService;
const cleanups: (() => Promise<void> | void)[] = [];
before(async () => { redis = await startAofRedis(); });
after(async () => {
  for (const c of cleanups.reverse()) await c();
  await redis.stop();
});

let n = 0;
const setup = async (windows: MaintenanceWindow[] = [windowSoon(300, 60_000)]) => {
  const queue = await WorkflowQueue.open({ url: redis.url, prefix: `t${++n}` }, { role: 'worker' });
  const tmp = tempDir('wf');
  const audit = memoryAudit();
  const enforcer = memoryEnforcer();
  const whatif = fixedWhatif();
  const alerts = { n: 0, count: async () => alerts.n };
  const wf = new Workflow({ queue, audit, whatif, enforcer, alerts, snapshots: fileSnapshots(tmp.dir), windows, applyNeedMs: 500, criteriaDefaults: FAST });
  const worker = await wf.startWorker({ lockMs: 2_000, stalledIntervalMs: 1_000 });
  cleanups.push(async () => { await worker.close(); await queue.close(); tmp.remove(); });
  return { wf, audit, enforcer, whatif, alerts, queue };
};

test('a proposal goes through a second named approver into the window, applies, and is confirmed', async () => {
  const { wf, audit, enforcer } = await setup();
  const { promotion } = await wf.propose(anna, proposal('scada->field', 'a1'.repeat(32)), 'HMI polls only');
  await waitForState(wf, promotion.id, ['review']);
  await assert.rejects(wf.approve(anna, promotion.id, 'looks fine'), /cannot approve it too/);
  const approved = await wf.approve(bola, promotion.id, 'what-if is clean');
  assert.equal(approved.state, 'scheduled');
  const done = await waitForState(wf, promotion.id, ['confirmed', 'rolled_back']);
  assert.equal(done.state, 'confirmed');
  assert.equal(enforcer.live.get('scada->field'), `rule ${'a1'.repeat(32)}`);
  assert.ok(done.watch!.ticks >= 2);
  assert.deepEqual(audit.entries.map((e) => `${e.action}:${e.result}`), [
    'propose:ok', 'whatif:ok', 'approve:refused', 'approve:ok', 'schedule:ok',
    'apply:requested', 'apply:ok', 'confirm:ok',
  ]);
  assert.equal(await wf.records.inFlight('scada->field'), undefined, 'the conduit is free again');
});

test('proposing twice gives one promotion and one what-if; another rule on a busy conduit is refused', async () => {
  const { wf, whatif } = await setup();
  const [a, b] = await Promise.all([
    wf.propose(anna, proposal('scada->field', 'b2'.repeat(32)), 'first click'),
    wf.propose(anna, proposal('scada->field', 'b2'.repeat(32)), 'second click'),
  ]);
  assert.equal(a.promotion.id, b.promotion.id);
  assert.deepEqual([a.existed, b.existed].sort(), [false, true]);
  await waitForState(wf, a.promotion.id, ['review']);
  assert.equal(whatif.runs, 1);
  await assert.rejects(wf.propose(anna, proposal('scada->field', 'c3'.repeat(32)), 'other rule'), /in flight; one conduit at a time/);
  assert.equal((await wf.records.list()).length, 1);
});

test('drops on a baseline edge during the watch restore the known-good ruleset by themselves', async () => {
  const { wf, audit, enforcer } = await setup();
  enforcer.live.set('scada->field', 'table inet before { }');
  const { promotion } = await wf.propose(anna, proposal('scada->field', 'd4'.repeat(32)), 'block the rest');
  await waitForState(wf, promotion.id, ['review']);
  await wf.approve(bola, promotion.id, 'ok');
  await waitForState(wf, promotion.id, ['watching']);
  enforcer.reading = { accepted: { 'hmi-plc': 10 }, dropped: { 'hmi-plc': 4 } };
  const done = await waitForState(wf, promotion.id, ['rolled_back', 'confirmed']);
  assert.equal(done.state, 'rolled_back');
  assert.equal(done.outcome?.trip?.criterion, 'baseline_flow_dropped');
  assert.equal(done.outcome?.trip?.figures.droppedPackets, 4);
  assert.equal(enforcer.live.get('scada->field'), 'table inet before { }');
  const rb = audit.entries.find((e) => e.action === 'rollback' && e.result === 'ok')!;
  assert.match(rb.reason!, /^baseline_flow_dropped: 4 packets/);
});

test('N alerts in M minutes trip the rollback with the count', async () => {
  const { wf, alerts } = await setup();
  const { promotion } = await wf.propose(anna, proposal('scada->field', 'e5'.repeat(32)), 'x');
  await waitForState(wf, promotion.id, ['review']);
  await wf.approve(bola, promotion.id, 'ok');
  await waitForState(wf, promotion.id, ['watching']);
  alerts.n = 2;
  const done = await waitForState(wf, promotion.id, ['rolled_back', 'confirmed']);
  assert.equal(done.outcome?.trip?.criterion, 'alerts');
  assert.equal(done.outcome?.trip?.figures.alerts, 2);
});

test('an operator abort during the watch rolls back and names who and why; before apply it cancels', async () => {
  const { wf, enforcer } = await setup([windowSoon(300, 60_000)]);
  const { promotion } = await wf.propose(anna, proposal('scada->field', 'f6'.repeat(32)), 'x');
  await waitForState(wf, promotion.id, ['review']);
  await wf.approve(bola, promotion.id, 'ok', { criteria: { watch: '1m' } });
  await waitForState(wf, promotion.id, ['watching']);
  await wf.abort(anna, promotion.id, 'line 3 HMI lost its trend');
  const done = await waitForState(wf, promotion.id, ['rolled_back']);
  assert.equal(done.outcome?.trip?.criterion, 'operator_abort');
  assert.equal(done.outcome?.trip?.figures.by, 'a.lindqvist');
  assert.equal(enforcer.restores, 1);
  assert.equal(enforcer.applies, 1);

  // Before apply: a window that opens in ten minutes, so the abort always lands while the
  // promotion waits for it (the first window is open by now and would start the apply at once).
  const { wf: wf2, enforcer: enforcer2 } = await setup([windowSoon(600_000, 60_000)]);
  const later = await wf2.propose(anna, proposal('scada->field', '07'.repeat(32)), 'y');
  await waitForState(wf2, later.promotion.id, ['review']);
  const approved = await wf2.approve(bola, later.promotion.id, 'ok');
  assert.equal(approved.state, 'scheduled');
  const c = await wf2.abort(bola, later.promotion.id, 'not tonight');
  assert.equal(c.state, 'cancelled');
  assert.equal(enforcer2.applies, 0, 'the cancelled one never applied');
});

test('a window that closes before the apply finishes aborts and rolls back', async () => {
  const { wf, enforcer } = await setup([windowSoon(300, 1_000)]);
  enforcer.applyDelayMs = 1_500;
  const { promotion } = await wf.propose(anna, proposal('scada->field', '18'.repeat(32)), 'x');
  await waitForState(wf, promotion.id, ['review']);
  await wf.approve(bola, promotion.id, 'ok');
  const done = await waitForState(wf, promotion.id, ['rolled_back', 'confirmed']);
  assert.equal(done.state, 'rolled_back');
  assert.equal(done.outcome?.trip?.criterion, 'window_closed');
  assert.equal(enforcer.live.get('scada->field'), 'known-good');
});

test('a step whose audit entry cannot be written does not happen', async () => {
  const { wf, audit } = await setup();
  const { promotion } = await wf.propose(anna, proposal('scada->field', '29'.repeat(32)), 'x');
  await waitForState(wf, promotion.id, ['review']);
  audit.refuse = true;
  await assert.rejects(wf.approve(bola, promotion.id, 'ok'), (e) => hasCode(e, 'write_rejected') && /SR 2.10/.test(String(e)));
  assert.equal((await wf.records.get(promotion.id))!.state, 'review');
});

test('the start-up check refuses a Redis that may evict keys or has no AOF', async () => {
  await assert.rejects(WorkflowQueue.open({ url: redis.url.replace(/\d+$/, '1') }), (e) => hasCode(e, 'not_connected'));
  const plain = await startRedis();
  try {
    await assert.rejects(WorkflowQueue.open({ url: plain.url }), /without AOF/);
    await redisCommand(plain.port, ['CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lru']);
    await assert.rejects(WorkflowQueue.open({ url: plain.url }, { requireAof: false }), /maxmemory-policy allkeys-lru; BullMQ needs noeviction/);
  } finally {
    await plain.stop();
  }
});
