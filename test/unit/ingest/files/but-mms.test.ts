import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasCode } from '../../../../core/errors.ts';
import type { FlowRecord } from '../../../../core/records.ts';
import {
  MMS_HEADER, newFileStats, readButMms, readButMmsAttackIntervals, type FileStats, type ReaderOptions,
} from '../../../../ingest/files/but-mms.ts';
import { sniffCsvKind } from '../../../../ingest/files/sniff.ts';

const C = '10.10.3.19;10.10.20.10;50225;102';
const S = '10.10.20.10;10.10.3.19;102;50225';
const dir = mkdtempSync(join(tmpdir(), 'cw-mms-'));

const file = (name: string, lines: string[]): string => {
  const p = join(dir, name);
  writeFileSync(p, lines.join('\n') + '\n');
  return p;
};
const csv = (name: string, rows: string[]): string => file(name, [MMS_HEADER, ...rows]);
const row = (tod: string, rel: string, side: string, type: number, service: number | '' = '', ipLen = 100): string =>
  `${tod};${rel};${side};${ipLen};${type};${service};1;;;`;

const all = async (path: string, opts: ReaderOptions = {}, stats?: FileStats): Promise<FlowRecord[]> => {
  const out: FlowRecord[] = [];
  for await (const b of readButMms(path, opts, stats)) out.push(...b);
  return out;
};

test('puts the side on port 102 as the server and counts bytes by direction', async () => {
  const p = csv('direction.csv', [
    row('07:08:31.228143716', '0.038338005', C, 8, '', 244),
    row('07:08:31.229345064', '0.039539353', S, 9, '', 212),
    row('07:08:31.277475004', '0.087669293', C, 0, 1, 76),
  ]);
  const [r] = await all(p);
  assert.deepEqual([r!.srcIp, r!.srcPort, r!.dstIp, r!.dstPort], ['10.10.3.19', 50225, '10.10.20.10', 102]);
  assert.deepEqual([r!.packets, r!.bytes, r!.packetsRev, r!.bytesRev], [2, 320, 1, 212]);
  assert.equal(r!.l7, 'mms');
  assert.equal(r!.tsStart, 7 * 3_600_000 + 8 * 60_000 + 31_228);
});

test('names PDUs by service and kind, with unknown services and types by number', async () => {
  const p = csv('ops.csv', [
    row('07:00:00.0', '0.0', C, 0, 4),
    row('07:00:00.1', '0.1', S, 1, 4),
    row('07:00:00.2', '0.2', C, 0, 6),
    row('07:00:00.3', '0.3', S, 1, 6),
    row('07:00:00.4', '0.4', S, 3, 0),
    row('07:00:00.5', '0.5', C, 0, 99),
    row('07:00:00.6', '0.6', C, 0, 12),
    row('07:00:00.7', '0.7', S, 42),
    row('07:00:00.8', '0.8', C, 11),
    row('07:00:00.9', '0.9', C, 5, 1),
  ]);
  const [r] = await all(p);
  assert.deepEqual(r!.l7Ops, {
    conclude_request: 1, 'getNameList.cancel_request': 1, 'getNamedVariableListAttributes.request': 1,
    'getVariableAccessAttributes.request': 1, 'read.request': 1, 'service_99.request': 1,
  });
  assert.deepEqual(r!.l7OpsRev, {
    'getVariableAccessAttributes.response': 1, 'informationReport.unconfirmed': 1, mms_type_42: 1, 'read.response': 1,
  });
  assert.equal(r!.l7Errors, undefined);
});

test('counts error, reject and initiate-error PDUs in l7Errors', async () => {
  const p = csv('errors.csv', [
    row('07:00:00.0', '0.0', C, 0, 5),
    row('07:00:00.1', '0.1', S, 2, 5),
    row('07:00:00.2', '0.2', S, 4),
    row('07:00:00.3', '0.3', S, 10),
  ]);
  const [r] = await all(p);
  assert.deepEqual(r!.l7OpsRev, { initiate_error: 1, reject: 1, 'write.error': 1 });
  assert.deepEqual(r!.l7Errors, { confirmed_error: 1, initiate_error: 1, reject: 1 });
});

test('summarises the gaps between the initiator’s PDUs only', async () => {
  const p = csv('cadence.csv', [
    row('07:00:00.0', '0.0', C, 0, 4),
    row('07:00:00.1', '0.1', S, 1, 4),
    row('07:00:05.0', '5.0', S, 3, 0),
    row('07:00:10.0', '10.0', C, 0, 4),
    row('07:00:30.0', '30.0', C, 0, 4),
  ]);
  const iv = (await all(p))[0]!.requestIntervalsMs!;
  assert.deepEqual([iv.count, iv.mean, iv.min, iv.max], [2, 15_000, 10_000, 20_000]);
});

test('tolerates spaces around fields and counts unreadable MMS columns', async () => {
  const p = csv('spaces.csv', [
    '07:15:31.339791135;420.149985424 ;10.10.20.10;10.10.3.19;102;50225;1275;1;1;214;;;',
    row('07:15:32.0', '421.0', C, Number.NaN),
    row('07:15:33.0', '422.0', C, 0).replace(';0;;1;', ';0;read;1;'),
  ]);
  const stats = newFileStats('spaces.csv');
  const recs = await all(p, {}, stats);
  assert.deepEqual(stats.badRows, { bad_type: 1, bad_number: 1 });
  assert.deepEqual(recs[0]!.l7OpsRev, { 'getNameList.response': 1 });
});

test('rejects an IEC 104 file given to the MMS reader', async () => {
  const p = file('iec.csv', ['TimeStamp;Relative Time;srcIP;dstIP;srcPort;dstPort;ipLen;len;fmt;uType;asduType;numix;cot;oa;addr']);
  await assert.rejects(all(p), (e: Error) => hasCode(e, 'input_invalid') && /iec\.csv/.test(e.message) && /MMS Type/.test(e.message));
  assert.equal(sniffCsvKind(csv('sniff.csv', [])), 'but-mms');
});

test('reads attack intervals as epoch ms on the given date, past midnight included', () => {
  const p = file('attacks.csv', [
    'file,attack,start_time_of_day,end_time_of_day,packets_affected,visible_in_flow_counts,source',
    'a.csv,"scan, getNameList ""x""",07:50:41.51,07:53:01.51,73,"weak",readme',
    'b.csv,"night job",23:59:00.00,00:01:00.00,,no,readme',
  ]);
  const [a, b] = readButMmsAttackIntervals(p, '2019-05-06');
  assert.deepEqual(a, {
    file: 'a.csv', attack: 'scan, getNameList "x"',
    startMs: Date.parse('2019-05-06T07:50:41.510Z'), endMs: Date.parse('2019-05-06T07:53:01.510Z'), packetsAffected: 73,
  });
  assert.equal(b!.endMs - b!.startMs, 120_000);
  assert.equal(b!.packetsAffected, undefined);
  assert.equal(readButMmsAttackIntervals(p)[0]!.startMs, Date.parse('1970-01-01T07:50:41.510Z'));
});

test('refuses an attack-interval file it cannot read, naming the line', () => {
  const header = 'file,attack,start_time_of_day,end_time_of_day';
  assert.throws(() => readButMmsAttackIntervals(file('noheader.csv', ['a,b,c'])), (e: Error) => hasCode(e, 'input_invalid') && /noheader\.csv/.test(e.message));
  assert.throws(() => readButMmsAttackIntervals(file('badtime.csv', [header, 'a.csv,x,7h,08:00:00'])), (e: Error) => hasCode(e, 'input_invalid') && /badtime\.csv:2/.test(e.message));
});
