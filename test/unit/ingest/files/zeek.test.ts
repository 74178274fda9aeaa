import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { flowId, type FlowRecord } from '../../../../core/records.ts';
import { newFileStats, type FileStats } from '../../../../ingest/files/csv.ts';
import { historyFlags, readZeek, type ZeekOptions } from '../../../../ingest/files/zeek.ts';
import { projectRoot } from '../../../support/data.ts';

const fixture = (rel: string): string => join(projectRoot, 'test/fixtures/zeek', rel);

const readAll = async (path: string, opts: ZeekOptions = {}): Promise<{ recs: FlowRecord[]; stats: FileStats }> => {
  const stats = newFileStats(path);
  const recs: FlowRecord[] = [];
  for await (const b of readZeek(path, opts, stats)) recs.push(...b);
  return { recs, stats };
};

const withTmp = async (fn: (dir: string) => Promise<void>): Promise<void> => {
  const dir = mkdtempSync(join(tmpdir(), 'cw-zeek-'));
  try { await fn(dir); } finally { rmSync(dir, { recursive: true, force: true }); }
};

test('maps a TSV conn.log row to a record: originator is src, IP-level counters, span from ts and duration', async () => {
  const { recs } = await readAll(fixture('plant'));
  const m = recs.find((r) => r.srcPort === 50210)!;
  assert.deepEqual(
    { ...m, l7Ops: undefined, l7OpsRev: undefined, l7Errors: undefined, l7Units: undefined, requestIntervalsMs: undefined },
    {
      id: flowId('zeek', 'CHhAvVGS1DHFjwGM9'), tsStart: 1709287200100, tsEnd: 1709287259600, srcIp: '10.0.1.10', srcPort: 50210, dstIp: '10.0.2.20', dstPort: 502,
      proto: 6, packets: 60, bytes: 3720, packetsRev: 58, bytesRev: 3596, tcpFlags: 0x13, exporter: 'plant',
      observationDomain: 0, source: 'file', l7: 'modbus',
      l7Ops: undefined, l7OpsRev: undefined, l7Errors: undefined, l7Units: undefined, requestIntervalsMs: undefined,
    });
});

test('joins Zeek modbus.log by uid into the pcap dissector names, with exceptions, units and request cadence', async () => {
  const { recs } = await readAll(fixture('plant'));
  const m = recs.find((r) => r.srcPort === 50210)!;
  assert.deepEqual(m.l7Ops, { read_holding_registers: 3, write_single_register: 1 });
  assert.deepEqual(m.l7OpsRev, { read_holding_registers: 3, write_single_register: 1 });
  assert.deepEqual(m.l7Errors, { illegal_data_address: 1 });
  assert.deepEqual(m.l7Units, [1]);
  assert.deepEqual(m.requestIntervalsMs, { count: 3, mean: 1000, m2: 0, min: 1000, max: 1000 });
});

test('joins dnp3.log (request/reply pairs, IIN errors, unsolicited responses) and ICSNPP s7comm.log', async () => {
  const { recs } = await readAll(fixture('plant'));
  const d = recs.find((r) => r.dstPort === 20000)!;
  assert.equal(d.l7, 'dnp3');
  assert.deepEqual(d.l7Ops, { read: 2, select: 1 });
  assert.deepEqual(d.l7OpsRev, { response: 3, unsolicited_response: 1 });
  assert.deepEqual(d.l7Errors, { parameter_error: 1 });
  const s = recs.find((r) => r.srcPort === 51212)!;
  assert.equal(s.l7, 's7comm');
  assert.deepEqual(s.l7Ops, { block_get_block_info: 1, cpu_read_szl: 1, setup_communication: 1, write_var: 1 });
  assert.deepEqual(s.l7OpsRev, s.l7Ops);
  assert.deepEqual(s.l7Errors, { application_relationship_error_0x04: 1, param_error_0xd209: 1 });
  assert.equal(s.tcpFlags, 0x02 | 0x10 | 0x04);
});

test('reads unset fields as zero and an absent duration as a point in time; ICMP type/code go to dstPort', async () => {
  const { recs } = await readAll(fixture('plant'));
  const icmp = recs.find((r) => r.proto === 1)!;
  assert.deepEqual([icmp.tsStart, icmp.tsEnd, icmp.srcPort, icmp.dstPort, icmp.packets, icmp.bytes, icmp.packetsRev, icmp.l7],
    [1709287202000, 1709287202000, 0, 8 << 8, 1, 84, 0, undefined]);
  const scan = recs.find((r) => r.srcIp === '10.0.1.99')!;
  assert.equal(scan.tcpFlags, 0x02);
  assert.equal(recs.find((r) => r.proto === 17)!.l7, 'dns');
});

test('counts bad rows per reason and keeps reading', async () => {
  const { recs, stats } = await readAll(fixture('plant'));
  assert.equal(stats.rows, 9);
  assert.deepEqual(stats.badRows, { zeek_bad_address: 1, zeek_column_count: 1 });
  assert.equal(recs.length, 7);
  assert.equal(stats.records, 7);
});

test('emits in start-time order although Zeek logged the long connection last', async () => {
  const { recs, stats } = await readAll(fixture('plant'));
  assert.equal(recs[0]!.srcPort, 50100);
  assert.equal(recs[0]!.tsEnd - recs[0]!.tsStart, 720_000);
  for (let i = 1; i < recs.length; i++) assert.ok(recs[i]!.tsStart >= recs[i - 1]!.tsStart);
  assert.equal(stats.late, 0);
});

test('a connection longer than the reorder horizon is still emitted once, with its true span, and counted late', async () => {
  const { recs, stats } = await readAll(fixture('plant'), { reorderMs: 1_000 });
  assert.equal(recs.length, 7);
  assert.equal(stats.late, 1);
  assert.equal(recs.at(-1)!.srcPort, 50100);
  assert.equal(recs.at(-1)!.tsStart, 1709286800000);
});

test('reads JSON conn.log with the JSON modbus.log beside it; a cut-off line is counted', async () => {
  const { recs, stats } = await readAll(fixture('json/conn.log'));
  assert.deepEqual(recs.map((r) => r.tsStart), [1709287299750, 1709287300500, 1709287301000]);
  assert.deepEqual(stats.badRows, { zeek_bad_json: 1 });
  const m = recs[1]!;
  assert.deepEqual([m.l7, m.l7Ops, m.l7OpsRev, m.l7Units], ['modbus', { read_coils: 1 }, { read_coils: 1 }, [255]]);
  const v6 = recs[2]!;
  assert.deepEqual([v6.proto, v6.srcIp, v6.dstPort], [58, 'fd00::10', 128 << 8]);
  assert.equal(recs[0]!.l7, 'bacnet');
});

test('reads gzip-compressed rotated logs in a folder the same as the plain ones', async () => {
  const plain = await readAll(fixture('plant'));
  await withTmp(async (dir) => {
    for (const f of ['conn', 'modbus', 'dnp3', 's7comm']) {
      writeFileSync(join(dir, `${f}.2024-03-01-10-00-00.log.gz`), gzipSync(readFileSync(fixture(`plant/${f}.log`))));
    }
    const gz = await readAll(dir);
    assert.deepEqual(gz.recs.map((r) => ({ ...r, exporter: '' })), plain.recs.map((r) => ({ ...r, exporter: '' })));
    assert.deepEqual(gz.stats.badRows, plain.stats.badRows);
  });
});

test('a conn log file alone joins only the protocol logs of its own rotation', async () => {
  await withTmp(async (dir) => {
    copyFileSync(fixture('plant/conn.log'), join(dir, 'conn.log'));
    copyFileSync(fixture('plant/modbus.log'), join(dir, 'modbus.other.log'));
    const { recs } = await readAll(join(dir, 'conn.log'));
    assert.equal(recs.find((r) => r.srcPort === 50210)!.l7Ops, undefined);
  });
});

test('a folder without a conn log is input_invalid', async () => {
  await withTmp(async (dir) => {
    await assert.rejects(readAll(dir), (e: { code?: string; message: string }) => e.code === 'input_invalid' && /no Zeek conn log/.test(e.message));
  });
});

test('turns Zeek history and conn_state into TCP flags', () => {
  assert.equal(historyFlags('ShADadFf', 'SF'), 0x13);
  assert.equal(historyFlags('Sr', 'REJ'), 0x06);
  assert.equal(historyFlags(undefined, 'S0'), 0x02);
  assert.equal(historyFlags(undefined, 'RSTO'), 0x16);
  assert.equal(historyFlags(undefined, 'OTH'), 0);
});
