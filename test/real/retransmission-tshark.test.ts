/**
 * Retransmissions are not dissected twice (issue 16 item 3). Captures built from a shared Lemay
 * capture (Modbus/TCP, one connection per poll) with TCP retransmissions added:
 *  - exact copies of data segments right after the original, and copies 3 s later (after the
 *    connection's FIN exchange and our 1 s linger, so our flow has ended): per-connection Modbus
 *    operation counts equal tshark's, and equal those of the capture without retransmissions;
 *  - plus requests split in two whose second segment re-sends the first half with the rest (an
 *    overlapping retransmission): our per-connection counts still equal the clean capture's. tshark
 *    is not the reference there: its reassembly drops every such request (2,286 Modbus operations
 *    instead of 2,466 on this capture: 180 overlaps, 180 lost; TShark 4.0.17), so the comparison
 *    with tshark is made on the capture of exact retransmissions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DecodedPacket, decodeFrame } from '../../ingest/pcap/decode.ts';
import { newPcapStats, readPcapFlows } from '../../ingest/pcap/index.ts';
import { readCaptureChunks } from '../../ingest/pcap/reader.ts';
import { functionCode } from '../../ingest/protocols/modbus/codes.ts';
import { requireTool, sharedData } from '../support/data.ts';

interface Frame { ts: number; bytes: Buffer }

/** A classic little-endian µs pcap of Ethernet frames. */
const pcapOf = (frames: Frame[]): Buffer => {
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0xa1b2c3d4, 0); head.writeUInt16LE(2, 4); head.writeUInt16LE(4, 6);
  head.writeUInt32LE(65535, 16); head.writeUInt32LE(1, 20);
  const recs = frames.map((f) => {
    const h = Buffer.alloc(16);
    const us = Math.round(f.ts * 1000);
    h.writeUInt32LE(Math.floor(us / 1e6), 0); h.writeUInt32LE(us % 1e6, 4);
    h.writeUInt32LE(f.bytes.length, 8); h.writeUInt32LE(f.bytes.length, 12);
    return Buffer.concat([h, f.bytes]);
  });
  return Buffer.concat([head, ...recs]);
};

/** The Modbus function-code counts per connection (client ip:port → code → count) tshark reports. */
const tsharkPerConnection = (file: string): Record<string, Record<number, number>> => {
  const out = execFileSync('tshark', ['-r', file, '-Y', 'modbus', '-T', 'fields', '-e', 'ip.src', '-e', 'tcp.srcport', '-e', 'ip.dst', '-e', 'tcp.dstport', '-e', 'modbus.func_code'], {
    encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 << 20,
  });
  const m: Record<string, Record<number, number>> = {};
  for (const line of out.trim().split('\n')) {
    const [a, ap, b, bp, codes] = line.split('\t');
    const client = Number(bp) === 502 ? `${a}:${ap}` : `${b}:${bp}`;
    for (const c of codes!.split(',')) { const e = (m[client] ??= {}); e[Number(c)] = (e[Number(c)] ?? 0) + 1; }
  }
  return m;
};

const oursPerConnection = async (file: string): Promise<Record<string, Record<number, number>>> => {
  const m: Record<string, Record<number, number>> = {};
  for await (const batch of readPcapFlows(file, {}, newPcapStats(file))) {
    for (const r of batch) {
      if (r.dstPort !== 502) continue;
      for (const ops of [r.l7Ops, r.l7OpsRev]) {
        for (const [name, n] of Object.entries(ops ?? {})) {
          const e = (m[`${r.srcIp}:${r.srcPort}`] ??= {});
          const code = functionCode(name)!;
          e[code] = (e[code] ?? 0) + n;
        }
      }
    }
  }
  return m;
};

test('per-connection Modbus operation counts equal tshark’s on a capture with retransmissions, and nothing is counted twice', async (t) => {
  const src = sharedData(t, 'lemay/send_a_fake_command_modbus_6RTU_with_operate.pcap');
  if (!src || !(await requireTool(t, 'tshark', 'apt-get install tshark'))) return;
  const frames: Frame[] = [];
  const withOverlaps: Frame[] = [];
  const decoded = new DecodedPacket();
  let data = 0;
  let copies = 0, late = 0, overlaps = 0;
  const sink = (p: { linkType: number; buf: Buffer; off: number; caplen: number; tsMs: number }): void => {
    const bytes = Buffer.from(p.buf.subarray(p.off, p.off + p.caplen));
    const ok = decodeFrame(p.linkType, bytes, 0, bytes.length, p.tsMs, decoded) === 'ok';
    if (!ok || decoded.proto !== 6 || decoded.payloadLen < 12 || (decoded.srcPort !== 502 && decoded.dstPort !== 502)) {
      frames.push({ ts: p.tsMs, bytes });
      withOverlaps.push({ ts: p.tsMs, bytes });
      return;
    }
    const k = data++;
    const add = (f: Frame): void => { frames.push(f); withOverlaps.push(f); };
    if (k % 7 === 3 && decoded.dstPort === 502) {
      // The request in two segments: its first 6 bytes, then the whole request again from the same
      // sequence number (overlap + the rest), as a sender that re-sends a coalesced segment does.
      const cut = decoded.payloadOff + 6;
      const first = Buffer.from(bytes.subarray(0, cut));
      const ipOff = decoded.srcOff - 12;
      first.writeUInt16BE(first.readUInt16BE(ipOff + 2) - (decoded.payloadLen - 6), ipOff + 2);
      withOverlaps.push({ ts: p.tsMs, bytes: first }, { ts: p.tsMs, bytes }); // next in file order (stable sort)
      frames.push({ ts: p.tsMs, bytes });
      overlaps++;
      return;
    }
    add({ ts: p.tsMs, bytes });
    if (k % 3 === 0) { add({ ts: p.tsMs + 0.1, bytes }); copies++; }
    if (k % 5 === 1) { add({ ts: p.tsMs + 3_000, bytes }); late++; }
  };
  for await (const _ of readCaptureChunks(src, sink, { violations: {}, truncated: false })) { /* frames collected */ }
  frames.sort((x, y) => x.ts - y.ts);
  withOverlaps.sort((x, y) => x.ts - y.ts);
  assert.ok(copies > 100 && late > 100 && overlaps > 50, `${copies} copies, ${late} late, ${overlaps} overlaps`);

  const dir = mkdtempSync(join(tmpdir(), 'cw-retrans-'));
  try {
    const file = join(dir, 'lemay-retransmissions.pcap');
    writeFileSync(file, pcapOf(frames));
    const retrans = execFileSync('tshark', ['-r', file, '-Y', 'tcp.analysis.retransmission', '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8', maxBuffer: 64 << 20 });
    assert.ok(retrans.trim().split('\n').length >= copies + late, 'tshark sees the added retransmissions');
    const theirs = tsharkPerConnection(file);
    const ours = await oursPerConnection(file);
    assert.ok(Object.keys(theirs).length > 100);
    assert.deepEqual(ours, theirs);
    const clean = await oursPerConnection(src);
    assert.deepEqual(ours, clean, 'the retransmissions added no operation');
    const overlapping = join(dir, 'lemay-overlaps.pcap');
    writeFileSync(overlapping, pcapOf(withOverlaps));
    assert.deepEqual(await oursPerConnection(overlapping), clean, 'an overlapping retransmission is counted once');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
