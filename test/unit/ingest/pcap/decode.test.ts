import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DecodedPacket, decodeFrame, ipString, isDecodeViolation } from '../../../../ingest/pcap/decode.ts';
import { ether, ipv4, ipv6, nullLoop, sll, sll2, TCP, tcpSegment, udpDatagram } from './frames.ts';

const payload = Buffer.from('hello');
const tcp4 = ipv4({ src: '10.1.2.3', dst: '192.168.0.9', proto: 6 }, tcpSegment({ sport: 40000, dport: 502, flags: TCP.SYN | TCP.ACK, seq: 0xfffffff0, payload }));
const v6a = Buffer.from('20010db8000000000000000000000001', 'hex');
const v6b = Buffer.from('fe800000000000000000000000000abc', 'hex');

const decode = (linkType: number, frame: Buffer): { out: DecodedPacket; r: string } => {
  const out = new DecodedPacket();
  const r = decodeFrame(linkType, frame, 0, frame.length, 42, out);
  return { out, r };
};

const assertTcp4 = (out: DecodedPacket, frame: Buffer): void => {
  assert.equal(out.srcIp, '10.1.2.3');
  assert.equal(out.dstIp, '192.168.0.9');
  assert.equal(out.proto, 6);
  assert.equal(out.srcPort, 40000);
  assert.equal(out.dstPort, 502);
  assert.equal(out.tcpFlags, TCP.SYN | TCP.ACK);
  assert.equal(out.seq, 0xfffffff0);
  assert.equal(out.ipLen, 45);
  assert.equal(out.ts, 42);
  assert.equal(frame.toString('latin1', out.payloadOff, out.payloadOff + out.payloadLen), 'hello');
};

const links: Array<[string, number, Buffer]> = [
  ['Ethernet', 1, ether(tcp4)],
  ['Ethernet with an 802.1Q tag', 1, ether(tcp4, { vlans: [100] })],
  ['Ethernet with QinQ tags', 1, ether(tcp4, { vlans: [10, 20] })],
  ['Linux SLL', 113, sll(tcp4)],
  ['Linux SLL2', 276, sll2(tcp4)],
  ['raw IP (101)', 101, tcp4],
  ['raw IP (12)', 12, tcp4],
  ['raw IP (14)', 14, tcp4],
  ['raw IPv4 (228)', 228, tcp4],
  ['BSD NULL, little-endian family', 0, nullLoop(tcp4, true)],
  ['BSD NULL, big-endian family', 0, nullLoop(tcp4, false)],
];
for (const [name, lt, frame] of links) {
  test(`decodes TCP over IPv4 on ${name}`, () => {
    const { out, r } = decode(lt, frame);
    assert.equal(r, 'ok');
    assertTcp4(out, frame);
  });
}

test('records the outer VLAN id of a QinQ frame', () => {
  assert.equal(decode(1, ether(tcp4, { vlans: [10, 20] })).out.vlan, 10);
});

test('decodes UDP over IPv6 on raw IPv6 (229), skipping hop-by-hop and destination-options headers', () => {
  const frame = ipv6(v6a, v6b, 17, udpDatagram(5353, 47808, payload), [[0, Buffer.alloc(4)], [60, Buffer.alloc(10)]]);
  const { out, r } = decode(229, frame);
  assert.equal(r, 'ok');
  assert.equal(out.srcIp, '2001:db8::1');
  assert.equal(out.dstIp, 'fe80::abc');
  assert.equal(out.proto, 17);
  assert.equal(out.srcPort, 5353);
  assert.equal(out.dstPort, 47808);
  assert.equal(out.payloadLen, 5);
  assert.equal(out.ipLen, frame.length);
});

test('decodes ICMP as dstPort = type * 256 + code', () => {
  const icmp = Buffer.from([8, 0, 0, 0, 0, 1, 0, 1]);
  const { out, r } = decode(101, ipv4({ src: '1.1.1.1', dst: '2.2.2.2', proto: 1 }, icmp));
  assert.equal(r, 'ok');
  assert.equal(out.srcPort, 0);
  assert.equal(out.dstPort, 8 * 256);
});

test('formats IPv6 addresses the RFC 5952 way', () => {
  assert.equal(ipString(Buffer.from('00000000000000000000000000000001', 'hex'), 0, 6), '::1');
  assert.equal(ipString(Buffer.from('20010db8000100000000000100000001', 'hex'), 0, 6), '2001:db8:1::1:0:1');
  assert.equal(ipString(Buffer.from('20010db8000100010001000100010001', 'hex'), 0, 6), '2001:db8:1:1:1:1:1:1');
});

const bad: Array<[string, number, Buffer, string]> = [
  ['IPv4 IHL below 5', 101, ipv4({ src: '1.1.1.1', dst: '2.2.2.2', proto: 6, ihl: 4 }, tcpSegment({ sport: 1, dport: 2 })), 'ipv4_ihl'],
  ['TCP data offset below 5', 101, ipv4({ src: '1.1.1.1', dst: '2.2.2.2', proto: 6 }, tcpSegment({ sport: 1, dport: 2, dataOffset: 3 })), 'tcp_data_offset'],
  ['TCP header cut short', 101, ipv4({ src: '1.1.1.1', dst: '2.2.2.2', proto: 6 }, Buffer.alloc(10)), 'tcp_truncated'],
  ['UDP header cut short', 101, ipv4({ src: '1.1.1.1', dst: '2.2.2.2', proto: 17 }, Buffer.alloc(4)), 'udp_truncated'],
  ['Ethernet frame shorter than its header', 1, Buffer.alloc(10), 'link_truncated'],
  ['IPv4 shorter than 20 bytes', 101, Buffer.from([0x45, 0, 0, 10]), 'ipv4_truncated'],
  ['IPv6 shorter than 40 bytes', 229, Buffer.from([0x60, 0, 0, 0]), 'ipv6_truncated'],
  ['version nibble 2 where IPv4 was expected', 228, Buffer.concat([Buffer.from([0x25]), Buffer.alloc(30)]), 'ip_version'],
];
for (const [name, lt, frame, code] of bad) {
  test(`counts ${name} as violation ${code}`, () => {
    const { r } = decode(lt, frame);
    assert.equal(r, code);
    assert.equal(isDecodeViolation(r as never), true);
  });
}

test('ARP and unknown link types are notes, not violations', () => {
  const arp = decode(1, ether(Buffer.alloc(28), { ethertype: 0x0806 })).r;
  assert.equal(arp, 'non_ip');
  assert.equal(isDecodeViolation(arp as never), false);
  assert.equal(decode(147, tcp4).r, 'unsupported_link_type');
});

test('a first IPv4 fragment keeps its ports; a later fragment is an ip_fragment note', () => {
  const first = decode(101, ipv4({ src: '1.1.1.1', dst: '2.2.2.2', proto: 17, moreFragments: true }, udpDatagram(1111, 2222, payload)));
  assert.equal(first.r, 'ok');
  assert.equal(first.out.fragment, 1);
  assert.equal(first.out.dstPort, 2222);
  const later = decode(101, ipv4({ src: '1.1.1.1', dst: '2.2.2.2', proto: 17, fragOffset: 185 }, Buffer.alloc(16)));
  assert.equal(later.r, 'ip_fragment');
});

test('a later IPv6 fragment is an ip_fragment note', () => {
  const fragHdr = Buffer.from([0, 0, 0x05, 0xc8, 0, 0, 0, 1]); // next filled by builder; offset 185
  const frame = ipv6(v6a, v6b, 17, Buffer.alloc(16), []);
  // Insert a fragment header by hand: next header 44, body = offset/flags + id.
  frame[6] = 44;
  const withFrag = Buffer.concat([frame.subarray(0, 40), Buffer.from([17, 0]), fragHdr.subarray(2), frame.subarray(40)]);
  withFrag.writeUInt16BE(withFrag.length - 40, 4);
  assert.equal(decode(229, withFrag).r, 'ip_fragment');
});

test('Ethernet padding past the IPv4 total length is not payload', () => {
  const ip = ipv4({ src: '1.1.1.1', dst: '2.2.2.2', proto: 6 }, tcpSegment({ sport: 1, dport: 2 }));
  const { out, r } = decode(1, Buffer.concat([ether(ip), Buffer.alloc(6)]));
  assert.equal(r, 'ok');
  assert.equal(out.payloadLen, 0);
});
