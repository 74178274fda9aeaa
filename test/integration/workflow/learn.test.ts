/**
 * Learn is seen by the detectors: a simulated plant with a new talker alerts on it (novelty); after
 * an analyst learns that edge, a replay into the same kind of data directory does not, and neither
 * does `serve` (its detector role reads the data directory's overrides when it builds an engine).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { BaselineOverrides } from '../../../enforce/workflow/learn.ts';
import { tempDir } from './helpers.ts';
import { writePlantSite } from './support/plant.ts';

const BIN = fileURLToPath(new URL('../../../bin/conduitwatch.mjs', import.meta.url));
const tmp = tempDir('learn');
after(() => tmp.remove());
const cw = (args: string[]): string => execFileSync(process.execPath, [BIN, ...args], { maxBuffer: 64 << 20, env: { ...process.env, CONDUITWATCH_LOG: 'error' } }).toString();

test('an edge an analyst learned no longer alerts as new in the next replay', () => {
  const site = writePlantSite(tmp.dir, { start: '2026-01-01T00:00:00Z', duration: '1h' });
  const pcap = join(tmp.dir, 'nt.pcap');
  cw(['simulate', '--out', pcap, '--duration', '40m', '--cycle', '12m', '--inject', 'new_talker', '--quiet']);
  const novel = (data: string) => (JSON.parse(cw(['replay', pcap, '--site', site, '--data', data, '--json', '--quiet'])).alerts as { detector: string; src: string; dst: string }[])
    .filter((a) => a.detector === 'novelty' && a.src === '10.10.9.99' && a.dst === '10.10.3.107');
  assert.ok(novel(join(tmp.dir, 'before')).length > 0, 'the new talker alerts');
  const after2 = join(tmp.dir, 'after');
  new BaselineOverrides(after2).record('learn', { conduit: 'unknown->field', src: '10.10.9.99', dst: '10.10.3.107', proto: 6, dstPort: 502, l7: 'modbus', op: 'read_holding_registers', units: [7] }, 'a.haddad', 'the new trend logger, commissioned today', Date.now());
  assert.deepEqual(novel(after2), []);
});

/** `serve --role all` over a capture into `data`, stopped with SIGTERM once its inputs are stored. */
const serveInto = async (pcap: string, site: string, data: string): Promise<void> => {
  const p = spawn(process.execPath, [BIN, 'serve', '--site', site, '--role', 'all', '--data', data, '--http', 'off', '--query-listen', 'off', pcap],
    { env: { ...process.env, TZ: 'UTC', CONDUITWATCH_LOG: 'info', CONDUITWATCH_LOG_FORMAT: 'json' }, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  p.stderr.setEncoding('utf8').on('data', (d: string) => { err += d; });
  const exit = new Promise<number | null>((r) => p.once('exit', (code) => r(code)));
  try {
    const end = Date.now() + 120_000;
    while (!err.includes('"inputs_stored"')) {
      if (Date.now() > end || p.exitCode !== null) throw new Error(`serve did not store its inputs: ${err.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    p.kill('SIGTERM');
    assert.equal(await exit, 0, err.slice(-2000));
  } finally {
    if (p.exitCode === null) p.kill('SIGKILL');
  }
};

test('serve\'s detectors see a learned edge too: the new talker alerts before, not after', async () => {
  const site = writePlantSite(tmp.dir, { start: '2026-01-01T00:00:00Z', duration: '1h' });
  const pcap = join(tmp.dir, 'nt-serve.pcap');
  cw(['simulate', '--out', pcap, '--duration', '40m', '--cycle', '12m', '--inject', 'new_talker', '--quiet']);
  const novel = (data: string): number => Number(cw(['sql', '--data', data, '--format', 'TabSeparated', '--quiet',
    "SELECT count() FROM alerts WHERE detector = 'novelty' AND src = '10.10.9.99' AND dst = '10.10.3.107'"]).trim());
  const before = join(tmp.dir, 'serve-before');
  await serveInto(pcap, site, before);
  assert.ok(novel(before) > 0, 'the new talker alerts in serve');
  const learned = join(tmp.dir, 'serve-after');
  new BaselineOverrides(learned).record('learn', { conduit: 'unknown->field', src: '10.10.9.99', dst: '10.10.3.107', proto: 6, dstPort: 502, l7: 'modbus', op: 'read_holding_registers', units: [7] }, 'a.haddad', 'the new trend logger, commissioned today', Date.now());
  await serveInto(pcap, site, learned);
  assert.equal(novel(learned), 0);
});
