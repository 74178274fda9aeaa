import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { hasCode } from '../../../../core/errors.ts';
import type { FlowRecord } from '../../../../core/records.ts';
import { testContext } from '../../../../core/testing.ts';
import { newFileStats, readButIec104, type FileStats, type ReaderOptions } from '../../../../ingest/files/but-iec104.ts';
import { sniffCsvKind } from '../../../../ingest/files/sniff.ts';

const HEADER = 'TimeStamp;Relative Time;srcIP;dstIP;srcPort;dstPort;ipLen;len;fmt;uType;asduType;numix;cot;oa;addr';
const C = '10.0.0.1;10.0.0.2;50000;2404';
const S = '10.0.0.2;10.0.0.1;2404;50000';
const dir = mkdtempSync(join(tmpdir(), 'cw-iec104-'));

/** Writes a CSV with the 15-column header and returns its path. */
const csv = (name: string, rows: string[], header = HEADER): string => {
  const p = join(dir, name);
  writeFileSync(p, [header, ...rows].join('\n') + '\n');
  return p;
};
const iRow = (tod: string, rel: string, side: string, type: number, cot = 3, addr = 1, ipLen = 60): string =>
  `${tod};${rel};${side};${ipLen};14;0x00000000;;${type};1;${cot};0;${addr}`;
const uRow = (tod: string, rel: string, side: string, u: string): string => `${tod};${rel};${side};46;4;0x00000003;${u};;;;;`;
const sRow = (tod: string, rel: string, side: string): string => `${tod};${rel};${side};46;4;0x00000001;;;;;;`;

const read = async (path: string, opts: ReaderOptions = {}, stats?: FileStats): Promise<FlowRecord[][]> => {
  const batches: FlowRecord[][] = [];
  for await (const b of readButIec104(path, opts, stats)) batches.push(b);
  return batches;
};
const all = async (path: string, opts: ReaderOptions = {}, stats?: FileStats): Promise<FlowRecord[]> => (await read(path, opts, stats)).flat();

test('puts the side on port 2404 as the server, whoever speaks first', async () => {
  const p = csv('direction.csv', [
    iRow('10:00:00.00', '0.000', S, 36, 3, 1, 67),
    sRow('10:00:01.00', '1.000', C),
    iRow('10:00:02.00', '2.000', S, 36, 3, 1, 70),
  ]);
  const [r] = await all(p, { date: '2020-01-02' });
  assert.equal(r!.srcIp, '10.0.0.1');
  assert.equal(r!.srcPort, 50000);
  assert.equal(r!.dstIp, '10.0.0.2');
  assert.equal(r!.dstPort, 2404);
  assert.deepEqual([r!.packets, r!.bytes, r!.packetsRev, r!.bytesRev], [1, 46, 2, 137]);
  assert.deepEqual(r!.l7Ops, { S_frame: 1 });
  assert.deepEqual(r!.l7OpsRev, { M_ME_TF_1: 2 });
  assert.equal(r!.proto, 6);
  assert.equal(r!.source, 'file');
  assert.equal(r!.l7, 'iec104');
  assert.equal(r!.exporter, 'direction.csv');
  assert.equal(r!.tsStart, Date.parse('2020-01-02T10:00:00Z'));
  assert.equal(r!.tsEnd, Date.parse('2020-01-02T10:00:02Z'));
});

test('cuts records at epoch multiples of sliceMs and emits each slice once a later row is read', async () => {
  const p = csv('slices.csv', [
    iRow('10:00:05.00', '0.000', C, 100, 6),
    iRow('10:00:09.99', '4.990', S, 100, 7),
    iRow('10:00:10.00', '5.000', S, 36),
    iRow('10:00:25.00', '20.000', S, 36),
    iRow('10:00:35.00', '30.000', S, 36),
  ]);
  const batches = await read(p, { date: '2020-01-02', sliceMs: 10_000 });
  const t0 = Date.parse('2020-01-02T10:00:00Z');
  assert.deepEqual(batches.map((b) => b.map((r) => [r.tsStart - t0, r.tsEnd - t0])), [
    [[5_000, 9_990]], [[10_000, 10_000]], [[25_000, 25_000]], [[35_000, 35_000]],
  ]);
  assert.deepEqual(batches[0]![0]!.l7Ops, { C_IC_NA_1: 1 });
  assert.deepEqual(batches[0]![0]!.l7OpsRev, { C_IC_NA_1: 1 });
});

test('names I-format by ASDU type, U-format by function and S-format as S_frame', async () => {
  const p = csv('ops.csv', [
    uRow('10:00:00.00', '0.0', C, '0x00000001'),
    uRow('10:00:00.10', '0.1', S, '0x00000002'),
    iRow('10:00:00.20', '0.2', C, 100, 6, 10),
    iRow('10:00:00.30', '0.3', C, 103, 6, 10),
    iRow('10:00:00.40', '0.4', C, 122, 13, 65535),
    iRow('10:00:00.50', '0.5', S, 120, 13, 65535),
    iRow('10:00:00.60', '0.6', S, 126, 13, 65535),
    iRow('10:00:00.70', '0.7', S, 200, 3, 10),
    uRow('10:00:00.80', '0.8', S, '0x00000010'),
    uRow('10:00:00.90', '0.9', C, '0x00000020'),
    uRow('10:00:01.00', '1.0', C, '0x00000004'),
    uRow('10:00:01.10', '1.1', S, '0x00000008'),
    uRow('10:00:01.20', '1.2', S, '0x00000040'),
    sRow('10:00:01.30', '1.3', C),
  ]);
  const [r] = await all(p);
  assert.deepEqual(r!.l7Ops, {
    C_CS_NA_1: 1, C_IC_NA_1: 1, F_SC_NA_1: 1, STARTDT_act: 1, STOPDT_act: 1, S_frame: 1, TESTFR_con: 1,
  });
  assert.deepEqual(r!.l7OpsRev, {
    F_DR_TA_1: 1, F_FR_NA_1: 1, STARTDT_con: 1, STOPDT_con: 1, TESTFR_act: 1, U_0x40: 1, asdu_200: 1,
  });
  assert.deepEqual(r!.l7Units, [10, 65535]);
  assert.equal(r!.l7Errors, undefined);
});

test('counts negative and unknown causes of transmission as errors', async () => {
  const p = csv('cot.csv', [
    iRow('10:00:00.00', '0.0', C, 45, 6),
    iRow('10:00:00.10', '0.1', S, 45, 47),
    iRow('10:00:00.20', '0.2', S, 45, 44),
    iRow('10:00:00.30', '0.3', S, 45, 0x40 | 7),
    iRow('10:00:00.40', '0.4', S, 45, 60),
  ]);
  const [r] = await all(p);
  assert.deepEqual(r!.l7Errors, { cot_60: 1, negative_confirm: 1, unknown_ioa: 1, unknown_type_id: 1 });
});

test('counts several APDUs of one IP packet as one packet and its bytes once', async () => {
  const p = csv('packed.csv', [
    iRow('10:00:00.00', '0.500', S, 1, 20, 10, 476),
    iRow('10:00:00.00', '0.500', S, 3, 20, 10, 476),
    iRow('10:00:00.00', '0.500', S, 5, 20, 10, 476),
    iRow('10:00:00.20', '0.700', S, 5, 20, 10, 476),
  ]);
  const [r] = await all(p);
  assert.equal(r!.packetsRev, 2);
  assert.equal(r!.bytesRev, 952);
  assert.deepEqual(r!.l7OpsRev, { M_DP_NA_1: 1, M_SP_NA_1: 1, M_ST_NA_1: 2 });
});

test('summarises gaps between the initiator’s I- and U-format messages, not its S-frames', async () => {
  const p = csv('cadence.csv', [
    iRow('10:00:00.00', '0.0', C, 100, 6),
    iRow('10:00:00.50', '0.5', S, 100, 7),
    uRow('10:00:01.00', '1.0', C, '0x00000010'),
    sRow('10:00:02.00', '2.0', C),
    iRow('10:00:03.00', '3.0', C, 100, 6),
  ]);
  const [r] = await all(p);
  const iv = r!.requestIntervalsMs!;
  assert.deepEqual([iv.count, iv.mean, iv.min, iv.max], [2, 1500, 1000, 2000]);
  assert.equal(iv.m2, 500_000);
});

test('adds a day when the time of day steps back past midnight', async () => {
  const p = csv('midnight.csv', [
    iRow('23:59:30.00', '0.0', S, 36),
    iRow('00:00:30.00', '60.0', S, 36),
  ]);
  const [a, b] = await all(p, { date: '2018-12-14' });
  assert.equal(a!.tsStart, Date.parse('2018-12-14T23:59:30Z'));
  assert.equal(b!.tsStart, Date.parse('2018-12-15T00:00:30Z'));

  const q = csv('midnight-no-rel.csv', [iRow('23:59:59.99', '', S, 36), iRow('00:00:00.01', '', S, 36)]);
  const [c, d] = await all(q, { date: '2018-12-31' });
  assert.equal(c!.tsStart, Date.parse('2018-12-31T23:59:59.990Z'));
  assert.equal(d!.tsStart, Date.parse('2019-01-01T00:00:00.010Z'));
});

test('takes the date from a DD-MM-YY file name unless the option gives one', async () => {
  const p = csv('plant-14-12-18.csv', [iRow('17:15:49.91', '0.0', C, 122, 13)]);
  assert.equal((await all(p))[0]!.tsStart, Date.parse('2018-12-14T17:15:49.910Z'));
  assert.equal((await all(p, { date: '2021-03-04' }))[0]!.tsStart, Date.parse('2021-03-04T17:15:49.910Z'));
  const q = csv('undated.csv', [iRow('01:00:00.00', '0.0', C, 122, 13)]);
  assert.equal((await all(q))[0]!.tsStart, Date.parse('1970-01-01T01:00:00Z'));
});

test('times rows by Relative Time from the first TimeStamp, and re-anchors when they disagree', async () => {
  const p = csv('reanchor.csv', [
    iRow('10:00:00.00', '0.123456', S, 36),
    iRow('10:00:00.01', '0.133789', S, 36),
    iRow('11:00:00.00', '5.000000', S, 36),
  ]);
  const stats = newFileStats('reanchor.csv');
  const recs = await all(p, { date: '2020-01-02' }, stats);
  const t0 = Date.parse('2020-01-02T10:00:00Z');
  assert.equal(recs[0]!.tsEnd - t0, 10);
  assert.equal(recs[1]!.tsStart - t0, 3_600_000);
  assert.equal(stats.reanchors, 1);
});

test('counts bad rows by reason, samples them, and keeps reading', async () => {
  const p = csv('bad.csv', [
    iRow('10:00:00.00', '0.0', C, 100, 6),
    '10:00:00.10;0.1;10.0.0.1;10.0.0.2;50000;2404;46',
    iRow('10:00:00.20', '0.2', '10.0.0.1;10.0.0.2;5000x;2404', 100, 6),
    iRow('25:00:00.00', '0.3', C, 100, 6),
    iRow('10:00:00.40', 'abc', C, 100, 6),
    iRow('10:00:00.50', '0.5', '10.0.0.1;not-an-ip;50000;2404', 100, 6),
    '10:00:00.60;0.6;10.0.0.1;10.0.0.2;50000;2404;46;4;0x00000002;;;;;;',
    '10:00:00.70;0.7;10.0.0.1;10.0.0.2;50000;2404;46;4;0x00000003;;;;;;',
    '10:00:00.80;0.8;10.0.0.1;10.0.0.2;50000;2404;56;14;0x00000000;;100;1;6;0;ten',
    '',
    iRow('10:00:01.00', '1.0', S, 100, 7),
  ]);
  const stats = newFileStats('bad.csv');
  const ctx = testContext();
  const recs = await all(p, { events: ctx.events }, stats);
  assert.deepEqual(stats.badRows, {
    column_count: 1, bad_port: 1, bad_time: 2, bad_address: 1, bad_format: 1, bad_type: 1, bad_number: 1,
  });
  assert.equal(stats.rows, 10);
  assert.equal(stats.badSamples.length, 5);
  assert.match(stats.badSamples[0]!, /^line 3: column_count: /);
  assert.equal(ctx.metrics.get('conduitwatch_component_violations_total'), 8);
  assert.equal(recs.length, 1);
  assert.deepEqual([recs[0]!.l7Ops, recs[0]!.l7OpsRev], [{ C_IC_NA_1: 1 }, { C_IC_NA_1: 1 }]);
  assert.equal(stats.records, 1);
  assert.equal(stats.bytesRead, stats.fileSize);
});

test('skips a row that falls in a slice already emitted, as out_of_order', async () => {
  const p = csv('late.csv', [
    iRow('10:00:00.00', '', S, 36),
    iRow('10:01:30.00', '', S, 36),
    iRow('10:00:10.00', '', S, 36),
    iRow('10:01:40.00', '', S, 36),
  ]);
  const stats = newFileStats('late.csv');
  const recs = await all(p, { date: '2020-01-02' }, stats);
  assert.deepEqual(stats.badRows, { out_of_order: 1 });
  assert.deepEqual(recs.map((r) => r.l7OpsRev!.M_ME_TF_1), [1, 2]);
});

test('orders records of one slice by start time, then by conversation', async () => {
  const other = '10.0.0.9;10.0.0.2;40000;2404';
  const p = csv('ties.csv', [
    iRow('10:00:01.00', '0.0', C, 100, 6),
    iRow('10:00:00.50', '-', other, 100, 6).replace(';-;', ';;'),
    iRow('10:00:02.00', '1.0', other, 100, 6),
  ]);
  const recs = await all(p, { date: '2020-01-02' });
  assert.deepEqual(recs.map((r) => r.srcIp), ['10.0.0.9', '10.0.0.1']);
  const tie = csv('ties-same-start.csv', [
    iRow('10:00:01.00', '0.0', other, 100, 6),
    iRow('10:00:01.00', '0.0', C, 100, 6),
  ]);
  assert.deepEqual((await all(tie)).map((r) => r.srcIp), ['10.0.0.1', '10.0.0.9']);
  assert.deepEqual(await all(p, { date: '2020-01-02' }), recs);
});

test('rejects a file whose header is no known layout, naming the file, header and expected layouts', async () => {
  const p = csv('netflow.csv', ['1;2;3'], 'ts,src,dst,bytes');
  await assert.rejects(all(p), (e: Error) => {
    assert.equal((e as { code?: string }).code, 'input_invalid');
    assert.match(e.message, /netflow\.csv/);
    assert.match(e.message, /"ts,src,dst,bytes"/);
    assert.match(e.message, /TimeStamp;Relative Time;srcIP/);
    return true;
  });
  const empty = join(dir, 'empty.csv');
  writeFileSync(empty, '');
  await assert.rejects(all(empty), (e: Error) => hasCode(e, 'input_invalid'));
  await assert.rejects(all(join(dir, 'missing.csv')), (e: Error) => hasCode(e, 'input_invalid') && /missing\.csv/.test(e.message));
});

test('rejects a date option that is not a calendar date', async () => {
  const p = csv('date.csv', [iRow('10:00:00.00', '0.0', C, 100, 6)]);
  await assert.rejects(all(p, { date: '2020-02-30' }), (e: Error) => hasCode(e, 'config_invalid') && /2020-02-30/.test(e.message));
});

test('recognises both IEC 104 header layouts and nothing else', () => {
  assert.equal(sniffCsvKind(csv('sniff15.csv', [])), 'but-iec104');
  assert.equal(sniffCsvKind(csv('sniff16.csv', [], `${HEADER};ioa`)), 'but-iec104');
  assert.equal(sniffCsvKind(csv('sniff-crlf.csv', [], `\uFEFF${HEADER}\r`)), 'but-iec104');
  assert.equal(sniffCsvKind(csv('sniff-other.csv', [], 'a;b;c')), undefined);
  assert.equal(sniffCsvKind(join(dir, 'nope.csv')), undefined);
});

test('reads the 16-column layout with information object addresses', async () => {
  const p = csv('ioa.csv', [`${iRow('08:23:17.33', '0.5', S, 1, 20, 10, 112)};1,2,3,4`], `${HEADER};ioa`);
  const [r] = await all(p);
  assert.deepEqual(r!.l7OpsRev, { M_SP_NA_1: 1 });
  assert.deepEqual(r!.l7Units, [10]);
});

test('warns once per file with the skipped-row counts and samples', async () => {
  const lines: string[] = [];
  const sink = new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done(); } });
  const p = csv('warn.csv', ['x;y', 'a;b;c', iRow('10:00:00.00', '0.0', C, 100, 6)]);
  await all(p, { log: pino({ level: 'warn' }, sink) });
  assert.equal(lines.length, 1);
  const entry = JSON.parse(lines[0]!) as { msg: string; file: string; skipped: number; badRows: Record<string, number>; samples: string[] };
  assert.equal(entry.msg, 'Bad rows skipped.');
  assert.equal(entry.file, 'warn.csv');
  assert.equal(entry.skipped, 2);
  assert.deepEqual(entry.badRows, { column_count: 2 });
  assert.deepEqual(entry.samples, ['line 2: column_count: x;y', 'line 3: column_count: a;b;c']);
});
