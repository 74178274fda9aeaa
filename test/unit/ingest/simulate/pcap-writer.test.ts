import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ACK, half, PcapWriter, PSH, SYN } from '../../../../ingest/simulate/pcap-writer.ts';

/** One's-complement sum of 16-bit words, folded. */
const onesSum = (b: Buffer, words: number[] = []): number => {
  let s = words.reduce((a, w) => a + w, 0);
  for (let i = 0; i < b.length; i += 2) s += (b[i]! << 8) | (b[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
};

const frameAt = (file: Buffer, index: number): { ts: number; frame: Buffer } => {
  let off = 24;
  for (let i = 0; i < index; i++) off += 16 + file.readUInt32LE(off + 8);
  const len = file.readUInt32LE(off + 8);
  return { ts: file.readUInt32LE(off) * 1e6 + file.readUInt32LE(off + 4), frame: file.subarray(off + 16, off + 16 + len) };
};

test('writes frames whose IPv4 and TCP checksums verify, odd payload lengths included', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cw-pcapw-'));
  try {
    const path = join(dir, 'w.pcap');
    const w = await PcapWriter.create(path, 4096);
    const h = half('10.10.1.10', 50_000, '10.10.3.101', 502, { ttl: 128, window: 64_240, ipId: 0xfffe });
    w.bare(1_740_981_600_000_123, h, SYN, 0xfffffff0, 0, 1460);
    for (const len of [12, 13, 255]) {
      const off = w.begin(1_740_981_600_001_000 + len, h, PSH | ACK, 0xfffffff1, 7, len);
      for (let i = 0; i < len; i++) w.buf[off + i] = (i * 37) & 0xff;
      w.commit();
    }
    await w.close();
    assert.equal(w.packets, 4);
    const file = readFileSync(path);
    assert.equal(file.length, w.bytes);
    for (let i = 0; i < 4; i++) {
      const { ts, frame } = frameAt(file, i);
      const ip = frame.subarray(14, 34);
      assert.equal(onesSum(ip), 0xffff, `IPv4 checksum of frame ${i}`);
      assert.equal(ip.readUInt16BE(2), frame.length - 14);
      assert.equal(ip.readUInt16BE(4), (0xfffe + i) & 0xffff, 'IP id counts up and wraps');
      const tcp = frame.subarray(34);
      const pseudo = [0x0a0a, 0x010a, 0x0a0a, 0x0365, 6, tcp.length];
      assert.equal(onesSum(tcp, pseudo), 0xffff, `TCP checksum of frame ${i}`);
      assert.equal(tcp.readUInt16BE(0), 50_000);
      assert.equal(tcp.readUInt16BE(2), 502);
      if (i === 0) {
        assert.equal(ts, 1_740_981_600_000_123);
        assert.equal(tcp[12]! >> 4, 6, 'SYN carries the MSS option');
        assert.equal(tcp.readUInt16BE(22), 1460);
      } else {
        assert.equal(tcp.readUInt32BE(4), 0xfffffff1);
        assert.equal(tcp[13], PSH | ACK);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
