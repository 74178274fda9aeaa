/**
 * Crashes on the real parts: the console service (API + workflow worker + audit trail, one process)
 * SIGKILLed during apply (after the known-good save, and after nft loaded the rule), during the watch
 * and during the rollback, and Redis restarted mid-watch — on a real redis-server (AOF), real nftables
 * in network namespaces with a Modbus/TCP HMI polling a PLC through the router namespace, and part 1's
 * hash-chained audit trail. Every promotion must end confirmed (rule live) or rolled back (known-good
 * live), never half-applied, and `verifyAudit` must pass afterwards.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseSite } from '../../../core/config.ts';
import { verifyAudit } from '../../../enforce/audit.ts';
import { NftablesBackend } from '../../../enforce/nftables/backend.ts';
import { normalizeRule, ruleHash, type Rule } from '../../../enforce/rules.ts';
import type { Promotion } from '../../../enforce/workflow/promotion.ts';
import { openChdb } from '../../../store/chdb.ts';
import { startAofRedis, tempDir } from './helpers.ts';
import { addPeople, apiClient, startConsole, type ConsoleProcess } from './support/console.ts';
import { canNetns, startPlant } from './support/netns.ts';
import { proposePlant, writePlantSite } from './support/plant.ts';

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => { for (const c of cleanups.reverse()) await c(); });

const waitFor = async <T>(what: string, f: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> => {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const v = await f().catch(() => undefined);
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
};

test('kill -9 during apply, during the watch and during the rollback, and a Redis restart: each promotion ends confirmed or rolled back and the audit chain verifies', async (t) => {
  if (!canNetns(t)) return;
  const tmp = tempDir('crash');
  cleanups.push(() => tmp.remove());
  const redis = await startAofRedis();
  cleanups.push(() => redis.stop());
  const plant = await startPlant('k');
  cleanups.push(() => plant.stop());
  const poller = plant.startPoller(200);
  const data = join(tmp.dir, 'data');
  const people = await addPeople(data);
  const siteFile = writePlantSite(tmp.dir, { start: new Date(Date.now() - 1_000).toISOString(), duration: '1h' });
  const site = parseSite(readFileSync(siteFile, 'utf8'));
  const proposal = proposePlant(tmp.dir, siteFile, data);
  const nft = new NftablesBackend({ netns: plant.router });
  const rule = normalizeRule(proposal.rule as Rule);
  const target = nft.generate(rule, site, ruleHash(rule)).target;
  const liveHash = async () => (await nft.current(target)).hash;
  const ruleTableHash = nft.generate(rule, site, ruleHash(rule)).hash;

  const spec = {
    site: siteFile, data, redis: redis.url, netns: plant.router,
    env: { CONDUITWATCH_FAILPOINTS: 'apply.after-save,apply.after-apply,watch.after-tick,rollback.after-restore', CONDUITWATCH_FAILPOINT_DIR: tmp.dir },
  };
  let con: ConsoleProcess = await startConsole(spec);
  cleanups.push(() => con.stop());
  const crashes: string[] = [];
  /** The console died at a failpoint: the table is all old or all new, then start it again. */
  const expectCrash = async (point: string) => {
    const e = await Promise.race([con.exited, new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`the console was not killed at ${point} within 60 s:\n${con.log().slice(-2000)}`)), 60_000).unref())]);
    assert.equal(e.signal, 'SIGKILL', `the console should have been killed at ${point}; it exited ${e.code}:\n${con.log().slice(-2000)}`);
    assert.ok(existsSync(join(tmp.dir, `failpoint-${point}`)), `killed at ${point}`);
    assert.ok(['', ruleTableHash].includes(await liveHash()), 'never half-applied');
    crashes.push(point);
    con = await startConsole(spec);
  };

  const eng = () => apiClient(con.url, people.engineer.token);
  const apr = () => apiClient(con.url, people.approver.token);
  const state = async (id: string) => (await apr()<Promotion>('GET', `/api/v1/promotions/${id}`)).body;
  const until = (id: string, states: string[]) => waitFor(`${id} in ${states.join('|')}`, async () => {
    const p = await state(id);
    return states.includes(p.state) ? p : undefined;
  });

  // Promotion 1 crashes at every point and ends rolled back by a tripped criterion.
  const sub = await eng()('POST', '/api/v1/promotions', { proposal, reason: 'HMI reads only' });
  assert.equal(sub.status, 201, JSON.stringify(sub.body));
  const id = String(sub.body.id);
  await until(id, ['review']);
  const ok = await apr()('POST', `/api/v1/promotions/${id}/approve`, { reason: 'clean what-if', criteria: { watch: '5m', interval: '300ms', alertCount: 5, alertWithin: '1m' } });
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  await expectCrash('apply.after-save');
  await expectCrash('apply.after-apply');
  await expectCrash('watch.after-tick');
  await until(id, ['watching']);
  assert.equal(await liveHash(), ruleTableHash, 'the rule is live while watched');
  const answered = poller.stats().answered;
  await redis.restart();
  await waitFor('polls answered through the live rule', async () => (poller.stats().answered > answered + 5 ? true : undefined));
  poller.send(16); // a write the rule lacks, on a baseline edge: dropped, and the watch sees it
  await expectCrash('rollback.after-restore');
  const p1 = await until(id, ['rolled_back', 'confirmed']);
  assert.equal(p1.state, 'rolled_back');
  assert.equal(p1.outcome?.trip?.criterion, 'baseline_flow_dropped');
  assert.ok(Number(p1.outcome?.trip?.figures.droppedPackets) >= 1);
  assert.equal(await liveHash(), '', 'the known-good ruleset (no table) is back');
  assert.deepEqual(crashes, ['apply.after-save', 'apply.after-apply', 'watch.after-tick', 'rollback.after-restore']);

  // Promotion 2 of the same rule (a new promotion id) goes through clean, across a Redis restart, and stays live.
  const sub2 = await eng()('POST', '/api/v1/promotions', { proposal, reason: 'again, the HMI will not write' });
  const id2 = String(sub2.body.id);
  assert.notEqual(id2, id);
  await until(id2, ['review']);
  await apr()('POST', `/api/v1/promotions/${id2}/approve`, { reason: 'ok', criteria: { watch: '8s', interval: '300ms' } });
  await until(id2, ['watching']);
  await redis.restart();
  const p2 = await until(id2, ['rolled_back', 'confirmed']);
  assert.equal(p2.state, 'confirmed', JSON.stringify(p2.outcome));
  assert.equal(await liveHash(), ruleTableHash);

  await con.stop();
  const store = await openChdb(data);
  try {
    const report = await verifyAudit({ dataDir: data, store });
    assert.equal(report.ok, true, JSON.stringify(report.problems.slice(0, 3)));
    assert.equal(report.tableChecked, true);
    t.diagnostic(`audit: ${report.entries} entries, ${report.checkpoints} checkpoints; crashes: ${crashes.length} kill -9 + 2 Redis restarts`);
    const lines = readFileSync(join(data, 'audit.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
    const rb = lines.find((l) => l.action === 'rollback' && l.result === 'ok' && l.target === id);
    assert.match(rb.reason, /^baseline_flow_dropped: \d+ packets of baseline edge 10\.10\.1\.10 → 10\.10\.3\.101 tcp\/502 modbus dropped/);
    assert.ok(lines.filter((l) => l.action === 'apply' && l.result === 'requested' && l.target === id).length >= 3, 'every apply attempt is in the trail');
  } finally {
    await store.close();
  }
});
