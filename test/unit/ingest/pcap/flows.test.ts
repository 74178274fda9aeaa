import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FlowRecord } from '../../../../core/records.ts';
import { dstIsServer, isGroupAddress } from '../../../../ingest/pcap/flows.ts';
import { newPcapStats, readPcapFlows, type FlowOptions, type PcapStats } from '../../../../ingest/pcap/index.ts';
import { ipv4, pcapFile, TCP, tcpSegment, tempFile, udpDatagram, type PcapRecord } from './frames.ts';

const T0 = 1_700_000_020_000; // 40 s into an epoch minute (1_700_000_040_000 is a minute boundary)
const C = '10.0.0.10';
const S = '10.0.0.20';

const tcp = (tsMs: number, src: string, dst: string, sport: number, dport: number, flags: number, len = 0): PcapRecord => ({
  tsMs, frame: ipv4({ src, dst, proto: 6 }, tcpSegment({ sport, dport, flags, payload: Buffer.alloc(len) })),
});
const udp = (tsMs: number, src: string, dst: string, sport: number, dport: number): PcapRecord => ({
  tsMs, frame: ipv4({ src, dst, proto: 17 }, udpDatagram(sport, dport)),
});

const flows = async (recs: PcapRecord[], opts: Partial<FlowOptions> = {}, name = 'f.pcap'): Promise<{ out: FlowRecord[]; batches: FlowRecord[][]; stats: PcapStats }> => {
  const path = tempFile(name, pcapFile(recs, { linkType: 101 }));
  const stats = newPcapStats(path);
  const batches: FlowRecord[][] = [];
  for await (const b of readPcapFlows(path, opts, stats)) batches.push(b);
  return { out: batches.flat(), batches, stats };
};

test('the SYN sender is the initiator even when it uses the lower port', async () => {
  const { out } = await flows([
    tcp(T0, S, C, 80, 8080, TCP.SYN),
    tcp(T0 + 1, C, S, 8080, 80, TCP.SYN | TCP.ACK),
    tcp(T0 + 2, S, C, 80, 8080, TCP.ACK, 10),
  ]);
  assert.equal(out.length, 1);
  assert.deepEqual([out[0]!.srcIp, out[0]!.srcPort, out[0]!.dstIp, out[0]!.dstPort], [S, 80, C, 8080]);
  assert.deepEqual([out[0]!.packets, out[0]!.packetsRev], [2, 1]);
  assert.equal(out[0]!.bytes, 40 + 50);
  assert.equal(out[0]!.bytesRev, 40);
  assert.equal(out[0]!.tcpFlags, TCP.SYN | TCP.ACK);
});

test('when the capture starts at the SYN+ACK, its receiver is the initiator', async () => {
  const { out } = await flows([tcp(T0, S, C, 502, 40000, TCP.SYN | TCP.ACK), tcp(T0 + 1, C, S, 40000, 502, TCP.ACK)]);
  assert.deepEqual([out[0]!.srcIp, out[0]!.dstPort], [C, 502]);
});

test('without a SYN the service-port side is the server (port rule)', async () => {
  const { out } = await flows([tcp(T0, S, C, 502, 40000, TCP.ACK, 5), udp(T0 + 1, S, C, 50000, 47808), udp(T0 + 2, C, S, 3000, 4000)]);
  const [a, b, c] = out;
  assert.deepEqual([a!.srcIp, a!.srcPort, a!.dstPort], [C, 40000, 502]);
  assert.deepEqual([b!.srcIp, b!.dstPort], [S, 47808], 'BACnet 47808 is a service port');
  assert.deepEqual([c!.srcIp, c!.srcPort, c!.dstPort], [S, 4000, 3000], 'neither a service port: the lower port is the server');
  assert.deepEqual(out.map((f) => f.fidelity), [['direction_port'], ['direction_port'], ['direction_lower_port']], 'each record says why');
  assert.equal(dstIsServer(1234, 1234), true);
});

test('a flow whose handshake was seen carries no direction note', async () => {
  const { out } = await flows([tcp(T0, C, S, 40000, 502, TCP.SYN), tcp(T0 + 1, S, C, 502, 40000, TCP.SYN | TCP.ACK), tcp(T0 + 2, C, S, 40000, 502, TCP.ACK, 5)]);
  assert.deepEqual([out.length, out[0]!.fidelity], [1, undefined]);
});

test('a datagram to a broadcast or multicast address makes its sender the initiator, whatever the ports', async () => {
  const { out } = await flows([udp(T0, C, '10.0.0.255', 138, 137), udp(T0 + 1, S, '239.1.2.3', 547, 546)]);
  assert.deepEqual(out.map((f) => [f.srcIp, f.srcPort, f.dstIp, f.dstPort]), [[C, 138, '10.0.0.255', 137], [S, 547, '239.1.2.3', 546]]);
  assert.deepEqual(out.map((f) => f.fidelity), [['direction_group'], ['direction_group']]);
  assert.equal(isGroupAddress('ff02::1:2'), true);
  assert.equal(isGroupAddress('fe80::1'), false);
  assert.equal(isGroupAddress('10.0.0.20'), false);
});

test('both FINs close a TCP flow, which is emitted after the linger, before later flows', async () => {
  const { out } = await flows([
    tcp(T0, C, S, 40000, 502, TCP.SYN),
    tcp(T0 + 1, S, C, 502, 40000, TCP.SYN | TCP.ACK),
    tcp(T0 + 2, C, S, 40000, 502, TCP.FIN | TCP.ACK),
    tcp(T0 + 3, S, C, 502, 40000, TCP.FIN | TCP.ACK),
    tcp(T0 + 4, C, S, 40000, 502, TCP.ACK),
    udp(T0 + 5000, C, S, 5000, 53),
  ]);
  assert.equal(out.length, 2);
  assert.equal(out[0]!.proto, 6);
  assert.equal(out[0]!.packets + out[0]!.packetsRev, 5, 'the last ACK is part of the closed flow');
  assert.equal(out[1]!.proto, 17);
});

test('a new SYN on the 5-tuple of a reset flow starts a new flow', async () => {
  const { out } = await flows([
    tcp(T0, C, S, 40000, 502, TCP.SYN),
    tcp(T0 + 1, S, C, 502, 40000, TCP.RST | TCP.ACK),
    tcp(T0 + 2, C, S, 40000, 502, TCP.SYN),
  ]);
  assert.equal(out.length, 2);
  assert.deepEqual(out.map((f) => [f.packets, f.packetsRev, f.tsStart]), [[1, 1, T0], [1, 0, T0 + 2]]);
});

test('the idle timeout ends a flow; the next packet starts another', async () => {
  const { out } = await flows([udp(T0, C, S, 5000, 53), udp(T0 + 10_000, C, S, 5000, 53)], { idleTimeoutMs: 5_000, sliceMs: 3_600_000 });
  assert.equal(out.length, 2);
});

test('the active timeout cuts a long flow into records', async () => {
  const recs = Array.from({ length: 10 }, (_, i) => udp(T0 + i * 1000, C, S, 5000, 53));
  const { out } = await flows(recs, { activeTimeoutMs: 3_000, sliceMs: 3_600_000 });
  assert.deepEqual(out.map((f) => f.packets), [3, 3, 3, 1]);
});

test('flows are cut at epoch-aligned slice boundaries and no record spans one', async () => {
  const recs = Array.from({ length: 50 }, (_, i) => udp(T0 + i * 1000, C, S, 5000, 502));
  const { out } = await flows(recs, { sliceMs: 10_000 });
  assert.deepEqual(out.map((f) => f.packets), [10, 10, 10, 10, 10]);
  for (const f of out) assert.equal(Math.floor(f.tsStart / 10_000), Math.floor(f.tsEnd / 10_000));
  assert.deepEqual(out.map((f) => f.tsStart % 10_000), [0, 0, 0, 0, 0]);
});

test('crossing a boundary emits every open slice of the previous interval before any newer flow', async () => {
  const { out } = await flows([
    udp(T0 + 100, '10.0.0.3', S, 5003, 502),
    udp(T0 + 100, '10.0.0.1', S, 5001, 502),
    udp(T0 + 50, '10.0.0.2', S, 5002, 502), // a little out of order
    udp(T0 + 20_100, '10.0.0.4', S, 5004, 502), // next 60 s slice
    udp(T0 + 20_200, '10.0.0.1', S, 5001, 502),
  ]);
  assert.deepEqual(out.map((f) => f.srcIp), ['10.0.0.2', '10.0.0.3', '10.0.0.1', '10.0.0.4', '10.0.0.1']);
  const boundary = Math.ceil(T0 / 60_000) * 60_000;
  assert.ok(out.slice(0, 3).every((f) => f.tsEnd < boundary));
  assert.ok(out.slice(3).every((f) => f.tsStart >= boundary));
});

test('a packet late across a boundary is counted in the current slice at its start', async () => {
  const boundary = Math.ceil(T0 / 60_000) * 60_000;
  const { out, stats } = await flows([udp(boundary - 10, C, S, 5000, 53), udp(boundary + 5, C, S, 5000, 53), udp(boundary - 3, C, S, 5000, 53)]);
  assert.deepEqual(out.map((f) => [f.packets, f.tsStart]), [[1, boundary - 10], [2, boundary]]);
  assert.equal(stats.notes.late_packet, 1);
});

test('emission is deterministic and records carry the pcap provenance fields', async () => {
  const recs = [udp(T0, C, S, 5000, 53), tcp(T0 + 1, C, S, 40000, 502, TCP.SYN), udp(T0 + 2, S, C, 123, 123)];
  const a = await flows(recs, {}, 'det-a.pcap');
  const b = await flows(recs, {}, 'det-a.pcap');
  assert.deepEqual(a.out, b.out);
  assert.ok(a.out.every((f) => f.exporter === 'det-a.pcap' && f.source === 'pcap' && f.observationDomain === 0));
  assert.equal(a.stats.flows, 3);
  assert.equal(a.stats.packets, 3);
  assert.equal(a.stats.firstTs, T0);
  assert.equal(a.stats.lastTs, T0 + 2);
  assert.equal(a.stats.bytesRead, a.stats.fileSize);
});
