/** `conduitwatch replay`: argument checks, then runReplay, then the text or JSON report. */
import type { Clock } from '../core/clock.ts';
import { DEFAULT_DATA_DIR, intArg, usageError } from './args.ts';
import { modelUseArg } from './models-args.ts';
import { createProgress } from './progress.ts';
import { renderReport } from './report.ts';
import { runReplay, type ReplayReport } from './replay.ts';
import { loadSiteChecked } from './registry.ts';

export { DEFAULT_DATA_DIR };

/** The JSON report: stable key order, alerts as the issue's contract lists them. */
export const jsonReport = (r: ReplayReport): string => JSON.stringify(r, null, 2) + '\n';

/**
 * Ctrl-C (SIGINT) or SIGTERM once: stop reading, score and store what was read, report it. Twice:
 * quit at once (what is not yet written is lost, and the run stays `running` in the store).
 */
export const stopOnSignal = (command: string): { signal: AbortSignal; dispose: () => void } => {
  const ac = new AbortController();
  const onSignal = (name: NodeJS.Signals) => {
    if (ac.signal.aborted) {
      process.stderr.write(`\nconduitwatch ${command}: ${name} again: quitting without storing the rest.\n`);
      process.exit(130);
    }
    process.stderr.write(`\nconduitwatch ${command}: ${name}: stopping; scoring and storing what was read (press Ctrl-C again to quit at once).\n`);
    ac.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return { signal: ac.signal, dispose: () => { process.off('SIGINT', onSignal); process.off('SIGTERM', onSignal); } };
};

/** Exit status of a run stopped by a signal (128 + SIGINT), as shells report it. */
export const EXIT_INTERRUPTED = 130;

export const interruptedNote = (command: string, r: ReplayReport): string => {
  const i = r.interrupted!;
  const pct = i.bytesTotal ? ` (${Math.floor((i.bytesRead / i.bytesTotal) * 100)}% of the input)` : '';
  return `conduitwatch ${command}: interrupted: ${r.flows.toLocaleString('en-US')} flows read${pct} were scored` +
    (r.dataDir ? ` and stored in ${r.dataDir} as run ${r.runId} (status interrupted)` : '') + '; the report above covers them.\n';
};

export const runReplayCommand = async (v: Record<string, unknown>, inputs: string[], clock: Clock): Promise<number> => {
  if (inputs.length === 0) throw usageError('replay', 'No inputs: name one or more pcap, pcapng or flow CSV files.');
  if (typeof v.site !== 'string') {
    throw usageError('replay', `Missing --site: the site config (zones and conduits), e.g. --site examples/lemay/site.yaml.\n` +
      `No site.yaml yet? Let the traffic suggest one, review it, then replay on it:\n` +
      `  conduitwatch inventory ${inputs.join(' ')} --suggest-site site.yaml\n  conduitwatch replay ${inputs.join(' ')} --site site.yaml`);
  }
  const top = intArg('replay', 'top', v.top, 10);
  const site = loadSiteChecked(v.site);
  const models = modelUseArg('replay', v);
  const stop = stopOnSignal('replay');
  let report: ReplayReport;
  try {
    report = await runReplay({
      inputs, site, clock, signal: stop.signal, command: 'replay', ...(models ? { models } : {}),
      ...(typeof v.mapping === 'string' ? { mapping: v.mapping } : {}),
      ...(v['no-store'] ? {} : { dataDir: typeof v.data === 'string' ? v.data : DEFAULT_DATA_DIR }),
      progress: createProgress('replay', process.stderr, v.quiet === true),
    });
  } finally {
    stop.dispose();
  }
  for (const i of report.inputs) {
    if (i.truncated) process.stderr.write(`conduitwatch replay: warning: ${i.file} is truncated${i.truncation ? ` (${i.truncation})` : ''}; its good packets were used.\n`);
  }
  process.stdout.write(v.json || v.format === 'json' ? jsonReport(report) : renderReport(report, top));
  if (report.interrupted) {
    process.stderr.write(interruptedNote('replay', report));
    return EXIT_INTERRUPTED;
  }
  return 0;
};
