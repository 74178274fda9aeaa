import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FlowRecord } from '../../../../core/records.ts';
import { createCadence } from '../../../../detectors/cadence/detector.ts';
import { polls } from '../../../../detectors/testing.ts';
import { conduitWindow, ctxFor, Harness } from '../helpers.ts';

const W = 60_000;
const session = (everyMs: number, fromMs: number, toMs: number, jitterMs = 10): FlowRecord[] =>
  polls({ src: '10.0.1.1', dst: '10.0.2.1', everyMs, fromMs, toMs, jitterMs, seed: fromMs + 1 });
const perPoll = (everyMs: number, fromMs: number, toMs: number): FlowRecord[] =>
  polls({ src: '10.0.1.1', dst: '10.0.2.1', everyMs, fromMs, toMs, mode: 'per-poll', jitterMs: 20, seed: fromMs + 1 });

/** Runs windows of `windowMs` over flows; the first `learn` windows are learning. Returns findings per window. */
const run = (flows: FlowRecord[], windows: number, learn: number, windowMs = W) => {
  const h = new Harness(createCadence());
  const out = [];
  for (let i = 0; i < windows; i += 1) {
    const w = conduitWindow(i * windowMs, flows.filter((f) => f.tsStart >= i * windowMs && f.tsStart < (i + 1) * windowMs), windowMs);
    const r = { findings: h.score(w, ctxFor(w, { learning: i < learn })) };
    out.push(r.findings[0]);
  }
  return out;
};

test('cadence scores a steady 1 s poll near 0 after learning it', () => {
  const out = run(session(1_000, 0, 20 * W), 20, 10);
  assert.ok(out.slice(10).every((f) => f !== undefined && f.score < 0.1), out.map((f) => f?.score).join(','));
});

test('cadence flags a poll that speeds up from 1 s to 250 ms and says period expected and seen', () => {
  const out = run([...session(1_000, 0, 10 * W), ...session(250, 10 * W, 12 * W)], 12, 10);
  const f = out[10]!;
  assert.ok(f.score > 0.99, String(f.score));
  assert.match(f.explanation, /^10\.0\.1\.1 → 10\.0\.2\.1:502 modbus: request period 1000 ms ± \d+(\.\d+)? expected, 250 ms ± \d+(\.\d+)? seen over \d+ intervals$/);
  assert.equal(f.features.request_expected_period_ms !== undefined && Math.round(f.features.request_period_ms!), 250);
});

test('cadence flags jitter four times the learned jitter at the same period', () => {
  const out = run([...session(1_000, 0, 10 * W, 10), ...session(1_000, 10 * W, 11 * W, 400)], 11, 10);
  assert.ok(out[10]!.score >= 0.8, `${out[10]!.score} ${out[10]!.explanation}`);
});

test('cadence measures connection-per-poll gaps across windows shorter than the period', () => {
  const out = run(perPoll(10_000, 2_000, 60 * 10_000), 60, 30, 10_000);
  assert.ok(out.slice(30).every((f) => f !== undefined && f.score < 0.2), out.slice(30).map((f) => f?.score).join(','));
  assert.equal(out[40]!.features.connection_intervals, 1);
  assert.ok(Math.abs(out[40]!.features.connection_period_ms! - 10_000) < 50);
});

test('cadence flags connection-per-poll that goes from 10 s to 1 s', () => {
  const out = run([...perPoll(10_000, 2_000, 30 * 10_000), ...perPoll(1_000, 30 * 10_000, 31 * 10_000)], 31, 30, 10_000);
  assert.ok(out[30]!.score > 0.99, `${out[30]!.score} ${out[30]!.explanation}`);
  assert.match(out[30]!.explanation, /connection period \(read_holding_registers\) 10000 ms ± \S+ expected, \d+ ms ± \d+ seen over 10 intervals/);
});

test('cadence state survives save → JSON → load', () => {
  const flows = [...session(1_000, 0, 10 * W), ...perPoll(10_000, 2_000, 10 * W), ...session(250, 10 * W, 12 * W)];
  const at = (i: number) => conduitWindow(i * W, flows.filter((f) => f.tsStart >= i * W && f.tsStart < (i + 1) * W));
  const a = new Harness(createCadence());
  for (let i = 0; i < 6; i += 1) a.score(at(i), ctxFor(at(i), { learning: true }));
  const b = a.roundTrip(createCadence());
  for (let i = 6; i < 12; i += 1) assert.deepEqual(b.score(at(i)), a.score(at(i)), `window ${i}`);
});
