/**
 * The inventory on the shared data sets:
 *  - Lemay: the MTU is the master, the six RTUs outstations, and the attacking RTU (.101) is flagged
 *    by its new behaviour in every capture (a change alert, or a flag on its asset);
 *  - every data set (lemay, but-iec104, but-mms from their eval specs' baseline inputs; each ITI sample
 *    capture): the suggested site parses, `replay` runs on it unchanged, and the eval with the suggested
 *    site is reported beside the committed result of the hand-written site;
 *  - a capture with no industrial traffic gives an inventory and a one-zone site, not an error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fakeClock } from '../../core/clock.ts';
import { loadSite, SiteMap } from '../../core/config.ts';
import type { EvalResult } from '../../cli/eval/run.ts';
import { runEval } from '../../cli/eval/run.ts';
import { loadEvalSpec } from '../../cli/eval/spec.ts';
import { runInventory } from '../../cli/inventory.ts';
import { runReplay } from '../../cli/replay.ts';
import { renderSiteYaml } from '../../inventory/suggest.ts';
import { pcapFile, tempFile, ipv4, tcpSegment, ether, TCP } from '../unit/ingest/pcap/frames.ts';
import { projectRoot, sharedData, sharedDataDir } from '../support/data.ts';

const LEMAY = ['send_a_fake_command_modbus_6RTU_with_operate', 'characterization_modbus_6RTU_with_operate', 'CnC_uploading_exe_modbus_6RTU_with_operate',
  'exploit_ms08_netapi_modbus_6RTU_with_operate', 'moving_two_files_modbus_6RTU'];
const MTU = '192.168.1.100';
const RTUS = ['192.168.1.101', '192.168.1.102', '192.168.1.103', '192.168.1.104', '192.168.1.105', '192.168.1.106'];
const ATTACKER = '192.168.1.101';

test('Lemay: the MTU is the master, the six RTUs are outstations, the attacking RTU is flagged by its new behaviour', async (t) => {
  const site = new SiteMap(loadSite(join(projectRoot, 'examples', 'lemay', 'site.yaml')));
  assert.ok(LEMAY.length === 5);
  for (const name of LEMAY) {
    const file = sharedData(t, `lemay/${name}.pcap`);
    if (!file) return;
    const r = await runInventory({ inputs: [file], site, quiet: true });
    const role = (ip: string) => r.assets.find((a) => a.ip === ip);
    t.diagnostic(`${name}: ${[MTU, ...RTUS].map((ip) => `${ip} ${role(ip)?.role} ${role(ip)?.confidence}`).join(', ')}`);
    assert.equal(role(MTU)?.role, 'hmi_scada', `${name}: ${role(MTU)?.evidence.join('; ')}`);
    for (const ip of RTUS) assert.equal(role(ip)?.role, 'plc_rtu', `${name} ${ip}: ${role(ip)?.evidence.join('; ')}`);
    const flagged = [...(role(ATTACKER)?.flags ?? []), ...r.changes.filter((c) => c.explanation.includes(ATTACKER)).map((c) => `${c.kind}: ${c.explanation}`)];
    t.diagnostic(`${name}: ${ATTACKER} flagged: ${flagged.join(' | ')}`);
    assert.ok(flagged.length > 0, `${name}: the attacking RTU is not flagged`);
    // No RTU that did nothing wrong is flagged for commanding others.
    for (const ip of ['192.168.1.102', '192.168.1.106']) assert.deepEqual(role(ip)?.flags.filter((f) => /sends OT requests/.test(f)), [], `${name} ${ip}`);
  }
  const fake = sharedData(t, `lemay/${LEMAY[0]}.pcap`)!;
  const r = await runInventory({ inputs: [fake], site, quiet: true });
  const change = r.changes.find((c) => c.ip === ATTACKER);
  assert.equal(change?.kind, 'new_behaviour');
  assert.match(change!.explanation, /write_single_coil\) to 192\.168\.1\.102:502/);
  assert.ok(change!.ts - Date.UTC(2015, 1, 24, 17, 35, 20) > 280_000, 'after the site baseline, at the attack (t = 289 s)');
  assert.deepEqual(r.comparison?.unused, []);
});

interface Row { dataSet: string; site: string; detected: string; precision: number | null; recall: number | null; f1: number | null; falseAlerts: number; maxPerConduitPerDay: number | null }
const row = (dataSet: string, site: string, r: EvalResult): Row => ({
  dataSet, site, detected: `${r.summary.detected}/${r.summary.attacks}`, precision: r.summary.windows.precision, recall: r.summary.windows.recall,
  f1: r.summary.windows.f1, falseAlerts: r.summary.falseAlerts.total, maxPerConduitPerDay: r.summary.falseAlerts.maxPerConduitPerDay,
});

for (const name of ['lemay', 'but-iec104', 'but-mms']) {
  test(`${name}: the site suggested from the baseline traffic is accepted by replay, and its eval is reported beside the hand-written site's`, async (t) => {
    if (!sharedData(t, name === 'lemay' ? 'lemay' : name)) return;
    const loaded = loadEvalSpec(join(projectRoot, 'evals', `${name}.yaml`), sharedDataDir);
    const baseline = loaded.spec.baseline.map((b) => resolve(loaded.dataRoot, b.file));
    const tests = loaded.spec.test.map((b) => resolve(loaded.dataRoot, b.file));
    const dir = mkdtempSync(join(tmpdir(), 'cw-inv-site-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const inv = await runInventory({ inputs: baseline, quiet: true });
    const path = join(dir, 'site.yaml');
    writeFileSync(path, renderSiteYaml(inv.suggestion, inv.assets));
    const site = loadSite(path);
    assert.ok(site.zones.length >= 2 && site.conduits.length >= 1, `zones ${site.zones.map((z) => z.name)} conduits ${site.conduits.length}`);
    const replay = await runReplay({ inputs: [...new Set([...baseline, ...tests])], site, clock: fakeClock('2026-01-01T00:00:00Z') });
    assert.ok(replay.flows > 0 && replay.windowsScored > 0);
    const declared = replay.conduits.filter((c) => c.declared && c.flows > 0).map((c) => c.conduit);
    assert.ok(declared.some((c) => site.conduits.some((d) => `${d.from}->${d.to}` === c)), `a suggested conduit carries traffic: ${declared.join(', ')}`);
    const suggested = await runEval({ ...loaded, sitePath: path });
    const hand = JSON.parse(readFileSync(join(projectRoot, 'evals', 'results', `${name}.json`), 'utf8')) as EvalResult;
    const rows = [row(name, 'hand-written', hand), row(name, 'suggested', suggested)];
    t.diagnostic(`data set | site | attacks detected | precision | recall | F1 | false alerts | max per conduit per day`);
    for (const r of rows) t.diagnostic(Object.values(r).join(' | '));
    assert.equal(suggested.summary.attacks, hand.summary.attacks, 'same labels, same attacks');
    assert.equal(suggested.runs.length, hand.runs.length);
  });
}

const captures = (dir: string): string[] => readdirSync(dir).sort().flatMap((n) => {
  const p = join(dir, n);
  return statSync(p).isDirectory() ? captures(p) : /\.(pcap|pcapng)$/.test(n) ? [p] : [];
});

test('pcaps: the site suggested from each sample capture is accepted by replay', async (t) => {
  const dir = sharedData(t, 'pcaps');
  if (!dir) return;
  const files = captures(dir);
  assert.ok(files.length > 10, `only ${files.length} captures`);
  const tmp = mkdtempSync(join(tmpdir(), 'cw-inv-pcaps-'));
  t.after(() => rmSync(tmp, { recursive: true, force: true }));
  const summary: string[] = [];
  for (const file of files) {
    const inv = await runInventory({ inputs: [file], quiet: true });
    const path = join(tmp, 'site.yaml');
    writeFileSync(path, renderSiteYaml(inv.suggestion, inv.assets));
    const site = loadSite(path);
    const replay = await runReplay({ inputs: [file], site, clock: fakeClock('2026-01-01T00:00:00Z') });
    // Replay slices at the site's window, the inventory at 60 s: the record counts differ, the traffic does not.
    assert.equal(replay.flows > 0, inv.flows > 0, file);
    assert.equal(replay.inputs[0]!.units > 0, true, file);
    summary.push(`${file.slice(dir.length + 1)}: ${site.zones.map((z) => `${z.name}(${z.assets.length})`).join(' ')}; ${site.conduits.length} conduits`);
  }
  for (const s of summary) t.diagnostic(s);
});

test('a capture with no industrial traffic gives an inventory and a one-zone site with a note, and replay runs on it', async () => {
  const frames = [
    { tsMs: 1_700_000_000_000, frame: ether(ipv4({ src: '10.9.0.1', dst: '10.9.0.2', proto: 6 }, tcpSegment({ sport: 50000, dport: 445, flags: TCP.SYN }))) },
    { tsMs: 1_700_000_000_001, frame: ether(ipv4({ src: '10.9.0.2', dst: '10.9.0.1', proto: 6 }, tcpSegment({ sport: 445, dport: 50000, flags: TCP.SYN | TCP.ACK }))) },
  ];
  const file = tempFile('it-only.pcap', pcapFile(frames));
  const inv = await runInventory({ inputs: [file], quiet: true });
  assert.equal(inv.assets.length, 2);
  assert.ok(inv.notes.some((n) => /No industrial-protocol traffic/.test(n)));
  const dir = mkdtempSync(join(tmpdir(), 'cw-inv-it-'));
  try {
    const path = join(dir, 'site.yaml');
    writeFileSync(path, renderSiteYaml(inv.suggestion, inv.assets));
    const site = loadSite(path);
    assert.deepEqual(site.zones.map((z) => [z.name, z.assets]), [['observed', ['10.9.0.1', '10.9.0.2']]]);
    assert.match(readFileSync(path, 'utf8'), /No industrial-protocol traffic was seen/);
    const replay = await runReplay({ inputs: [file], site, clock: fakeClock('2026-01-01T00:00:00Z') });
    assert.equal(replay.undeclared.length, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
