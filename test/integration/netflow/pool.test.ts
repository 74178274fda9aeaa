import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { test } from 'node:test';
import type { FlowRecord } from '../../../core/records.ts';
import { CollectorPool, CollectorPoolConfig } from '../../../ingest/netflow/pool.ts';
import { be32, ip4, ipfix, set, tmpl, v5 } from '../../unit/ingest/netflow/build.ts';

const send = async (port: number, ...msgs: Uint8Array[]): Promise<void> => {
  const s = createSocket('udp4');
  for (const m of msgs) await new Promise<void>((res, rej) => s.send(m, port, '127.0.0.1', (e) => (e ? rej(e) : res())));
  s.close();
};

test('merges the records of two worker sockets into one stream and sums their stats', async () => {
  const pool = new CollectorPool(CollectorPoolConfig.parse({ listen: ['udp://127.0.0.1:0', 'udp://127.0.0.1:0'], flushInterval: '5ms' }));
  await pool.open();
  const [a, b] = pool.addresses();
  assert.ok(a && b && a.port !== b.port);
  const V5 = v5({}, [{ src: '10.0.0.1', dst: '10.0.0.2', sport: 40001, dport: 502, proto: 6, pkts: 2, octets: 80, first: 99_000, last: 99_500 }]);
  const IPFIX = ipfix({ domain: 3 }, set(2, tmpl(256, [[8, 4], [12, 4], [1, 4]])), set(256, [...ip4('10.0.0.3'), ...ip4('10.0.0.4'), ...be32(60)]));
  await send(a.port, V5, Uint8Array.from([0, 7, 1, 2]));
  await send(b.port, IPFIX);
  const got: FlowRecord[] = [];
  const deadline = setTimeout(() => void pool.close(), 5000);
  for await (const batch of pool.records()) { got.push(...batch); if (got.length >= 2) break; }
  clearTimeout(deadline);
  await pool.close();
  await pool.close();
  assert.deepEqual(got.map((r) => [r.source, r.srcIp, r.dstIp, r.bytes]).sort(), [['ipfix', '10.0.0.3', '10.0.0.4', 60], ['netflow5', '10.0.0.1', '10.0.0.2', 80]]);
  const s = pool.stats;
  assert.deepEqual([s.datagrams, s.records, s.errors], [3, 2, { unknown_version: 1 }]);
});

test('reports a port it cannot bind as not_connected and stops the other workers', async () => {
  const pool = new CollectorPool(CollectorPoolConfig.parse({ listen: ['udp://127.0.0.1:0', 'udp://203.0.113.250:1'] }));
  await assert.rejects(pool.open(), (e: { code?: string }) => e.code === 'not_connected');
  assert.throws(() => pool.addresses(), /not open/);
  assert.throws(() => new CollectorPool(CollectorPoolConfig.parse({ listen: ['tcp://x'] })), /udp:\/\/host:port/);
});
