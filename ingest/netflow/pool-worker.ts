/**
 * One {@link CollectorPool} worker thread: a {@link Collector} on its own UDP socket, decoding in
 * this thread and posting record batches to the main thread.
 *
 * Messages to the main thread ({@link WorkerMessage}):
 *   ready   bound; address, port and the receive buffer the kernel granted
 *   failed  could not bind (the message of the `not_connected` error)
 *   batch   up to `maxBatch` records and the collector's running stats; posted when the batch is
 *           full, or `flushMs` after its first record
 *   stats   the running stats, every 100 ms while they change (datagrams without records included)
 *   closed  the last stats after `close` (any last batch is posted before it)
 * From the main thread: `{ t: 'close' }`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { FlowRecord } from '../../core/records.ts';
import { errorMessage } from '../../core/errors.ts';
import { Metrics } from '../../core/telemetry.ts';
import { Collector, type CollectorConfig, type CollectorStats } from './collector.ts';

/** What the pool hands each worker. */
export interface PoolWorkerData {
  /** A parsed config with this worker's `listen`. */
  config: CollectorConfig;
  id: string;
  /** Longest a record waits in a part-filled batch, ms. */
  flushMs: number;
}

export type WorkerMessage =
  | { t: 'ready'; address: string; port: number; recvBufferBytes: number }
  | { t: 'failed'; message: string }
  | { t: 'batch'; records: FlowRecord[]; stats: CollectorStats }
  | { t: 'stats'; stats: CollectorStats }
  | { t: 'closed'; stats: CollectorStats };

const STATS_MS = 100;

const run = async (): Promise<void> => {
  const port = parentPort;
  if (!port) return;
  const { config, id, flushMs } = workerData as PoolWorkerData;
  let batch: FlowRecord[] = [];
  let timer: NodeJS.Timeout | undefined;
  const post = (m: WorkerMessage): void => port.postMessage(m);
  const flush = (): void => {
    if (timer) { clearTimeout(timer); timer = undefined; }
    if (batch.length === 0) return;
    post({ t: 'batch', records: batch, stats: collector.stats });
    batch = [];
  };
  const collector: Collector = new Collector(config, { id, metrics: new Metrics() }, (records) => {
    for (let i = 0; i < records.length; i++) batch.push(records[i]!);
    if (batch.length >= config.maxBatch) flush();
    else if (!timer) timer = setTimeout(flush, flushMs);
  });
  let postedDatagrams = 0;
  const ticker = setInterval(() => {
    if (collector.stats.datagrams === postedDatagrams) return;
    postedDatagrams = collector.stats.datagrams;
    post({ t: 'stats', stats: collector.stats });
  }, STATS_MS);
  ticker.unref();
  port.on('message', (m: { t?: string }) => {
    if (m.t !== 'close') return;
    clearInterval(ticker);
    void collector.close().then(() => {
      flush();
      post({ t: 'closed', stats: collector.stats });
      port.close();
    });
  });
  try {
    await collector.open();
  } catch (e) {
    post({ t: 'failed', message: errorMessage(e) });
    port.close();
    return;
  }
  const a = collector.address();
  post({ t: 'ready', address: a.address, port: a.port, recvBufferBytes: collector.stats.recvBufferBytes });
};

await run();
