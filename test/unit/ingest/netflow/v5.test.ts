import assert from 'node:assert/strict';
import { test } from 'node:test';
import { V5Decoder } from '../../../../ingest/netflow/v5.ts';
import { T0, v5, type V5Rec } from './build.ts';
import { noId } from '../../../support/records.ts';

const R: V5Rec = { src: '192.168.1.100', dst: '192.168.1.101', sport: 1355, dport: 502, proto: 6, pkts: 5, octets: 220, first: 40_000, last: 41_500, flags: 0x1b };

test('decodes a v5 record into a whole flow record with times from sysUptime and unix secs/nsecs', () => {
  const r = new V5Decoder().decode(v5({ sysUptime: 100_000, unixNsecs: 250_000_000, engineType: 1, engineId: 2 }, [R]), '10.1.1.1', T0);
  assert.deepEqual(noId(r.records), [{
    tsStart: T0 + 250 - 60_000, tsEnd: T0 + 250 - 58_500, srcIp: '192.168.1.100', srcPort: 1355, dstIp: '192.168.1.101',
    dstPort: 502, proto: 6, packets: 5, bytes: 220, packetsRev: 0, bytesRev: 0, tcpFlags: 0x1b, exporter: '10.1.1.1',
    observationDomain: 0x0102, source: 'netflow5', fidelity: ['direction_port'],
  }]);
  assert.deepEqual([r.errors, r.fidelity], [{}, { direction_port: 1 }]);
});

test('decodes the records that fit when count claims more, and counts truncated', () => {
  const d = new V5Decoder();
  const m = v5({ count: 3 }, [R, R]);
  const r = d.decode(m.subarray(0, m.length - 10), '10.1.1.1', T0);
  assert.deepEqual([r.records.length, r.errors], [1, { truncated: 1 }]);
  for (let n = 0; n < 24; n++) assert.deepEqual(d.decode(m.subarray(0, n), '10.1.1.1', T0).errors, { truncated: 1 }, `${n} bytes`);
});

test('counts a count of 0 or above 30 and a wrong version', () => {
  const d = new V5Decoder();
  assert.deepEqual(d.decode(v5({ count: 0 }, [R]), '10.1.1.1', T0).errors, { count_invalid: 1 });
  assert.deepEqual(d.decode(v5({ count: 31 }, [R]), '10.1.1.1', T0).errors, { count_invalid: 1 });
  const m = v5({}, [R]);
  m[1] = 7;
  assert.deepEqual(d.decode(m, '10.1.1.1', T0).errors, { bad_version: 1 });
});

test('counts sequence gaps in flows', () => {
  const d = new V5Decoder();
  assert.equal(d.decode(v5({ seq: 100 }, [R, R]), '10.1.1.1', T0).sequenceGap, 0);
  assert.equal(d.decode(v5({ seq: 102 }, [R]), '10.1.1.1', T0).sequenceGap, 0);
  assert.equal(d.decode(v5({ seq: 110 }, [R]), '10.1.1.1', T0).sequenceGap, 7);
});

test('records the header sampling interval and flags a change and start after end', () => {
  const d = new V5Decoder();
  const r = d.decode(v5({ sampling: 0x4000 | 100 }, [{ ...R, first: 42_000, last: 41_000 }]), '10.1.1.1', T0);
  assert.deepEqual([r.records[0]!.samplingInterval, r.records[0]!.fidelity, r.records[0]!.bytes], [100, ['start_after_end', 'sampled', 'direction_port'], 220]);
  assert.deepEqual(d.decode(v5({ sampling: 10 }, [R]), '10.1.1.1', T0).fidelity, { sampling_changed: 1, sampled: 1, direction_port: 1 });
});

test('flags export time far from the receive time as clock_skew', () => {
  assert.deepEqual(new V5Decoder().decode(v5({}, [R]), '10.1.1.1', T0 + 3_600_000).fidelity, { clock_skew: 1, direction_port: 1 });
});

test('orients export records by the port rule unless they are a SYN-only client record, noting why; ids follow the datagram', () => {
  const reply: V5Rec = { ...R, src: R.dst, dst: R.src, sport: 502, dport: 1355, flags: 0x18 }; // the PLC's side, no SYN: swapped
  const scan: V5Rec = { ...R, sport: 502, dport: 40000, flags: 0x02, pkts: 1, octets: 44 }; // a SYN from port 502: its sender is the client
  const udp: V5Rec = { ...R, proto: 17, sport: 20000, dport: 50001, flags: 0 };
  const b = v5({ seq: 7 }, [reply, scan, udp]);
  const r = new V5Decoder().decode(b, '10.1.1.1', T0, '10.1.1.1:2055');
  assert.deepEqual(r.records.map((x) => [x.srcIp, x.srcPort, x.dstIp, x.dstPort, x.packets, x.bytes, x.packetsRev, x.bytesRev, x.fidelity]), [
    ['192.168.1.100', 1355, '192.168.1.101', 502, 0, 0, 5, 220, ['direction_port']],
    ['192.168.1.100', 502, '192.168.1.101', 40000, 1, 44, 0, 0, undefined],
    ['192.168.1.101', 50001, '192.168.1.100', 20000, 0, 0, 5, 220, ['direction_port']],
  ]);
  assert.deepEqual(r.fidelity, { direction_port: 2 });
  const again = new V5Decoder().decode(b, '10.1.1.1', T0, '10.1.1.1:2055');
  assert.deepEqual(again.records.map((x) => x.id), r.records.map((x) => x.id));
  assert.equal(new Set(r.records.map((x) => x.id)).size, 3);
  const otherPort = new V5Decoder().decode(b, '10.1.1.1', T0, '10.1.1.1:2056');
  assert.notEqual(otherPort.records[0]!.id, r.records[0]!.id, 'another exporter session, other ids');
});
