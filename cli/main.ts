/** The `conduitwatch` command: parses arguments, runs one command, maps errors to exit codes. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { systemClock } from '../core/clock.ts';
import { errorMessage, hasCode } from '../core/errors.ts';
import { usageError } from './args.ts';
import { HELP } from './help.ts';
import { EVAL_OPTIONS } from './eval/options.ts';
import { SERVE_OPTIONS } from './serve/options.ts';
import { ACCOUNTS_OPTIONS } from './accounts-options.ts';
import { CONSOLE_OPTIONS } from './console-options.ts';
import { RULES_WORKFLOW_OPTIONS } from './rules-workflow-options.ts';
import { MODEL_OPTIONS } from './models-args.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

// Each command's module is imported when it runs: `flows` must not pay for loading chDB, kafkajs and
// the detectors at start-up (all of them eagerly: 0.76 s before the first packet).

const COMMANDS: Record<string, { options: Options; run: (values: Record<string, unknown>, positionals: string[]) => Promise<number> }> = {
  replay: {
    options: {
      site: { type: 'string' }, data: { type: 'string' }, json: { type: 'boolean' }, top: { type: 'string' },
      'no-store': { type: 'boolean' }, quiet: { type: 'boolean' }, mapping: { type: 'string' }, ...MODEL_OPTIONS,
    },
    run: async (v, p) => (await import('./replay-command.ts')).runReplayCommand(v, p, systemClock),
  },
  flows: { options: { format: { type: 'string' }, slice: { type: 'string' }, mapping: { type: 'string' } },
    run: async (v, p) => (await import('./flows.ts')).runFlowsCommand(v, p) },
  simulate: {
    options: {
      out: { type: 'string' }, duration: { type: 'string' }, cycle: { type: 'string' }, seed: { type: 'string' },
      start: { type: 'string' }, inject: { type: 'string' }, quiet: { type: 'boolean' },
    },
    run: async (v) => (await import('./simulate.ts')).runSimulateCommand(v),
  },
  demo: {
    options: { dir: { type: 'string' }, duration: { type: 'string' }, seed: { type: 'string' }, json: { type: 'boolean' }, quiet: { type: 'boolean' } },
    run: async (v) => (await import('./demo.ts')).runDemo(v, systemClock),
  },
  sql: { options: { data: { type: 'string' }, format: { type: 'string' } },
    run: async (v, p) => (await import('./sql.ts')).runSqlCommand(v, p) },
  eval: { options: EVAL_OPTIONS, run: async (v, p) => (await import('./eval/command.ts')).runEvalCommand(v, p) },
  serve: { options: SERVE_OPTIONS, run: async (v, p) => (await import('./serve/index.ts')).runServeCommand(v, p) },
  dashboards: { options: { out: { type: 'string' }, check: { type: 'boolean' } },
    run: async (v, p) => (await import('./dashboards.ts')).runDashboardsCommand(v, p) },
  inventory: {
    options: { site: { type: 'string' }, 'suggest-site': { type: 'string' }, json: { type: 'boolean' }, mapping: { type: 'string' }, quiet: { type: 'boolean' } },
    run: async (v, p) => (await import('./inventory.ts')).runInventoryCommand(v, p),
  },
  report: {
    options: { site: { type: 'string' }, data: { type: 'string' }, run: { type: 'string' }, format: { type: 'string' } },
    run: async (v, p) => (await import('./report-evidence.ts')).runReportCommand(v, p, () => systemClock.now()),
  },
  collect: { options: { listen: { type: 'string' }, format: { type: 'string' }, allow: { type: 'string', multiple: true }, 'allow-exporter': { type: 'string', multiple: true } },
    run: async (v) => (await import('./collect.ts')).runCollectCommand(v) },
  accounts: { options: ACCOUNTS_OPTIONS, run: async (v, p) => (await import('./accounts.ts')).runAccountsCommand(v, p) },
  console: { options: CONSOLE_OPTIONS, run: async (v) => (await import('./console.ts')).runConsoleCommand(v) },
  rules: {
    options: {
      ...RULES_WORKFLOW_OPTIONS,
      conduit: { type: 'string' }, site: { type: 'string' }, data: { type: 'string' }, run: { type: 'string' }, json: { type: 'boolean' },
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
      site: { type: 'string' }, out: { type: 'string' }, data: { type: 'string' }, run: { type: 'string' }, mapping: { type: 'string' },
      seed: { type: 'string' }, epochs: { type: 'string' }, history: { type: 'string' }, kind: { type: 'string' }, backend: { type: 'string' }, batch: { type: 'string' },
      'min-residual': { type: 'string' }, 'baseline-only': { type: 'boolean' }, json: { type: 'boolean' },
    },
    run: async (v, p) => (await import('./train.ts')).runTrainCommand(v, p, systemClock),
  },
  models: {
    options: {
      models: { type: 'string' }, json: { type: 'boolean' }, 'data-root': { type: 'string' }, out: { type: 'string' }, keep: { type: 'string' },
      seed: { type: 'string' }, epochs: { type: 'string' }, history: { type: 'string' }, kind: { type: 'string' }, 'min-residual': { type: 'string' }, batch: { type: 'string' },
    },
    run: async (v, p) => (await import('./models.ts')).runModelsCommand(v, p),
  },
  audit: {
    options: { data: { type: 'string' }, json: { type: 'boolean' }, 'public-key': { type: 'string' }, anchor: { type: 'string' }, site: { type: 'string' } },
    run: async (v, p) => (await import('./audit.ts')).runAuditCommand(v, p),
  },
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
    process.stderr.write(`conduitwatch: unknown command "${command}". Commands: ${Object.keys(COMMANDS).join(', ')}.\nRun 'conduitwatch --help' for examples.\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${HELP[command]}\n`);
    return 0;
  }
  try {
    let parsed;
    try {
      parsed = parseArgs({ args: rest, options: cmd.options, allowPositionals: true, strict: true });
    } catch (e) {
      throw usageError(command, errorMessage(e));
    }
    return await cmd.run(parsed.values as Record<string, unknown>, parsed.positionals);
  } catch (e) {
    if (hasCode(e, 'config_invalid') || hasCode(e, 'input_invalid')) {
      process.stderr.write(`conduitwatch ${command}: ${errorMessage(e)}\n`);
      return 2;
    }
    process.stderr.write(`conduitwatch ${command}: failed: ${errorMessage(e)}\n`);
    if (process.env.CONDUITWATCH_LOG === 'debug' && e instanceof Error) process.stderr.write(`${e.stack}\n`);
    return 1;
  }
};
