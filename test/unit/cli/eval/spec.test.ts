import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { hasCode } from '../../../../core/errors.ts';
import { evalSpecDoc, undescribedSpecFields, withCurrentDoc } from '../../../../cli/eval/spec-doc.ts';
import { loadEvalSpec, parseEvalSpec } from '../../../../cli/eval/spec.ts';

const GOOD = `
name: t
site: ../examples/lemay/site.yaml
baseline: [{ file: a.pcap, until: 200s }]
test: [{ file: a.pcap, from: 200s }, { file: b.pcap }]
labels:
  - { type: conversations, file: lemay/malicious_conversations.csv }
  - { type: intervals, intervals: [{ id: x, start: 1000, end: "1970-01-01T00:00:02Z" }] }
window: 30s
detectorConfig: { rate: { learnBelow: 0.5 } }
`;

const errorOf = (text: string): string => {
  try {
    parseEvalSpec(text, 'e.yaml');
  } catch (e) {
    assert.ok(hasCode(e, 'config_invalid'));
    return (e as Error).message;
  }
  assert.fail('expected a config error');
};

test('parses durations into milliseconds and fills defaults', () => {
  const s = parseEvalSpec(GOOD);
  assert.equal(s.baseline[0]!.until, 200_000);
  assert.equal(s.test[0]!.from, 200_000);
  assert.equal(s.window, 30_000);
  assert.deepEqual(s.match, { endpoints: true });
  assert.equal(s.labels[1]!.type, 'intervals');
});

test('an unknown key is rejected with its name', () => {
  assert.match(errorOf(GOOD.replace('window: 30s', 'windw: 30s')), /e\.yaml: \(top level\): unknown key\(s\) "windw"/);
});

test('an unknown label type and a missing test list are named', () => {
  assert.match(errorOf(GOOD.replace('type: conversations', 'type: pcap')), /labels\.0\.type/);
  assert.match(errorOf('name: t\nsite: s.yaml\n'), /test: required field is missing/);
});

test('a bad duration says how to write one', () => {
  assert.match(errorOf(GOOD.replace('until: 200s', 'until: soon')), /baseline\.0\.until: "soon" is not a duration/);
});

test('paths resolve against the spec file and --data-root overrides its dataRoot', () => {
  const l = loadEvalSpec(new URL('../../../../evals/lemay.yaml', import.meta.url).pathname);
  assert.match(l.sitePath, /\/examples\/lemay\/site\.yaml$/);
  assert.match(l.dataRoot, /\/shared\/data$/);
  assert.equal(loadEvalSpec(new URL('../../../../evals/lemay.yaml', import.meta.url).pathname, '/x/y').dataRoot, '/x/y');
});

test('every spec field is described', () => {
  assert.deepEqual(undescribedSpecFields(), []);
});

test('evals/README.md holds the current generated spec reference', () => {
  const path = new URL('../../../../evals/README.md', import.meta.url);
  const text = readFileSync(path, 'utf8');
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(path, withCurrentDoc(text));
  assert.ok(readFileSync(path, 'utf8').includes(evalSpecDoc()), 'run UPDATE_GOLDEN=1 on this test to regenerate the spec reference');
});
