/**
 * A real nfdump CSV from a shared lemay capture: softflowd exports NetFlow v9 from the pcap to
 * nfcapd on loopback, `nfdump -o csv` writes the CSV, and our reader must give back every row.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireTool, sharedData } from '../../support/data.ts';
import { newFileStats } from '../../../ingest/files/csv.ts';
import { readNfdumpCsv } from '../../../ingest/files/nfdump-csv.ts';
import { sniffFlowFile } from '../../../ingest/files/sniff.ts';
import { freeUdpPort } from '../../../infra/services/process.ts';

const sleep = (ms: number): Promise<void> => new Promise((ok) => setTimeout(ok, ms));

/** softflowd -r pcap → nfcapd on loopback → nfdump -o csv; returns the CSV path. */
const nfdumpCsvOf = async (pcap: string, dir: string): Promise<string> => {
  const port = await freeUdpPort();
  const capDir = join(dir, 'cap');
  execFileSync('mkdir', ['-p', capDir]);
  const nfcapd = spawn('nfcapd', ['-l', capDir, '-p', String(port), '-b', '127.0.0.1'], { stdio: 'ignore' });
  try {
    await sleep(500);
    execFileSync('softflowd', ['-r', pcap, '-n', `127.0.0.1:${port}`, '-v', '9', '-d'], { stdio: 'ignore' });
    await sleep(500);
  } finally {
    const exited = new Promise((ok) => nfcapd.once('exit', ok));
    nfcapd.kill('SIGTERM');
    await exited;
  }
  const files = readdirSync(capDir).filter((f) => f.startsWith('nfcapd.') && !f.includes('current'));
  assert.ok(files.length > 0, 'nfcapd wrote no file');
  const csv = execFileSync('nfdump', ['-q', '-r', join(capDir, files[0]!), '-o', 'csv'], { env: { ...process.env, TZ: 'UTC' }, maxBuffer: 64 << 20 });
  // -q drops the header in some versions; take the full output when it does.
  const text = csv.toString().startsWith('ts,') ? csv.toString()
    : execFileSync('nfdump', ['-r', join(capDir, files[0]!), '-o', 'csv'], { env: { ...process.env, TZ: 'UTC' }, maxBuffer: 64 << 20 }).toString();
  const out = join(dir, 'flows.csv');
  writeFileSync(out, text);
  return out;
};

test('reads every row of a real nfdump CSV made from a lemay capture, with equal packet and byte sums', async (t) => {
  const pcap = sharedData(t, 'lemay/moving_two_files_modbus_6RTU.pcap');
  if (!pcap) return;
  for (const tool of ['softflowd', 'nfcapd', 'nfdump']) {
    if (!(await requireTool(t, tool, 'apt-get install -y softflowd nfdump'))) return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'cw-nfdump-'));
  try {
    const csv = await nfdumpCsvOf(pcap, dir);
    assert.equal(sniffFlowFile(csv), 'nfdump-csv');
    const lines = readFileSync(csv, 'utf8').split('\n');
    const header = lines[0]!.split(',');
    const [ipkt, ibyt, sp, dp] = ['ipkt', 'ibyt', 'sp', 'dp'].map((c) => header.indexOf(c));
    const rows = lines.slice(1, lines.findIndex((l) => l.startsWith('Summary'))).filter((l) => l !== '').map((l) => l.split(','));
    assert.ok(rows.length > 100, `expected a few hundred flows, got ${rows.length}`);

    const stats = newFileStats(csv);
    const recs = [];
    for await (const b of readNfdumpCsv(csv, {}, stats)) recs.push(...b);

    assert.equal(recs.length, rows.length);
    assert.deepEqual(stats.badRows, {});
    // Each row is one side of a connection; the server's side (502 → ephemeral) is turned client →
    // server with its counters in packetsRev/bytesRev (ingest/direction.ts), so sums are over both.
    assert.equal(recs.reduce((n, r) => n + r.packets + r.packetsRev, 0), rows.reduce((n, r) => n + Number(r[ipkt!]), 0));
    assert.equal(recs.reduce((n, r) => n + r.bytes + r.bytesRev, 0), rows.reduce((n, r) => n + Number(r[ibyt!]), 0));
    assert.equal(recs.filter((r) => r.dstPort === 502).length, rows.filter((r) => r[dp!] === '502' || r[sp!] === '502').length);
    assert.ok(recs.every((r) => r.srcPort !== 502), 'no PLC port on the client side');
    assert.ok(recs.some((r) => r.packets === 0 && r.packetsRev > 0 && r.fidelity?.includes('direction_port')), 'server sides were swapped, and say so');
    for (let i = 1; i < recs.length; i++) assert.ok(recs[i]!.tsStart >= recs[i - 1]!.tsStart || stats.late > 0, 'event-time order');
    assert.ok(recs.every((r) => (r.packetsRev === 0 || r.packets === 0) && r.source === 'file'));
    // Summary line of nfdump: flows,bytes,packets
    const summary = lines[lines.findIndex((l) => l.startsWith('Summary')) + 2]!.split(',').map(Number);
    assert.equal(recs.length, summary[0]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
