/**
 * The new user's path, as processes: a capture and no site.yaml → `inventory --suggest-site` →
 * `replay --site` on the draft → `report evidence`; and the commands' --help.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot, sharedData } from '../support/data.ts';

const run = (args: string[]) => {
  const r = spawnSync(process.execPath, [join(projectRoot, 'bin', 'conduitwatch.mjs'), ...args], { cwd: projectRoot, encoding: 'utf8', env: { ...process.env, CONDUITWATCH_LOG: 'silent' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

test('inventory and report have --help with examples, and replay without --site points to inventory', () => {
  for (const cmd of ['inventory', 'report']) {
    const r = run([cmd, '--help']);
    assert.equal(r.code, 0, cmd);
    assert.match(r.out, new RegExp(`conduitwatch ${cmd}`));
    assert.match(r.out, /Examples:/);
  }
  assert.match(run(['--help']).out, /inventory +list every asset/);
  const noSite = run(['replay', 'capture.pcap']);
  assert.equal(noSite.code, 2);
  assert.match(noSite.err, /conduitwatch inventory capture\.pcap --suggest-site site\.yaml/);
  const bad = run(['report', 'evidense']);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /Unknown report "evidense"/);
});

test('a capture alone: inventory suggests a site, replay runs on it unchanged, the evidence report exists', (t) => {
  const pcap = sharedData(t, 'lemay/send_a_fake_command_modbus_6RTU_with_operate.pcap');
  if (!pcap) return;
  const dir = mkdtempSync(join(tmpdir(), 'cw-inv-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const site = join(dir, 'site.yaml');
  const data = join(dir, 'data');
  const inv = run(['inventory', pcap, '--suggest-site', site, '--json', '--quiet']);
  assert.equal(inv.code, 0, inv.err);
  const report = JSON.parse(inv.out);
  const mtu = report.assets.find((a: { ip: string }) => a.ip === '192.168.1.100');
  assert.deepEqual([mtu.role, mtu.mac, typeof mtu.confidence, Array.isArray(mtu.evidence), typeof mtu.firstSeen, typeof mtu.lastSeen], ['hmi_scada', '00:0c:29:ee:b7:84', 'number', true, 'number', 'number']);
  assert.match(readFileSync(site, 'utf8'), /- from: control\n {4}to: field/);
  const replay = run(['replay', pcap, '--site', site, '--data', data, '--json', '--quiet']);
  assert.equal(replay.code, 0, replay.err);
  const r = JSON.parse(replay.out);
  assert.ok(r.conduits.some((c: { conduit: string; declared: boolean }) => c.conduit === 'control->field' && c.declared));
  assert.ok(r.inventory.alerts.some((a: { src: string; detector: string }) => a.src === '192.168.1.101' && a.detector === 'inventory'));
  const md = run(['report', 'evidence', '--site', site, '--data', data]);
  assert.equal(md.code, 0, md.err);
  assert.match(md.out, /^# IEC 62443 evidence — site send_a_fake_command_modbus_6RTU_with_operate/);
  assert.match(md.out, /\| field \| 3 \| 192\.168\.1\.101 \(PLC\/RTU\)/);
  assert.match(md.out, /\| control->field \| yes \| \d+ windows/);
  const json = JSON.parse(run(['report', 'evidence', '--site', site, '--data', data, '--format', 'json']).out);
  const sr = (id: string) => json.srs.find((s: { sr: string }) => s.sr === id);
  assert.equal(sr('SR 6.2').status, 'evidence');
  assert.equal(sr('SR 7.8').status, 'partial', 'assets without a device identity in this capture');
  assert.equal(sr('SR 5.2').status, 'none');
  assert.match(sr('SR 5.2').detail, /not enforced by this installation/);
  const cf = json.conduits.find((c: { conduit: string }) => c.conduit === 'control->field');
  assert.equal(cf.phasesSeen, 12);
  assert.ok(cf.cyclesCovered > 1);
  assert.match(cf.ruleState, /no rule proposed/);
  // A rule proposed by the enforcement steps shows up, with its audit entry verified.
  const propose = run(['rules', 'propose', '--conduit', 'control->field', '--site', site, '--data', data]);
  assert.equal(propose.code, 0, propose.err);
  const after = JSON.parse(run(['report', 'evidence', '--site', site, '--data', data, '--format', 'json']).out);
  assert.match(after.conduits.find((c: { conduit: string }) => c.conduit === 'control->field').ruleState, /^1 rule version\(s\); last step propose ok by /);
  assert.equal(after.srs.find((s: { sr: string }) => s.sr === 'SR 2.8').status, 'evidence');
  assert.match(after.audit, /1 audit records, chain verified/);
});
