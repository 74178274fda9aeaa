/**
 * A short, seeded sample of bench/fuzz.ts: a few thousand mutated real packets and random bytes per
 * decoder and dissector, with the same invariants (nothing thrown past the per-payload or
 * per-datagram boundary, views inside their bytes, output independent of bytes outside the view,
 * finite records, bounded records per datagram and bounded template caches). The full run
 * (≥ 1M cases per target) is `node --import tsx bench/fuzz.ts`.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  TARGET_NAMES, loadCorpus, makeTarget, mutate, netflowLengthAt, runTarget, type Corpus, type Target, type TargetName,
} from '../../../bench/fuzz.ts';
import { mulberry32 } from '../../../ingest/simulate/prng.ts';
import { sharedData, sharedDataDir } from '../../support/data.ts';

const SEED = 20250101;
const NETFLOW: TargetName[] = ['v5', 'v9', 'ipfix', 'collector'];
const CASES = 2000;

const sample = (t: Target, cases = CASES) => runTarget(t, { cases, seed: SEED, slowMs: Number.POSITIVE_INFINITY });

const noCorpus = (): Corpus => loadCorpus(sharedDataDir, { captures: [] });

test('the netflow decoders and the collector survive mutated datagrams and random bytes', () => {
  const corpus = noCorpus();
  for (const name of NETFLOW) {
    const r = sample(makeTarget(name, corpus));
    assert.deepEqual(r.failures, {}, `${name}: ${JSON.stringify(r.failures)}`);
    assert.ok(r.yield.decoded > 0, `${name} decoded some records from the mutations (${r.yield.decoded})`);
    assert.ok(r.yield.counted > CASES / 10, `${name} counted bad input (${r.yield.counted})`);
  }
});

test('every dissector, the frame decoder with flow assembly and the capture reader survive mutated recorded packets', (t) => {
  if (!sharedData(t, 'pcaps')) return;
  const corpus = loadCorpus(sharedDataDir, { maxFrames: 3000 });
  for (const name of TARGET_NAMES.filter((n) => !NETFLOW.includes(n))) {
    const r = sample(makeTarget(name, corpus), name === 'reader' ? 800 : CASES);
    assert.deepEqual(r.failures, {}, `${name}: ${JSON.stringify(r.failures)}`);
    assert.ok(r.yield.decoded > 0, `${name} decoded something from the mutations (${r.yield.decoded})`);
    assert.ok(r.yield.counted > 0, `${name} counted violations (${r.yield.counted})`);
  }
});

test('the same seed gives the same cases and the same outcome', () => {
  const corpus = noCorpus();
  const a = sample(makeTarget('ipfix', corpus), 500);
  const b = sample(makeTarget('ipfix', corpus), 500);
  assert.deepEqual(a.yield, b.yield);
});

test('a target that throws is counted by reason and its input saved as hex', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fuzz-'));
  try {
    const throwing: Target<Buffer> = {
      name: 'throws',
      gen: (rnd) => Buffer.from([Math.floor(rnd() * 4)]),
      exec: (b, y) => { y.decoded++; if (b[0] === 3) throw new RangeError(`offset ${b[0]} is out of bounds`); },
      hex: (b) => b.toString('hex'),
    };
    const r = runTarget(throwing as Target, { cases: 400, seed: 1, slowMs: Number.POSITIVE_INFINITY, crashDir: dir, savePerReason: 2 });
    assert.deepEqual(Object.keys(r.failures), ['RangeError: offset N is out of bounds']);
    assert.ok(r.failures['RangeError: offset N is out of bounds']! > 50);
    assert.equal(r.saved.length, 2);
    assert.match(readFileSync(r.saved[0]!, 'utf8'), /^# target throws seed 1 case \d+\n# RangeError[^\n]*\n(#[^\n]*\n)*03\n$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('mutations stay within the UDP datagram size and find the length fields of a v9 datagram', () => {
  const rnd = mulberry32(7);
  const big = Buffer.alloc(65_000, 1);
  for (let i = 0; i < 200; i++) assert.ok(mutate(rnd, big, big).length <= 65_507);
  // v9 header (20) + template flowset: id 0, length 12, template 256 with 1 field (type 8, length 4).
  const dg = Buffer.from('0009000100000000000000000000000000000000' + '0000000c' + '01000001' + '00080004', 'hex');
  assert.deepEqual(netflowLengthAt(dg), [2, 20, 22, 24, 26, 28, 30]);
});
