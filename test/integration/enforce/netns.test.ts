/**
 * nftables enforcement for real: three network namespaces made by the test — a control zone, a
 * router, a field zone — joined by veth pairs; a Modbus/TCP server (in the field zone) and client
 * (in the control zone) written for the test (support/modbus-peer.mjs). The router namespace gets
 * the conduit's table. Addresses are documentation ranges (RFC 5737) that exist only inside the
 * namespaces. Under CI=true missing root, `ip` or `nft` is a failure; elsewhere a skip with the reason.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test, type TestContext } from 'node:test';
import { fakeClock } from '../../../core/clock.ts';
import { parseSite } from '../../../core/config.ts';
import { hasCode } from '../../../core/errors.ts';
import { NftablesBackend } from '../../../enforce/nftables/backend.ts';
import { tableName } from '../../../enforce/nftables/generate.ts';
import { AuditTrail, DEFAULT_KEY_FILE, loadOrCreateSigningKey, verifyAudit } from '../../../enforce/audit.ts';
import { ruleHash, RULE_KIND, type Rule } from '../../../enforce/rules.ts';
import { applyRule, rollback, waive } from '../../../enforce/steps.ts';
import { openChdb } from '../../../store/chdb.ts';
import { migrate } from '../../../store/migrate.ts';
import { flowRow, tables } from '../../../store/schema.ts';

const PEER = fileURLToPath(new URL('./support/modbus-peer.mjs', import.meta.url));
const id = `${process.pid % 100000}`;
const NS = { ctl: `cwctl${id}`, rtr: `cwrtr${id}`, fld: `cwfld${id}` };
const HMI = '198.51.100.10';
const ROGUE = '198.51.100.11';
const PLC = '203.0.113.20';
/** A dropped request shows as no answer within this long. */
const TIMEOUT_MS = 800;

const site = parseSite(`
site: netns-plant
productionCycle: 10m
zones:
  - { name: control, sl: 2, cidrs: [198.51.100.0/24] }
  - { name: field, sl: 3, cidrs: [203.0.113.0/24] }
conduits:
  - { from: control, to: field }
`);

const ev = (cycles: number) => ({ cycles, firstSeen: 0, lastSeen: 1, flows: cycles * 10, firstSeenInAlert: '' });
/** The allow-list the baseline polls give: HMI reads holding registers and coils on the PLC. */
const rule: Rule = {
  kind: RULE_KIND, schema: 1, site: 'netns-plant', conduit: 'control->field', productionCycleMs: 600_000, minCycles: 3, parent: '',
  learnedFrom: { runs: ['netns'], from: 0, to: 1, flows: 60, fullCycles: 3, phasesSeen: [1], phases: 12 },
  entries: [{
    src: HMI, dst: PLC, proto: 6, dstPort: 502, l7: 'modbus', status: 'allow', held: [], evidence: ev(3),
    ops: [
      { op: 'read_coils', status: 'allow', held: [], evidence: ev(3) },
      { op: 'read_holding_registers', status: 'allow', held: [], evidence: ev(3) },
    ],
  }],
  waivers: [],
};

const sh = (args: string[]) => execFileSync(args[0]!, args.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

const need = (t: TestContext): boolean => {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('root');
  for (const tool of ['ip', 'nft']) {
    try { sh(['sh', '-c', `command -v ${tool}`]); } catch { missing.push(tool); }
  }
  if (missing.length === 0) return true;
  const why = `needs ${missing.join(', ')} (network namespaces and nftables; npm test installs iproute2 and nftables when run as root)`;
  if (process.env.CI === 'true') throw new Error(`missing under CI: ${why}`);
  t.skip(why);
  return false;
};

const setUp = () => {
  for (const ns of Object.values(NS)) sh(['ip', 'netns', 'add', ns]);
  const inNs = (ns: string, ...cmd: string[]) => sh(['ip', 'netns', 'exec', ns, ...cmd]);
  sh(['ip', 'link', 'add', `c${id}`, 'netns', NS.ctl, 'type', 'veth', 'peer', 'name', `rc${id}`, 'netns', NS.rtr]);
  sh(['ip', 'link', 'add', `f${id}`, 'netns', NS.fld, 'type', 'veth', 'peer', 'name', `rf${id}`, 'netns', NS.rtr]);
  inNs(NS.ctl, 'ip', 'addr', 'add', `${HMI}/24`, 'dev', `c${id}`);
  inNs(NS.ctl, 'ip', 'addr', 'add', `${ROGUE}/24`, 'dev', `c${id}`);
  inNs(NS.rtr, 'ip', 'addr', 'add', '198.51.100.1/24', 'dev', `rc${id}`);
  inNs(NS.rtr, 'ip', 'addr', 'add', '203.0.113.1/24', 'dev', `rf${id}`);
  inNs(NS.fld, 'ip', 'addr', 'add', `${PLC}/24`, 'dev', `f${id}`);
  for (const [ns, dev] of [[NS.ctl, `c${id}`], [NS.rtr, `rc${id}`], [NS.rtr, `rf${id}`], [NS.fld, `f${id}`]] as const) {
    inNs(ns, 'ip', 'link', 'set', dev, 'up');
    inNs(ns, 'ip', 'link', 'set', 'lo', 'up');
  }
  inNs(NS.ctl, 'ip', 'route', 'add', 'default', 'via', '198.51.100.1');
  inNs(NS.fld, 'ip', 'route', 'add', 'default', 'via', '203.0.113.1');
  inNs(NS.rtr, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
};

const tearDown = () => {
  for (const ns of Object.values(NS)) {
    try { sh(['ip', 'netns', 'pids', ns]).split('\n').filter(Boolean).forEach((pid) => { try { process.kill(Number(pid), 'SIGKILL'); } catch { /* gone */ } }); } catch { /* no ns */ }
    try { sh(['ip', 'netns', 'del', ns]); } catch { /* not there */ }
  }
};

interface ClientResult { connected: boolean; timeout?: boolean; results?: { fc: number; ok: boolean; timeout?: boolean }[] }

const client = async (src: string, fcs: number[]): Promise<ClientResult> => {
  const p = spawn('ip', ['netns', 'exec', NS.ctl, process.execPath, PEER, 'client', src, PLC, '502', String(TIMEOUT_MS), fcs.join(',')], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  p.stdout.on('data', (b: Buffer) => { out += b.toString(); });
  await once(p, 'close');
  return JSON.parse(out.trim()) as ClientResult;
};

/** Per function code: passed (answered) or not. */
const passed = (r: ClientResult) => (r.results ?? []).map((x) => `${x.fc}:${x.ok ? 'pass' : 'drop'}`).join(' ');

test('an applied conduit rule passes baseline polls, drops a new write and a new talker, counts them, and rollback restores passage', async (t) => {
  if (!need(t)) return;
  tearDown();
  let server: ChildProcess | undefined;
  try {
    setUp();
    server = spawn('ip', ['netns', 'exec', NS.fld, process.execPath, PEER, 'server', '502'], { stdio: ['ignore', 'pipe', 'inherit'] });
    await once(server.stdout!, 'data');

    // Monitor mode: everything passes.
    assert.equal(passed(await client(HMI, [3, 1, 3])), '3:pass 1:pass 3:pass');
    assert.equal(passed(await client(HMI, [16])), '16:pass');
    assert.equal((await client(ROGUE, [3])).connected, true);

    const backend = new NftablesBackend({ netns: NS.rtr });
    const rs = backend.generate(rule, site, ruleHash(rule));
    assert.equal(rs.target, `inet ${tableName('control->field')}`);
    await backend.validate(rs);
    const applied = await backend.apply(rs);
    assert.equal(applied.changed, true);
    assert.equal(applied.previous.existed, false);
    // Idempotent: the same ruleset again changes nothing.
    assert.equal((await backend.apply(rs)).changed, false);
    assert.equal((await backend.current(rs.target)).hash, rs.hash);

    // Enforced: baseline polls pass; a write never seen in baseline is dropped, on a connection of its own
    // and behind allowed reads on an established one; a new talker cannot connect.
    assert.equal(passed(await client(HMI, [3, 1, 3, 1])), '3:pass 1:pass 3:pass 1:pass');
    assert.equal(passed(await client(HMI, [16])), '16:drop');
    assert.equal(passed(await client(HMI, [3, 5])), '3:pass 5:drop');
    const rogue = await client(ROGUE, [3]);
    assert.equal(rogue.connected, false);
    assert.equal(rogue.timeout, true);

    const live = await backend.current(rs.target);
    const c = (n: string) => live.counters[n]?.packets ?? 0;
    t.diagnostic(`counters: ${JSON.stringify(live.counters)}`);
    assert.ok(c('e0') >= 8, `entry e0 counted ${c('e0')} packets`);
    assert.ok(c('e0_op_drop') >= 2, `function-code drops ${c('e0_op_drop')}`);
    assert.ok(c('dropped_edge') >= 1, `new-talker drops ${c('dropped_edge')}`);

    // Rollback restores passage, and a second rollback changes nothing.
    assert.equal((await backend.restore(applied.previous)).changed, true);
    assert.equal((await backend.current(rs.target)).exists, false);
    assert.equal((await backend.restore(applied.previous)).changed, false);
    assert.equal(passed(await client(HMI, [16])), '16:pass');
    assert.equal((await client(ROGUE, [3])).connected, true);
  } finally {
    server?.kill('SIGKILL');
    tearDown();
  }
});

test('a ruleset nft refuses, a missing nft, nft without root and a restore of a table that was live all leave the firewall as it was', async (t) => {
  if (!need(t)) return;
  tearDown();
  try {
    sh(['ip', 'netns', 'add', NS.rtr]);
    const backend = new NftablesBackend({ netns: NS.rtr });
    const rs = backend.generate(rule, site, ruleHash(rule));
    const first = await backend.apply(rs);
    assert.equal(first.changed, true);
    // A broken ruleset is refused by nft -c before anything is loaded; the live table stays.
    const broken = { ...rs, text: rs.text.replace('policy accept;', 'policy acept;'), hash: 'sha256:x' };
    await assert.rejects(backend.apply(broken), (e) => hasCode(e, 'unrecoverable') && /nft -c refused/.test((e as Error).message));
    assert.equal((await backend.current(rs.target)).hash, rs.hash);
    // No nft binary, or nft without root: a clear refusal, nothing changed.
    const none = new NftablesBackend({ netns: NS.rtr, nft: '/nonexistent/nft' });
    await assert.rejects(none.apply(rs), (e) => hasCode(e, 'config_invalid') && /Nothing was changed/.test((e as Error).message));
    const wrapper = join(await mkdtemp(join(tmpdir(), 'cw-nft-nobody-')), 'nft');
    await writeFile(wrapper, '#!/bin/sh\nexec setpriv --reuid=65534 --regid=65534 --clear-groups nft "$@"\n', { mode: 0o755 });
    const unprivileged = new NftablesBackend({ netns: NS.rtr, nft: wrapper });
    await assert.rejects(unprivileged.apply(broken), (e) => hasCode(e, 'config_invalid') && /needs root/.test((e as Error).message));
    await rm(dirname(wrapper), { recursive: true, force: true });
    // A second rule version replaces the table atomically; restoring its `previous` brings the first back.
    const r2: Rule = { ...rule, entries: [{ ...rule.entries[0]!, ops: [...rule.entries[0]!.ops, { op: 'write_multiple_registers', status: 'allow', held: [] }] }] };
    const rs2 = backend.generate(r2, site, ruleHash(r2));
    const second = await backend.apply(rs2);
    assert.equal(second.changed, true);
    assert.equal(second.previous.hash, rs.hash);
    assert.equal((await backend.current(rs.target)).hash, rs2.hash);
    assert.equal((await backend.restore(second.previous)).changed, true);
    assert.equal((await backend.current(rs.target)).hash, rs.hash);
    // Dry run: every check, no change.
    const dry = await backend.apply(rs2, { dryRun: true });
    assert.equal(dry.changed, false);
    assert.equal((await backend.current(rs.target)).hash, rs.hash);
  } finally {
    tearDown();
  }
});

test('the audited apply and rollback steps record requested and ok around the change, and refuse a rule that is not promotable', async (t) => {
  if (!need(t)) return;
  tearDown();
  const dir = await mkdtemp(join(tmpdir(), 'cw-apply-'));
  const store = await openChdb(dir);
  try {
    sh(['ip', 'netns', 'add', NS.rtr]);
    await migrate(store);
    // The stored baseline: the HMI's reads, and one write the rule does not allow.
    const row = (i: number, ops: Record<string, number>) => flowRow({
      id: String(i), tsStart: 1_700_000_000_000 + i * 1000, tsEnd: 1_700_000_000_100 + i * 1000, srcIp: HMI, srcPort: 40000 + i, dstIp: PLC, dstPort: 502, proto: 6,
      packets: 4, bytes: 200, packetsRev: 4, bytesRev: 200, tcpFlags: 0x1b, exporter: 'netns', observationDomain: 0, source: 'pcap', l7: 'modbus', l7Ops: ops,
    }, { conduit: 'control->field', srcZone: 'control', dstZone: 'field', runId: 'netns', observedAt: 1 });
    await store.insertRows(tables.flows.name, [row(0, { read_coils: 1 }), row(1, { read_holding_registers: 1 }), row(2, { write_multiple_registers: 1 })]);
    const clock = fakeClock('2026-01-01T00:00:00Z');
    const { key } = await loadOrCreateSigningKey(join(dir, DEFAULT_KEY_FILE));
    const audit = await AuditTrail.open({ dataDir: dir, store, signingKey: key, clock, origin: 'o' });
    const backend = new NftablesBackend({ netns: NS.rtr, clock });
    const by = { actor: 'test-engineer' };
    const hash = ruleHash(rule);
    const refused = await applyRule({ store, site, rule, hash, backend, audit, by, dataDir: dir });
    assert.equal(refused.applied, undefined);
    assert.equal((await backend.current(`inet ${tableName('control->field')}`)).exists, false);
    const waived = await waive({ store, rule, hash, waiver: { src: HMI, dst: PLC, proto: 6, dstPort: 502, op: 'write_multiple_registers', by: 'J. Operator', reason: 'recipe writes retired' }, audit, by, clock });
    const dry = await applyRule({ store, site, ...waived, backend, audit, by, dataDir: dir, dryRun: true });
    assert.equal(dry.applied!.changed, false);
    assert.equal((await backend.current(dry.applied!.target)).exists, false);
    const done = await applyRule({ store, site, ...waived, backend, audit, by, dataDir: dir });
    assert.equal(done.applied!.changed, true);
    assert.equal((await backend.current(done.applied!.target)).exists, true);
    const back = await rollback({ conduit: 'control->field', target: done.applied!.target, backend, audit, by, dataDir: dir, reason: 'test' });
    assert.equal(back.changed, true);
    assert.equal((await backend.current(done.applied!.target)).exists, false);
    const lines = (await readFile(join(dir, 'audit.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { type: string; action: string; result: string });
    assert.deepEqual(lines.filter((l) => l.type === 'entry').map((l) => `${l.action}:${l.result}`),
      ['apply:refused', 'waive:ok', 'apply:requested', 'apply:ok', 'apply:requested', 'apply:ok', 'rollback:requested', 'rollback:ok']);
    assert.equal((await verifyAudit({ dataDir: dir, publicKey: key, keyPinned: true, store })).ok, true);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
    tearDown();
  }
});
