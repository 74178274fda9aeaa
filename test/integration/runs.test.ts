/**
 * Several runs in one store: listed newest first, `sql` scoped to the newest by default, deleted
 * cleanly; `sql` read-only unless --write and never on a directory that is not a store; Ctrl-C
 * during a replay stores what was read and says so.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot, sharedData } from '../support/data.ts';

const LAUNCHER = join(projectRoot, 'bin', 'conduitwatch.mjs');
const run = (args: string[]) => {
  const r = spawnSync(process.execPath, [LAUNCHER, ...args], { cwd: projectRoot, encoding: 'utf8', env: { ...process.env, CONDUITWATCH_LOG: 'silent' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
};
const tsv = (data: string, sql: string, ...flags: string[]) => {
  const r = run(['sql', '--data', data, '--format', 'TSV', '--quiet', ...flags, sql]);
  assert.equal(r.code, 0, r.err);
  return r.out.trim();
};

test('two replays in one store are two runs: sql reads the newest, --run picks one or all, delete removes one run everywhere', (t) => {
  const fake = sharedData(t, 'lemay/send_a_fake_command_modbus_6RTU_with_operate.pcap');
  const chara = sharedData(t, 'lemay/characterization_modbus_6RTU_with_operate.pcap');
  if (!fake || !chara) return;
  const dir = mkdtempSync(join(tmpdir(), 'cw-runs-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const data = join(dir, 'data');
  const reports = [fake, chara].map((pcap) => {
    const r = run(['replay', pcap, '--site', 'examples/lemay/site.yaml', '--data', data, '--json', '--quiet']);
    assert.equal(r.code, 0, r.err);
    return JSON.parse(r.out) as { runId: string; flows: number; rawAlerts: number; incidents: { id: string; severity: string }[] };
  });
  const [first, second] = reports as [typeof reports[0], typeof reports[0]];
  assert.notEqual(first.runId, second.runId);

  const list = JSON.parse(run(['runs', 'list', '--data', data, '--json']).out) as { runId: string; status: string; flows: number; alerts: number; incidents: number }[];
  assert.deepEqual(list.map((r) => [r.runId, r.status, r.flows, r.alerts, r.incidents]),
    [second, first].map((r) => [r.runId, 'complete', r.flows, r.rawAlerts, r.incidents.length]), 'newest first, with what each run stored');

  // The README's kind of query, with no run named: the newest run only, and a note saying so.
  const scoped = run(['sql', '--data', data, '--format', 'TSV', 'SELECT count() FROM alerts']);
  assert.equal(scoped.out.trim(), String(second.rawAlerts));
  assert.match(scoped.err, new RegExp(`reading run ${second.runId} \\(the newest of 2\\); --run all`));
  assert.equal(tsv(data, 'SELECT count() FROM flows'), String(second.flows));
  assert.equal(tsv(data, 'SELECT count() FROM flows', '--run', 'all'), String(first.flows + second.flows));
  assert.equal(tsv(data, 'SELECT count() FROM flows', '--run', first.runId.slice(0, 30)), String(first.flows), 'a unique prefix names a run');
  assert.equal(tsv(data, 'SELECT count() FROM incidents FINAL'), String(second.incidents.length));
  assert.equal(tsv(data, `SELECT count() FROM alerts WHERE severity = '' OR incident = ''`), '0', 'every stored alert has a severity and an incident');
  const unknown = run(['sql', '--data', data, '--run', 'run-nope', 'SELECT 1']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /--run run-nope: no such run in this store.*Runs, newest first: /s);

  const show = run(['runs', 'show', first.runId, '--data', data]);
  assert.equal(show.code, 0, show.err);
  assert.match(show.out, new RegExp(`Run ${first.runId}: complete`));
  assert.match(show.out, /most severe incidents:\n {4}critical: 1 alert from 192\.168\.1\.101 on conduit field->field/, 'the fake write leads its run');

  const del = run(['runs', 'delete', first.runId, '--data', data]);
  assert.equal(del.code, 0, del.err);
  assert.match(del.out, new RegExp(`Deleted run ${first.runId}: .*flows ${first.flows.toLocaleString('en-US')}`));
  assert.equal(tsv(data, `SELECT count() FROM flows WHERE run_id = '${first.runId}'`, '--run', 'all'), '0');
  assert.equal(tsv(data, 'SELECT count() FROM flows', '--run', 'all'), String(second.flows), 'the other run is untouched');
  assert.deepEqual(JSON.parse(run(['runs', 'list', '--data', data, '--json']).out).map((r: { runId: string }) => r.runId), [second.runId]);
});

test('sql is read-only unless --write, and refuses a directory that is not a store without writing to it', (t) => {
  const fake = sharedData(t, 'lemay/send_a_fake_command_modbus_6RTU_with_operate.pcap');
  if (!fake) return;
  const dir = mkdtempSync(join(tmpdir(), 'cw-sqlro-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const data = join(dir, 'data');
  assert.equal(run(['replay', fake, '--site', 'examples/lemay/site.yaml', '--data', data, '--quiet']).code, 0);
  const refused: [string, RegExp][] = [
    ['DROP TABLE alerts', /DROP is not allowed.*read-only; pass --write/],
    ['SELECT 1; DROP TABLE alerts', /Multi-statements are not allowed/],
    ["INSERT INTO alerts (id) VALUES ('x')", /INSERT is not allowed/],
    ["SELECT * FROM file('/etc/passwd')", /readonly mode.*pass --write/s],
    ["SELECT 1 INTO OUTFILE '/tmp/cw-sql-outfile.txt'", /INTO OUTFILE/],
  ];
  assert.ok(refused.length > 0);
  for (const [sql, why] of refused) {
    const r = run(['sql', '--data', data, sql]);
    assert.equal(r.code, 2, `${sql}: ${r.err}`);
    assert.match(r.err, why, sql);
  }
  assert.notEqual(tsv(data, 'SELECT count() FROM alerts'), '0', 'the alerts table is still there');
  const w = run(['sql', '--data', data, '--write', "ALTER TABLE alerts UPDATE explanation = 'edited' WHERE 1 SETTINGS mutations_sync = 1"]);
  assert.equal(w.code, 0, w.err);
  assert.equal(tsv(data, "SELECT countIf(explanation != 'edited') FROM alerts"), '0', '--write writes');

  const plain = join(dir, 'not-a-store');
  mkdirSync(plain);
  writeFileSync(join(plain, 'notes.txt'), 'mine\n');
  const r = run(['sql', '--data', plain, 'SELECT 1']);
  assert.equal(r.code, 2);
  assert.match(r.err, /not-a-store is not a conduitwatch store .* left as it is/);
  assert.deepEqual(readdirSync(plain), ['notes.txt'], 'no engine files were created');
});

test('Ctrl-C during a replay scores and stores what was read, says so, and exits 130', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cw-int-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const pcap = join(dir, 'plant.pcap');
  const sim = run(['simulate', '--out', pcap, '--duration', '8h', '--quiet']);
  assert.equal(sim.code, 0, sim.err);
  const data = join(dir, 'data');
  const child = spawn(process.execPath, [LAUNCHER, 'replay', pcap, '--site', 'examples/sim/site.yaml', '--data', data, '--json'],
    { cwd: projectRoot, env: { ...process.env, CONDUITWATCH_LOG: 'silent' } });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => { out += c; });
  // Progress lines (every 10 % when stderr is not a terminal): interrupt at the first one.
  child.stderr.setEncoding('utf8').on('data', (c: string) => {
    err += c;
    if (/replay \d+% /.test(err) && !child.killed) child.kill('SIGINT');
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 130, err);
  assert.match(err, /SIGINT: stopping; scoring and storing what was read/);
  assert.match(err, /interrupted: [\d,]+ flows read \(\d+% of the input\) were scored and stored in .* \(status interrupted\)/);
  const report = JSON.parse(out) as { runId: string; flows: number; interrupted: { bytesRead: number; bytesTotal: number } };
  assert.ok(report.interrupted.bytesRead < report.interrupted.bytesTotal, 'stopped before the end');
  assert.ok(report.flows > 0);
  assert.equal(tsv(data, 'SELECT count() FROM flows'), String(report.flows), 'every flow read is stored');
  const [row] = JSON.parse(run(['runs', 'list', '--data', data, '--json']).out) as { runId: string; status: string; note: string }[];
  assert.equal(row!.runId, report.runId);
  assert.equal(row!.status, 'interrupted');
  assert.match(row!.note, /what was read is stored/);
});
