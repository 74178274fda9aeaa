import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasCode } from '../../../../core/errors.ts';
import {
  epochSecondsToMs, loadAttacks, mergeTimes, parseConversations, parseFrameLabels, parseSimulatorLabels,
} from '../../../../cli/eval/labels.ts';

const CONVERSATIONS = [
  'pcap,conversation,proto_l4,malicious_packets,first_epoch,last_epoch',
  'a.pcap,192.168.1.104:139 <-> 192.168.1.100:1445,tcp,21,1424798344.962363000,1424798344.969971000',
  'b.pcap,192.168.1.255:137 <-> 192.168.1.100:137,udp,1,1424798344.961695000,1424798344.961695000',
  '',
].join('\n');

test('epoch seconds with nanosecond digits become exact microsecond milliseconds', () => {
  assert.equal(epochSecondsToMs('1424798344.962363000'), 1424798344962.363);
  assert.equal(epochSecondsToMs('10'), 10_000);
  assert.equal(epochSecondsToMs('1e3'), undefined);
});

test('each labelled conversation becomes one attack with its two hosts', () => {
  const a = parseConversations(CONVERSATIONS);
  assert.equal(a.length, 2);
  assert.deepEqual(a[0], {
    id: '192.168.1.104:139 <-> 192.168.1.100:1445', input: 'a.pcap', kind: 'tcp conversation',
    start: 1424798344962.363, end: 1424798344969.971, src: '192.168.1.104', dst: '192.168.1.100',
  });
});

test('a conversation row that cannot be read names its line', () => {
  const bad = CONVERSATIONS.replace('192.168.1.255:137 <->', '192.168.1.255 137');
  assert.throws(() => parseConversations(bad, 'mc.csv'), (e) => hasCode(e, 'input_invalid') && /mc\.csv:3/.test((e as Error).message));
});

test('per-packet labels with CRLF give the malicious frame numbers', () => {
  assert.deepEqual(parseFrameLabels('1;0\r\n2;1\r\n3;1\r\n4;0\r\n'), [2, 3]);
  assert.throws(() => parseFrameLabels('1;0\r\n2;x\r\n', 'l.csv'), (e) => hasCode(e, 'input_invalid') && /l\.csv:2/.test((e as Error).message));
});

test('malicious packet times closer than the gap merge into one attack', () => {
  assert.deepEqual(mergeTimes([5, 1, 2, 30, 31], 10), [[1, 5], [30, 31]]);
  assert.deepEqual(mergeTimes([], 10), []);
});

test('the simulator labels file gives its anomalies as attacks', () => {
  const text = JSON.stringify({ seed: 1, start: 0, end: 10, anomalies: [{ id: 'scan-1', kind: 'scan', start: 100, end: 200, src: '10.10.9.50', dst: '10.10.3.0/24', description: 'x' }] });
  assert.deepEqual(parseSimulatorLabels(text, 'plant.pcap'), [{ id: 'scan-1', input: 'plant.pcap', kind: 'scan', start: 100, end: 200, src: '10.10.9.50', dst: '10.10.3.0/24' }]);
  assert.throws(() => parseSimulatorLabels('{"anomalies":[{"id":1}]}', 'p.pcap'), (e) => hasCode(e, 'input_invalid'));
});

test('label sources are matched to the test input by its file name', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cw-labels-'));
  writeFileSync(join(dir, 'mc.csv'), CONVERSATIONS);
  writeFileSync(join(dir, 'ai.csv'), 'file,attack,start_time_of_day,end_time_of_day\nx.csv,"scan",07:50:41.51,07:53:01.51\ny.csv,"gap",07:20:11.38,07:22:01.45\n');
  assert.deepEqual((await loadAttacks({ type: 'conversations', file: 'mc.csv' }, join(dir, 'b.pcap'), dir, 10_000)).map((a) => a.id), ['192.168.1.255:137 <-> 192.168.1.100:137']);
  const mms = await loadAttacks({ type: 'attack-intervals', file: 'ai.csv' }, join(dir, 'y.csv'), dir, 60_000);
  assert.deepEqual(mms, [{ id: 'ai.csv:3', input: 'y.csv', kind: 'gap', start: (7 * 3600 + 20 * 60 + 11.38) * 1000, end: (7 * 3600 + 22 * 60 + 1.45) * 1000 }]);
  const inline = await loadAttacks({ type: 'intervals', intervals: [
    { id: 'i1', start: '1970-01-01T00:00:01Z', end: 2000, kind: 'attack', input: 'z.pcap' },
    { id: 'i0', start: 500, end: 600, kind: 'attack' },
  ] }, join(dir, 'z.pcap'), dir, 1000);
  assert.deepEqual(inline.map((a) => [a.id, a.start, a.end]), [['i0', 500, 600], ['i1', 1000, 2000]]);
});
