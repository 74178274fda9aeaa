/** `conduitwatch simulate`: the plant simulator behind a command line. */
import { ANOMALY_KINDS, SimOptions, simulatePlant } from '../ingest/simulate/index.ts';
import { PipelineError } from '../core/errors.ts';
import { intArg, listArg, usageError } from './args.ts';
import { createProgress, fmtBytes, fmtInt } from './progress.ts';

/** Turns command-line values into validated simulator options (errors name the flag). */
export const simOptionsFrom = (v: Record<string, unknown>, command: string) => {
  if (typeof v.out !== 'string') throw usageError(command, 'Missing --out: the pcap file to write, e.g. --out plant.pcap.');
  const inject = listArg(command, 'inject', v.inject, ANOMALY_KINDS, { all: true });
  const res = SimOptions.safeParse({
    out: v.out,
    seed: intArg(command, 'seed', v.seed, 1),
    ...(typeof v.duration === 'string' ? { duration: v.duration } : {}),
    ...(typeof v.cycle === 'string' ? { cycle: v.cycle } : {}),
    ...(typeof v.start === 'string' ? { start: v.start } : {}),
    inject,
  });
  if (!res.success) {
    throw usageError(command, res.error.issues.map((i) => `--${String(i.path[0] ?? '')}: ${i.message}`).join('\n'));
  }
  return res.data;
};

export const runSimulateCommand = async (v: Record<string, unknown>): Promise<number> => {
  const opts = simOptionsFrom(v, 'simulate');
  const progress = createProgress('simulate', process.stderr, v.quiet === true);
  const r = await simulatePlant(opts, (f) => progress.update(f, ''));
  progress.done(`${fmtInt(r.packets)} packets, ${fmtBytes(r.bytes)}`);
  if (r.packets === 0) throw new PipelineError('unrecoverable', 'The simulator wrote no packets.');
  if (v.json) {
    process.stdout.write(`${JSON.stringify({ pcap: r.pcapPath, labelsFile: r.labelsPath, packets: r.packets, bytes: r.bytes, labels: r.labels }, null, 2)}\n`);
    return 0;
  }
  process.stdout.write(`Wrote ${r.pcapPath} (${fmtInt(r.packets)} packets, ${fmtBytes(r.bytes)}) and ${r.labelsPath} (${r.labels.length} labelled anomalies).\n`);
  for (const l of r.labels) {
    process.stdout.write(`  ${l.kind.padEnd(16)} ${new Date(l.start).toISOString()} → ${new Date(l.end).toISOString()}  ${l.description}\n`);
  }
  return 0;
};
