/** The `eval` command's options, apart from the command so that `cli/main.ts` can parse them before loading it. */

/** The options `runEvalCommand` reads, in `node:util` parseArgs form. */
export const EVAL_OPTIONS = {
  json: { type: 'boolean' },
  out: { type: 'string' },
  compare: { type: 'string' },
  'data-root': { type: 'string' },
  'fail-on-regression': { type: 'boolean' },
  'fail-on-target': { type: 'boolean' },
} as const;
