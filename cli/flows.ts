/** `conduitwatch flows`: FlowRecords as JSON lines on stdout. */
import { once } from 'node:events';
import { durationArg, usageError } from './args.ts';
import { openInput } from './inputs.ts';

export const runFlowsCommand = async (v: Record<string, unknown>, inputs: string[]): Promise<number> => {
  if (inputs.length === 0) throw usageError('flows', 'No inputs: name one or more pcap, pcapng or flow CSV files.');
  const sliceMs = durationArg('flows', 'slice', v.slice, '60s');
  const opened = inputs.map((f) => openInput(f, { sliceMs, ...(typeof v.mapping === 'string' ? { mapping: v.mapping } : {}) }));
  for (const { flows, progress } of opened) {
    for await (const batch of flows) {
      let chunk = '';
      for (const f of batch) chunk += JSON.stringify(f) + '\n';
      if (!process.stdout.write(chunk)) await once(process.stdout, 'drain');
    }
    const problems = Object.entries(progress.problems()).filter(([, n]) => n > 0);
    const where = progress.truncation?.();
    if (progress.truncated()) process.stderr.write(`conduitwatch flows: warning: ${progress.file} is truncated${where ? ` (${where})` : ''}; its good packets were used.\n`);
    if (problems.length) process.stderr.write(`conduitwatch flows: ${progress.file}: skipped malformed input: ${problems.map(([k, n]) => `${k} ${n}`).join(', ')}\n`);
  }
  return 0;
};
