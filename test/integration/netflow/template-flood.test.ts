/**
 * A template flood cannot evict a real exporter's templates (issue 9 item 4): softflowd's NetFlow v9
 * export of a shared Lemay capture is replayed to our collector from one socket, and between every
 * two of its datagrams a flood from 64 other source ports of the same host teaches thousands of
 * templates (262,144 over the run, four times the collector's whole cache). Every record softflowd
 * exported is decoded, none is `template_missing`; the flood is bounded to its own quota. Traffic
 * goes only to 127.0.0.1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { FlowRecord } from '../../../core/records.ts';
import { testContext } from '../../../core/testing.ts';
import { Collector, CollectorConfig } from '../../../ingest/netflow/collector.ts';
import { requireTool, sharedData } from '../../support/data.ts';
import { set, v9, v9Tmpl } from '../../unit/ingest/netflow/build.ts';

const run = promisify(execFile);

const bound = async (): Promise<Socket> => {
  const s = createSocket({ type: 'udp4', recvBufferSize: 8 << 20 });
  await new Promise<void>((ok) => s.bind(0, '127.0.0.1', ok));
  return s;
};
const send = (s: Socket, b: Uint8Array, port: number): Promise<void> =>
  new Promise((ok, fail) => s.send(b, port, '127.0.0.1', (e) => (e ? fail(e) : ok())));

test('a flood of templates from 64 source ports keeps every record of a real exporter (softflowd NetFlow v9)', async (t) => {
  const pcap = sharedData(t, 'lemay/send_a_fake_command_modbus_6RTU_with_operate.pcap');
  if (!pcap || !(await requireTool(t, 'softflowd', 'apt-get install -y softflowd'))) return;
  const dir = mkdtempSync(join(tmpdir(), 'cw-flood-'));
  const sockets: Socket[] = [];
  try {
    // softflowd's export, caught as datagrams.
    const catcher = await bound();
    sockets.push(catcher);
    const exported: Buffer[] = [];
    catcher.on('message', (m) => exported.push(Buffer.from(m)));
    const { stdout } = await run('softflowd', ['-r', pcap, '-n', `127.0.0.1:${catcher.address().port}`, '-v', '9', '-a', '-d',
      '-c', 'none', '-p', join(dir, 'sf.pid')], { timeout: 30_000 });
    await new Promise((ok) => setTimeout(ok, 300));
    const records = Number(/Flows exported: \d+ \((\d+) records\)/.exec(stdout)?.[1]);
    assert.ok(records > 500 && exported.length > 20, `softflowd: ${records} records in ${exported.length} datagrams`);

    const ours: FlowRecord[] = [];
    const c = new Collector(CollectorConfig.parse({ listen: 'udp://127.0.0.1:0', maxQueued: 1_000_000 }), testContext('flood'), (b) => ours.push(...b));
    await c.open();
    t.after(() => c.close());
    const port = c.address().port;
    const real = await bound();
    const flood = await Promise.all(Array.from({ length: 64 }, () => bound()));
    sockets.push(real, ...flood);

    // 64 ports × 4096 template ids (256 templates per datagram), spread between softflowd's datagrams.
    const bursts: Uint8Array[][] = flood.map((_, i) => Array.from({ length: 16 }, (_, k) =>
      v9({ seq: k, sourceId: 0 }, set(0, Array.from({ length: 256 }, (_, j) => v9Tmpl(256 + k * 256 + j, [[8, 4], [12, 4], [1, 4], [2, 4 + (i % 4)]])).flat()))));
    let floodSent = 0;
    const perGap = Math.ceil(16 / exported.length) + 1;
    let round = 0;
    for (const d of exported) {
      await send(real, d, port);
      for (let r = 0; r < perGap && round < 16; r++, round++) {
        for (let i = 0; i < flood.length; i++) { await send(flood[i]!, bursts[i]![round]!, port); floodSent += 256; }
        await new Promise((ok) => setImmediate(ok));
      }
    }
    assert.equal(floodSent, 64 * 4096);
    const until = Date.now() + 20_000;
    while (ours.filter((r) => r.exporter === '127.0.0.1').length < records && Date.now() < until) await new Promise((ok) => setTimeout(ok, 50));
    await c.close();

    assert.equal(ours.length, records, `records decoded: ${ours.length} of ${records}; errors ${JSON.stringify(c.stats.errors)}`);
    assert.equal(c.stats.errors.template_missing, undefined, JSON.stringify(c.stats.errors));
    assert.ok((c.stats.errors.template_evicted ?? 0) > 200_000, `the flood evicted its own templates: ${JSON.stringify(c.stats.errors)}`);
  } finally {
    for (const s of sockets) s.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
