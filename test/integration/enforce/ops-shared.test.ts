/**
 * A rule file's op names are checked against each protocol's code table (enforce/ops.ts). Every op
 * the dissectors name on the shared captures must pass that check, or a learned rule would drop it.
 */
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { openInput } from '../../../cli/inputs.ts';
import { isOpOf, knownProtocol } from '../../../enforce/ops.ts';
import { sharedData } from '../../support/data.ts';

test('every op the dissectors name on the shared captures is an op of its protocol for rule files', async (t) => {
  const root = sharedData(t, 'pcaps');
  if (!root) return;
  const files: string[] = [];
  const walk = (d: string) => {
    for (const f of readdirSync(d).sort()) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.(pcap|pcapng|cap)$/i.test(f)) files.push(p);
    }
  };
  walk(root);
  assert.ok(files.length > 10, `only ${files.length} captures under ${root}`);
  const seen = new Set<string>();
  const rejected = new Set<string>();
  for (const f of files) {
    const { flows } = openInput(f, { sliceMs: 60_000 });
    for await (const batch of flows) {
      for (const r of batch) {
        if (!r.l7 || !knownProtocol(r.l7)) continue;
        for (const op of Object.keys(r.l7Ops ?? {})) {
          seen.add(`${r.l7}:${op}`);
          if (!isOpOf(r.l7, op)) rejected.add(`${r.l7}:${op}`);
        }
      }
    }
  }
  assert.ok(seen.size > 50, `only ${seen.size} distinct ops seen`);
  assert.deepEqual([...rejected], []);
});
