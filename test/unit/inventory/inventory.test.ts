/** The inventory's logic on hand-made flow records: roles, identity, MACs, changes, suggestion, comparison. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSite, SiteMap } from '../../../core/config.ts';
import type { FlowRecord, IdentityReport } from '../../../core/records.ts';
import { decodeFlows, encodeFlows } from '../../../bus/codec.ts';
import { compareSite, isPublicAddress } from '../../../inventory/compare.ts';
import { Inventory } from '../../../inventory/inventory.ts';
import { ouiVendor } from '../../../inventory/oui.ts';
import { bareOp, isEngineeringOp, isWriteOp } from '../../../inventory/roles.ts';
import { durationText, niceDuration, renderSiteYaml, siteName, suggestSite } from '../../../inventory/suggest.ts';

let port = 40000;
const flow = (src: string, dst: string, ts: number, o: Partial<FlowRecord> = {}): FlowRecord => ({
  tsStart: ts, tsEnd: ts + 50, srcIp: src, srcPort: port++, dstIp: dst, dstPort: 502, proto: 6, packets: 4, bytes: 300,
  packetsRev: 3, bytesRev: 200, tcpFlags: 0x1b, exporter: 'x', observationDomain: 0, source: 'pcap', ...o, id: o.id ?? `f${port}`,
});
const modbus = (src: string, dst: string, ts: number, ops: Record<string, number> = { read_holding_registers: 1 }, o: Partial<FlowRecord> = {}): FlowRecord =>
  flow(src, dst, ts, { l7: 'modbus', l7Ops: ops, l7OpsRev: ops, ...o });

const MTU = '10.0.0.100';
const RTUS = ['10.0.0.101', '10.0.0.102', '10.0.0.103'];
const T0 = Date.parse('2025-01-01T00:00:00Z');

/** An MTU polling three RTUs every 10 s (one connection per poll), `rounds` times, plus extra flows. */
const plant = (rounds: number, extra: FlowRecord[] = [], learnMs = 60_000): Inventory => {
  const inv = new Inventory({ learnMs, macVendor: () => undefined });
  const flows: FlowRecord[] = [];
  for (let r = 0; r < rounds; r++) {
    RTUS.forEach((rtu, i) => flows.push(modbus(MTU, rtu, T0 + r * 10_000 + i * 100, r === 5 && i === 0 ? { write_single_coil: 1 } : undefined)));
  }
  flows.push(...extra);
  flows.sort((a, b) => a.tsStart - b.tsStart);
  inv.observe(flows);
  return inv;
};

test('a master polling on a cadence is hmi_scada, the devices it polls are plc_rtu, each with evidence', () => {
  const assets = plant(20).assets();
  const mtu = assets.find((a) => a.ip === MTU)!;
  assert.equal(mtu.role, 'hmi_scada');
  assert.ok(mtu.confidence >= 0.8, `confidence ${mtu.confidence}`);
  assert.ok(mtu.evidence.some((e) => /polled every 10\.0 s/.test(e)), mtu.evidence.join('; '));
  assert.ok(mtu.evidence.some((e) => /write_single_coil/.test(e)));
  assert.ok(RTUS.length > 0);
  for (const ip of RTUS) {
    const a = assets.find((x) => x.ip === ip)!;
    assert.equal(a.role, 'plc_rtu', ip);
    assert.ok(a.evidence.some((e) => /answers modbus requests from 1 client/.test(e)));
    assert.deepEqual(a.services, ['modbus tcp/502']);
    assert.deepEqual(a.peers, [MTU]);
  }
});

test('slices of one connection (same source port) are not taken for a polling cadence', () => {
  const inv = new Inventory({ macVendor: () => undefined });
  // One long connection, cut every 10 s: no periodic connection starts, and no request cadence given.
  inv.observe(Array.from({ length: 10 }, (_, i) => modbus(MTU, RTUS[0]!, T0 + i * 10_000, undefined, { srcPort: 5555 })));
  const mtu = inv.assets().find((a) => a.ip === MTU)!;
  assert.ok(!mtu.evidence.some((e) => /on a cadence/.test(e)), mtu.evidence.join('; '));
});

test('engineering operations sent irregularly make an engineering workstation', () => {
  const ews = '10.0.0.50';
  const inv = plant(10, [
    flow(ews, RTUS[0]!, T0 + 15_000, { l7: 's7comm', dstPort: 102, l7Ops: { request_download: 1, download_block: 3, plc_stop: 1 } }),
    flow(ews, RTUS[0]!, T0 + 77_000, { l7: 's7comm', dstPort: 102, l7Ops: { plc_start: 1 } }),
  ]);
  const a = inv.assets().find((x) => x.ip === ews)!;
  assert.equal(a.role, 'engineering');
  assert.ok(a.evidence.some((e) => /download_block/.test(e) && /plc_stop/.test(e)), a.evidence.join('; '));
});

test('a reader polling slowly with reads only and serving a database is a historian', () => {
  const hist = '10.0.0.60';
  const extra: FlowRecord[] = [];
  for (let r = 0; r < 8; r++) RTUS.forEach((rtu, i) => extra.push(modbus(hist, rtu, T0 + r * 60_000 + i * 10 + 5)));
  extra.push(flow('10.9.0.1', hist, T0 + 1000, { dstPort: 1433 }));
  const a = plant(3, extra).assets().find((x) => x.ip === hist)!;
  assert.equal(a.role, 'historian', a.evidence.join('; '));
  assert.ok(a.evidence.some((e) => /tcp\/1433/.test(e)));
});

test('no industrial traffic: every address is unknown, and the suggested site has one zone and a note', () => {
  const inv = new Inventory({ macVendor: () => undefined });
  inv.observe([flow('192.168.5.1', '192.168.5.2', T0, { dstPort: 445 }), flow('192.168.5.3', '192.168.5.2', T0 + 5, { dstPort: 80 })]);
  const assets = inv.assets();
  assert.ok(assets.length === 3 && assets.every((a) => a.role === 'unknown'));
  const s = suggestSite(assets, inv.communications(), { name: 'it.pcap', spanMs: 60_000 });
  assert.equal(s.zones.length, 1);
  assert.deepEqual(s.zones[0]!.assets, ['192.168.5.1', '192.168.5.2', '192.168.5.3']);
  assert.ok(s.notes.some((n) => /No industrial-protocol traffic/.test(n)));
  const site = parseSite(renderSiteYaml(s, assets));
  assert.equal(site.zones.length, 1);
  const empty = suggestSite([], [], {});
  assert.deepEqual(parseSite(renderSiteYaml(empty, [])).zones[0]!.assets, ['0.0.0.0']);
});

const report = (side: 'src' | 'dst', ts: number, fields: Partial<IdentityReport>): IdentityReport => ({ side, via: 's7_szl_0x0011', ts, ...fields });

test('identity reports merge by field; conflicting ones are all kept with their times, and a change after warm-up is an alert', () => {
  const inv = new Inventory({ learnMs: 0, macVendor: () => undefined });
  const plc = '10.0.0.40';
  inv.observe([flow('10.0.0.10', plc, T0, { l7: 's7comm', dstPort: 102, l7Ops: { cpu_read_szl: 1 }, identity: [report('dst', T0, { productCode: '6ES7 151-8AB01-0AB0', firmware: 'V3.2.6' })] })]);
  const changes = inv.observe([flow('10.0.0.10', plc, T0 + 60_000, { l7: 's7comm', dstPort: 102, l7Ops: { cpu_read_szl: 1 },
    identity: [report('dst', T0 + 60_000, { firmware: 'V3.3.0' }), { side: 'dst', via: 's7_szl_0x001c', ts: T0 + 60_001, name: 'PLC-7' }] })]);
  assert.deepEqual(changes.map((c) => c.kind), ['identity_change']);
  assert.match(changes[0]!.explanation, /firmware "V3.2.6".*now "V3.3.0"/);
  const a = inv.assets().find((x) => x.ip === plc)!;
  assert.deepEqual([a.productCode, a.firmware, a.name], ['6ES7 151-8AB01-0AB0', 'V3.3.0', 'PLC-7']);
  assert.equal(a.identities.length, 3);
  assert.deepEqual(a.identities.map((o) => [o.firmware, o.firstSeen]), [['V3.2.6', T0], ['V3.3.0', T0 + 60_000], [undefined, T0 + 60_001]]);
  assert.ok(a.flags.some((f) => /conflicting firmware reports: "V3.2.6".*vs "V3.3.0"/.test(f)), a.flags.join('; '));
});

test('a new MAC on a known IP is an alert after warm-up, not during it; a MAC on many addresses is a router\'s', () => {
  const inv = new Inventory({ learnMs: 30_000, macVendor: () => undefined });
  const early = inv.observe([flow('10.0.0.1', '10.0.0.2', T0, { srcMac: '00:00:bc:00:00:01' }), flow('10.0.0.1', '10.0.0.2', T0 + 1000, { srcMac: '00:00:bc:00:00:09' })]);
  assert.deepEqual(early, [], 'during warm-up a second MAC is learnt, not alerted');
  const late = inv.observe([flow('10.0.0.1', '10.0.0.2', T0 + 60_000, { srcMac: '00:00:bc:00:00:02' })]);
  assert.deepEqual(late.map((c) => c.kind), ['new_mac']);
  const router = new Inventory({ macVendor: () => undefined });
  router.observe(Array.from({ length: 6 }, (_, i) => flow(`10.1.0.${i + 1}`, '10.0.0.2', T0 + i, { srcMac: '00:00:0c:00:00:01' })));
  const a = router.assets().find((x) => x.ip === '10.1.0.1')!;
  assert.equal(a.mac, undefined);
  assert.ok(a.evidence.some((e) => /a router's/.test(e)));
});

test('an outstation that starts commanding another one after warm-up is new behaviour; before warm-up it is only flagged', () => {
  const late = modbus(RTUS[0]!, RTUS[1]!, T0 + 150_000, { write_single_coil: 1 });
  const inv = plant(20, [late], 60_000);
  const changes = inv.allChanges();
  assert.deepEqual(changes.map((c) => [c.kind, c.ip]), [['new_behaviour', RTUS[0]]]);
  assert.match(changes[0]!.explanation, /started sending modbus requests \(write_single_coil\) to 10\.0\.0\.102:502/);
  const a = inv.assets().find((x) => x.ip === RTUS[0])!;
  assert.equal(a.role, 'plc_rtu');
  assert.ok(a.flags.some((f) => /also sends OT requests to 10\.0\.0\.102:502/.test(f)), a.flags.join('; '));
  const alert = inv.toAlert(changes[0]!);
  assert.deepEqual([alert.detector, alert.src, alert.dst, alert.dstPort, alert.score], ['inventory', RTUS[0], RTUS[1], 502, 1]);
  const early = plant(20, [{ ...late, tsStart: T0 + 1000, tsEnd: T0 + 1050 }], 60_000);
  assert.deepEqual(early.allChanges(), []);
});

test('non-OT traffic between two outstations without a handshake is reported with both ends', () => {
  const inv = plant(20, [flow(RTUS[2]!, RTUS[0]!, T0 + 120_000, { dstPort: 1630, srcPort: 4444, tcpFlags: 0x18 })]);
  const [c] = inv.allChanges();
  assert.equal(c?.kind, 'new_behaviour');
  assert.match(c!.explanation, /10\.0\.0\.103 and 10\.0\.0\.101.*either may have started it/);
});

test('the suggested site puts roles in zones with SL-T and comments, proposes the OT conduit, and parses', () => {
  const inv = plant(20, [flow(RTUS[0]!, MTU, T0 + 5000, { dstPort: 139, l7: undefined })]);
  const assets = inv.assets();
  const s = suggestSite(assets, inv.communications(), { name: 'lemay-like.pcap', spanMs: 200_000 });
  assert.deepEqual(s.zones.map((z) => [z.name, z.sl, z.assets]), [['field', 3, RTUS], ['control', 2, [MTU]]]);
  assert.deepEqual(s.conduits.map((c) => [c.from, c.to, c.sl]), [['control', 'field', 3]]);
  assert.match(s.conduits[0]!.services[0]!, /^modbus tcp\/502: 60 flows; read_holding_registers 59, write_single_coil 1$/);
  assert.deepEqual(s.notProposed.map((c) => `${c.from}->${c.to}`), ['field->control']);
  assert.equal(s.windowMs, 10_000);
  const yaml = renderSiteYaml(s, assets);
  assert.match(yaml, /# SL-T 3: the devices that run the process/);
  assert.match(yaml, /# suggested SL-T 3: the higher of control \(2\) and field \(3\)/);
  assert.match(yaml, /# {3}field -> control: tcp\/139/);
  const site = parseSite(yaml);
  assert.equal(site.site, 'lemay-like');
  assert.equal(site.detection.window, 10_000);
  assert.ok(site.productionCycle >= site.detection.window * 12);
});

test('masters that share no outstation make separate field cells', () => {
  const inv = new Inventory({ macVendor: () => undefined });
  const flows: FlowRecord[] = [];
  for (let r = 0; r < 10; r++) {
    flows.push(modbus('10.0.1.1', '10.0.1.10', T0 + r * 5000), modbus('10.0.2.1', '10.0.2.10', T0 + r * 5000 + 1));
  }
  inv.observe(flows);
  const s = suggestSite(inv.assets(), inv.communications(), {});
  assert.deepEqual(s.zones.map((z) => [z.name, z.assets]), [['field-1', ['10.0.1.10']], ['field-2', ['10.0.2.10']], ['control', ['10.0.1.1', '10.0.2.1']]]);
  assert.deepEqual(s.conduits.map((c) => `${c.from}->${c.to}`), ['control->field-1', 'control->field-2']);
});

test('declared vs observed: unzoned assets, unused and undeclared conduits, an SL contradiction', () => {
  const site = new SiteMap(parseSite(`
site: t
productionCycle: 10m
zones:
  - { name: control, sl: 2, assets: ["${MTU}"] }
  - { name: field, sl: 3, assets: ["${RTUS[0]}", "${RTUS[1]}"] }
  - { name: it, sl: 1, assets: ["10.0.9.9"] }
conduits:
  - { from: control, to: field }
  - { from: it, to: control }
`));
  const inv = plant(12, [
    flow(RTUS[1]!, '8.8.8.8', T0 + 500, { dstPort: 53, proto: 17 }),
    flow('10.0.9.9', RTUS[0]!, T0 + 600, { l7: 's7comm', dstPort: 102, l7Ops: { download_block: 2 } }),
  ]);
  const c = compareSite(site, inv.assets(), inv.communications());
  assert.deepEqual(c.unzoned.map((a) => a.ip), ['8.8.8.8', RTUS[2]]);
  assert.deepEqual(c.unused.map((u) => u.conduit), ['it->control']);
  assert.deepEqual(c.undeclared.map((u) => [u.conduit, u.services]), [['control->unknown', ['modbus tcp/502']], ['field->unknown', ['udp/53']], ['it->field', ['s7comm tcp/102']]]);
  assert.deepEqual(c.contradictions.map((x) => [x.zone, x.ip]), [['field', RTUS[0]], ['field', RTUS[1]]]);
  assert.match(c.contradictions[1]!.why, /internet address 8\.8\.8\.8/);
  assert.match(c.contradictions[0]!.why, /engineering operations \(download_block\) from 10\.0\.9\.9 in it \(SL 1\)/);
});

test('public addresses are told from private, link-local, multicast and CGNAT ones', () => {
  const cases: [string, boolean][] = [['8.8.8.8', true], ['10.1.2.3', false], ['172.16.0.1', false], ['172.32.0.1', true], ['192.168.1.1', false],
    ['169.254.1.1', false], ['100.64.0.1', false], ['224.0.0.1', false], ['2001:db8::1', true], ['fe80::1', false], ['fd00::1', false]];
  assert.ok(cases.length > 0);
  for (const [ip, pub] of cases) assert.equal(isPublicAddress(ip), pub, ip);
});

test('operation classes: engineering vs write vs read, across protocols and qualified names', () => {
  const eng = ['download_block', 'plc_stop', 'initiateDownloadSequence.request', 'cold_restart', 'fc_90', 'pi_service', 'diagnostics', 'reinitialize_device'];
  const write = ['write_single_coil', 'write_var', 'direct_operate', 'C_SC_NA_1', 'set_attribute_single', 'write.request'];
  const read = ['read_holding_registers', 'cpu_read_szl', 'read', 'M_ME_NC_1', 'get_attributes_all'];
  assert.equal(bareOp('job.download_block'), 'download_block');
  for (const op of eng) assert.ok(isEngineeringOp(op) && !isWriteOp(op), op);
  for (const op of write) assert.ok(isWriteOp(op) && !isEngineeringOp(op), op);
  for (const op of read) assert.ok(!isWriteOp(op) && !isEngineeringOp(op), op);
});

test('MAC vendors come from the IEEE registry package, longest prefix first; locally administered ones have none', () => {
  assert.equal(ouiVendor('00:00:BC:3E:EB:E4'), 'Rockwell Automation');
  assert.equal(ouiVendor('00-1b-1b-23-eb-3b'), 'Siemens AG,');
  assert.equal(ouiVendor('02:00:00:00:00:01'), 'locally administered');
  assert.equal(ouiVendor('not a mac'), undefined);
});

test('durations and names for site.yaml', () => {
  assert.deepEqual([niceDuration(9000), niceDuration(10_000), niceDuration(223_000), niceDuration(1e9)], [10_000, 10_000, 120_000, 86_400_000]);
  assert.deepEqual([durationText(10_000), durationText(120_000), durationText(14_400_000), durationText(86_400_000)], ['10s', '2m', '4h', '1d']);
  assert.equal(siteName('send a fake command.pcap'), 'send-a-fake-command');
  assert.equal(siteName('---'), 'site');
});

test('MACs and identity reports travel the flows topic (Arrow), and a batch without those columns still decodes', () => {
  const f = flow('10.0.0.1', '10.0.0.2', T0, { srcMac: '00:00:bc:00:00:01', dstMac: '00:1b:1b:00:00:02', l7: 'enip',
    identity: [{ side: 'dst', via: 'enip_list_identity', ts: T0, vendorId: '1', model: '1756-ENBT/A' }] });
  const back = decodeFlows(encodeFlows([f, flow('10.0.0.3', '10.0.0.4', T0)]));
  assert.ok(back.ok);
  assert.deepEqual(back.value[0], f);
  assert.equal(back.value[1]!.identity, undefined);
});
