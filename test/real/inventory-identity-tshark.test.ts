/**
 * Device identity from the shared sample captures, against tshark 4.0's fields for the same messages.
 * Per capture and address, each identity field our inventory reports must equal what tshark decodes:
 *
 *   capture (shared/data/pcaps)        address          ours          tshark
 *   s7/s7comm_reading_plc_status       192.168.1.40     productCode   s7comm.szl.xy11.0001.anz of index 0x0001 (SZL 0x0011)
 *                                                       firmware      'V' + ausbg low . ausbe high . ausbe low of index 0x0007
 *                                                       name          s7comm.szl.001c.0001.name
 *                                                       model         s7comm.szl.001c.0007.cputypname
 *                                                       serial        s7comm.szl.001c.0005.serialn
 *                                                       vendor        'Siemens' when s7comm.szl.001c.0004.copyright names it
 *   EthernetIP/enip_test               10.1.1.164       vendorId … model   enip.lir.vendor, .devtype, .prodcode, .revision, .serial, .name
 *   openics/EIP-RebootorRestart,       192.168.10.120   vendorId … model   cip.id.vendor_id, .device_type, .product_code,
 *   openics/EIP-SoftwareDownload                                            .major_rev/.minor_rev, .serial_number, .product_name
 *   BACnet/bacnet_test                 10.1.1.165       vendor, vendorId, model, firmware, name, address: the device object's
 *                                                       properties in tshark -V (vendor-name: …, object-identifier: device,N)
 *   OPC/opc-ua-ap-method-wireshark-freeze  .41.212 / .41.176  uri, productUri, name, deviceType: ApplicationDescription in
 *                                                       tshark -V -d tcp.port==12001,opcua (server of GetEndpoints, client of CreateSession)
 *   openics/DNP3-TestDataPart1         10.0.0.8/.9/.3   address       dnp3.src / dnp3.dst of master frames (dnp3.ctl.dir == 1),
 *                                                       broadcast addresses (≥ 0xFFF0) left out
 *   every capture with Ethernet        every address    MAC           eth.src of the frames the address sent (ip.src)
 *
 * Not in the shared captures, so covered by unit tests only: a Modbus read-device-identification
 * response (the ITI captures hold FC 43/14 requests that the server never answered) and a BACnet I-Am.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import type { Asset } from '../../core/records.ts';
import { newPcapStats, readPcapFlows } from '../../ingest/pcap/index.ts';
import { Inventory } from '../../inventory/inventory.ts';
import { requireTool, sharedData } from '../support/data.ts';

const tshark = (file: string, args: string[]): string => execFileSync('tshark', ['-r', file, ...args], {
  encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 * 1024 * 1024,
});

const fields = (file: string, filter: string, names: string[], extra: string[] = []): string[][] =>
  tshark(file, [...extra, '-Y', filter, '-T', 'fields', ...names.flatMap((n) => ['-e', n])]).split('\n').filter(Boolean).map((l) => l.split('\t'));

const inventoryOf = async (files: string[]): Promise<Asset[]> => {
  const inv = new Inventory({ learnMs: 0 });
  for (const f of files) for await (const b of readPcapFlows(f, {}, newPcapStats(f))) inv.observe(b);
  return inv.assets();
};

type Row = [capture: string, ip: string, field: keyof Asset, ours: string | undefined, theirs: string | undefined];

const table = (rows: Row[]): string => rows.map((r) => r.map((x) => x ?? '—').join(' | ')).join('\n');

/** Our values vs tshark's, one row per field; prints the table and asserts equality. */
const compare = (t: { diagnostic(m: string): void }, rows: Row[]): void => {
  assert.ok(rows.length > 0, 'no fields to compare');
  t.diagnostic('capture | address | field | ours | tshark');
  for (const line of table(rows).split('\n')) t.diagnostic(line);
  for (const [cap, ip, field, ours, theirs] of rows) {
    assert.ok(theirs !== undefined && theirs !== '', `${cap} ${ip} ${field}: tshark gave nothing`);
    assert.equal(ours, theirs, `${cap} ${ip} ${field}`);
  }
};

const asset = (assets: Asset[], ip: string): Asset => {
  const a = assets.find((x) => x.ip === ip);
  assert.ok(a, `no asset ${ip}; have ${assets.map((x) => x.ip).join(', ')}`);
  return a;
};

test('S7 SZL identity (order number, firmware, names, serial) equals tshark\'s decode', async (t) => {
  const file = sharedData(t, 'pcaps/s7/s7comm_reading_plc_status.pcap');
  if (!file || !(await requireTool(t, 'tshark', 'apt-get install tshark'))) return;
  const a = asset(await inventoryOf([file]), '192.168.1.40');
  const [idx, anz, ausbg, ausbe] = fields(file, 's7comm.data.userdata.szl_id == 0x0011', ['s7comm.szl.xy11.0001.index', 's7comm.szl.xy11.0001.anz', 's7comm.szl.xy11.0001.ausbg', 's7comm.szl.xy11.0001.ausbe'])
    .find((r) => r[0] !== '')!.map((c) => c.split(','));
  const at = (index: string) => idx!.indexOf(index);
  const g = Number(ausbg![at('0x0007')]);
  const e = Number(ausbe![at('0x0007')]);
  const [name, , serial, cpu, copyright] = fields(file, 's7comm.szl.001c.0001.name', ['s7comm.szl.001c.0001.name', 's7comm.szl.001c.0002.name', 's7comm.szl.001c.0005.serialn', 's7comm.szl.001c.0007.cputypname', 's7comm.szl.001c.0004.copyright'])[0]!;
  compare(t, [
    ['s7comm_reading_plc_status', a.ip, 'productCode', a.productCode, anz![at('0x0001')]!.trim()],
    ['s7comm_reading_plc_status', a.ip, 'firmware', a.firmware, g >> 8 === 0x56 ? `V${g & 0xff}.${e >> 8}.${e & 0xff}` : undefined],
    ['s7comm_reading_plc_status', a.ip, 'name', a.name, name!.trim()],
    ['s7comm_reading_plc_status', a.ip, 'model', a.model, cpu!.trim()],
    ['s7comm_reading_plc_status', a.ip, 'serial', a.serial, serial!.trim()],
    ['s7comm_reading_plc_status', a.ip, 'vendor', a.vendor, /siemens/i.test(copyright!) ? 'Siemens' : undefined],
  ]);
});

const cipRevision = (major: string, minor: string): string => `${Number(major)}.${Number(minor)}`;

test('EtherNet/IP ListIdentity and CIP Identity object replies equal tshark\'s enip.lir.* and cip.id.* fields', async (t) => {
  const lir = sharedData(t, 'pcaps/EthernetIP/enip_test.pcap');
  const cip = ['pcaps/openics/EIP-RebootorRestart.pcap', 'pcaps/openics/EIP-SoftwareDownload.pcap'].map((f) => sharedData(t, f));
  if (!lir || cip.some((f) => !f) || !(await requireTool(t, 'tshark', 'apt-get install tshark'))) return;
  const rows: Row[] = [];
  const [ip, vendor, devtype, prod, rev, serial, name] = fields(lir, 'enip.lir.name', ['ip.src', 'enip.lir.vendor', 'enip.lir.devtype', 'enip.lir.prodcode', 'enip.lir.revision', 'enip.lir.serial', 'enip.lir.name'])[0]!;
  const a = asset(await inventoryOf([lir]), ip!);
  const r = Number(rev);
  rows.push(
    ['enip_test', ip!, 'vendorId', a.vendorId, String(Number(vendor))],
    ['enip_test', ip!, 'deviceType', a.deviceType?.replace(/^.*\((\d+)\)$/, '$1'), String(Number(devtype))],
    ['enip_test', ip!, 'productCode', a.productCode, String(Number(prod))],
    // tshark reads the two revision octets as one big-endian number: major in the high octet.
    ['enip_test', ip!, 'firmware', a.firmware, `${r >> 8}.${r & 0xff}`],
    ['enip_test', ip!, 'serial', a.serial, serial],
    ['enip_test', ip!, 'model', a.model, name],
  );
  for (const file of cip as string[]) {
    const cap = file.split('/').pop()!.replace('.pcap', '');
    const got = fields(file, 'cip.id.product_name', ['ip.src', 'cip.id.vendor_id', 'cip.id.device_type', 'cip.id.product_code', 'cip.id.major_rev', 'cip.id.minor_rev', 'cip.id.serial_number', 'cip.id.product_name']);
    assert.ok(got.length > 0, `${cap}: tshark found no identity reply`);
    const [src, v, d, p, maj, min, s, n] = got[0]!;
    assert.ok(got.every((x) => x.join('\t') === got[0]!.join('\t')), `${cap}: every identity reply the same`);
    const b = asset(await inventoryOf([file]), src!);
    rows.push(
      [cap, src!, 'vendorId', b.vendorId, String(Number(v))],
      [cap, src!, 'deviceType', b.deviceType?.replace(/^.*\((\d+)\)$/, '$1'), String(Number(d))],
      [cap, src!, 'productCode', b.productCode, String(Number(p))],
      [cap, src!, 'firmware', b.firmware, cipRevision(maj!, min!)],
      [cap, src!, 'serial', b.serial, s],
      [cap, src!, 'model', b.model, n],
    );
  }
  compare(t, rows);
});

/** `property: ISO 10646 UCS-2 'text'` and `vendor-identifier: (Unsigned) 5` lines of tshark -V, by property. */
const bacnetProperties = (file: string): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const l of tshark(file, ['-Y', 'bacapp.type == 3', '-V']).split('\n')) {
    const m = /^\s+([a-z-]+): (?:ISO 10646 UCS-2|UTF-8|ANSI X3\.4|ISO 8859-1) '(.*)'$/.exec(l) ?? /^\s+([a-z-]+): \(Unsigned\) (\d+)$/.exec(l);
    if (m) out[m[1]!] = m[2]!;
    const oid = /^\s+object-identifier: device, (\d+)$/.exec(l) ?? /^\s+ObjectIdentifier: device, (\d+)$/.exec(l);
    if (oid && oid[1] !== '4194303') out['object-identifier'] = oid[1]!;
  }
  return out;
};

test('BACnet device-object properties read by ReadProperty equal tshark\'s decode', async (t) => {
  const file = sharedData(t, 'pcaps/BACnet/bacnet_test.pcap');
  if (!file || !(await requireTool(t, 'tshark', 'apt-get install tshark'))) return;
  const a = asset(await inventoryOf([file]), '10.1.1.165');
  const p = bacnetProperties(file);
  const [objectName] = fields(file, 'bacapp.object_name', ['bacapp.object_name'])[0]!;
  compare(t, [
    ['bacnet_test', a.ip, 'vendor', a.vendor, p['vendor-name']],
    ['bacnet_test', a.ip, 'vendorId', a.vendorId, p['vendor-identifier']],
    ['bacnet_test', a.ip, 'model', a.model, p['model-name']],
    ['bacnet_test', a.ip, 'firmware', a.firmware, p['firmware-revision']],
    ['bacnet_test', a.ip, 'name', a.name, objectName],
    ['bacnet_test', a.ip, 'address', a.address, p['object-identifier']],
  ]);
  assert.equal(p['application-software-version'], '', 'tshark shows an empty application-software-version');
  assert.equal(a.software, undefined, 'an empty string is not an identity');
});

/** ApplicationDescription blocks of tshark -V after a heading (`Server:` or `ClientDescription:`). */
const uaDescriptions = (file: string, frameFilter: string, heading: RegExp): Record<string, string>[] => {
  const lines = tshark(file, ['-d', 'tcp.port==12001,opcua', '-Y', frameFilter, '-V']).split('\n');
  const out: Record<string, string>[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!heading.test(lines[i]!)) continue;
    const d: Record<string, string> = {};
    for (let j = i + 1; j < Math.min(lines.length, i + 14); j++) {
      const m = /^\s+(ApplicationUri|ProductUri|Text|ApplicationType): (.*)$/.exec(lines[j]!);
      if (m && !(m[1]! in d)) d[m[1]!] = m[2]!;
    }
    out.push(d);
  }
  return out;
};

test('OPC UA application descriptions (server of GetEndpoints, client of CreateSession) equal tshark\'s decode', async (t) => {
  const file = sharedData(t, 'pcaps/OPC/opc-ua-ap-method-wireshark-freeze.pcap');
  if (!file || !(await requireTool(t, 'tshark', 'apt-get install tshark'))) return;
  const assets = await inventoryOf([file]);
  const server = uaDescriptions(file, 'frame.number == 20', /^\s+Server: ApplicationDescription/)[0]!;
  const client = uaDescriptions(file, 'frame.number == 22', /^\s+ClientDescription: ApplicationDescription/)[0]!;
  const typ = (s: string | undefined) => s?.replace(/ \(0x[0-9a-f]+\)$/, '').toLowerCase().replace(/ /g, '_');
  const nul = (s: string | undefined) => (s === '[OpcUa Null String]' ? undefined : s);
  const s = asset(assets, '192.168.41.212');
  const c = asset(assets, '192.168.41.176');
  const rows: Row[] = [
    ['opc-ua-ap-method', s.ip, 'uri', s.uri, server.ApplicationUri],
    ['opc-ua-ap-method', s.ip, 'name', s.name, server.Text],
    ['opc-ua-ap-method', s.ip, 'deviceType', s.deviceType, typ(server.ApplicationType)],
    ['opc-ua-ap-method', c.ip, 'uri', c.uri, client.ApplicationUri],
    ['opc-ua-ap-method', c.ip, 'productUri', c.productUri, client.ProductUri],
    ['opc-ua-ap-method', c.ip, 'name', c.name, client.Text],
    ['opc-ua-ap-method', c.ip, 'deviceType', c.deviceType, typ(client.ApplicationType)],
  ];
  compare(t, rows);
  assert.equal(s.productUri, nul(server.ProductUri), 'a null ProductUri is no identity');
});

test('DNP3 link addresses of masters and outstations equal tshark\'s dnp3.src / dnp3.dst of master frames', async (t) => {
  const file = sharedData(t, 'pcaps/openics/DNP3-TestDataPart1.pcap');
  if (!file || !(await requireTool(t, 'tshark', 'apt-get install tshark'))) return;
  const assets = await inventoryOf([file]);
  const theirs = new Map<string, Set<string>>();
  const add = (ip: string, addr: string) => { if (Number(addr) < 0xfff0) (theirs.get(ip) ?? theirs.set(ip, new Set()).get(ip)!).add(addr); };
  for (const [src, s, dst, d] of fields(file, 'dnp3.ctl.dir == 1', ['ip.src', 'dnp3.src', 'ip.dst', 'dnp3.dst'])) { add(src!, s!); add(dst!, d!); }
  const rows: Row[] = [...theirs].sort(([a], [b]) => a.localeCompare(b)).map(([ip, set]) => {
    const ours = new Set(asset(assets, ip).identities.filter((o) => o.via === 'dnp3_link').map((o) => o.address!));
    return ['DNP3-TestDataPart1', ip, 'address', [...ours].sort().join(','), [...set].sort().join(',')];
  });
  compare(t, rows);
});

test('the MAC of every address equals the Ethernet source of the frames it sent (tshark eth.src)', async (t) => {
  const files = ['pcaps/s7/s7comm_reading_plc_status.pcap', 'pcaps/EthernetIP/enip_test.pcap', 'pcaps/BACnet/bacnet_test.pcap', 'lemay/exploit_ms08_netapi_modbus_6RTU_with_operate.pcap']
    .map((f) => sharedData(t, f));
  if (files.some((f) => !f) || !(await requireTool(t, 'tshark', 'apt-get install tshark'))) return;
  const rows: Row[] = [];
  for (const file of files as string[]) {
    const assets = await inventoryOf([file]);
    const macs = new Map<string, Set<string>>();
    for (const [ip, mac] of fields(file, 'ip', ['ip.src', 'eth.src'])) (macs.get(ip!) ?? macs.set(ip!, new Set()).get(ip!)!).add(mac!);
    for (const a of assets) {
      const m = macs.get(a.ip);
      if (!m) continue; // IPv6-only hosts
      rows.push([file.split('/').pop()!, a.ip, 'mac', a.macs.map((x) => x.mac).sort().join(','), [...m].sort().join(',')]);
    }
  }
  compare(t, rows);
});
