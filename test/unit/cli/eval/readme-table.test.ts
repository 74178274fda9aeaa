/**
 * The README's "Detection on recorded traffic" table says what the committed eval results say
 * (issue 16 item 5): attacks detected, the worst conduit's false alerts per day and its normal
 * time, and whether the < 1 per conduit per day target is met; a missed target says why.
 * evals/results/*.json are themselves checked against fresh runs by test/real/eval.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EvalResult } from '../../../../cli/eval/run.ts';
import { projectRoot } from '../../../support/data.ts';

const readme = readFileSync(join(projectRoot, 'README.md'), 'utf8');
const rowOf = (name: string): string[] | undefined => {
  const line = readme.split('\n').find((l) => l.startsWith(`| \`${name}\` |`));
  return line?.split(' | ').map((c) => c.replace(/^\| |\s*\|$/g, '').trim());
};

test('the README detection table shows each eval result\'s false alerts per conduit per day beside the target', () => {
  const names = readdirSync(join(projectRoot, 'evals')).filter((f) => f.endsWith('.yaml')).map((f) => f.slice(0, -5)).sort();
  assert.ok(names.length >= 3, `evals found: ${names.join(', ')}`);
  for (const name of names) {
    const r = JSON.parse(readFileSync(join(projectRoot, 'evals', 'results', `${name}.json`), 'utf8')) as EvalResult;
    const row = rowOf(name);
    assert.ok(row, `README.md has no detection table row for eval ${name}`);
    const [, , attacks, fa, target, why] = row;
    const s = r.summary;
    assert.equal(attacks, s.attacks === 0 ? 'no attacks labelled' : `${s.detected} of ${s.attacks}`, `${name}: attacks detected`);
    const worst = [...s.falseAlerts.conduits].sort((a, b) => (b.perDay ?? 0) - (a.perDay ?? 0) || b.normalHours - a.normalHours)[0]!;
    const m = /^([\d.]+) on (\S+) \((?:\d+ false alerts? in )?([\d.]+) h\)/.exec(fa ?? '');
    assert.ok(m, `${name}: false-alert cell "${fa}" is not "N on CONDUIT (… H h)"`);
    assert.equal(Number(m[1]), Math.round((s.falseAlerts.maxPerConduitPerDay ?? 0) * 10) / 10, `${name}: worst conduit's false alerts per day`);
    assert.equal(m[2], worst.conduit, `${name}: worst conduit`);
    assert.ok(Math.abs(Number(m[3]) - worst.normalHours) < 0.05, `${name}: normal hours ${m[3]} vs ${worst.normalHours}`);
    const met = r.targets.underOneFalseAlertPerConduitPerDay;
    assert.equal(target!.startsWith('yes'), met, `${name}: target cell "${target}"`);
    assert.ok(met || (why !== undefined && why.length > 20), `${name}: a missed target says why`);
  }
});
