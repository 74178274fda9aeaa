/**
 * `conduitwatch eval SPEC.yaml [--json] [--out result.json] [--compare OLD.json]
 *  [--data-root DIR] [--fail-on-regression]`: runs an evaluation spec and prints its tables
 * (or JSON), writes the result file, and diffs it against an older one.
 */
import { writeFileSync } from 'node:fs';
import { PipelineError } from '../../core/errors.ts';
import { usageError } from '../args.ts';
import { diffResults, loadResult } from './diff.ts';
import { renderDiff, renderResult } from './report.ts';
import { resultJson, runEval } from './run.ts';
import { loadEvalSpec } from './spec.ts';

export { EVAL_OPTIONS } from './options.ts';

/** Exit code when --fail-on-regression is set and the comparison found a regression. */
export const EXIT_REGRESSED = 3;

export const runEvalCommand = async (v: Record<string, unknown>, positionals: string[]): Promise<number> => {
  if (positionals.length !== 1) throw usageError('eval', `Name exactly one eval spec, e.g. 'conduitwatch eval evals/lemay.yaml' (got ${positionals.length}).`);
  if (v['fail-on-regression'] && typeof v.compare !== 'string') throw usageError('eval', '--fail-on-regression needs --compare OLD.json.');
  const loaded = loadEvalSpec(positionals[0]!, typeof v['data-root'] === 'string' ? v['data-root'] : undefined);
  const old = typeof v.compare === 'string' ? loadResult(v.compare) : undefined;
  const result = await runEval(loaded);
  const text = resultJson(result);
  if (typeof v.out === 'string') {
    try {
      writeFileSync(v.out, text);
    } catch (e) {
      throw new PipelineError('config_invalid', `Cannot write --out ${v.out}: ${(e as NodeJS.ErrnoException).code ?? e}. Check the directory exists and is writable.`, { file: v.out }, { cause: e });
    }
  }
  const diff = old ? diffResults(old, result) : undefined;
  if (v.json) process.stdout.write(diff ? resultJson({ result, compare: diff }) : text);
  else process.stdout.write(renderResult(result) + (diff ? renderDiff(diff) : ''));
  return v['fail-on-regression'] && diff?.regressed ? EXIT_REGRESSED : 0;
};
