import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { flowId, type FlowRecord } from '../../../../core/records.ts';
import { newFileStats } from '../../../../ingest/files/csv.ts';
import { nfdumpFlags, readNfdumpCsv } from '../../../../ingest/files/nfdump-csv.ts';
import { readIpfixFile } from '../../../../ingest/files/ipfix-file.ts';
import { parseCsvMapping, readGenericCsv, type CsvMapping } from '../../../../ingest/files/generic-csv.ts';
import { sniffFlowFile, unknownFlowFile } from '../../../../ingest/files/sniff.ts';
import { projectRoot } from '../../../support/data.ts';

let dir = '';
test.before(() => { dir = mkdtempSync(join(tmpdir(), 'cw-flowfiles-')); });
test.after(() => rmSync(dir, { recursive: true, force: true }));

const file = (name: string, content: string | Buffer): string => {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
};

const drain = async (gen: AsyncGenerator<FlowRecord[]>): Promise<FlowRecord[]> => {
  const out: FlowRecord[] = [];
  for await (const b of gen) out.push(...b);
  return out;
};

// ── nfdump CSV ───────────────────────────────────────────────────────────────────────────────────

const NF_HEADER = 'ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,opkt,obyt,in,out,sas,das,smk,dmk,dtos,dir,nh,nhb,svln,dvln,ismc,odmc,idmc,osmc,mpls1,mpls2,mpls3,mpls4,mpls5,mpls6,mpls7,mpls8,mpls9,mpls10,cl,sl,al,ra,eng,exid,tr';
const tail = ',0,0,0,0,0,0,0,0,0,0,0.0.0.0,0.0.0.0,0,0,00:00:00:00:00:00,00:00:00:00:00:00,00:00:00:00:00:00,00:00:00:00:00:00,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,    0.000,    0.000,    0.000,127.0.0.1,0/0,1,2024-03-01 10:05:00.000';
const nfRow = (ts: string, td: string, sa: string, da: string, sp: string, dp: string, pr: string, flg: string, pkts: number, bytes: number): string =>
  `${ts},${ts},${td},${sa},${da},${sp},${dp},${pr},${flg},0,0,${pkts},${bytes}${tail}`;

const NF = [
  NF_HEADER,
  nfRow('2024-03-01 10:00:05', '4.500', '10.0.1.10', '10.0.2.20', '50210', '502', 'TCP', '...AP.SF', 5, 300),
  nfRow('2024-03-01 10:00:01', '0.004', '10.0.2.20', '10.0.1.10', '502', '50210', 'TCP', '...AP...', 4, 250),
  nfRow('2024-03-01 10:00:02', '0.000', '10.0.1.10', '10.0.2.20', '0', '8.0', 'ICMP', '........', 1, 84),
  nfRow('2024-03-01 10:00:03', 'x', '10.0.1.10', '10.0.2.20', '1', '2', 'TCP', '......S.', 1, 40),
  nfRow('2024-03-01 10:00:03', '0.1', '10.0.1.10', '10.0.2.20', '1', '2', 'XTP?', '........', 1, 40),
  '2024-03-01 10:00:03,short',
  'Summary',
  'flows,bytes,packets,avg_bps,avg_pps,avg_bpp',
  '3,634,10,0,0,63',
].join('\n');

test('reads nfdump CSV rows in event-time order, unidirectional, flags from letters, summary skipped', async () => {
  const p = file('nf.csv', NF);
  const stats = newFileStats(p);
  const recs = await drain(readNfdumpCsv(p, {}, stats));
  assert.deepEqual(recs.map((r) => [r.tsStart, r.tsEnd, r.srcPort, r.dstPort, r.proto, r.packets, r.bytes, r.packetsRev, r.tcpFlags, r.exporter]), [
    // The server's side of the connection (no SYN in its flags): oriented by the port rule, counters reversed.
    [Date.UTC(2024, 2, 1, 10, 0, 1), Date.UTC(2024, 2, 1, 10, 0, 1) + 4, 50210, 502, 6, 0, 0, 4, 0x18, '127.0.0.1'],
    [Date.UTC(2024, 2, 1, 10, 0, 2), Date.UTC(2024, 2, 1, 10, 0, 2), 0, 8 << 8, 1, 1, 84, 0, 0, '127.0.0.1'],
    [Date.UTC(2024, 2, 1, 10, 0, 5), Date.UTC(2024, 2, 1, 10, 0, 5) + 4500, 50210, 502, 6, 5, 300, 0, 0x1b, '127.0.0.1'],
  ]);
  assert.deepEqual(stats.badRows, { bad_time: 1, bad_proto: 1, column_count: 1 });
  assert.equal(stats.rows, 6);
});

test('reads a gzip-compressed nfdump CSV like the plain one', async () => {
  const p = file('nf.csv.gz', gzipSync(NF));
  assert.equal(sniffFlowFile(p), 'nfdump-csv');
  assert.equal((await drain(readNfdumpCsv(p, {}, newFileStats(p)))).length, 3);
});

test('parses nfdump flag strings of 1.6 and 1.7', () => {
  assert.equal(nfdumpFlags('...AP.SF'), 0x1b);
  assert.equal(nfdumpFlags('.AP.SF'), 0x1b);
  assert.equal(nfdumpFlags('CEUAPRSF'), 0xff);
  assert.equal(nfdumpFlags('0x12'), 0x12);
  assert.equal(nfdumpFlags('..Z...'), undefined);
});

// ── IPFIX file ───────────────────────────────────────────────────────────────────────────────────

/** An IPFIX message: header + sets. */
const message = (exportS: number, seq: number, sets: Buffer[]): Buffer => {
  const body = Buffer.concat(sets);
  const h = Buffer.alloc(16);
  h.writeUInt16BE(10, 0); h.writeUInt16BE(16 + body.length, 2); h.writeUInt32BE(exportS, 4); h.writeUInt32BE(seq, 8); h.writeUInt32BE(7, 12);
  return Buffer.concat([h, body]);
};
const set = (id: number, body: Buffer): Buffer => {
  const h = Buffer.alloc(4);
  h.writeUInt16BE(id, 0); h.writeUInt16BE(4 + body.length, 2);
  return Buffer.concat([h, body]);
};
// Template 256: srcIPv4(8) dstIPv4(12) srcPort(7) dstPort(11) proto(4) packets(2, 8) octets(1, 8) flowStartMs(152) flowEndMs(153)
const FIELDS: Array<[number, number]> = [[8, 4], [12, 4], [7, 2], [11, 2], [4, 1], [2, 8], [1, 8], [152, 8], [153, 8]];
const template = (): Buffer => {
  const b = Buffer.alloc(4 + 4 * FIELDS.length);
  b.writeUInt16BE(256, 0); b.writeUInt16BE(FIELDS.length, 2);
  FIELDS.forEach(([id, len], i) => { b.writeUInt16BE(id, 4 + 4 * i); b.writeUInt16BE(len, 6 + 4 * i); });
  return b;
};
const flow = (src: string, dst: string, sp: number, dp: number, pkts: number, bytes: number, start: number, end: number): Buffer => {
  const b = Buffer.alloc(45);
  Buffer.from(src.split('.').map(Number)).copy(b, 0);
  Buffer.from(dst.split('.').map(Number)).copy(b, 4);
  b.writeUInt16BE(sp, 8); b.writeUInt16BE(dp, 10); b[12] = 6;
  b.writeBigUInt64BE(BigInt(pkts), 13); b.writeBigUInt64BE(BigInt(bytes), 21);
  b.writeBigUInt64BE(BigInt(start), 29); b.writeBigUInt64BE(BigInt(end), 37);
  return b;
};

test('reads an IPFIX file: templates persist across messages of the file, flows sorted by start, a cut message counted', async () => {
  const t0 = Date.UTC(2024, 2, 1, 10);
  const m1 = message(t0 / 1000 + 60, 0, [set(2, template()), set(256, flow('10.0.1.10', '10.0.2.20', 50210, 502, 10, 600, t0 + 5000, t0 + 9000))]);
  const m2 = message(t0 / 1000 + 120, 1, [set(256, Buffer.concat([
    flow('10.0.1.11', '10.0.2.21', 40000, 20000, 3, 180, t0 + 1000, t0 + 2000),
    flow('10.0.1.12', '10.0.2.22', 40001, 102, 1, 44, t0 + 7000, t0 + 7000),
  ]))]);
  const p = file('flows.ipfix', Buffer.concat([m1, m2, m1.subarray(0, 30)]));
  assert.equal(sniffFlowFile(p), 'ipfix');
  const stats = newFileStats(p);
  const recs = await drain(readIpfixFile(p, {}, stats));
  assert.deepEqual(recs.map((r) => [r.tsStart, r.tsEnd, r.srcIp, r.dstPort, r.packets, r.bytes, r.exporter, r.observationDomain]), [
    [t0 + 1000, t0 + 2000, '10.0.1.11', 20000, 3, 180, 'flows.ipfix', 7],
    [t0 + 5000, t0 + 9000, '10.0.1.10', 502, 10, 600, 'flows.ipfix', 7],
    [t0 + 7000, t0 + 7000, '10.0.1.12', 102, 1, 44, 'flows.ipfix', 7],
  ]);
  assert.equal(stats.rows, 2);
  assert.deepEqual(stats.badRows, { ipfix_truncated_message: 1 });
});

test('a data set before its template is counted as template_missing', async () => {
  const t0 = Date.UTC(2024, 2, 1, 10);
  const p = file('notemplate.ipfix', message(t0 / 1000, 0, [set(256, flow('10.0.1.10', '10.0.2.20', 1, 2, 1, 40, t0, t0))]));
  const stats = newFileStats(p);
  assert.deepEqual(await drain(readIpfixFile(p, {}, stats)), []);
  assert.deepEqual(stats.badRows, { template_missing: 1 });
});

// ── generic CSV ──────────────────────────────────────────────────────────────────────────────────

const MAPPING = `
delimiter: ';'
time: iso
columns:
  tsStart: start
  tsEnd: end
  srcIp: client
  srcPort: cport
  dstIp: server
  dstPort: sport
  proto: proto
  packets: pkts_out
  bytes: bytes_out
  packetsRev: pkts_in
  bytesRev: bytes_in
  l7: app
`;

test('reads a CSV through a mapping, counting bad rows per reason', async () => {
  const p = file('generic.csv', [
    'start;end;client;cport;server;sport;proto;pkts_out;bytes_out;pkts_in;bytes_in;app',
    '2024-03-01T10:00:05Z;2024-03-01T10:00:06.5Z;10.0.1.10;50210;10.0.2.20;502;tcp;5;300;4;250;Modbus',
    '2024-03-01 10:00:01;2024-03-01 10:00:01;10.0.1.11;40000;10.0.2.21;20000;6;1;60;1;60;',
    '2024-03-01T10:00:02Z;2024-03-01T10:00:02Z;10.0.1.x;1;10.0.2.21;2;6;1;60;1;60;',
    'yesterday;2024-03-01T10:00:02Z;10.0.1.1;1;10.0.2.21;2;6;1;60;1;60;',
    '2024-03-01T10:00:02Z;2024-03-01T10:00:02Z;10.0.1.1;1;10.0.2.21;2;6;many;60;1;60;',
    '2024-03-01T10:00:02Z;short',
  ].join('\n'));
  const stats = newFileStats(p);
  const recs = await drain(readGenericCsv(p, parseCsvMapping(MAPPING), {}, stats));
  assert.deepEqual(recs, [
    { id: flowId('csv', 'generic.csv', 3), tsStart: Date.UTC(2024, 2, 1, 10, 0, 1), tsEnd: Date.UTC(2024, 2, 1, 10, 0, 1), srcIp: '10.0.1.11', srcPort: 40000, dstIp: '10.0.2.21',
      dstPort: 20000, proto: 6, packets: 1, bytes: 60, packetsRev: 1, bytesRev: 60, tcpFlags: 0, exporter: 'generic.csv', observationDomain: 0, source: 'file',
      fidelity: ['direction_port'] },
    { id: flowId('csv', 'generic.csv', 2), tsStart: Date.UTC(2024, 2, 1, 10, 0, 5), tsEnd: Date.UTC(2024, 2, 1, 10, 0, 6, 500), srcIp: '10.0.1.10', srcPort: 50210, dstIp: '10.0.2.20',
      dstPort: 502, proto: 6, packets: 5, bytes: 300, packetsRev: 4, bytesRev: 250, tcpFlags: 0, exporter: 'generic.csv', observationDomain: 0,
      source: 'file', l7: 'modbus', fidelity: ['direction_port'] },
  ]);
  assert.deepEqual(stats.badRows, { bad_address: 1, bad_time: 1, bad_number: 1, column_count: 1 });
});

test('reads a headerless CSV by column index with epoch-second times and a duration', async () => {
  const m: CsvMapping = parseCsvMapping('header: false\ntime: epoch_s\ncolumns: {tsStart: 0, duration: 1, srcIp: 2, dstIp: 3, dstPort: 4, proto: 5}\n');
  const p = file('noheader.csv', '1709287200.25,1.5,10.0.1.10,10.0.2.20,502,TCP\n');
  const recs = await drain(readGenericCsv(p, m, {}, newFileStats(p)));
  assert.deepEqual(recs.map((r) => [r.tsStart, r.tsEnd, r.srcPort, r.dstPort, r.proto, r.packets]), [[1709287200250, 1709287201750, 0, 502, 6, 0]]);
});

test('a bad mapping is config_invalid naming the field', async () => {
  const invalid = (text: string, field: RegExp): void => {
    assert.throws(() => parseCsvMapping(text, 'm.yaml'), (e: { code?: string; message: string }) => e.code === 'config_invalid' && field.test(e.message));
  };
  invalid('columns: {srcIp: a, dstIp: b}', /columns\.tsStart/);
  invalid('time: julian\ncolumns: {tsStart: a, srcIp: b, dstIp: c}', /time/);
  invalid('header: false\ncolumns: {tsStart: 0, srcIp: client, dstIp: 2}', /columns\.srcIp.*index/);
  invalid('columns: {tsStart: a, srcIp: b, dstIp: c, bogus: d}', /columns/);
  const p = file('missingcol.csv', 'a,b\n1,2\n');
  await assert.rejects(drain(readGenericCsv(p, parseCsvMapping('columns: {tsStart: a, srcIp: b, dstIp: server}'), {}, newFileStats(p))),
    (e: { code?: string; message: string }) => e.code === 'config_invalid' && /columns\.dstIp.*"server"/.test(e.message));
});

// ── sniffing ─────────────────────────────────────────────────────────────────────────────────────

test('recognises each flow-file kind by its first bytes, and a Zeek folder', () => {
  const z = join(projectRoot, 'test/fixtures/zeek');
  assert.equal(sniffFlowFile(join(z, 'plant/conn.log')), 'zeek');
  assert.equal(sniffFlowFile(join(z, 'json/conn.log')), 'zeek');
  assert.equal(sniffFlowFile(join(z, 'plant')), 'zeek');
  assert.equal(sniffFlowFile(file('nf2.csv', NF)), 'nfdump-csv');
  assert.equal(sniffFlowFile(file('other.csv', 'a,b,c\n1,2,3\n')), undefined);
  mkdirSync(join(dir, 'empty-folder'), { recursive: true });
  assert.equal(sniffFlowFile(join(dir, 'empty-folder')), undefined);
  assert.equal(sniffFlowFile(join(dir, 'nope')), undefined);
});

test('an unknown file is input_invalid saying what was found and what is accepted', () => {
  const e = unknownFlowFile(file('other2.csv', 'a,b,c\n1,2,3\n'));
  assert.equal(e.code, 'input_invalid');
  assert.match(e.message, /first line "a,b,c"/);
  assert.match(e.message, /Zeek conn\.log/);
  assert.match(e.message, /nfdump CSV/);
  assert.match(e.message, /IPFIX file/);
  assert.match(e.message, /--mapping/);
});

