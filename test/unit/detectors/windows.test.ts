import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FlowRecord } from '../../../core/records.ts';
import { EdgeTable } from '../../../detectors/edges.ts';
import { FlowWindows, Watermark, windowStartOf, type ClosedWindow, type WindowSpec } from '../../../detectors/windows.ts';
import { flow } from '../../../detectors/testing.ts';

const conduitOf = (src: string, dst: string): string => `${src.split('.')[2]}->${dst.split('.')[2]}`;
const at = (tsStart: number, src = '10.0.1.1', dst = '10.0.2.1'): FlowRecord => flow({ srcIp: src, dstIp: dst, tsStart });
/** Conduit names of the windows made last (tests compare windows of one run, or of runs with the same conduits). */
let names: string[] = [];
const windows = (spec: WindowSpec): FlowWindows => {
  const fw = new FlowWindows(spec, new EdgeTable(conduitOf));
  names = fw.edges.conduits.list;
  return fw;
};
const spans = (ws: ClosedWindow[]): string[] => ws.map((w) => `${w.windowStart}-${w.windowEnd}:${w.conduits.map((c) => `${names[c]}=${w.acc!.byConduit.get(c)!.flows}`).join(',')}`);

test('assigns a record to the epoch-aligned window holding its tsStart', () => {
  const cases: [number, number, number][] = [[0, 60_000, 0], [59_999, 60_000, 0], [60_000, 60_000, 60_000], [125_000, 10_000, 120_000], [-1, 60_000, -60_000]];
  for (const [ts, w, want] of cases) assert.equal(windowStartOf(ts, w), want, `ts ${ts} window ${w}`);
});

test('the watermark trails the largest event time by the allowed lateness and never goes back', () => {
  const wm = new Watermark(10_000);
  assert.equal(wm.value, -Infinity);
  wm.observe(100_000);
  wm.observe(50_000);
  assert.equal(wm.value, 90_000);
});

const cases: { name: string; batches: number[][]; closed: string[]; late: number }[] = [
  { name: 'keeps a window open until the watermark passes its end', batches: [[1_000, 30_000, 65_000]], closed: [], late: 0 },
  { name: 'closes a window once the watermark reaches its end', batches: [[1_000, 30_000, 70_000]], closed: ['0-60000:1->2=2'], late: 0 },
  { name: 'accepts a record behind the newest one but within the lateness', batches: [[1_000, 65_000], [59_000, 70_000]], closed: ['0-60000:1->2=2'], late: 0 },
  { name: 'counts a record behind a closed window as late and adds it nowhere', batches: [[1_000, 70_000], [2_000, 59_000, 71_000]], closed: ['0-60000:1->2=1'], late: 2 },
  { name: 'judges lateness the same whether the late record comes in the same batch or the next', batches: [[1_000, 70_000, 2_000]], closed: ['0-60000:1->2=1'], late: 1 },
  { name: 'closes empty windows in a gap so quiet edges can be scored', batches: [[1_000, 190_000]], closed: ['0-60000:1->2=1', '60000-120000:', '120000-180000:'], late: 0 },
];

for (const c of cases) {
  test(`windows: ${c.name}`, () => {
    const fw = windows({ windowMs: 60_000, allowedLatenessMs: 10_000 });
    const closed = c.batches.flatMap((b) => fw.add(b.map((t) => at(t))));
    assert.deepEqual(spans(closed), c.closed);
    assert.equal(fw.stats().lateRecords, c.late);
    assert.equal(fw.stats().lateByConduit['1->2'] ?? 0, c.late);
  });
}

test('flush closes every open window, and records behind it afterwards are late', () => {
  const fw = windows({ windowMs: 60_000, allowedLatenessMs: 10_000 });
  assert.deepEqual(fw.add([at(1_000), at(61_000, '10.0.3.1')]), []);
  assert.deepEqual(spans(fw.flush()), ['0-60000:1->2=1', '60000-120000:3->2=1']);
  assert.deepEqual(fw.flush(), []);
  fw.add([at(100_000)]);
  assert.equal(fw.stats().lateRecords, 1);
  assert.equal(fw.stats().windowsClosed, 2);
});

test('skips the empty windows of a gap longer than maxEmptyWindows and counts them', () => {
  const fw = windows({ windowMs: 60_000, allowedLatenessMs: 0, maxEmptyWindows: 2 });
  const closed = [...fw.add([at(0), at(600_000)]), ...fw.flush()];
  assert.deepEqual(spans(closed), ['0-60000:1->2=1', '60000-120000:', '120000-180000:', '600000-660000:1->2=1']);
  assert.equal(fw.stats().skippedEmptyWindows, 7);
});

test('counts a record it cannot window as invalid with a reason, without throwing', () => {
  const fw = windows({ windowMs: 60_000, allowedLatenessMs: 0 });
  fw.add([at(Number.NaN), { ...at(5), srcIp: '' }, at(10)]);
  const s = fw.stats();
  assert.equal(s.invalidRecords, 2);
  assert.match(s.lastInvalid, /srcIp or dstIp is missing/);
  assert.equal(s.records, 1);
});

test('a JSON round trip of the open windows continues exactly like the original', () => {
  const input = [[1_000, 20_000, 61_000], [62_000, 75_000], [130_000, 131_000]];
  const a = windows({ windowMs: 60_000, allowedLatenessMs: 10_000 });
  const one = [...input.flatMap((b) => a.add(b.map((t) => at(t)))), ...a.flush()];
  const b1 = windows({ windowMs: 60_000, allowedLatenessMs: 10_000 });
  const first = b1.add(input[0]!.map((t) => at(t)));
  const b2 = FlowWindows.fromJSON(JSON.parse(JSON.stringify(b1.toJSON())), EdgeTable.fromJSON(JSON.parse(JSON.stringify(b1.edges.toJSON())), conduitOf));
  const two = [...first, ...input.slice(1).flatMap((b) => b2.add(b.map((t) => at(t)))), ...b2.flush()];
  assert.deepEqual(spans(two), spans(one));
  assert.deepEqual(b2.stats(), a.stats());
});
