/** The one shape of sources, detectors and sinks (STYLE.md §2). */
import type { z } from 'zod';
import type { Clock } from './clock.ts';
import type { Logger, Metrics, UnitEvents } from './telemetry.ts';

export interface Unit<In, Out> {
  /** Bind sockets, connect, load a model. Throw `not_connected` to be retried with backoff. */
  open(): Promise<void>;
  /** Turn input batches into output batches. Sources ignore `input`; sinks yield receipts. */
  run(input: AsyncIterable<In[]>): AsyncIterable<Out[]>;
  /** Flush what is buffered, then release resources. Calling it twice is harmless. */
  close(): Promise<void>;
}

export interface UnitContext {
  /** Instance name from config, e.g. 'line3-modbus'. */
  id: string;
  log: Logger;
  events: UnitEvents;
  metrics: Metrics;
  clock: Clock;
  signal: AbortSignal;
}

export interface UnitDef<S extends z.ZodTypeAny, In, Out> {
  kind: 'source' | 'detector' | 'sink';
  /** snake_case: 'pcap_replay', 'cadence', 'clickhouse'. */
  type: string;
  /** One line, shown by `--list-units`. */
  summary: string;
  config: S;
  create(config: z.output<S>, ctx: UnitContext): Unit<In, Out>;
}

export const defineUnit = <S extends z.ZodTypeAny, In, Out>(d: UnitDef<S, In, Out>): UnitDef<S, In, Out> => d;

/** A sink's acknowledgement: emitted only once the write is durable. */
export interface Receipt {
  records: number;
  bytes: number;
}
