/** The command line as a user meets it: help that teaches, clear errors, exit codes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot, sharedData } from '../support/data.ts';

const run = (args: string[], cwd = projectRoot) => {
  const r = spawnSync(process.execPath, [join(projectRoot, 'bin', 'conduitwatch.mjs'), ...args], { cwd, encoding: 'utf8', env: { ...process.env, CONDUITWATCH_LOG: 'silent' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

test('every command has --help with examples', () => {
  for (const cmd of ['replay', 'flows', 'simulate', 'demo', 'sql', 'runs', 'eval', 'collect', 'serve']) {
    const r = run([cmd, '--help']);
    assert.equal(r.code, 0, cmd);
    assert.match(r.out, new RegExp(`conduitwatch ${cmd}`));
    assert.match(r.out, /Example/);
  }
  const top = run(['--help']);
  assert.equal(top.code, 0);
  assert.match(top.out, /Commands:/);
});

test('an unknown command and an unknown flag name what to do', () => {
  const a = run(['replya']);
  assert.equal(a.code, 2);
  assert.match(a.err, /unknown command "replya"/);
  const b = run(['replay', 'x.pcap', '--sight', 'site.yaml']);
  assert.equal(b.code, 2);
  assert.match(b.err, /--sight/);
  assert.match(b.err, /conduitwatch replay --help/);
});

test('replay without --site, with a missing input or with a non-capture file fails with exit 2 and a fix', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cw-cli-'));
  try {
    const noSite = run(['replay', 'plant.pcap']);
    assert.equal(noSite.code, 2);
    assert.match(noSite.err, /Missing --site/);
    const missing = run(['replay', join(dir, 'nope.pcap'), '--site', 'examples/sim/site.yaml', '--no-store']);
    assert.equal(missing.code, 2);
    assert.match(missing.err, /nope\.pcap: no such file/);
    const junk = join(dir, 'junk.bin');
    writeFileSync(junk, 'hello, not a capture\n');
    const bad = run(['replay', junk, '--site', 'examples/sim/site.yaml', '--no-store']);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /junk\.bin is no flow file conduitwatch can read/);
    const badSite = join(dir, 'site.yaml');
    writeFileSync(badSite, 'site: x\nproductionCycle: 8 hours\nzones: []\n');
    const cfg = run(['replay', junk, '--site', badSite]);
    assert.equal(cfg.code, 2);
    assert.match(cfg.err, /site\.yaml:2: productionCycle: "8 hours" is not a duration/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('flows prints one FlowRecord per line with Modbus operations', (t) => {
  const pcap = sharedData(t, 'pcaps/ModbusTCP/Modbus/modbus_test.pcap');
  if (!pcap) return;
  const r = run(['flows', pcap]);
  assert.equal(r.code, 0, r.err);
  const recs = r.out.trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(recs.length > 0);
  const modbus = recs.filter((f) => f.l7 === 'modbus');
  assert.ok(modbus.length > 0, 'no modbus flows');
  for (const f of modbus) {
    assert.equal(f.dstPort, 502);
    assert.equal(typeof f.tsStart, 'number');
    assert.ok(Object.keys(f.l7Ops ?? {}).length + Object.keys(f.l7OpsRev ?? {}).length > 0);
  }
});

test('a truncated capture yields its good packets and a warning, exit 0', (t) => {
  const src = sharedData(t, 'lemay/moving_two_files_modbus_6RTU.pcap');
  if (!src) return;
  const dir = mkdtempSync(join(tmpdir(), 'cw-cli-'));
  try {
    const cut = join(dir, 'cut.pcap');
    copyFileSync(src, cut);
    truncateSync(cut, Math.floor(statSync(src).size / 2) + 7);
    const full = run(['flows', src]).out.trim().split('\n').length;
    const r = run(['flows', cut]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /cut\.pcap is truncated \(the record at byte [\d,]+ is [\d,]+ bytes long but the file ends at byte [\d,]+ \(\d+ of them are there\)\); its good packets were used/);
    const n = r.out.trim().split('\n').length;
    assert.ok(n > 0 && n <= full, `expected some but not more flows than the full file: ${n} vs ${full}`);
    const rep = run(['replay', cut, '--site', 'examples/lemay/site.yaml', '--no-store', '--json', '--quiet']);
    assert.equal(rep.code, 0, rep.err);
    assert.equal(JSON.parse(rep.out).inputs[0].truncated, true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a capture of a link type conduitwatch does not decode is an error naming it, exit 2, for flows and replay', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cw-cli-'));
  try {
    // A classic pcap header (link type 105, IEEE 802.11) and one 40-byte record.
    const hdr = Buffer.alloc(24);
    hdr.writeUInt32LE(0xa1b2c3d4, 0); hdr.writeUInt16LE(2, 4); hdr.writeUInt16LE(4, 6); hdr.writeUInt32LE(65535, 16); hdr.writeUInt32LE(105, 20);
    const rec = Buffer.alloc(16 + 40);
    rec.writeUInt32LE(1_700_000_000, 0); rec.writeUInt32LE(40, 8); rec.writeUInt32LE(40, 12);
    const file = join(dir, 'wifi.pcap');
    writeFileSync(file, Buffer.concat([hdr, rec]));
    for (const args of [['flows', file], ['replay', file, '--site', 'examples/lemay/site.yaml', '--no-store']]) {
      const r = run(args);
      assert.equal(r.code, 2, `${args[0]}: ${r.err}`);
      assert.match(r.err, /wifi\.pcap: link type 105 \(IEEE 802\.11\), named by its file header at byte 20, is not one conduitwatch decodes; it reads Ethernet/);
      assert.equal(r.out, '');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('replay --json then sql reads the alerts back from the chDB store', (t) => {
  const pcap = sharedData(t, 'lemay/send_a_fake_command_modbus_6RTU_with_operate.pcap');
  if (!pcap) return;
  const dir = mkdtempSync(join(tmpdir(), 'cw-cli-'));
  try {
    const data = join(dir, 'data');
    const r = run(['replay', pcap, '--site', 'examples/lemay/site.yaml', '--data', data, '--json', '--quiet']);
    assert.equal(r.code, 0, r.err);
    const report = JSON.parse(r.out);
    assert.ok(Array.isArray(report.alerts) && report.alerts.length > 0);
    for (const k of ['conduit', 'src', 'dst', 'proto', 'dstPort', 'tsStart', 'tsEnd', 'score', 'detector', 'explanation']) {
      assert.ok(k in report.alerts[0], `alert lacks ${k}`);
    }
    const q = run(['sql', '--data', data, '--format', 'TSV', 'SELECT count() FROM alerts']);
    assert.equal(q.code, 0, q.err);
    assert.equal(Number(q.out.trim()), report.rawAlerts);
    const text = run(['replay', pcap, '--site', 'examples/lemay/site.yaml', '--no-store', '--quiet']);
    assert.match(text.out, /Conduits:/);
    assert.match(text.out, /Incidents, most severe first/);
    assert.match(readFileSync(join(projectRoot, 'README.md'), 'utf8'), /npm test/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('before npm install the launcher says what is missing and how to install it, not a stack trace', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cw-fresh-'));
  try {
    // A checkout without node_modules: the launcher alone, where no node_modules is above it.
    mkdirSync(join(dir, 'bin'));
    copyFileSync(join(projectRoot, 'bin', 'conduitwatch.mjs'), join(dir, 'bin', 'conduitwatch.mjs'));
    const r = spawnSync(process.execPath, [join(dir, 'bin', 'conduitwatch.mjs'), '--help'], { cwd: dir, encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /its npm packages are not installed yet \(tsx is missing/);
    assert.match(r.stderr, /npm run demo .*\n.*bash scripts\/ensure-deps\.sh/);
    assert.doesNotMatch(r.stderr, /ERR_MODULE_NOT_FOUND|at .*:\d+:\d+/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
