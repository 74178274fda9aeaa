/**
 * The committed model evaluations (evals/results/models/, `conduitwatch models eval`) equal a fresh
 * run: models trained on each spec's baseline (cpu, seed 1, default settings), the evaluation run
 * with them beside the detectors, and the comparison against the committed result without them
 * (evals/results/<name>.json, itself checked by test/real/eval.test.ts). UPDATE_GOLDEN=1 rewrites.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { compareResults, runWithModels } from '../../../cli/models-eval.ts';
import { resultJson, type EvalResult } from '../../../cli/eval/run.ts';
import { loadEvalSpec } from '../../../cli/eval/spec.ts';
import { DEFAULT_TRAIN } from '../../../models/train.ts';
import { projectRoot, sharedData, sharedDataDir } from '../../support/data.ts';

const SPECS = ['lemay', 'but-mms', 'but-iec104'] as const;

for (const name of SPECS) {
  test(`evals/results/models/${name}.json and ${name}.compare.json equal a fresh run with the models`, async (t) => {
    if (!sharedData(t, name)) return;
    const root = mkdtempSync(join(tmpdir(), `cw-models-eval-${name}-`));
    try {
      const loaded = loadEvalSpec(join(projectRoot, 'evals', `${name}.yaml`), sharedDataDir);
      const { card, result } = await runWithModels(loaded, root, DEFAULT_TRAIN);
      const without = JSON.parse(readFileSync(join(projectRoot, 'evals', 'results', `${name}.json`), 'utf8')) as EvalResult;
      const fresh = { with: resultJson(result), compare: resultJson(compareResults(name, card, without, result)) };
      const dir = join(projectRoot, 'evals', 'results', 'models');
      if (process.env.UPDATE_GOLDEN === '1') {
        writeFileSync(join(dir, `${name}.json`), fresh.with);
        writeFileSync(join(dir, `${name}.compare.json`), fresh.compare);
      }
      assert.equal(fresh.compare, readFileSync(join(dir, `${name}.compare.json`), 'utf8'), `${name}: what the models change differs; review and rerun with UPDATE_GOLDEN=1`);
      assert.equal(fresh.with, readFileSync(join(dir, `${name}.json`), 'utf8'));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
}
