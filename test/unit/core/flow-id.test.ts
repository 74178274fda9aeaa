import { test } from 'node:test';
import assert from 'node:assert/strict';
import { flowId, flowIdAfter, flowIdPrefix } from '../../../core/records.ts';

test('flowId is a fixed function of its parts: the same coordinates give the same 24 hex digits in every version', () => {
  // Pinned: a change here changes every stored id, and the store deduplicates on them.
  assert.equal(flowId('pcap', 'a.pcap', 1, 0), '6d711b1b4cdaf932f7d0aa72');
  assert.equal(flowId('netflow9', '127.0.0.1|2055', 0, 7, 1735689600, 3), '4861c98091f85b50633aec10');
});

test('flowId tells parts apart by type and boundary, and a million neighbouring coordinates give a million ids', () => {
  assert.notEqual(flowId('1'), flowId(1));
  assert.notEqual(flowId('ab', 'c'), flowId('a', 'bc'));
  assert.notEqual(flowId(-5), flowId(5));
  assert.notEqual(flowId(2 ** 32), flowId(0));
  assert.notEqual(flowId(0.5), flowId('0.5', ''));
  const seen = new Set<string>();
  for (let i = 0; i < 1_000_000; i++) seen.add(flowId('pcap', 'x.pcap', i, Math.floor(i / 4096)));
  assert.equal(seen.size, 1_000_000);
  for (const id of [...seen].slice(0, 100)) assert.match(id, /^[0-9a-f]{24}$/);
});

test('flowIdAfter(flowIdPrefix(…)) is flowId of all the parts, for any prefix length and between other ids', () => {
  assert.equal(flowIdAfter(flowIdPrefix('pcap', 'a.pcap'), 1, 0), '6d711b1b4cdaf932f7d0aa72');
  const prefixes: (string | number)[][] = [[], ['pcap'], ['pcap', 'a.pcap'], ['pcap', 'lemay-tiles-50x4.pcap'], ['x', 7, 'yz']];
  for (const parts of prefixes) {
    const p = flowIdPrefix(...parts);
    for (const [x, y] of [[0, 0], [1, 2], [-3, 2 ** 40], [2_233_200, 29_000_000]] as const) {
      flowId('other', 1); // shared hashing state in between must not leak into the prefix
      assert.equal(flowIdAfter(p, x, y), flowId(...parts, x, y));
    }
  }
});
