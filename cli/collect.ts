/**
 * `conduitwatch collect`: a NetFlow v5/v9 / IPFIX collector on one UDP socket. Writes the flow
 * records as JSON lines until SIGINT/SIGTERM, then flushes and exits 0.
 */
import { once } from 'node:events';
import { systemClock } from '../core/clock.ts';
import { createEvents, createLogger, Metrics } from '../core/telemetry.ts';
import { Collector, CollectorConfig } from '../ingest/netflow/collector.ts';
import { usageError } from './args.ts';
import { allowedExporters } from './inputs.ts';

export const runCollectCommand = async (v: Record<string, unknown>): Promise<number> => {
  if (typeof v.listen !== 'string') throw usageError('collect', 'Missing --listen: where to receive exports, on an address of this host, e.g. --listen udp://10.0.0.5:2055.');
  const allow = allowedExporters(v);
  const parsed = CollectorConfig.safeParse({ listen: v.listen, ...(allow ? { allowedExporters: allow } : {}) });
  if (!parsed.success) throw usageError('collect', parsed.error.issues.map((i) => `--${String(i.path[0])}: ${i.message}`).join('\n'));
  const log = createLogger();
  const metrics = new Metrics();
  const events = createEvents(log, metrics, { component_kind: 'source', component_type: 'netflow', component_id: 'collect' });
  const collector = new Collector(parsed.data, { id: 'collect', clock: systemClock, log, metrics, events });
  await collector.open();
  const { address, port } = collector.address();
  if (v.quiet !== true) process.stderr.write(`conduitwatch collect: listening on udp ${address.includes(':') ? `[${address}]` : address}:${port} (NetFlow v5, v9, IPFIX); Ctrl-C to stop.\n`);
  const stop = () => { void collector.close(); };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const sweeper = setInterval(() => collector.sweep(), 60_000);
  sweeper.unref();
  try {
    for await (const batch of collector.records()) {
      let chunk = '';
      for (const f of batch) chunk += JSON.stringify(f) + '\n';
      if (!process.stdout.write(chunk)) await once(process.stdout, 'drain');
    }
  } finally {
    clearInterval(sweeper);
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  const s = collector.stats;
  const errors = Object.entries(s.errors).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ');
  const gaps = Object.values(s.sequenceGaps).reduce((a, b) => a + b, 0);
  process.stderr.write(`conduitwatch collect: stopped: ${s.datagrams} datagrams, ${s.records} records` +
    (errors ? `; skipped: ${errors}` : '') + (gaps ? `; sequence gaps (lost by exporter or network): ${gaps}` : '') + '\n');
  return 0;
};
