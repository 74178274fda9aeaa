/**
 * The evaluations in evals/ on the recorded plant traffic: the harness's numbers checked against
 * facts computed here independently of it, and each committed result file equal to a fresh run
 * (a change in detection is a diff to review; UPDATE_GOLDEN=1 rewrites the files).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { diffResults } from '../../cli/eval/diff.ts';
import { resultJson, runEval, type EvalResult } from '../../cli/eval/run.ts';
import { loadEvalSpec, parseEvalSpec } from '../../cli/eval/spec.ts';
import { projectRoot, sharedData, sharedDataDir } from '../support/data.ts';

const SPECS = ['lemay', 'but-mms', 'but-iec104'] as const;
const results = new Map<string, EvalResult>();

const evaluate = async (name: string): Promise<EvalResult> => {
  if (!results.has(name)) results.set(name, await runEval(loadEvalSpec(join(projectRoot, 'evals', `${name}.yaml`), sharedDataDir)));
  return results.get(name)!;
};

const csvRows = (path: string): string[] => readFileSync(path, 'utf8').split(/\r?\n/).slice(1).filter((l) => l.trim() !== '');

for (const name of SPECS) {
  test(`evals/results/${name}.json equals a fresh run of evals/${name}.yaml`, async (t) => {
    if (!sharedData(t, name)) return;
    const fresh = resultJson(await evaluate(name));
    const path = join(projectRoot, 'evals', 'results', `${name}.json`);
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(path, fresh);
    const committed = readFileSync(path, 'utf8');
    if (committed !== fresh) {
      const d = diffResults(JSON.parse(committed) as EvalResult, JSON.parse(fresh) as EvalResult);
      assert.fail(`${name}: detection changed; review and rerun with UPDATE_GOLDEN=1.\n${JSON.stringify(d, null, 2)}`);
    }
  });
}

test('lemay: every row of malicious_conversations.csv is reported once, as detected or missed', async (t) => {
  const csv = sharedData(t, 'lemay/malicious_conversations.csv');
  if (!csv) return;
  const rows = csvRows(csv);
  const r = await evaluate('lemay');
  assert.equal(rows.length, 20);
  assert.equal(r.attacks.length, rows.length);
  assert.equal(r.summary.attacks, rows.length);
  const ids = r.attacks.map((a) => `${a.input},${a.id}`);
  for (const row of rows) {
    const [pcap, conv] = row.split(',');
    assert.ok(ids.includes(`${pcap},${conv}`), `${pcap} ${conv} is reported`);
  }
  assert.equal(r.summary.detected + r.summary.missed.length, rows.length);
  assert.deepEqual(r.runs.map((x) => x.labelsOutside), [0, 0, 0, 0, 0], 'no label falls in the 200 s baseline');
  assert.deepEqual(r.runs.map((x) => x.lateRecords), [0, 0, 0, 0, 0]);
});

test('lemay: the fake command capture is scored from 200 s on, the earlier captures shifted after the baseline', async (t) => {
  if (!sharedData(t, 'lemay')) return;
  const r = await evaluate('lemay');
  // Its first packet is at 1424799320.3 s (17:35:20.3 UTC): 200 s later, rounded up to 10 s.
  assert.equal(r.baseline[0]!.start, '2015-02-24T17:35:20.000Z');
  assert.equal(r.baseline[0]!.end, '2015-02-24T17:38:50.000Z');
  assert.equal(r.runs[0]!.start, '2015-02-24T17:38:50.000Z');
  assert.equal(r.runs[0]!.shiftMs, 0);
  assert.ok(r.runs.slice(1).every((x) => x.shiftMs > 0 && x.shiftMs % 10_000 === 0));
  // The fake write of .101 to .102:502 at 17:40:10.07 lies in the scored part.
  const fake = r.attacks.find((a) => a.id === '192.168.1.102:502 <-> 192.168.1.101:1636')!;
  assert.equal(fake.start, '2015-02-24T17:40:10.066Z');
});

test('but-mms: the three rows of attack_intervals.csv are the attacks, at their times of day', async (t) => {
  const csv = sharedData(t, 'but-mms/attack_intervals.csv');
  if (!csv) return;
  const rows = csvRows(csv);
  const r = await evaluate('but-mms');
  assert.equal(r.attacks.length, rows.length);
  const expected = rows.map((l) => { const f = l.split(','); return `${f[0]} ${f[2]}`; }).sort();
  assert.deepEqual(r.attacks.map((a) => `${a.input} ${a.start.slice(11, 22)}`).sort(), expected);
  assert.deepEqual(r.runs.map((x) => x.labelsOutside), [0, 0]);
});

test('but-iec104: 698 one-minute windows scored after the 4 h baseline, all false-alert time', async (t) => {
  if (!sharedData(t, 'but-iec104/mega104-14-12-18.csv')) return;
  const r = await evaluate('but-iec104');
  // First row 17:15:49.91 on 2018-12-14 (the date in the file name); + 4 h rounded up to the minute.
  assert.equal(r.runs[0]!.start, '2018-12-14T21:16:00.000Z');
  // Last row 08:53:51 the next morning; its window ends at 08:54.
  assert.equal(r.runs[0]!.end, '2018-12-15T08:54:00.000Z');
  assert.equal(r.runs[0]!.windows, 698);
  assert.equal(r.summary.windows.positive, 0);
  assert.equal(r.summary.windows.recall, null);
  assert.equal(r.summary.falseAlerts.normalHours, 11.6333);
  assert.equal(r.summary.falseAlerts.total, r.summary.detectors.reduce((s, d) => s + d.alerts, 0));
});

test('a spec whose labels cover only windows without alerts gets recall 0', async (t) => {
  if (!sharedData(t, 'but-iec104/mega104-14-12-18.csv')) return;
  // No detectors: nothing can alert, so a label on the scored part is missed whatever the detectors do.
  const spec = parseEvalSpec(`
name: nothing
site: ${join(projectRoot, 'examples/but-iec104/site.yaml')}
baseline: [{ file: but-iec104/mega104-14-12-18.csv, until: 4h }]
test: [{ file: but-iec104/mega104-14-12-18.csv, from: 4h }]
detectors: []
labels: [{ type: intervals, intervals: [{ id: fake, start: "2018-12-15T01:00:00Z", end: "2018-12-15T01:04:59Z" }] }]
`);
  const r = await runEval({ spec, file: 'nothing.yaml', sitePath: spec.site, dataRoot: sharedDataDir });
  assert.equal(r.summary.windows.positive, 5);
  assert.equal(r.summary.windows.recall, 0);
  assert.equal(r.summary.windows.precision, null);
  assert.deepEqual(r.summary.missed, ['mega104-14-12-18.csv fake']);
  assert.equal(r.targets.everyAttackDetected, false);
});

test('conduitwatch eval --fail-on-target exits 4 and names the missed target; a spec that meets its targets exits 0', async (t) => {
  if (!sharedData(t, 'lemay') || !sharedData(t, 'but-mms')) return;
  const { spawnSync } = await import('node:child_process');
  const run = (spec: string) => spawnSync(process.execPath, [join(projectRoot, 'bin/conduitwatch.mjs'), 'eval', join(projectRoot, 'evals', spec), '--fail-on-target', '--data-root', sharedDataDir], { encoding: 'utf8' });
  const lemay = run('lemay.yaml');
  assert.equal(lemay.status, 4, lemay.stderr);
  assert.match(lemay.stderr, /eval lemay: target missed: 4 of 20 labelled attacks not detected/);
  const mms = run('but-mms.yaml');
  assert.equal(mms.status, 0, mms.stderr);
  assert.match(mms.stdout, /targets: every attack detected: yes/);
});
