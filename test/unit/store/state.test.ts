import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSite, SiteMap } from '../../../core/config.ts';
import type { FlowRecord } from '../../../core/records.ts';
import { assetPartials, conduitStates, type EngineConduitStatus } from '../../../store/state.ts';

const siteMap = new SiteMap(parseSite(['site: t', 'productionCycle: 1h', 'zones:', '  - name: a', '    sl: 1', '    cidrs: [10.0.1.0/24]',
  '  - name: b', '    sl: 1', '    cidrs: [10.0.2.0/24]', 'conduits:', '  - from: a', '    to: b', ''].join('\n'), 'site.yaml'));

const flow = (src: string, dst: string, t: number, l7?: string): FlowRecord => ({
  id: `${src}>${dst}@${t}`, tsStart: t, tsEnd: t + 10, srcIp: src, srcPort: 1, dstIp: dst, dstPort: 502, proto: 6, packets: 1, bytes: 100, packetsRev: 1,
  bytesRev: 50, tcpFlags: 0, exporter: 'x', observationDomain: 0, source: 'pcap', ...(l7 ? { l7 } : {}),
});

test('asset partials count each address once per flow on its side, with its zone and protocols', () => {
  const got = assetPartials([flow('10.0.1.1', '10.0.2.1', 0, 'modbus'), flow('10.0.1.1', '10.0.2.2', 50)], siteMap);
  assert.deepEqual(got.find((a) => a.ip === '10.0.1.1'), { ip: '10.0.1.1', zone: 'a', firstSeen: 0, lastSeen: 60, flows: 2, bytes: 200, l7: ['modbus'] });
  assert.deepEqual(got.find((a) => a.ip === '10.0.2.2'), { ip: '10.0.2.2', zone: 'b', firstSeen: 50, lastSeen: 60, flows: 1, bytes: 50, l7: [] });
});

const status = (over: Partial<EngineConduitStatus>): EngineConduitStatus => ({
  conduit: 'a->b', declared: true, firstSeen: 1_000, lastSeen: 2_000, learning: true, coverage: 0.5, edges: 2, flows: 9, windowsScored: 3,
  alerts: 0, state: 'learning, 50% coverage', cyclesCovered: 0.5, phaseBucketsSeen: 6, phaseBuckets: 12, novelFirstCycle: 2, novelLastCycle: 2,
  detectedCycleMs: null, cycleNote: '', ...over,
});

test('engine status maps to conduit states: learning, ready (with its ready time) and new, zones from the id', () => {
  const [learning, ready, fresh] = conduitStates([
    status({}), status({ learning: false, state: 'ready', readyAt: 3_601_000 }), status({ conduit: 'unknown->b', learning: false, state: 'new (no baseline: alerts from its first window)' }),
  ], siteMap, 99);
  assert.deepEqual([learning!.status, learning!.baselineUntil, learning!.readyAt, learning!.fromZone, learning!.toZone], ['learning', 1_000 + 3_600_000, null, 'a', 'b']);
  assert.deepEqual([ready!.status, ready!.baselineUntil, ready!.readyAt], ['ready', 3_601_000, 3_601_000]);
  assert.deepEqual([fresh!.status, fresh!.baselineUntil, fresh!.fromZone, fresh!.updatedAt], ['new', 1_000, 'unknown', 99]);
});

test('a conduit the engine has not seen in a closed window yet gets no row', () => {
  assert.deepEqual(conduitStates([status({ firstSeen: null })], siteMap, 0), []);
});
