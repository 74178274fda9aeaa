import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MaintenanceWindow } from '../../../../core/config.ts';
import { nextWindow, requireWindow } from '../../../../enforce/workflow/windows.ts';

const H = 3_600_000;
const weekly: MaintenanceWindow = { name: 'sunday-night', start: '2026-01-04T02:00:00Z', duration: 4 * H, every: 7 * 24 * H };
const oneOff: MaintenanceWindow = { name: 'shutdown', start: '2026-01-07T10:00:00Z', duration: 8 * H };
const t = (iso: string) => Date.parse(iso);

test('the next weekly window opens on the next Sunday 02:00', () => {
  const w = nextWindow([weekly], t('2026-01-06T12:00:00Z'))!;
  assert.equal(new Date(w.opensAt).toISOString(), '2026-01-11T02:00:00.000Z');
  assert.equal(w.closesAt - w.opensAt, 4 * H);
});

test('an open window counts while enough of it is left, else the next one', () => {
  assert.equal(new Date(nextWindow([weekly], t('2026-01-11T03:00:00Z'), { needMs: H })!.opensAt).toISOString(), '2026-01-11T02:00:00.000Z');
  assert.equal(new Date(nextWindow([weekly], t('2026-01-11T05:30:00Z'), { needMs: H })!.opensAt).toISOString(), '2026-01-18T02:00:00.000Z');
});

test('the earliest of several windows wins, and a name picks one', () => {
  const now = t('2026-01-06T12:00:00Z');
  assert.equal(nextWindow([weekly, oneOff], now)!.name, 'shutdown');
  assert.equal(nextWindow([weekly, oneOff], now, { name: 'sunday-night' })!.name, 'sunday-night');
});

test('a one-off window in the past is gone, and the error says what site.yaml lacks', () => {
  assert.equal(nextWindow([oneOff], t('2026-02-01T00:00:00Z')), undefined);
  assert.throws(() => requireWindow([oneOff], t('2026-02-01T00:00:00Z')), /No maintenance window opens after/);
  assert.throws(() => requireWindow([], 0), /declares no maintenanceWindows/);
  assert.throws(() => requireWindow([weekly], 0, { name: 'nope' }), /No maintenance window named "nope"/);
});

test('a window shorter than the apply needs is never picked', () => {
  assert.equal(nextWindow([{ ...weekly, duration: 30_000 }], 0, { needMs: 60_000 }), undefined);
});
