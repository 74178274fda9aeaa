/**
 * A YAML alias bomb ("billion laughs") in site.yaml or a CSV mapping is a config error (issue 9
 * item 6): the CLI exits 2 naming the file, quickly, instead of exit 1 with no file name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../support/data.ts';

/** Nine levels of nine aliases: 9^9 = 387,420,489 strings if expanded. */
const BOMB = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
  ...'bcdefghi'.split('').map((k, i) => `${k}: &${k} [${Array(9).fill(`*${'abcdefghi'[i]}`).join(',')}]`)].join('\n') + '\n';

const cli = (args: string[]): { status: number | null; stderr: string } => {
  const r = spawnSync(process.execPath, [join(projectRoot, 'bin', 'conduitwatch.mjs'), ...args], {
    encoding: 'utf8', timeout: 60_000, env: { ...process.env, CONDUITWATCH_LOG: 'silent' },
  });
  return { status: r.status, stderr: r.stderr };
};

test('a YAML alias bomb as site.yaml or as a CSV mapping exits 2 and names the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cw-bomb-'));
  try {
    const site = join(dir, 'site-bomb.yaml');
    const mapping = join(dir, 'mapping-bomb.yaml');
    writeFileSync(site, BOMB);
    writeFileSync(mapping, BOMB);
    const csv = join(dir, 'flows.csv');
    writeFileSync(csv, 'ts,src,dst\n1709287200,10.0.0.1,10.0.0.2\n');
    const a = cli(['replay', csv, '--site', site, '--no-store', '--quiet']);
    assert.equal(a.status, 2, a.stderr);
    assert.match(a.stderr, /site-bomb\.yaml.*alias/);
    const b = cli(['flows', '--mapping', mapping, csv]);
    assert.equal(b.status, 2, b.stderr);
    assert.match(b.stderr, /mapping-bomb\.yaml.*alias/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
