import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { test } from 'node:test';
import { fakeClock } from '../../../core/clock.ts';
import type { FlowRecord } from '../../../core/records.ts';
import { testContext } from '../../../core/testing.ts';
import { Collector, CollectorConfig } from '../../../ingest/netflow/collector.ts';
import { T0, be32, ip4, ipfix, set, tmpl, v5 } from '../../unit/ingest/netflow/build.ts';

const V5 = v5({}, [{ src: '10.0.0.1', dst: '10.0.0.2', sport: 40001, dport: 502, proto: 6, pkts: 2, octets: 80, first: 99_000, last: 99_500 }]);
const IPFIX = ipfix({ domain: 3 }, set(2, tmpl(256, [[8, 4], [12, 4], [1, 4]])), set(256, [...ip4('10.0.0.3'), ...ip4('10.0.0.4'), ...be32(60)]));

const send = async (port: number, host: string, ...msgs: Uint8Array[]): Promise<void> => {
  const s = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  for (const m of msgs) await new Promise<void>((res, rej) => s.send(m, port, host, (e) => (e ? rej(e) : res())));
  s.close();
};

const take = async (c: Collector, n: number): Promise<FlowRecord[]> => {
  const out: FlowRecord[] = [];
  const deadline = setTimeout(() => void c.close(), 5000);
  for await (const b of c.records()) { out.push(...b); if (out.length >= n) break; }
  clearTimeout(deadline);
  return out;
};

test('receives v5 and IPFIX over loopback UDP and yields their records in batches', async () => {
  const ctx = testContext('nf', fakeClock(T0));
  const c = new Collector(CollectorConfig.parse({ listen: 'udp://127.0.0.1:0' }), ctx);
  await c.open();
  await c.open();
  const { port } = c.address();
  await send(port, '127.0.0.1', Uint8Array.from([0, 7, 1, 2]), V5, IPFIX);
  const recs = await take(c, 2);
  assert.deepEqual(recs.map((r) => [r.source, r.srcIp, r.bytes, r.exporter]).sort(), [['ipfix', '10.0.0.3', 60, '127.0.0.1'], ['netflow5', '10.0.0.1', 80, '127.0.0.1']]);
  await c.close();
  await c.close();
  assert.equal(c.stats.datagrams, 3);
  assert.deepEqual(c.stats.errors, { unknown_version: 1 });
  assert.equal(ctx.metrics.get('conduitwatch_netflow_records_total', { exporter: '127.0.0.1' }), 2);
  assert.equal(ctx.metrics.get('conduitwatch_netflow_errors_total', { reason: 'unknown_version' }), 1);
  assert.equal(ctx.metrics.get('conduitwatch_netflow_templates'), 1);
});

test('listens on IPv6 loopback', async (t) => {
  const c = new Collector(CollectorConfig.parse({ listen: 'udp://[::1]:0' }), testContext('nf6', fakeClock(T0)));
  try { await c.open(); } catch (e) { t.skip(`no IPv6 loopback here: ${String(e)}`); return; }
  await send(c.address().port, '::1', V5);
  const recs = await take(c, 1);
  await c.close();
  assert.deepEqual(recs.map((r) => [r.exporter, r.srcIp]), [['::1', '10.0.0.1']]);
});

test('drops and counts datagrams from exporters outside the allow-list', () => {
  const ctx = testContext('nf', fakeClock(T0));
  const got: FlowRecord[] = [];
  const c = new Collector(CollectorConfig.parse({ allowedExporters: ['192.0.2.0/24'] }), ctx, (b) => got.push(...b));
  c.receive(V5, { address: '198.51.100.7', port: 2055 });
  c.receive(V5, { address: '192.0.2.9', port: 2055 });
  assert.deepEqual(got.map((r) => r.exporter), ['192.0.2.9']);
  assert.deepEqual(c.stats.errors, { exporter_denied: 1 });
  assert.equal(ctx.metrics.get('conduitwatch_netflow_errors_total', { exporter: 'denied', reason: 'exporter_denied' }), 1);
});

test('counts sequence gaps per exporter; an address this host lacks, or a port in use, is a config error with the fix', async () => {
  const c = new Collector(CollectorConfig.parse({}), testContext('nf', fakeClock(T0)), () => undefined);
  c.receive(v5({ seq: 0 }, []), { address: '192.0.2.1', port: 1 });
  c.receive(v5({ seq: 40 }, []), { address: '192.0.2.1', port: 1 });
  assert.deepEqual(c.stats.sequenceGaps, { '192.0.2.1': 40 });
  const bad = new Collector(CollectorConfig.parse({ listen: 'udp://203.0.113.250:1' }), testContext());
  await assert.rejects(bad.open(), (e: { code?: string; message: string }) => e.code === 'config_invalid' && /203\.0\.113\.250 is not an address of this host/.test(e.message));
  const first = new Collector(CollectorConfig.parse({ listen: 'udp://127.0.0.1:0' }), testContext());
  await first.open();
  const taken = new Collector(CollectorConfig.parse({ listen: `udp://127.0.0.1:${first.address().port}` }), testContext());
  await assert.rejects(taken.open(), (e: { code?: string; message: string }) => e.code === 'config_invalid' && /already in use.*Pick another port/.test(e.message));
  await first.close();
  assert.throws(() => new Collector(CollectorConfig.parse({ listen: 'tcp://x' }), testContext()), /udp:\/\/host:port/);
  assert.throws(() => new Collector(CollectorConfig.parse({ listen: 'udp://0.0.0.0:99999' }), testContext()), /port 99999 is out of range; UDP ports run 1 to 65535/);
});
