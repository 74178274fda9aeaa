/** Test doubles that several folders need, so tests exercise the same API the units use. */
import { fakeClock, type Clock } from './clock.ts';
import { createEvents, Metrics, silentLogger } from './telemetry.ts';
import type { UnitContext } from './unit.ts';

export { fakeClock };

/** A context whose events land in an inspectable `metrics`. */
export const testContext = (id = 'test', clock: Clock = fakeClock('2025-01-01T00:00:00Z')): UnitContext => {
  const log = silentLogger();
  const metrics = new Metrics();
  return {
    id, log, metrics, clock,
    events: createEvents(log, metrics, { component_kind: 'source', component_type: 'test', component_id: id }),
    signal: new AbortController().signal,
  };
};

/** Wraps an array as the batched async input a unit's `run` takes. */
export async function* batches<T>(items: T[], size = 1000): AsyncIterable<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

/** Drains a unit's output into one array. */
export const collect = async <T>(it: AsyncIterable<T[]>): Promise<T[]> => {
  const out: T[] = [];
  for await (const b of it) out.push(...b);
  return out;
};
