/**
 * Bounded readers (issue 9 item 5): hostile inputs are counted or refused with the file and the limit
 * named, the rest of the file is read on, and memory stays under a stated bound — peak RSS at most
 * {@link BOUND_MB} MiB above a child that starts the same readers and reads nothing, and for the IPFIX
 * template flood {@link TEMPLATE_BOUND_MB} MiB: the decoder keeps up to 4,096 compiled templates per
 * session (measured today: 83 MB above the baseline with 2 flooded domains, 109 with 8, 125 with 24 —
 * V8's heap settling, not the cache growing: the cache holds 4,096 at every size). Each input is read
 * in its own child process (test/support/read-child.ts) so its peak RSS is its own.
 *
 * Inputs: a 100 MB line in a mapped CSV; a gzip bomb without newlines (512 MiB of one byte, 0.5 MB
 * compressed) read as nfdump CSV; a Zeek conn.log with a 1,000,000-character field; and from
 * shared/BAD-INPUT.md a pcap record with incl_len 2^31 (allocation bomb), a pcapng block claiming
 * 2^31 bytes, and an IPFIX file with a template flood (65,280 template ids in each of 8 domains).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { closeSync, createWriteStream, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { createGzip } from 'node:zlib';
import { projectRoot } from '../../support/data.ts';
import { ipfix, set, tmpl } from '../../unit/ingest/netflow/build.ts';

const run = promisify(execFile);
const BOUND_MB = 64;
const TEMPLATE_BOUND_MB = 192;

interface ChildResult { records: number; problems: Record<string, number>; error: string; peakRssMb: number }

const read = async (kind: string, file: string): Promise<ChildResult> => {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', join(projectRoot, 'test/support/read-child.ts'), kind, file],
    { cwd: projectRoot, maxBuffer: 1 << 20, timeout: 120_000 });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as ChildResult;
};

test('hostile text, gzip, pcap, pcapng and IPFIX files: counted or refused, the rest read on, memory bounded', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cw-bounded-'));
  try {
    const base = await read('none', join(dir, 'nothing'));

    // A 100 MB line between two good rows of a mapped CSV.
    const longLine = join(dir, 'long-line.csv');
    const fd = openSync(longLine, 'w');
    writeSync(fd, 'ts,src,dst,port,app\n1709287200,10.0.1.10,10.0.2.20,502,modbus\n');
    const mb = Buffer.alloc(1 << 20, 'x');
    for (let i = 0; i < 100; i++) writeSync(fd, mb);
    writeSync(fd, '\n1709287201,10.0.1.11,10.0.2.20,502,modbus\n');
    closeSync(fd);

    // A gzip bomb without newlines.
    const bomb = join(dir, 'bomb.csv.gz');
    let left = 512;
    await pipeline(Readable.from((function* () { while (left-- > 0) yield mb; })()), createGzip({ level: 9 }), createWriteStream(bomb));

    // A Zeek conn.log with a 1,000,000-character service field between good rows.
    const zeek = join(dir, 'zeek');
    mkdirSync(zeek);
    const row = (uid: string, service: string): string => ['1709287200.000000', uid, '10.0.1.10', '50210', '10.0.2.20', '502', 'tcp', service, '1.0', '1', '1', 'SF', 'T', 'T', '0', 'ShADadFf', '3', '200', '3', '200', '(empty)'].join('\t');
    writeFileSync(join(zeek, 'conn.log'), [
      '#separator \\x09', '#set_separator\t,', '#empty_field\t(empty)', '#unset_field\t-', '#path\tconn',
      '#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents',
      '#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]',
      row('CA1', 'modbus'), row('CA2', 'm'.repeat(1_000_000)), row('CA3', 'modbus'), '',
    ].join('\n'));

    // A pcap whose first record claims 2^31 bytes; a pcapng whose first block claims 2^31 bytes.
    const pcap = join(dir, 'incl-len.pcap');
    const ph = Buffer.alloc(24 + 16 + 64);
    ph.writeUInt32LE(0xa1b2c3d4, 0); ph.writeUInt16LE(2, 4); ph.writeUInt16LE(4, 6); ph.writeUInt32LE(65535, 16); ph.writeUInt32LE(1, 20);
    ph.writeUInt32LE(1_700_000_000, 24); ph.writeUInt32LE(2 ** 31, 32); ph.writeUInt32LE(2 ** 31, 36);
    writeFileSync(pcap, ph);
    const pcapng = join(dir, 'block-len.pcapng');
    const shb = Buffer.alloc(28);
    shb.writeUInt32LE(0x0a0d0d0a, 0); shb.writeUInt32LE(28, 4); shb.writeUInt32LE(0x1a2b3c4d, 8); shb.writeUInt16LE(1, 12);
    shb.writeBigInt64LE(-1n, 16); shb.writeUInt32LE(28, 24);
    const epb = Buffer.alloc(64);
    epb.writeUInt32LE(6, 0); epb.writeUInt32LE(2 ** 31, 4);
    writeFileSync(pcapng, Buffer.concat([shb, epb]));

    // An IPFIX file that floods templates: 65,280 ids in each of 8 domains, 1,000 per message.
    const flood = join(dir, 'flood.ipfix');
    const out = openSync(flood, 'w');
    for (let domain = 0; domain < 8; domain++) {
      for (let first = 256; first < 65536; first += 1000) {
        const recs: number[] = [];
        for (let id = first; id < Math.min(first + 1000, 65536); id++) recs.push(...tmpl(id, [[8, 4]]));
        writeSync(out, ipfix({ domain }, set(2, recs)));
      }
    }
    closeSync(out);

    const cases: [string, string, string, (r: ChildResult) => void][] = [
      ['100 MB line', 'csv', longLine, (r) => assert.deepEqual([r.records, r.problems, r.error], [2, { line_too_long: 1 }, ''])],
      ['gzip bomb', 'nfdump', bomb, (r) => {
        assert.equal(r.records, 0);
        assert.match(r.error, /bomb\.csv\.gz: the gzip stream inflates to more than 200× its compressed size .*maxInflateRatio.*gunzip it/);
      }],
      ['1,000,000-character field', 'zeek', zeek, (r) => assert.deepEqual([r.records, r.problems, r.error], [2, { field_too_long: 1 }, ''])],
      ['pcap incl_len 2^31', 'pcap', pcap, (r) => assert.ok(r.records === 0 && r.error === '' && Object.keys(r.problems).length > 0, JSON.stringify(r))],
      ['pcapng block 2^31', 'pcap', pcapng, (r) => assert.ok(r.records === 0 && (r.error !== '' || Object.keys(r.problems).length > 0), JSON.stringify(r))],
      ['IPFIX template flood', 'ipfix', flood, (r) => assert.ok(r.records === 0 && r.error === '' && (r.problems.template_evicted ?? 0) > 500_000, JSON.stringify(r))],
    ];
    for (const [name, kind, file, check] of cases) {
      const r = await read(kind, file);
      check(r);
      const bound = kind === 'ipfix' ? TEMPLATE_BOUND_MB : BOUND_MB;
      assert.ok(r.peakRssMb - base.peakRssMb <= bound, `${name}: peak RSS ${r.peakRssMb.toFixed(0)} MB, ${(r.peakRssMb - base.peakRssMb).toFixed(0)} MB above the ${base.peakRssMb.toFixed(0)} MB baseline (bound ${bound} MB)`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
