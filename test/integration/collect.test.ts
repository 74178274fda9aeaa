/**
 * `conduitwatch collect` as an operator runs it: a real exporter (softflowd replaying a plant capture
 * as IPFIX) sends to the command on loopback; SIGTERM flushes and exits 0 with every record printed.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { projectRoot, requireTool, sharedData } from './../support/data.ts';

const run = promisify(execFile);

test('collect prints softflowd’s IPFIX records as JSON lines and exits 0 on SIGTERM', async (t) => {
  await collectRun(t, ['--allow-exporter', '192.0.2.0/24,127.0.0.0/8'], true);
});

test('collect --allow-exporter drops, and counts, exports from any other address', async (t) => {
  await collectRun(t, ['--allow-exporter', '192.0.2.0/24', '--allow-exporter', '10.0.0.1'], false);
});

const collectRun = async (t: TestContext, extra: string[], allowed: boolean): Promise<void> => {
  if (!(await requireTool(t, 'softflowd', 'apt-get install softflowd'))) return;
  const pcap = sharedData(t, 'lemay/CnC_uploading_exe_modbus_6RTU_with_operate.pcap');
  if (!pcap) return;
  const dir = mkdtempSync(join(tmpdir(), 'cw-collect-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const child = spawn(process.execPath, [join(projectRoot, 'bin', 'conduitwatch.mjs'), 'collect', '--listen', 'udp://127.0.0.1:0', ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CONDUITWATCH_LOG: 'silent' },
  });
  t.after(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
  let out = '';
  let err = '';
  child.stdout.on('data', (b: Buffer) => { out += b; });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`collect did not start: ${err}`)), 20_000);
    child.stderr.on('data', (b: Buffer) => {
      err += b;
      const m = /listening on udp 127\.0\.0\.1:(\d+)/.exec(err);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    });
  });
  const { stdout } = await run('softflowd', ['-r', pcap, '-n', `127.0.0.1:${port}`, '-v', '10', '-a', '-d', '-c', 'none', '-p', join(dir, 'sf.pid')], { timeout: 30_000 });
  const exported = Number(/Flows exported: \d+ \((\d+) records\)/.exec(stdout)?.[1]);
  assert.ok(exported > 0, stdout);
  // Wait (bounded) until every exported record has been printed, then stop the collector.
  for (let i = 0; i < (allowed ? 100 : 10) && out.split('\n').filter(Boolean).length < exported; i++) await new Promise((r) => setTimeout(r, 100));
  child.kill('SIGTERM');
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 0, err);
  if (!allowed) {
    assert.equal(out, '');
    assert.match(err, /exporter_denied/);
    return;
  }
  const recs = out.trim().split('\n').map((l) => JSON.parse(l) as { source: string; exporter: string; packets: number; packetsRev: number });
  assert.equal(recs.length, exported);
  // A server-side export record is turned client → server: its counters are the reverse ones.
  assert.ok(recs.every((r) => r.source === 'ipfix' && r.exporter === '127.0.0.1' && r.packets + r.packetsRev > 0));
  assert.match(err, new RegExp(`stopped: \\d+ datagrams, ${exported} records`));
};
