/**
 * The engine on recorded plant traffic: Lemay's "send a fake command" capture, where RTU .101 sends
 * a Modbus write (FC 5) to RTU .102 289 s in — a conduit that never existed before.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSite, SiteMap } from '../../core/config.ts';
import type { Alert } from '../../core/records.ts';
import { createEngine } from '../../cli/registry.ts';
import { readPcapFlows } from '../../ingest/pcap/index.ts';
import { sharedData } from '../support/data.ts';

const site = new SiteMap(parseSite(`
site: lemay
productionCycle: 4m
zones:
  - { name: mtu, sl: 2, assets: [192.168.1.100] }
  - { name: rtu, sl: 3, cidrs: [192.168.1.101/32, 192.168.1.102/31, 192.168.1.104/31, 192.168.1.106/32] }
conduits: [{ from: mtu, to: rtu }]
detection: { window: 10s, allowedLateness: 2s }
`));

test('flags the RTU-to-RTU write of the fake-command capture by name, and nothing on the MTU polls', async (t) => {
  const file = sharedData(t, 'lemay/send_a_fake_command_modbus_6RTU_with_operate.pcap');
  if (!file) return;
  const engine = await createEngine(site);
  const alerts: Alert[] = [];
  for await (const batch of readPcapFlows(file, { sliceMs: 10_000 })) alerts.push(...engine.ingest(batch).alerts);
  alerts.push(...engine.flush().alerts);
  const rtu = alerts.filter((a) => a.conduit === 'rtu->rtu');
  assert.equal(rtu.length, 1, alerts.map((a) => a.explanation).join('\n'));
  assert.equal(rtu[0]!.detector, 'novelty');
  assert.deepEqual([rtu[0]!.src, rtu[0]!.dst, rtu[0]!.dstPort], ['192.168.1.101', '192.168.1.102', 502]);
  assert.match(rtu[0]!.explanation, /write_single_coil/);
  assert.deepEqual(alerts.filter((a) => a.conduit === 'mtu->rtu'), [], 'the MTU polls stay quiet after a 4 min baseline');
  assert.equal(engine.stats().lateRecords, 0);
});

test('two replays of the same capture give byte-identical scores (JSON of every WindowScore)', async (t) => {
  const file = sharedData(t, 'lemay/characterization_modbus_6RTU_with_operate.pcap');
  if (!file) return;
  // Every score, learning windows and those under the floor included.
  const every = new SiteMap({ ...site.site, detection: { ...site.site.detection, scoreFloor: 0, learningScores: true } });
  const replay = async (): Promise<string> => {
    const engine = await createEngine(every);
    const scores = [];
    for await (const batch of readPcapFlows(file, { sliceMs: 10_000 })) scores.push(...engine.ingest(batch).scores);
    scores.push(...engine.flush().scores);
    return JSON.stringify(scores);
  };
  const one = await replay();
  assert.ok(one.length > 100_000, `only ${one.length} bytes of scores`);
  assert.equal(await replay(), one);
});
