/**
 * The approval console end to end in a real browser (Debian chromium driven by playwright-core; no
 * browser download), against the real console service: part 1's proposal from a stored simulated
 * baseline, the real what-if, BullMQ on a real redis-server, nftables in network namespaces with a
 * live HMI → PLC Modbus poll, and the hash-chained audit trail verified with `audit verify`.
 *
 * The proposer (an engineer who is also an approver) is refused; a second approver approves; the
 * status moves scheduled → watching; a write the rule lacks trips "baseline flow dropped" and the
 * rule rolls back by itself; a second promotion is aborted with the button and rolls back.
 * Screenshots are taken on every run into a temp dir; UPDATE_SCREENSHOTS=1 writes them to
 * docs/console-*.png instead (the README shows those), so a plain test run leaves the tree clean.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startAofRedis, tempDir } from '../integration/workflow/helpers.ts';
import { addPeople, apiClient, startConsole } from '../integration/workflow/support/console.ts';
import { canNetns, startPlant } from '../integration/workflow/support/netns.ts';
import { proposePlant, writePlantSite } from '../integration/workflow/support/plant.ts';

const CHROMIUM = '/usr/bin/chromium';
const DOCS_DIR = fileURLToPath(new URL('../../docs/', import.meta.url));
const BIN = fileURLToPath(new URL('../../bin/conduitwatch.mjs', import.meta.url));
const cleanups: (() => Promise<unknown> | void)[] = [];
after(async () => { for (const c of cleanups.reverse()) await c(); });

/** Launches Debian's chromium headless; under CI a missing browser fails, elsewhere it skips. */
const launch = async (t: { skip(m: string): void }): Promise<Browser | undefined> => {
  if (!existsSync(CHROMIUM)) {
    const why = `needs ${CHROMIUM} (Debian package chromium; scripts/ensure-deps.sh --system installs it as root)`;
    if (process.env.CI === 'true') throw new Error(`missing under CI: ${why}`);
    t.skip(why);
    return undefined;
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
};

const login = async (browser: Browser, url: string, who: { name: string; password: string }): Promise<Page> => {
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 860 } })).newPage();
  await page.goto(url);
  await page.fill('#login-account', who.name);
  await page.fill('#login-password', who.password);
  await page.click('#login-submit');
  await page.waitForSelector('#app:not([hidden])');
  return page;
};

/** Waits until the text of `selector` matches `re` (the console refreshes every second). */
const textMatches = async (page: Page, selector: string, re: RegExp, timeout = 30_000): Promise<string> => {
  const end = Date.now() + timeout;
  let last = '';
  while (Date.now() < end) {
    last = (await page.textContent(selector)) ?? '';
    if (re.test(last)) return last;
    await page.waitForTimeout(200);
  }
  throw new Error(`${selector} is "${last}" after ${timeout} ms; wanted ${re}`);
};
const stateIs = (page: Page, states: string[], timeout = 30_000) => textMatches(page, '#state', new RegExp(`^(${states.join('|')})$`), timeout);

test('in the browser: the proposer cannot approve, an approver can, the watch trips and rolls back, and abort rolls back', async (t) => {
  if (!canNetns(t)) return;
  const browser = await launch(t);
  if (!browser) return;
  cleanups.push(() => browser.close());
  const tmp = tempDir('console-e2e');
  cleanups.push(() => tmp.remove());
  const redis = await startAofRedis();
  cleanups.push(() => redis.stop());
  const plant = await startPlant('b');
  cleanups.push(() => plant.stop());
  const poller = plant.startPoller(200);
  const data = join(tmp.dir, 'data');
  const people = await addPeople(data);
  const proposal = proposePlant(tmp.dir, writePlantSite(tmp.dir, { start: '2026-01-01T00:00:00Z', duration: '1h' }), data);
  // The window opens a few seconds after the approval below, so the console shows "scheduled" first.
  const siteFile = writePlantSite(tmp.dir, { start: new Date(Date.now() + 15_000).toISOString(), duration: '1h' });
  const con = await startConsole({ site: siteFile, data, redis: redis.url, netns: plant.router });
  cleanups.push(() => con.stop());
  const DOCS = process.env.UPDATE_SCREENSHOTS === '1' ? DOCS_DIR : join(tmp.dir, 'shots');
  mkdirSync(DOCS, { recursive: true });

  const sub = await apiClient(con.url, people.lead.token)('POST', '/api/v1/promotions', { proposal, reason: 'three cycles clean; the HMI only reads' });
  assert.equal(sub.status, 201, JSON.stringify(sub.body));

  // The proposer sees the what-if and may hold the approver role, but approving their own is refused.
  const lead = await login(browser, con.url, people.lead);
  await stateIs(lead, ['review']);
  await textMatches(lead, '#d-whatif', /of \d+ stored flows would have been blocked/);
  await lead.screenshot({ path: join(DOCS, 'console-review.png'), fullPage: true });
  await lead.fill('#approve-reason', 'my own rule');
  await lead.click('#approve');
  await textMatches(lead, '#message', /approve refused: .*cannot approve it too/);
  assert.equal(await lead.textContent('#state'), 'review');

  // A second, named approver approves: scheduled into the window, then applied and watched.
  const pia = await login(browser, con.url, people.approver);
  await stateIs(pia, ['review']);
  await pia.fill('#approve-reason', 'what-if clean over every stored flow');
  await pia.fill('#c-watch', '10m');
  await pia.fill('#c-interval', '1s');
  await pia.click('#approve');
  // Scheduled until the window opens (a few seconds; on a slow machine the window may be open already).
  await stateIs(pia, ['scheduled', 'applying', 'watching']);
  await textMatches(pia, '#d-window', /tonight: /);
  await textMatches(pia, '#history', /scheduled — p\.tanaka: tonight/);
  await stateIs(pia, ['watching'], 60_000);
  await textMatches(pia, '#watch-status', /; [3-9]\d* checks clean/);
  await pia.screenshot({ path: join(DOCS, 'console-watch.png'), fullPage: true });

  // The HMI sends a write the rule lacks: dropped by nftables, the watch trips, the rule rolls back by itself.
  poller.send(16);
  await stateIs(pia, ['rolled_back'], 30_000);
  const outcome = await pia.textContent('#outcome');
  assert.match(outcome ?? '', /Rolled back: baseline_flow_dropped — \d+ packets of baseline edge 10\.10\.1\.10 → 10\.10\.3\.101 tcp\/502 modbus dropped/);
  await pia.screenshot({ path: join(DOCS, 'console-rolled-back.png'), fullPage: true });

  // Again, and this time an operator presses abort during the watch.
  const sub2 = await apiClient(con.url, people.lead.token)('POST', '/api/v1/promotions', { proposal, reason: 'second try' });
  assert.equal(sub2.status, 201);
  await pia.click(`#queue li[data-id="${String(sub2.body.id)}"]`);
  await stateIs(pia, ['review']);
  await pia.fill('#approve-reason', 'try again tonight');
  await pia.fill('#c-interval', '1s');
  await pia.click('#approve');
  await stateIs(pia, ['watching'], 60_000);
  await pia.fill('#abort-reason', 'line 3 HMI shows stale trends');
  await pia.click('#abort');
  await stateIs(pia, ['rolled_back'], 30_000);
  assert.match(await pia.textContent('#outcome') ?? '', /operator_abort — abort by p\.tanaka \(Pia Tanaka\): line 3 HMI shows stale trends/);

  for (const f of ['console-review.png', 'console-watch.png', 'console-rolled-back.png']) assert.ok(statSync(join(DOCS, f)).size > 10_000, f);

  await con.stop();
  const verify = JSON.parse(execFileSync(process.execPath, [BIN, 'audit', 'verify', '--data', data, '--json'], { env: { ...process.env, CONDUITWATCH_LOG: 'error' } }).toString());
  assert.equal(verify.ok, true, JSON.stringify(verify.problems?.slice(0, 3)));
  t.diagnostic(`audit verify: ${verify.entries} entries, ${verify.checkpoints} checkpoints, ok`);
});
