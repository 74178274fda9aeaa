/**
 * Rules on a shared capture (Lemay & Fernandez 2016, send_a_fake_command: 670 s, MTU 192.168.1.100
 * polls six RTUs with FC 1/2/3 every 10 s; operator writes FC 5 now and then; at t = 289 s RTU .101
 * writes to RTU .102). examples/lemay/site.yaml: productionCycle 2m, detection.window 10s,
 * enforce.minCycles 3 (default).
 *
 * Hand-computed expectation, from the capture's flows (cycle k = [k·2 min, (k+1)·2 min) since the epoch):
 * - control->field has windows scored from 17:35:20 to 17:46:40: cycles 17:36–17:38 … 17:44–17:46
 *   are complete (12 windows each) → 5 full cycles ≥ 3, every phase seen → READY.
 * - Its FC 5 writes: to .101 at 17:35:31, 17:40:46, 17:43:55, 17:45:06 → cycles :34, :40, :42, :44 = 4
 *   cycles (allowed); to .102 at 17:36:18, 17:38:38, 17:42:16 → 3 cycles (allowed); to .103 once at
 *   17:36:47.085 → 1 cycle (held). One NetBIOS datagram .100:137 → .104:137/udp at 17:37:02.003 →
 *   1 cycle (held). No alert is open on control->field. So the what-if blocks exactly those two flows,
 *   both outside alerts → not promotable until waived.
 * - field->field (the .101 → .102 write at 17:40:10) has windows from 17:40:10: cycles 17:42 and 17:44
 *   complete, 17:40 one window short → 2 of 3 cycles; its one flow is in phase 2 → REFUSED, "phases 1,
 *   3–12 of 12 never seen".
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { EXAMPLES_DIR } from '../../../cli/demo.ts';
import { main } from '../../../cli/main.ts';
import { runReplay } from '../../../cli/replay.ts';
import { fakeClock } from '../../../core/clock.ts';
import { loadSite } from '../../../core/config.ts';
import { AuditTrail, DEFAULT_KEY_FILE, loadOrCreateSigningKey, verifyAudit } from '../../../enforce/audit.ts';
import { resolveRuns, storedRuns } from '../../../enforce/baseline.ts';
import { auditedWhatIf, propose, waive } from '../../../enforce/steps.ts';
import { whatIfJson } from '../../../enforce/whatif.ts';
import { openChdb } from '../../../store/chdb.ts';
import { sharedData } from '../../support/data.ts';

const SITE_FILE = join(EXAMPLES_DIR, 'lemay', 'site.yaml');

/** Runs the CLI in-process and captures stdout. */
const cli = async (args: string[]): Promise<{ code: number; out: string }> => {
  let out = '';
  const write = process.stdout.write.bind(process.stdout);
  const errWrite = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string) => { out += s; return true; }) as typeof process.stdout.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    return { code: await main(args), out };
  } finally {
    process.stdout.write = write;
    process.stderr.write = errWrite;
  }
};

test('on the fake-command capture control->field is proposed, field->field refused with its reasons, and the what-if blocks exactly the hand-computed flows', async (t) => {
  const pcap = sharedData(t, 'lemay/send_a_fake_command_modbus_6RTU_with_operate.pcap');
  if (!pcap) return;
  const site = loadSite(SITE_FILE);
  const dir = await mkdtemp(join(tmpdir(), 'cw-rules-lemay-'));
  try {
    // Two replays of the same capture: two runs; the default reads the newest only.
    await runReplay({ inputs: [pcap], site, clock: fakeClock('2026-01-01T00:00:00Z'), dataDir: dir });
    await runReplay({ inputs: [pcap], site, clock: fakeClock('2026-01-02T00:00:00Z'), dataDir: dir });
    const store = await openChdb(dir);
    const clock = fakeClock('2026-01-03T00:00:00Z');
    const { key } = await loadOrCreateSigningKey(join(dir, DEFAULT_KEY_FILE));
    const audit = await AuditTrail.open({ dataDir: dir, store, signingKey: key, clock, origin: 'conduitwatch/lemay' });
    const by = { actor: 'test-engineer', role: 'engineer' };
    try {
      const runs = await storedRuns(store, 'control->field');
      assert.equal(runs.length, 2);
      assert.deepEqual(await resolveRuns(store, 'control->field'), [runs[0]!.runId]);
      assert.match(runs[0]!.runId, /^run-2026-01-02/);

      const ok = await propose({ store, site, conduit: 'control->field', audit, by, clock });
      assert.equal(ok.readiness.ready, true, ok.readiness.reasons.join('; '));
      assert.equal(ok.readiness.fullCycles, 5);
      assert.equal(ok.readiness.flows, 1233, 'one run read, not both');
      const rule = ok.rule!;
      const summary = rule.entries.map((e) => `${e.src}>${e.dst}/${e.proto}/${e.dstPort} ${e.status}${e.ops.length ? ` ${e.ops.map((o) => `${o.op}:${o.status}`).join(',')}` : ''}`);
      assert.deepEqual(summary, [
        '192.168.1.100>192.168.1.101/6/502 allow read_coils:allow,read_discrete_inputs:allow,read_holding_registers:allow,write_single_coil:allow',
        '192.168.1.100>192.168.1.102/6/502 allow read_coils:allow,read_discrete_inputs:allow,read_holding_registers:allow,write_single_coil:allow',
        '192.168.1.100>192.168.1.103/6/502 allow read_coils:allow,read_discrete_inputs:allow,read_holding_registers:allow,write_single_coil:hold',
        '192.168.1.100>192.168.1.104/6/502 allow read_coils:allow,read_discrete_inputs:allow,read_holding_registers:allow',
        '192.168.1.100>192.168.1.104/17/137 hold',
        '192.168.1.100>192.168.1.105/6/502 allow read_coils:allow,read_discrete_inputs:allow,read_holding_registers:allow',
        '192.168.1.100>192.168.1.106/6/502 allow read_coils:allow,read_discrete_inputs:allow,read_holding_registers:allow',
      ]);
      const w101 = rule.entries[0]!.ops.find((o) => o.op === 'write_single_coil')!;
      assert.deepEqual({ cycles: w101.evidence!.cycles, flows: w101.evidence!.flows }, { cycles: 4, flows: 4 });

      const refused = await propose({ store, site, conduit: 'field->field', audit, by, clock });
      assert.equal(refused.rule, undefined);
      assert.equal(refused.readiness.fullCycles, 2);
      assert.deepEqual(refused.readiness.phasesSeen, [2]);
      assert.match(refused.readiness.reasons.join('\n'), /^2 of 3 production cycles covered.*cycle 3 ends 2015-02-24T17:48:00Z/m);
      assert.match(refused.readiness.reasons.join('\n'), /^phases 1, 3–12 of 12 never seen/m);

      const wi = await auditedWhatIf({ store, rule, hash: ok.hash!, audit, by });
      assert.equal(wi.flowsEvaluated, 1233);
      assert.deepEqual(wi.blocked.map((b) => `${new Date(b.tsStart).toISOString()} ${b.src}:${b.srcPort}>${b.dst}/${b.proto}/${b.dstPort} ${b.op}`), [
        '2015-02-24T17:36:47.085Z 192.168.1.100:3370>192.168.1.103/6/502 write_single_coil',
        '2015-02-24T17:37:02.003Z 192.168.1.100:137>192.168.1.104/17/137 ',
      ]);
      assert.match(wi.blocked[0]!.reason, /op write_single_coil on 192\.168\.1\.100 → 192\.168\.1\.103 tcp\/502 is held for review: seen in 1 of the 3 production cycles/);
      assert.match(wi.blocked[1]!.reason, /edge 192\.168\.1\.100 → 192\.168\.1\.104 udp\/137 is held for review/);
      assert.equal(wi.promotable, false);
      // Deterministic: the same store and rule give byte-identical JSON.
      assert.equal(whatIfJson(await auditedWhatIf({ store, rule, hash: ok.hash!, audit, by })), whatIfJson(wi));

      // Waive both blocked flows by name and reason: the new version is promotable.
      let v = { rule, hash: ok.hash! };
      v = await waive({ store, ...v, waiver: { src: '192.168.1.100', dst: '192.168.1.104', proto: 17, dstPort: 137, op: '', by: 'J. Operator', reason: 'NetBIOS name query; RTUs do not need it' }, audit, by, clock });
      v = await waive({ store, ...v, waiver: { src: '192.168.1.100', dst: '192.168.1.103', proto: 6, dstPort: 502, op: 'write_single_coil', by: 'J. Operator', reason: 'writes to RTU 103 are retired' }, audit, by, clock });
      const after = await auditedWhatIf({ store, ...v, audit, by });
      assert.equal(after.flowsBlocked, 2);
      assert.equal(after.promotable, true);
      assert.equal(v.rule.parent !== '', true);

      // field->field: the RTU-to-RTU write was first seen under the novelty alert, so its learned entry is held.
      const ff = await auditedWhatIf({ store, rule: { ...rule, conduit: 'field->field', entries: [] }, hash: 'sha256:empty', audit, by });
      assert.equal(ff.flowsBlocked, 1);
      assert.notEqual(ff.blocked[0]!.inAlert, '');
      assert.equal(ff.promotable, true);

      const report = await verifyAudit({ dataDir: dir, publicKey: key, keyPinned: true, store });
      assert.equal(report.ok, true, JSON.stringify(report.problems));
      const actions = (await readFile(join(dir, 'audit.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { type: string; action?: string; result?: string })
        .filter((l) => l.type === 'entry').map((l) => `${l.action}:${l.result}`);
      assert.deepEqual(actions, ['propose:ok', 'propose:refused', 'whatif:ok', 'whatif:ok', 'waive:ok', 'waive:ok', 'whatif:ok', 'whatif:ok']);
    } finally {
      await store.close();
    }

    // The CLI on the same store: the what-if JSON is byte-identical run to run; a bad rule file names its line.
    const args = ['rules', 'whatif', '--conduit', 'control->field', '--site', SITE_FILE, '--data', dir, '--json', '--actor', 'cli-test'];
    const a = await cli(args);
    const b = await cli(args);
    assert.equal(a.code, 0, a.out);
    assert.equal(a.out, b.out);
    assert.equal((JSON.parse(a.out) as { promotable: boolean }).promotable, true);
    const verify = await cli(['audit', 'verify', '--data', dir, '--json']);
    assert.equal(verify.code, 0, verify.out);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
