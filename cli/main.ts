/** The `conduitwatch` command: parses arguments, runs one command, maps errors to exit codes. */
import { systemClock } from '../core/clock.ts';
import { errorMessage, hasCode } from '../core/errors.ts';
import { COMMON_OPTIONS, nearest, parseCommandArgs, VOCABULARY, type Options } from './args.ts';
import { HELP } from './help.ts';
import { EVAL_OPTIONS } from './eval/options.ts';
import { SERVE_OPTIONS } from './serve/options.ts';
import { ACCOUNTS_OPTIONS } from './accounts-options.ts';
import { CONSOLE_OPTIONS } from './console-options.ts';
import { RULES_WORKFLOW_OPTIONS } from './rules-workflow-options.ts';
import { MODEL_OPTIONS } from './models-args.ts';

// Each command's module is imported when it runs: `flows` must not pay for loading chDB, kafkajs and
// the detectors at start-up (all of them eagerly: 0.76 s before the first packet).

const { data, site, json, run } = VOCABULARY;

const COMMANDS: Record<string, { options: Options; run: (values: Record<string, unknown>, positionals: string[]) => Promise<number> }> = {
  replay: {
    options: {
      site, data, json, top: { type: 'string' }, format: { type: 'string', choices: ['text', 'json'] },
      'no-store': { type: 'boolean' }, mapping: { type: 'string' }, ...MODEL_OPTIONS,
    },
    run: async (v, p) => (await import('./replay-command.ts')).runReplayCommand(v, p, systemClock),
  },
  flows: {
    options: { json, format: { type: 'string', choices: ['jsonl'] }, slice: { type: 'string' }, mapping: { type: 'string' } },
    run: async (v, p) => (await import('./flows.ts')).runFlowsCommand(v, p),
  },
  simulate: {
    options: {
      out: { type: 'string' }, duration: { type: 'string' }, cycle: { type: 'string' }, seed: { type: 'string' },
      start: { type: 'string' }, inject: { type: 'string' }, json,
    },
    run: async (v) => (await import('./simulate.ts')).runSimulateCommand(v),
  },
  demo: {
    options: { data, out: { type: 'string' }, duration: { type: 'string' }, seed: { type: 'string' }, json, format: { type: 'string', choices: ['text', 'json'] } },
    run: async (v) => (await import('./demo.ts')).runDemo(v, systemClock),
  },
  sql: {
    options: { data, run, json, format: { type: 'string' }, write: { type: 'boolean' } },
    run: async (v, p) => (await import('./sql.ts')).runSqlCommand(v, p),
  },
  runs: {
    options: { data, json },
    run: async (v, p) => (await import('./runs.ts')).runRunsCommand(v, p),
  },
  eval: { options: { ...EVAL_OPTIONS }, run: async (v, p) => (await import('./eval/command.ts')).runEvalCommand(v, p) },
  serve: {
    options: { ...SERVE_OPTIONS, role: { ...SERVE_OPTIONS.role, choices: ['all', 'collector', 'detector', 'sink', 'query'] }, 'siem-format': { ...SERVE_OPTIONS['siem-format'], choices: ['rfc5424', 'cef'] } },
    run: async (v, p) => (await import('./serve/index.ts')).runServeCommand(v, p),
  },
  dashboards: {
    options: { out: { type: 'string' }, check: { type: 'boolean' } },
    run: async (v, p) => (await import('./dashboards.ts')).runDashboardsCommand(v, p),
  },
  inventory: {
    options: { site, json, 'suggest-site': { type: 'string' }, mapping: { type: 'string' }, quiet: { type: 'boolean' } },
    run: async (v, p) => (await import('./inventory.ts')).runInventoryCommand(v, p),
  },
  report: {
    options: { site, data, run, json, format: { type: 'string', choices: ['md', 'json'] } },
    run: async (v, p) => (await import('./report-evidence.ts')).runReportCommand(v, p, () => systemClock.now()),
  },
  collect: {
    options: { listen: { type: 'string' }, json, format: { type: 'string', choices: ['jsonl'] }, allow: { type: 'string', multiple: true }, 'allow-exporter': { type: 'string', multiple: true } },
    run: async (v) => (await import('./collect.ts')).runCollectCommand(v),
  },
  accounts: { options: ACCOUNTS_OPTIONS, run: async (v, p) => (await import('./accounts.ts')).runAccountsCommand(v, p) },
  console: { options: CONSOLE_OPTIONS, run: async (v) => (await import('./console.ts')).runConsoleCommand(v) },
  rules: {
    options: {
      ...RULES_WORKFLOW_OPTIONS,
      conduit: { type: 'string' }, site, data, run, json,
      out: { type: 'string' }, rule: { type: 'string' }, actor: { type: 'string' }, role: { type: 'string' }, by: { type: 'string' },
      reason: { type: 'string' }, edge: { type: 'string' }, op: { type: 'string' }, netns: { type: 'string' }, 'dry-run': { type: 'boolean' },
    },
    // The workflow subcommands (submit, approve, reject, schedule, status, abort, rollback ID) go to the
    // console API (rules-workflow.ts); the rest (propose, whatif, waive, nft, apply, rollback --conduit) to rules.ts.
    run: async (v, p) => {
      const wf = await import('./rules-workflow.ts');
      if (wf.isWorkflowCall(p, v)) return wf.runRulesWorkflow(p[0]!, v, p.slice(1));
      return (await import('./rules.ts')).runRulesCommand(v, p, systemClock);
    },
  },
  train: {
    options: {
      site, out: { type: 'string' }, data, run, mapping: { type: 'string' },
      seed: { type: 'string' }, epochs: { type: 'string' }, history: { type: 'string' }, kind: { type: 'string' }, backend: { type: 'string' }, batch: { type: 'string' },
      'min-residual': { type: 'string' }, 'baseline-only': { type: 'boolean' }, json,
    },
    run: async (v, p) => (await import('./train.ts')).runTrainCommand(v, p, systemClock),
  },
  models: {
    options: {
      models: { type: 'string' }, json, 'data-root': { type: 'string' }, out: { type: 'string' }, keep: { type: 'string' },
      seed: { type: 'string' }, epochs: { type: 'string' }, history: { type: 'string' }, kind: { type: 'string' }, 'min-residual': { type: 'string' }, batch: { type: 'string' },
    },
    run: async (v, p) => (await import('./models.ts')).runModelsCommand(v, p),
  },
  audit: {
    options: { data, json, 'public-key': { type: 'string' }, anchor: { type: 'string' }, site },
    run: async (v, p) => (await import('./audit.ts')).runAuditCommand(v, p),
  },
};

/** The command names, for the top-level help and its test. */
export const COMMAND_NAMES: readonly string[] = Object.keys(COMMANDS);

/** Each command's option names (without the leading dashes). */
export const commandOptions = (command: string): Options | undefined =>
  COMMANDS[command] ? { ...COMMANDS[command].options, ...COMMON_OPTIONS } : undefined;

/** A missing npm package (an install cut short): say how to install, not a module-resolution trace. */
const missingPackage = (e: unknown): string | undefined => {
  if ((e as NodeJS.ErrnoException)?.code !== 'ERR_MODULE_NOT_FOUND') return undefined;
  const pkg = /Cannot find package '([^']+)'/.exec(errorMessage(e))?.[1];
  return pkg ? `the npm package ${pkg} is not installed. Run 'bash scripts/ensure-deps.sh' in the conduitwatch checkout (it installs the locked versions), then try again.` : undefined;
};

export const main = async (argv: string[]): Promise<number> => {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    const topic = command === 'help' ? rest[0] : undefined;
    process.stdout.write(`${HELP[topic && HELP[topic] ? topic : 'main']}\n`);
    return 0;
  }
  if (command === '--version' || command === '-V') {
    process.stdout.write('conduitwatch 0.1.0\n');
    return 0;
  }
  const cmd = COMMANDS[command];
  if (!cmd) {
    const near = nearest(command, COMMAND_NAMES);
    process.stderr.write(`conduitwatch: unknown command "${command}"${near.length ? ` (did you mean ${near[0]}?)` : ''}. ` +
      `Commands: ${COMMAND_NAMES.join(', ')}.\nRun 'conduitwatch --help' for examples.\n`);
    return 2;
  }
  const end = rest.indexOf('--');
  const flags = end < 0 ? rest : rest.slice(0, end);
  if (flags.includes('--help') || flags.includes('-h')) {
    process.stdout.write(`${HELP[command]}\n`);
    return 0;
  }
  try {
    const others = Object.fromEntries(Object.keys(COMMANDS).map((k) => [k, Object.keys(commandOptions(k)!)]));
    const { values, positionals } = parseCommandArgs({ command, options: commandOptions(command)!, others }, rest);
    return await cmd.run(values, positionals);
  } catch (e) {
    if (hasCode(e, 'config_invalid') || hasCode(e, 'input_invalid')) {
      process.stderr.write(`conduitwatch ${command}: ${errorMessage(e)}\n`);
      return 2;
    }
    const missing = missingPackage(e);
    if (missing) {
      process.stderr.write(`conduitwatch ${command}: ${missing}\n`);
      return 2;
    }
    process.stderr.write(`conduitwatch ${command}: failed: ${errorMessage(e)}\n`);
    if (process.env.CONDUITWATCH_LOG === 'debug' && e instanceof Error) process.stderr.write(`${e.stack}\n`);
    return 1;
  }
};
