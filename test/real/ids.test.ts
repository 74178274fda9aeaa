/**
 * FlowRecord ids (issue 9 item 2, source side): every source gives every record a deterministic id
 * from its own coordinates, so reading the same input twice gives the same ids and no two records of
 * one input share an id. Checked on the shared captures, the simulator, real NetFlow v5/v9/IPFIX
 * from softflowd (datagrams and an IPFIX file made of them), Zeek logs, the BUT message files, a
 * real nfdump CSV and a mapped CSV. Traffic goes only to 127.0.0.1.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { FlowRecord } from '../../core/records.ts';
import {
  newFileStats, parseCsvMapping, readButIec104, readButMms, readGenericCsv, readIpfixFile, readNfdumpCsv, readZeek,
} from '../../ingest/files/index.ts';
import { IpfixDecoder } from '../../ingest/netflow/ipfix.ts';
import { V5Decoder } from '../../ingest/netflow/v5.ts';
import { V9Decoder } from '../../ingest/netflow/v9.ts';
import type { DatagramDecoder } from '../../ingest/netflow/common.ts';
import { newPcapStats, readPcapFlows } from '../../ingest/pcap/index.ts';
import { SimOptions, simulatePlant } from '../../ingest/simulate/index.ts';
import { projectRoot, requireTool, sharedData, sharedDataDir } from '../support/data.ts';
import { freeUdpPort } from '../../infra/services/process.ts';

const run = promisify(execFile);

const drain = async (gen: AsyncIterable<FlowRecord[]>): Promise<FlowRecord[]> => {
  const out: FlowRecord[] = [];
  for await (const b of gen) out.push(...b);
  return out;
};

/** Ids are 24 hex digits, distinct within the input, and the same on a second read. */
const assertIds = (name: string, first: FlowRecord[], second: FlowRecord[]): void => {
  assert.ok(first.length > 0, `${name}: no records`);
  const ids = first.map((r) => r.id);
  for (const id of ids) assert.match(id, /^[0-9a-f]{24}$/, `${name}: id ${id}`);
  assert.equal(new Set(ids).size, ids.length, `${name}: ${ids.length - new Set(ids).size} duplicate ids`);
  assert.deepEqual(second.map((r) => r.id), ids, `${name}: a second read gave other ids`);
};

const captures = (): string[] => {
  const walk = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir).sort().flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : /\.(pcap|pcapng)$/.test(n) ? [p] : [];
  }) : []);
  return [...walk(join(sharedDataDir, 'lemay')), ...walk(join(sharedDataDir, 'pcaps'))];
};

test('every shared capture (pcap and pcapng) gives distinct ids, the same on a second read', async (t) => {
  if (!sharedData(t, 'lemay')) return;
  const files = captures();
  assert.ok(files.length > 20, `only ${files.length} captures`);
  let records = 0;
  for (const f of files) {
    const a = await drain(readPcapFlows(f, {}, newPcapStats(f)));
    if (a.length === 0) continue; // a capture with no IP packet
    records += a.length;
    assertIds(f, a, await drain(readPcapFlows(f, {}, newPcapStats(f))));
  }
  assert.ok(records > 1_000, `${records} records over the captures`);
});

test('the simulator gives the same ids for the same seed, distinct within its capture', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cw-ids-sim-'));
  try {
    const read = async (name: string): Promise<FlowRecord[]> => {
      const out = join(dir, name);
      await simulatePlant(SimOptions.parse({ out, duration: '20m', seed: 7 }));
      // Same file name in two runs: the id names the capture by its base name.
      const file = join(dir, `${name}.d`, 'plant.pcap');
      execFileSync('mkdir', ['-p', join(dir, `${name}.d`)]);
      execFileSync('mv', [out, file]);
      return drain(readPcapFlows(file, {}, newPcapStats(file)));
    };
    assertIds('simulated plant', await read('a.pcap'), await read('b.pcap'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** softflowd -r pcap → datagrams caught on a loopback socket, with the sender's port. */
const exportOf = async (pcap: string, version: number, dir: string): Promise<{ datagrams: Buffer[]; session: string }> => {
  const sock = createSocket({ type: 'udp4', recvBufferSize: 8 << 20 });
  const datagrams: Buffer[] = [];
  let session = '';
  sock.on('message', (m, rinfo) => { datagrams.push(Buffer.from(m)); session = `${rinfo.address}:${rinfo.port}`; });
  await new Promise<void>((ok) => sock.bind(0, '127.0.0.1', ok));
  try {
    await run('softflowd', ['-r', pcap, '-n', `127.0.0.1:${sock.address().port}`, '-v', String(version), '-a', '-d',
      '-c', 'none', '-p', join(dir, `softflowd-${version}.pid`)], { timeout: 30_000 });
    await new Promise((ok) => setTimeout(ok, 300));
  } finally {
    sock.close();
  }
  return { datagrams, session };
};

const decodeAll = (d: DatagramDecoder, datagrams: Buffer[], session: string): FlowRecord[] =>
  datagrams.flatMap((b) => d.decode(b, '127.0.0.1', b.readUInt32BE(version(b) === 10 ? 4 : 8) * 1000, session).records);
const version = (b: Buffer): number => b.readUInt16BE(0);

const needSoftflowd = (t: TestContext): Promise<boolean> => requireTool(t, 'softflowd', 'apt-get install -y softflowd');

test('NetFlow v5, v9 and IPFIX from softflowd: distinct ids, the same when the datagrams are decoded again; IPFIX files too', async (t) => {
  const pcap = sharedData(t, 'lemay/send_a_fake_command_modbus_6RTU_with_operate.pcap');
  if (!pcap || !(await needSoftflowd(t))) return;
  const dir = mkdtempSync(join(tmpdir(), 'cw-ids-nf-'));
  try {
    const decoders: [number, () => DatagramDecoder][] = [[5, () => new V5Decoder()], [9, () => new V9Decoder()], [10, () => new IpfixDecoder()]];
    for (const [v, make] of decoders) {
      const { datagrams, session } = await exportOf(pcap, v, dir);
      assert.ok(datagrams.length > 0, `softflowd sent no v${v} datagram`);
      const a = decodeAll(make(), datagrams, session);
      assert.ok(a.length > 100, `v${v}: ${a.length} records`);
      assertIds(`NetFlow v${v}`, a, decodeAll(make(), datagrams, session));
      if (v === 10) {
        const file = join(dir, 'export.ipfix');
        writeFileSync(file, Buffer.concat(datagrams));
        const read = (): Promise<FlowRecord[]> => drain(readIpfixFile(file, {}, newFileStats(file)));
        assertIds('IPFIX file', await read(), await read());
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Zeek conn logs (TSV and JSON) and the BUT message files give distinct ids, the same on a second read', async (t) => {
  for (const d of ['plant', 'json']) {
    const p = join(projectRoot, 'test', 'fixtures', 'zeek', d);
    const read = (): Promise<FlowRecord[]> => drain(readZeek(p, {}, newFileStats(p)));
    const a = await read();
    assertIds(`zeek ${d}`, a, await read());
  }
  const iec = sharedData(t, 'but-iec104/mega104-14-12-18.csv');
  const mms = sharedData(t, 'but-mms/gics-scanning.csv');
  if (!iec || !mms) return;
  const readIec = (): Promise<FlowRecord[]> => drain(readButIec104(iec, {}, newFileStats(iec)));
  assertIds('BUT IEC 104', await readIec(), await readIec());
  const readMms = (): Promise<FlowRecord[]> => drain(readButMms(mms, {}, newFileStats(mms)));
  assertIds('BUT MMS', await readMms(), await readMms());
});

test('a real nfdump CSV and a mapped CSV give one distinct id per row, the same on a second read', async (t) => {
  const pcap = sharedData(t, 'lemay/characterization_modbus_6RTU_with_operate.pcap');
  if (!pcap) return;
  for (const tool of ['softflowd', 'nfcapd', 'nfdump']) {
    if (!(await requireTool(t, tool, 'apt-get install -y softflowd nfdump'))) return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'cw-ids-csv-'));
  try {
    const port = await freeUdpPort();
    const capDir = join(dir, 'cap');
    execFileSync('mkdir', ['-p', capDir]);
    const nfcapd = spawn('nfcapd', ['-l', capDir, '-p', String(port), '-b', '127.0.0.1'], { stdio: 'ignore' });
    try {
      await new Promise((ok) => setTimeout(ok, 500));
      execFileSync('softflowd', ['-r', pcap, '-n', `127.0.0.1:${port}`, '-v', '9', '-d', '-c', 'none', '-p', join(dir, 'sf.pid')], { stdio: 'ignore' });
      await new Promise((ok) => setTimeout(ok, 500));
    } finally {
      const exited = new Promise((ok) => nfcapd.once('exit', ok));
      nfcapd.kill('SIGTERM');
      await exited;
    }
    const stored = readdirSync(capDir).find((f) => f.startsWith('nfcapd.') && !f.includes('current'));
    assert.ok(stored, 'nfcapd wrote no file');
    const csv = join(dir, 'flows.csv');
    writeFileSync(csv, execFileSync('nfdump', ['-r', join(capDir, stored), '-o', 'csv'], { env: { ...process.env, TZ: 'UTC' }, maxBuffer: 64 << 20 }));
    const readNf = (): Promise<FlowRecord[]> => drain(readNfdumpCsv(csv, {}, newFileStats(csv)));
    const nf = await readNf();
    assertIds('nfdump CSV', nf, await readNf());

    // The same flows as a mapped CSV (one row per nfdump record).
    const mapped = join(dir, 'mapped.csv');
    writeFileSync(mapped, ['start,client,cport,server,sport,proto,pkts', ...nf.map((r) =>
      `${new Date(r.tsStart).toISOString()},${r.srcIp},${r.srcPort},${r.dstIp},${r.dstPort},${r.proto},${r.packets}`)].join('\n'));
    const mapping = parseCsvMapping([
      'time: iso',
      'columns: { tsStart: start, srcIp: client, srcPort: cport, dstIp: server, dstPort: sport, proto: proto, packets: pkts }',
    ].join('\n'));
    const readMapped = (): Promise<FlowRecord[]> => drain(readGenericCsv(mapped, mapping, {}, newFileStats(mapped)));
    const m = await readMapped();
    assert.equal(m.length, nf.length);
    assertIds('mapped CSV', m, await readMapped());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
