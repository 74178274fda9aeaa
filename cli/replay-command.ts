/** `conduitwatch replay`: argument checks, then runReplay, then the text or JSON report. */
import type { Clock } from '../core/clock.ts';
import { intArg, usageError } from './args.ts';
import { createProgress } from './progress.ts';
import { renderReport } from './report.ts';
import { runReplay, type ReplayReport } from './replay.ts';
import { loadSiteChecked } from './registry.ts';

export const DEFAULT_DATA_DIR = 'conduitwatch-data';

/** The JSON report: stable key order, alerts as the contract lists them. */
export const jsonReport = (r: ReplayReport): string => JSON.stringify(r, null, 2) + '\n';

export const runReplayCommand = async (v: Record<string, unknown>, inputs: string[], clock: Clock): Promise<number> => {
  if (inputs.length === 0) throw usageError('replay', 'No inputs: name one or more pcap, pcapng or flow CSV files.');
  if (typeof v.site !== 'string') throw usageError('replay', 'Missing --site: the site config (zones and conduits), e.g. --site examples/lemay/site.yaml.');
  const top = intArg('replay', 'top', v.top, 10);
  const site = loadSiteChecked(v.site);
  const report = await runReplay({
    inputs, site, clock,
    ...(typeof v.mapping === 'string' ? { mapping: v.mapping } : {}),
    ...(v['no-store'] ? {} : { dataDir: typeof v.data === 'string' ? v.data : DEFAULT_DATA_DIR }),
    progress: createProgress('replay', process.stderr, v.quiet === true),
  });
  for (const i of report.inputs) {
    if (i.truncated) process.stderr.write(`conduitwatch replay: warning: ${i.file} is truncated; its good packets were used.\n`);
  }
  process.stdout.write(v.json ? jsonReport(report) : renderReport(report, top));
  return 0;
};
