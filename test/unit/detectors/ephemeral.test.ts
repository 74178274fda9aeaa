/** Dynamic (ephemeral) server ports: one service per host pair, its range kept; a new dynamic port on a known edge is nothing new. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createEngine } from '../../../cli/registry.ts';
import { SiteMap } from '../../../core/config.ts';
import type { Alert, FlowRecord } from '../../../core/records.ts';
import { EdgeTable } from '../../../detectors/edges.ts';
import { flow, mergeFlows, polls, testSite } from '../../../detectors/testing.ts';

const T0 = Date.parse('2025-01-06T00:00:00Z');
const M = 60_000;
const site = testSite({ cycle: '20m', baseline: '20m' });

/** An FTP-like exchange: control on :21, one passive data connection per transfer on a port that changes every time. */
const ftp = (fromMs: number, toMs: number, firstPort: number): FlowRecord[] => {
  const out: FlowRecord[] = [];
  for (let t = fromMs, i = 0; t < toMs; t += 30_000, i += 1) {
    out.push(flow({ srcIp: '10.0.1.20', dstIp: '10.0.2.30', dstPort: 21, tsStart: t, tsEnd: t + 200, tcpFlags: 0x1b, packets: 6, bytes: 400, packetsRev: 6, bytesRev: 500 }));
    out.push(flow({ srcIp: '10.0.1.20', dstIp: '10.0.2.30', dstPort: firstPort + ((i * 7919) % 9000), tsStart: t + 300, tsEnd: t + 900, tcpFlags: 0x1b, packets: 40, bytes: 2400, packetsRev: 40, bytesRev: 52_000 }));
  }
  return out;
};

const alertsOf = async (flows: FlowRecord[], siteMap = site): Promise<Alert[]> => {
  const e = await createEngine(siteMap);
  return [...e.ingest(flows).alerts, ...e.flush().alerts];
};

test('a dynamic data port that changes every connection is one service: after the baseline its new ports raise nothing', async () => {
  const poller = polls({ src: '10.0.1.10', dst: '10.0.2.20', everyMs: 1_000, fromMs: T0, toMs: T0 + 60 * M });
  const alerts = await alertsOf(mergeFlows(poller, ftp(T0, T0 + 60 * M, 50_000)));
  assert.deepEqual(alerts.map((a) => `${a.detector} ${a.dstPort} ${a.explanation}`), []);
});

test('without the folding (ephemeralPorts: []) each new dynamic port is a new service and alerts', async () => {
  const off = new SiteMap({ ...site.site, detection: { ...site.site.detection, ephemeralPorts: [] } });
  const alerts = await alertsOf(ftp(T0, T0 + 40 * M, 50_000), off);
  assert.ok(alerts.filter((a) => a.detector === 'novelty' && /new service tcp\/5\d{4}/.test(a.explanation)).length >= 10, `${alerts.length} alerts`);
});

test('a new well-known port on a known pair is still a new service, and a first dynamic service says its ports', async () => {
  const base = ftp(T0, T0 + 30 * M, 50_000);
  const smb = flow({ srcIp: '10.0.1.20', dstIp: '10.0.2.30', dstPort: 445, tsStart: T0 + 25 * M + 5_000, tcpFlags: 0x1b });
  // A pair that never used a dynamic port opens one after the baseline: new, once, with its port.
  const rpc = [0, 1, 2].map((i) => flow({ srcIp: '10.0.1.21', dstIp: '10.0.2.30', dstPort: 21, tsStart: T0 + i * 5 * M + 1_000, tcpFlags: 0x1b }));
  const dyn = [flow({ srcIp: '10.0.1.21', dstIp: '10.0.2.30', dstPort: 49_713, tsStart: T0 + 26 * M + 1_000, tcpFlags: 0x1b }), flow({ srcIp: '10.0.1.21', dstIp: '10.0.2.30', dstPort: 61_002, tsStart: T0 + 27 * M + 1_000, tcpFlags: 0x1b })];
  const alerts = await alertsOf(mergeFlows(base, [smb], rpc, dyn));
  const novelty = alerts.filter((a) => a.detector === 'novelty').map((a) => `${(a.tsStart - T0) / M} ${a.src} ${a.dstPort}: ${a.explanation}`);
  assert.deepEqual(novelty, [
    '25 10.0.1.20 445: new service tcp/445 on 10.0.1.20 → 10.0.2.30, never seen in baseline (baseline saw: tcp/21, tcp/ephemeral)',
    '26 10.0.1.21 0: new service tcp/ephemeral (ports 49713) on 10.0.1.21 → 10.0.2.30, never seen in baseline (baseline saw: tcp/21)',
    // An edge first seen after the baseline stays unbaselined for a cycle: its new connections still score.
    '27 10.0.1.21 0: unbaselined edge 10.0.1.21 → 10.0.2.30:ephemeral (ports 49713–61002) tcp: first seen 60 s ago, after the baseline, not in it: 1 new connection attempt (SYN) this window (2nd so far)',
  ]);
});

test('the edge index folds only TCP and UDP ports in the configured ranges, and keeps the range through a snapshot', () => {
  const t = new EdgeTable(() => 'a->b', [[49_152, 65_535]]);
  const p = t.pairOf('10.0.0.1', '10.0.0.2');
  const a = t.flowEdge(p, 6, 50_001, 0);
  assert.equal(t.flowEdge(p, 6, 64_000, 0), a);
  assert.equal(t.flowEdge(p, 6, 49_999, 0), a);
  t.seePorts(a, 49_999, 64_000);
  assert.notEqual(t.flowEdge(p, 17, 50_001, 0), a, 'UDP is its own edge');
  assert.notEqual(t.flowEdge(p, 6, 44_818, 0), a, 'EtherNet/IP 44818 is below the range');
  assert.equal(t.flowEdge(p, 1, 50_001, 0), t.flowEdge(p, 1, 50_001, 0));
  assert.notEqual(t.flowEdge(p, 1, 50_001, 0), t.flowEdge(p, 1, 50_002, 0), 'ICMP is never folded');
  assert.deepEqual([t.idOf(a), t.text(a), t.service(a)], ['10.0.0.1>10.0.0.2/6/0/-', '10.0.0.1 → 10.0.0.2:ephemeral (ports 49999–64000) tcp', 'tcp/ephemeral']);
  const back = EdgeTable.fromJSON(JSON.parse(JSON.stringify(t.toJSON())), () => 'a->b');
  assert.equal(back.text(a), t.text(a));
  assert.equal(back.flowEdge(back.pairOf('10.0.0.1', '10.0.0.2'), 6, 55_555, 0), a);
});
