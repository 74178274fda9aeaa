/**
 * `conduitwatch eval SPEC.yaml [--json] [--out result.json] [--compare OLD.json]
 *  [--data-root DIR] [--fail-on-regression] [--fail-on-target]`: runs an evaluation spec and prints
 * its tables (or JSON), writes the result file, and diffs it against an older one.
 */
import { writeFileSync } from 'node:fs';
import { PipelineError } from '../../core/errors.ts';
import { usageError } from '../args.ts';
import { diffResults, loadResult } from './diff.ts';
import { renderDiff, renderResult } from './report.ts';
import { resultJson, runEval, type EvalResult } from './run.ts';
import { loadEvalSpec } from './spec.ts';

export { EVAL_OPTIONS } from './options.ts';

/** Exit code when --fail-on-regression is set and the comparison found a regression. */
export const EXIT_REGRESSED = 3;
/** Exit code when --fail-on-target is set and a target was missed (an attack not detected, a conduit at ≥ 1 false alert per day). */
export const EXIT_TARGET_MISSED = 4;

/** The targets the result misses, in words; empty when every target is met (a target without data, null, is not missed). */
export const missedTargets = (r: EvalResult): string[] => {
  const out: string[] = [];
  if (r.targets.everyAttackDetected === false) out.push(`${r.summary.attacks - r.summary.detected} of ${r.summary.attacks} labelled attacks not detected (${r.summary.missed.join('; ')})`);
  if (!r.targets.underOneFalseAlertPerConduitPerDay) {
    const worst = r.summary.falseAlerts.conduits.filter((c) => (c.perDay ?? 0) >= 1).map((c) => `${c.conduit} ${c.perDay}/day`);
    out.push(`false alerts per conduit per day at or over 1: ${worst.join(', ')}`);
  }
  return out;
};

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
  const diff = old ? diffResults(old, result, v.compare as string) : undefined;
  if (v.json) process.stdout.write(diff ? resultJson({ result, compare: diff }) : text);
  else process.stdout.write(renderResult(result) + (diff ? renderDiff(diff) : ''));
  if (v['fail-on-regression'] && diff?.regressed) return EXIT_REGRESSED;
  const missed = missedTargets(result);
  if (v['fail-on-target'] && missed.length > 0) {
    process.stderr.write(`eval ${result.name}: target missed: ${missed.join('; ')}\n`);
    return EXIT_TARGET_MISSED;
  }
  return 0;
};
