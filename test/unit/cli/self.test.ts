/** The command the hints print ("Query it: …") is one the user can type in the same shell. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, symlinkSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { selfCommand } from '../../../cli/self.ts';

const root = resolve(import.meta.dirname, '..', '..', '..');
const launcher = join(root, 'bin', 'conduitwatch.mjs');

test('the bare name only when conduitwatch on PATH is this checkout (npm link)', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cw-self-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  symlinkSync(launcher, join(dir, 'conduitwatch'));
  assert.equal(selfCommand({ PATH: `/usr/bin:${dir}` }, root), 'conduitwatch');
});

test("npx's own cache on PATH does not count: it is gone after the run, so the hint says npx conduitwatch", (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cw-self-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const bin = join(dir, '_npx', '8074c2dbcf980381', 'node_modules', '.bin');
  mkdirSync(bin, { recursive: true });
  symlinkSync(launcher, join(bin, 'conduitwatch'));
  assert.equal(selfCommand({ PATH: `${bin}:/usr/bin` }, root), 'npx conduitwatch');
});

test('outside the checkout with nothing on PATH the hint names the launcher by its path', () => {
  assert.equal(selfCommand({ PATH: '/usr/bin' }, tmpdir()), `node ${launcher}`);
});
