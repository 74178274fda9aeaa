/**
 * The BUT message-record readers on the shared recorded traffic: nothing lost, every operation
 * accounted for against an independent count of the CSV, and event times on the right day.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { FlowRecord } from '../../core/records.ts';
import { readButIec104 } from '../../ingest/files/but-iec104.ts';
import { readButMms, readButMmsAttackIntervals, type AttackInterval } from '../../ingest/files/but-mms.ts';
import { newFileStats, type FileStats, type ReaderOptions } from '../../ingest/files/csv.ts';
import { sniffCsvKind } from '../../ingest/files/sniff.ts';
import { sharedData } from '../support/data.ts';

type Reader = (path: string, opts?: ReaderOptions, stats?: FileStats) => AsyncGenerator<FlowRecord[]>;

const readAll = async (reader: Reader, path: string, opts: ReaderOptions = {}): Promise<{ recs: FlowRecord[]; stats: FileStats }> => {
  const stats = newFileStats(path);
  const recs: FlowRecord[] = [];
  for await (const b of reader(path, opts, stats)) recs.push(...b);
  return { recs, stats };
};

/** Data rows of a CSV, split on `;`, header dropped. */
const rowsOf = (path: string): string[][] =>
  readFileSync(path, 'utf8').split('\n').slice(1).filter((l) => l.trim() !== '').map((l) => l.split(';').map((s) => s.trim()));

/** Sums l7Ops (client side) and l7OpsRev (server side) over all records. */
const opTotals = (recs: FlowRecord[]): { client: Map<string, number>; server: Map<string, number> } => {
  const client = new Map<string, number>(), server = new Map<string, number>();
  for (const r of recs) {
    for (const [k, n] of Object.entries(r.l7Ops ?? {})) client.set(k, (client.get(k) ?? 0) + n);
    for (const [k, n] of Object.entries(r.l7OpsRev ?? {})) server.set(k, (server.get(k) ?? 0) + n);
  }
  return { client, server };
};
const total = (m: Map<string, number>): number => [...m.values()].reduce((a, b) => a + b, 0);
const sorted = (m: Map<string, number>): [string, number][] => [...m].sort(([a], [b]) => a.localeCompare(b));

/** Independent tally of a CSV: key(row) per direction, and IP packets (consecutive rows of one packet merged). */
const tally = (rows: string[][], serverPort: string, key: (f: string[]) => string) => {
  const client = new Map<string, number>(), server = new Map<string, number>();
  let packets = 0, prev = '';
  for (const f of rows) {
    const m = f[4] === serverPort ? server : client;
    const k = key(f);
    m.set(k, (m.get(k) ?? 0) + 1);
    const p = f.slice(1, 7).join('|');
    if (p !== prev) packets += 1;
    prev = p;
  }
  return { client, server, packets };
};

// The names of the type ids and U functions in these files, written out independently of the reader.
const IEC104_NAMES: Record<string, string> = {
  'I36': 'M_ME_TF_1', 'I120': 'F_FR_NA_1', 'I121': 'F_SR_NA_1', 'I122': 'F_SC_NA_1', 'I123': 'F_LS_NA_1',
  'I124': 'F_AF_NA_1', 'I125': 'F_SG_NA_1', 'I100': 'C_IC_NA_1', 'I70': 'M_EI_NA_1', 'I1': 'M_SP_NA_1',
  'I3': 'M_DP_NA_1', 'I5': 'M_ST_NA_1', 'I7': 'M_BO_NA_1', 'I9': 'M_ME_NA_1', 'I11': 'M_ME_NB_1',
  'I13': 'M_ME_NC_1', 'I30': 'M_SP_TB_1', 'I31': 'M_DP_TB_1', 'I32': 'M_ST_TB_1', 'I33': 'M_BO_TB_1',
  'I34': 'M_ME_TD_1', 'I35': 'M_ME_TE_1', 'I45': 'C_SC_NA_1', 'I46': 'C_DC_NA_1', 'I47': 'C_RC_NA_1',
  'I48': 'C_SE_NA_1', 'I49': 'C_SE_NB_1', 'I50': 'C_SE_NC_1', 'I51': 'C_BO_NA_1',
  'U0x00000001': 'STARTDT_act', 'U0x00000002': 'STARTDT_con', 'U0x00000010': 'TESTFR_act', 'U0x00000020': 'TESTFR_con',
  'S': 'S_frame',
};
const iec104Key = (f: string[]): string => {
  const k = f[8] === '0x00000000' ? `I${f[10]}` : f[8] === '0x00000001' ? 'S' : `U${f[9]}`;
  return IEC104_NAMES[k] ?? `unmapped ${k}`;
};

const MMS_NAMES: Record<string, string> = {
  '0/1': 'getNameList.request', '1/1': 'getNameList.response', '0/4': 'read.request', '1/4': 'read.response',
  '0/5': 'write.request', '1/5': 'write.response', '0/6': 'getVariableAccessAttributes.request',
  '1/6': 'getVariableAccessAttributes.response', '0/11': 'defineNamedVariableList.request',
  '1/11': 'defineNamedVariableList.response', '0/12': 'getNamedVariableListAttributes.request',
  '1/12': 'getNamedVariableListAttributes.response', '3/0': 'informationReport.unconfirmed',
  '8/': 'initiate_request', '9/': 'initiate_response',
};
const mmsKey = (f: string[]): string => MMS_NAMES[`${f[7]}/${f[8]}`] ?? `unmapped ${f[7]}/${f[8]}`;

const checkShape = (recs: FlowRecord[], sliceMs: number): void => {
  for (let i = 0; i < recs.length; i++) {
    const r = recs[i]!;
    assert.ok(r.tsStart <= r.tsEnd, `record ${i} ends before it starts`);
    assert.equal(Math.floor(r.tsStart / sliceMs), Math.floor(r.tsEnd / sliceMs), `record ${i} spans a slice boundary`);
    if (i > 0) assert.ok(recs[i - 1]!.tsStart <= r.tsStart, `record ${i} is out of event-time order`);
  }
};

const checkAgainstCsv = async (t: TestContext, rel: string, reader: Reader, serverPort: string, key: (f: string[]) => string) => {
  const path = sharedData(t, rel);
  if (!path) return undefined;
  const { recs, stats } = await readAll(reader, path);
  const rows = rowsOf(path);
  const want = tally(rows, serverPort, key);
  const got = opTotals(recs);
  assert.deepEqual(stats.badRows, {});
  assert.equal(stats.rows, rows.length);
  assert.equal(total(got.client) + total(got.server), rows.length, 'every message row is counted once');
  assert.deepEqual(sorted(got.client), sorted(want.client));
  assert.deepEqual(sorted(got.server), sorted(want.server));
  assert.equal(recs.reduce((a, r) => a + r.packets + r.packetsRev, 0), want.packets);
  assert.equal(stats.records, recs.length);
  assert.equal(stats.bytesRead, stats.fileSize);
  checkShape(recs, 60_000);
  return { recs, stats, rows };
};

test('reads every APDU of mega104 once, on 14–15 Dec 2018', async (t) => {
  const res = await checkAgainstCsv(t, 'but-iec104/mega104-14-12-18.csv', readButIec104, '2404', iec104Key);
  if (!res) return;
  const { recs, rows } = res;
  assert.equal(rows.length, 14_597);
  assert.equal(recs[0]!.tsStart, Date.parse('2018-12-14T17:15:49.910Z'));
  const lastEnd = recs.at(-1)!.tsEnd;
  assert.ok(Math.abs(lastEnd - Date.parse('2018-12-15T08:53:51.08Z')) < 20, `last APDU at ${new Date(lastEnd).toISOString()}`);
  for (const r of recs) {
    assert.deepEqual([r.srcIp, r.srcPort, r.dstIp, r.dstPort, r.l7], ['192.168.11.111', 56693, '192.168.11.248', 2404, 'iec104']);
    assert.deepEqual(r.l7Units, r.l7Units ? [65535] : undefined);
  }
  // The whole file transfer (types 120–125) sits in the first 1.7 minutes.
  const transfer = recs.filter((r) => Object.keys(r.l7OpsRev ?? {}).some((k) => k.startsWith('F_')));
  const lastTransfer = transfer.at(-1)?.tsStart ?? NaN;
  assert.ok(lastTransfer <= Date.parse('2018-12-14T17:17:29.52Z'), `last file-transfer record at ${lastTransfer}`);
});

test('reads every APDU of iec104-ioa with STARTDT and general interrogation from the client', async (t) => {
  const res = await checkAgainstCsv(t, 'but-iec104/iec104-ioa.csv', readButIec104, '2404', iec104Key);
  if (!res) return;
  const first = res.recs[0]!;
  assert.equal(first.l7Ops!.STARTDT_act, 1);
  assert.equal(first.l7Ops!.C_IC_NA_1, 2);
  assert.deepEqual(first.l7Units, [10]);
  assert.equal(sniffCsvKind(sharedData(t, 'but-iec104/iec104-ioa.csv')!), 'but-iec104');
});

for (const name of ['gics-normal', 'gics-scanning', 'gics-lost-connection']) {
  test(`reads every MMS PDU of ${name} once`, async (t) => {
    const res = await checkAgainstCsv(t, `but-mms/${name}.csv`, readButMms, '102', mmsKey);
    if (!res) return;
    assert.equal(res.recs[0]!.tsStart, Date.parse('1970-01-01T07:08:31.228Z'));
    assert.equal(sniffCsvKind(sharedData(t, `but-mms/${name}.csv`)!), 'but-mms');
  });
}

/** PDUs (both directions; only `op` if given) in records that lie wholly inside an interval. */
const inside = (recs: FlowRecord[], iv: AttackInterval, op?: string): number => {
  const count = (m: Record<string, number> | undefined): number =>
    Object.entries(m ?? {}).reduce((a, [k, n]) => a + (op === undefined || k === op ? n : 0), 0);
  return recs.filter((r) => r.tsStart >= iv.startMs && r.tsEnd <= iv.endMs)
    .reduce((a, r) => a + count(r.l7Ops) + count(r.l7OpsRev), 0);
};

test('parses the MMS attack intervals onto the same clock as the flows, and they show in the records', async (t) => {
  const labels = sharedData(t, 'but-mms/attack_intervals.csv');
  const normalPath = sharedData(t, 'but-mms/gics-normal.csv');
  if (!labels || !normalPath) return;
  const ivs = readButMmsAttackIntervals(labels);
  assert.deepEqual(ivs.map((i) => [i.file, new Date(i.startMs).toISOString(), new Date(i.endMs).toISOString(), i.packetsAffected]), [
    ['gics-lost-connection.csv', '1970-01-01T07:20:11.380Z', '1970-01-01T07:22:01.450Z', 58],
    ['gics-lost-connection.csv', '1970-01-01T07:27:41.460Z', '1970-01-01T07:29:51.530Z', 63],
    ['gics-scanning.csv', '1970-01-01T07:50:41.510Z', '1970-01-01T07:53:01.510Z', 73],
  ]);
  const opts = { sliceMs: 10_000 };
  const normal = (await readAll(readButMms, normalPath, opts)).recs;
  const lost = (await readAll(readButMms, sharedData(t, 'but-mms/gics-lost-connection.csv')!, opts)).recs;
  const scan = (await readAll(readButMms, sharedData(t, 'but-mms/gics-scanning.csv')!, opts)).recs;
  for (const iv of ivs.slice(0, 2)) {
    const [n, l] = [inside(normal, iv), inside(lost, iv)];
    assert.ok(n > 30, `normal traffic flows during the interval: ${n} PDUs`);
    // The labels start at the last PDU before the gap (their times are cut to 10 ms).
    assert.ok(l <= 1, `${l} PDUs inside a connection-loss interval`);
  }
  const s = ivs[2]!;
  // The scan's getNameList requests come from both sides (some spoofed from port 102).
  const [scanned, usual] = [inside(scan, s, 'getNameList.request'), inside(normal, s, 'getNameList.request')];
  assert.ok(scanned > usual, `getNameList requests during the scan: ${scanned}, in normal traffic: ${usual}`);
});
