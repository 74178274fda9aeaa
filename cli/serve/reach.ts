/**
 * Reaching what serve needs before its roles start (the Kafka brokers). A service that does not
 * answer is one error line with its address and the fix, tried again with backoff (1 s, doubling up
 * to `maxBackoff`), and given up after `connectTimeout`: the role then exits 1 saying so. Once the
 * roles run, each rides out an outage its own way (the collector spools, the detector and sink
 * consumers and the SIEM retry): README "Faults and what survives them".
 */
import { z } from 'zod';
import type { Clock } from '../../core/clock.ts';
import { PipelineError } from '../../core/errors.ts';
import type { Logger, Metrics } from '../../core/telemetry.ts';
import { duration, formatDuration } from '../../core/units.ts';

export const ReachConfig = z.object({
  connectTimeout: duration.default('2m')
    .describe('How long serve keeps trying, at start, a service it cannot reach (the Kafka brokers) before the role gives up and exits 1 (`--connect-timeout`).'),
  maxBackoff: duration.default('10s')
    .describe('Longest wait between two tries; the first retry comes 1 s after the first failure, then the wait doubles.'),
}).strict();
export type ReachConfig = z.output<typeof ReachConfig>;

export interface Reachable {
  /** What it is, for people: "Kafka". */
  service: string;
  /** Where: "10.0.0.5:9092". */
  address: string;
  /** What to do about it, one sentence. */
  fix: string;
  /** One try: undefined when the service answered, else why not. */
  probe(): Promise<string | undefined>;
}

export interface ReachContext {
  config: ReachConfig;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  /** Waits between tries (a fake in unit tests). */
  sleep?: (ms: number) => Promise<void>;
}

/** Resolves once `target` answers; throws `not_connected` after `connectTimeout`. */
export const reach = async (target: Reachable, ctx: ReachContext): Promise<void> => {
  const sleep = ctx.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const { connectTimeout, maxBackoff } = ctx.config;
  const t0 = ctx.clock.now();
  const labels = { service: target.service.toLowerCase() };
  let wait = 1000;
  for (let failures = 0; ; failures++) {
    const why = await target.probe();
    if (why === undefined) {
      if (failures > 0) {
        ctx.log.info({ service: target.service, address: target.address, after: formatDuration(ctx.clock.now() - t0), event: 'service_reached' },
          `Reached ${target.service} at ${target.address} after ${formatDuration(ctx.clock.now() - t0)}.`);
      }
      return;
    }
    ctx.metrics.add('conduitwatch_service_connect_failures_total', labels, 1);
    const elapsed = ctx.clock.now() - t0;
    if (failures === 0) {
      ctx.log.error({ service: target.service, address: target.address, err: why, retryFor: formatDuration(connectTimeout), event: 'service_unreachable' },
        `Cannot reach ${target.service} at ${target.address}: ${why}. ${target.fix} Trying again with backoff for up to ${formatDuration(connectTimeout)} (--connect-timeout).`);
    }
    if (elapsed >= connectTimeout) {
      throw new PipelineError('not_connected',
        `gave up on ${target.service} at ${target.address} after ${formatDuration(Math.round(elapsed / 1000) * 1000)} (${failures + 1} tries; --connect-timeout ${formatDuration(connectTimeout)}): ${why}. ${target.fix}`,
        { service: target.service, address: target.address });
    }
    // The last try comes at the deadline, not a whole backoff after it.
    await sleep(Math.min(wait, connectTimeout - elapsed));
    wait = Math.min(wait * 2, maxBackoff);
  }
};
