/**
 * Real recorded plant traffic (Lemay & Fernandez 2016): at t ≈ 289.4 s RTU 192.168.1.101 sends a
 * Modbus FC 5 write (write single coil) to RTU 192.168.1.102:502, a conduit never seen before.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fakeClock } from '../../core/clock.ts';
import { loadSite } from '../../core/config.ts';
import { runReplay } from '../../cli/replay.ts';
import { EXAMPLES_DIR } from '../../cli/demo.ts';
import { join } from 'node:path';
import { sharedData } from '../support/data.ts';

test('replaying the fake-command capture alerts the RTU .101 → .102 FC 5 write near t = 289 s', async (t) => {
  const pcap = sharedData(t, 'lemay/send_a_fake_command_modbus_6RTU_with_operate.pcap');
  if (!pcap) return;
  const site = loadSite(join(EXAMPLES_DIR, 'lemay', 'site.yaml'));
  const report = await runReplay({ inputs: [pcap], site, clock: fakeClock(0) });
  assert.ok(report.firstTs !== undefined);
  const hits = report.alerts.filter((a) => a.src === '192.168.1.101' && a.dst === '192.168.1.102' && a.dstPort === 502);
  assert.ok(hits.length > 0, `no alert for 192.168.1.101 → 192.168.1.102:502; alerts: ${report.alerts.map((a) => `${a.src}->${a.dst}:${a.dstPort} ${a.detector}`).join(', ')}`);
  const at = (hits[0]!.tsStart - report.firstTs) / 1000;
  const until = (hits[0]!.tsEnd - report.firstTs) / 1000;
  assert.ok(at <= 289.4 + 1 && until >= 289.4 - 1, `alert window ${at}–${until} s does not cover t = 289.4 s`);
  assert.ok(hits.some((a) => /write_single_coil/.test(a.explanation)), `no alert names the write: ${hits.map((a) => a.explanation).join(' | ')}`);
});
