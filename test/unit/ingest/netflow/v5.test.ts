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
    observationDomain: 0x0102, source: 'netflow5',
  }]);
  assert.deepEqual([r.errors, r.fidelity], [{}, {}]);
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
  assert.deepEqual([r.records[0]!.samplingInterval, r.records[0]!.fidelity, r.records[0]!.bytes], [100, ['start_after_end', 'sampled'], 220]);
  assert.deepEqual(d.decode(v5({ sampling: 10 }, [R]), '10.1.1.1', T0).fidelity, { sampling_changed: 1, sampled: 1 });
});

test('flags export time far from the receive time as clock_skew', () => {
  assert.deepEqual(new V5Decoder().decode(v5({}, [R]), '10.1.1.1', T0 + 3_600_000).fidelity, { clock_skew: 1 });
});
