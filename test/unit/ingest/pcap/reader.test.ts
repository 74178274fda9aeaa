import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hasCode } from '../../../../core/errors.ts';
import { CHUNK_BYTES, readCaptureChunks, truncationText, type ReaderCounters } from '../../../../ingest/pcap/reader.ts';
import { ether, ipv4, Pcapng, pcapFile, tcpSegment, tempFile, udpDatagram } from './frames.ts';

interface Seen { linkType: number; iface: number; tsMs: number; caplen: number; origLen: number; first: number }

const read = async (bytes: Buffer, name = 'x.pcap'): Promise<{ seen: Seen[]; c: ReaderCounters }> => {
  const path = tempFile(name, bytes);
  const seen: Seen[] = [];
  const c: ReaderCounters = { violations: {}, truncated: false };
  for await (const _ of readCaptureChunks(path, (p) => {
    seen.push({ linkType: p.linkType, iface: p.iface, tsMs: p.tsMs, caplen: p.caplen, origLen: p.origLen, first: p.buf[p.off]! });
  }, c));
  return { seen, c };
};

const frame = ether(ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 17 }, udpDatagram(1000, 2000, Buffer.alloc(10))));
const T0 = 1_700_000_000_000;

for (const le of [true, false]) {
  for (const ns of [false, true]) {
    test(`reads classic pcap, ${le ? 'little' : 'big'}-endian, ${ns ? 'nanosecond' : 'microsecond'} magic`, async () => {
      const bytes = pcapFile([{ tsMs: T0 + 0.5, frame }, { tsMs: T0 + 1001.25, frame }], { le, ns, linkType: 1 });
      const { seen, c } = await read(bytes);
      assert.equal(seen.length, 2);
      assert.equal(seen[0]!.linkType, 1);
      assert.equal(seen[0]!.tsMs, T0 + 0.5);
      assert.equal(seen[1]!.tsMs, T0 + 1001.25);
      assert.equal(seen[0]!.caplen, frame.length);
      assert.equal(seen[0]!.first, 0x02);
      assert.deepEqual(c.violations, {});
      assert.equal(c.truncated, false);
    });
  }
}

test('throws input_invalid naming the file for a bad magic', async () => {
  const path = tempFile('bad.pcap', Buffer.from('this is not a capture file at all'));
  await assert.rejects(async () => { for await (const _ of readCaptureChunks(path, () => {}, { violations: {}, truncated: false })); },
    (e: Error) => hasCode(e, 'input_invalid') && /bad\.pcap/.test(e.message) && /editcap/.test(e.message));
});

test('throws input_invalid for a missing file and for an empty one', async () => {
  const c = { violations: {}, truncated: false };
  await assert.rejects(async () => { for await (const _ of readCaptureChunks('/nonexistent/x.pcap', () => {}, c)); },
    (e: Error) => hasCode(e, 'input_invalid') && /nonexistent/.test(e.message));
  const empty = tempFile('empty.pcap', Buffer.alloc(0));
  await assert.rejects(async () => { for await (const _ of readCaptureChunks(empty, () => {}, c)); },
    (e: Error) => hasCode(e, 'input_invalid') && /too short/.test(e.message));
});

test('counts incl_len above snaplen and above orig_len but keeps the packets', async () => {
  const bytes = pcapFile([
    { tsMs: T0, frame, origLen: 20 }, // incl > orig
    { tsMs: T0, frame }, // incl > snaplen (40)
  ], { snaplen: 40 });
  const { seen, c } = await read(bytes);
  assert.equal(seen.length, 2);
  assert.equal(c.violations.pcap_incl_len_over_orig_len, 1);
  assert.equal(c.violations.pcap_incl_len_over_snaplen, 2);
  assert.equal(seen[0]!.origLen, frame.length);
});

test('stops at an incl_len of 2^31 without allocating it, keeping earlier packets', async () => {
  const good = pcapFile([{ tsMs: T0, frame }, { tsMs: T0 + 1, frame }]);
  const bomb = Buffer.alloc(16);
  bomb.writeUInt32LE(2 ** 31, 8);
  bomb.writeUInt32LE(2 ** 31, 12);
  const { seen, c } = await read(Buffer.concat([good, bomb, Buffer.alloc(100)]));
  assert.equal(seen.length, 2);
  assert.equal(c.violations.pcap_record_too_large, 1);
  assert.equal(c.truncated, true);
});

test('yields the good packets of a truncated file and reports truncated', async () => {
  const whole = pcapFile([{ tsMs: T0, frame }, { tsMs: T0 + 1, frame }, { tsMs: T0 + 2, frame }]);
  const { seen, c } = await read(whole.subarray(0, whole.length - 5));
  assert.equal(seen.length, 2);
  assert.equal(c.violations.truncated, 1);
  assert.equal(c.truncated, true);
});

test('reads records that straddle the read chunks', async () => {
  const big = ether(ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 17 }, udpDatagram(1, 2, Buffer.alloc(1400))));
  const n = Math.ceil((CHUNK_BYTES * 2.5) / (big.length + 16));
  const recs = Array.from({ length: n }, (_, i) => ({ tsMs: T0 + i, frame: big }));
  const { seen, c } = await read(pcapFile(recs), 'big.pcap');
  assert.equal(seen.length, n);
  assert.equal(seen.at(-1)!.tsMs, T0 + n - 1);
  assert.ok(seen.every((s) => s.caplen === big.length && s.first === 0x02));
  assert.deepEqual(c.violations, {});
});

for (const le of [true, false]) {
  test(`reads pcapng (${le ? 'little' : 'big'}-endian) with two interfaces, if_tsresol, EPB and SPB, skipping other blocks`, async () => {
    const raw = ipv4({ src: '10.0.0.1', dst: '10.0.0.2', proto: 6 }, tcpSegment({ sport: 1, dport: 2 }));
    const bytes = new Pcapng(le)
      .shb()
      .idb(1) // µs
      .idb(101, 9) // ns
      .block(4, Buffer.alloc(12)) // name resolution block: skipped
      .epb(0, BigInt(T0) * 1000n + 250n, frame)
      .epb(1, BigInt(T0) * 1_000_000n + 1_500_000n, raw)
      .block(0x80000001, Buffer.alloc(8)) // custom block: skipped
      .spb(frame)
      .bytes();
    const { seen, c } = await read(bytes, 'two.pcapng');
    assert.deepEqual(seen.map((s) => [s.linkType, s.iface, s.first]), [[1, 0, 0x02], [101, 1, 0x45], [1, 0, 0x02]]);
    assert.equal(seen[0]!.tsMs, T0 + 0.25);
    assert.equal(seen[1]!.tsMs, T0 + 1.5);
    assert.equal(seen[2]!.tsMs, T0 + 1.5, 'SPB has no timestamp: previous packet time');
    assert.deepEqual(c.violations, {});
  });
}

test('pcapng power-of-two if_tsresol (2^-10 s) is honoured', async () => {
  const bytes = new Pcapng().shb().idb(1, 0x80 | 10).epb(0, 1024n * 5n + 512n, frame).bytes();
  const { seen } = await read(bytes, 'p2.pcapng');
  assert.equal(seen[0]!.tsMs, 5500);
});

test('a pcapng block whose trailing length differs is counted and skipped; the next block still reads', async () => {
  const good = new Pcapng().shb().idb(1).bytes();
  const bad = new Pcapng().block(6, Buffer.alloc(40), 999).bytes();
  const after = new Pcapng().epb(0, 1000n, frame).bytes();
  const { seen, c } = await read(Buffer.concat([good, bad, after]), 'mm.pcapng');
  assert.equal(c.violations.pcapng_block_length_mismatch, 1);
  assert.equal(seen.length, 1);
});

test('a pcapng block length below 12 stops the read and is counted', async () => {
  const good = new Pcapng().shb().idb(1).epb(0, 1000n, frame).bytes();
  const bad = Buffer.alloc(12);
  bad.writeUInt32LE(6, 0);
  bad.writeUInt32LE(8, 4);
  const { seen, c } = await read(Buffer.concat([good, bad]), 'short.pcapng');
  assert.equal(seen.length, 1);
  assert.equal(c.violations.pcapng_block_length_invalid, 1);
  assert.equal(c.truncated, true);
});

test('an EPB naming an undeclared interface is counted, not read', async () => {
  const bytes = new Pcapng().shb().idb(1).epb(3, 1000n, frame).epb(0, 1000n, frame).bytes();
  const { seen, c } = await read(bytes, 'if.pcapng');
  assert.equal(seen.length, 1);
  assert.equal(c.violations.pcapng_unknown_interface, 1);
});

test('a pcapng file cut inside a block reports truncated', async () => {
  const bytes = new Pcapng().shb().idb(1).epb(0, 1000n, frame).epb(0, 2000n, frame).bytes();
  const { seen, c } = await read(bytes.subarray(0, bytes.length - 10), 'cut.pcapng');
  assert.equal(seen.length, 1);
  assert.equal(c.truncated, true);
  assert.equal(c.violations.truncated, 1);
});

test('a pcapng block larger than a read chunk is skipped in the file, and the packets after it still read', async () => {
  // 6 MiB custom block: the reader jumps over it past the chunk it has read ahead.
  const head = new Pcapng().shb().idb(1).epb(0, 1000n, frame).bytes();
  const huge = new Pcapng().block(0x80000001, Buffer.alloc(CHUNK_BYTES + 2 * 1024 * 1024)).bytes();
  const tooBig = new Pcapng().block(6, Buffer.alloc(300_000)).bytes(); // an EPB above MAX_PACKET
  const tail = new Pcapng().epb(0, 2000n, frame).epb(0, 3000n, frame).bytes();
  const { seen, c } = await read(Buffer.concat([head, huge, tooBig, tail]), 'huge.pcapng');
  assert.deepEqual(seen.map((s) => s.tsMs), [1, 2, 3]);
  assert.deepEqual(c.violations, { pcapng_packet_too_large: 1 });
  assert.equal(c.truncated, false);
});

test('a pcapng file cut inside a block says where that block starts, how long it says it is, and where the file ends (file offsets)', async () => {
  const first = new Pcapng().shb().idb(1).epb(0, 1000n, frame).bytes();
  const second = new Pcapng().epb(0, 2000n, frame).bytes();
  const bytes = Buffer.concat([first, second]);
  const { c } = await read(bytes.subarray(0, bytes.length - 10), 'cut2.pcapng');
  assert.deepEqual(c.truncation, { what: 'block', offset: first.length, length: second.length, fileSize: bytes.length - 10 });
  assert.equal(truncationText(c.truncation!),
    `the block at byte ${first.length} is ${second.length} bytes long but the file ends at byte ${bytes.length - 10} (${second.length - 10} of them are there)`);
});

test('a pcapng block whose length runs past the end of the file is reported at its own offset, not past the end', async () => {
  const head = new Pcapng().shb().idb(1).epb(0, 1000n, frame).bytes();
  // A custom block that says it is 2 MiB long (skipped without being read) in a file of a few hundred bytes.
  const claim = Buffer.alloc(12);
  claim.writeUInt32LE(0x80000001, 0);
  claim.writeUInt32LE(2 * 1024 * 1024, 4);
  const bytes = Buffer.concat([head, claim]);
  const { seen, c } = await read(bytes, 'past.pcapng');
  assert.equal(seen.length, 1);
  assert.equal(c.truncated, true);
  assert.deepEqual(c.truncation, { what: 'block', offset: head.length, length: 2 * 1024 * 1024, fileSize: bytes.length });
});

test('a classic pcap cut inside a record says where the record starts', async () => {
  const bytes = pcapFile([{ tsMs: T0, frame }, { tsMs: T0 + 1, frame }]);
  const { seen, c } = await read(bytes.subarray(0, bytes.length - 5), 'cut.pcap');
  assert.equal(seen.length, 1);
  assert.deepEqual(c.truncation, { what: 'record', offset: 24 + 16 + frame.length, length: 16 + frame.length, fileSize: bytes.length - 5 });
});

test('a damaged pcapng section header is named at its byte offset in the file', async () => {
  const bytes = new Pcapng().shb().idb(1).epb(0, 1000n, frame).bytes();
  const second = new Pcapng().shb().bytes();
  second.writeUInt32LE(0xdeadbeef, 8);
  const path = tempFile('bom.pcapng', Buffer.concat([bytes, second]));
  await assert.rejects(async () => { for await (const _ of readCaptureChunks(path, () => {}, { violations: {}, truncated: false })); },
    (e: unknown) => hasCode(e, 'input_invalid') && new RegExp(`section header at byte ${bytes.length} has no valid byte-order magic`).test((e as Error).message));
});

const unsupported = async (bytes: Buffer, name: string): Promise<Error> => {
  const path = tempFile(name, bytes);
  let err: unknown;
  let packets = 0;
  try { for await (const _ of readCaptureChunks(path, () => { packets++; }, { violations: {}, truncated: false })); } catch (e) { err = e; }
  assert.ok(hasCode(err, 'input_invalid'), `expected input_invalid, got ${String(err)}`);
  assert.equal(packets, 0, 'no packet of that link type reaches the decoder');
  return err as Error;
};

test('a classic pcap of a link type the decoder does not read is an input error naming it, not packets silently skipped', async () => {
  const e = await unsupported(pcapFile([{ tsMs: T0, frame }], { linkType: 127 }), 'radiotap.pcap');
  assert.match(e.message, /^radiotap\.pcap: link type 127 \(IEEE 802\.11 with radiotap header\), named by its file header at byte 20, is not one conduitwatch decodes; it reads Ethernet \(1\), .*raw IP/);
  const user = await unsupported(pcapFile([{ tsMs: T0, frame }], { linkType: 150 }), 'user.pcap');
  assert.match(user.message, /link type 150 \(user-defined \(DLT_USER3\)\)/);
});

test('a pcapng interface of an unsupported link type fails at its first packet, naming the interface; one declared but unused is harmless', async () => {
  const idle = new Pcapng().shb().idb(1).idb(189).epb(0, 1000n, frame).bytes();
  const { seen } = await read(idle, 'usb-idle.pcapng');
  assert.equal(seen.length, 1);
  const head = new Pcapng().shb().idb(1).idb(189).bytes();
  const used = Buffer.concat([head, new Pcapng().epb(1, 1000n, frame).bytes()]);
  const e = await unsupported(used, 'usb.pcapng');
  assert.match(e.message, new RegExp(`^usb\\.pcapng: link type 189 \\(Linux USB\\), named by the interface \\(#1\\) of the packet block at byte ${head.length}, is not one conduitwatch decodes;.*frame\\.interface_id != 1`));
});
