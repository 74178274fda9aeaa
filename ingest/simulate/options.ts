/** Options of the plant traffic simulator; the schema is the parser and the docs (STYLE.md §3). */
import { z } from 'zod';
import { duration } from '../../core/units.ts';

/** The anomalies the simulator can inject, in the order they are placed in the capture. */
export const ANOMALY_KINDS = ['new_talker', 'unusual_write', 'cadence_change', 'polling_stop', 'scan', 'program_download'] as const;
export type AnomalyKind = (typeof ANOMALY_KINDS)[number];

const anomalyKind = z.enum([...ANOMALY_KINDS, 'all']);

export const SimOptions = z.object({
  duration: duration.default('2h')
    .refine((ms) => ms >= 60_000 && ms <= 31 * 86_400_000, 'duration must be between 1m and 31d')
    .describe('Event time the capture covers, e.g. "2h" or "24h".'),
  seed: z.number().int().min(0).max(0xffffffff).default(1)
    .describe('Seed of the pseudo-random jitter, ports and values: the same options give a byte-identical capture.'),
  inject: z.union([anomalyKind, z.array(anomalyKind)]).default([])
    .transform((v) => {
      const asked = new Set(Array.isArray(v) ? v : [v]);
      return ANOMALY_KINDS.filter((k) => asked.has('all') || asked.has(k));
    })
    .describe(`Anomalies to inject, each labelled with its interval: ${ANOMALY_KINDS.join(', ')}, or "all".`),
  start: z.string().default('2025-03-03T06:00:00Z')
    .refine((s) => /^\d{4}-\d\d-\d\dT/.test(s) && !Number.isNaN(Date.parse(s)), 'write an ISO 8601 time with a zone, e.g. "2025-03-03T06:00:00Z"')
    .transform((s) => Date.parse(s))
    .describe('Event time of the first packet, ISO 8601 with a zone.'),
  cycle: duration.default('30m')
    .refine((ms) => ms >= 60_000, 'cycle must be at least 1m')
    .describe('Production cycle length. Each cycle has a batch phase (50–75 %) in which the SCADA server writes setpoints; anomalies start after 2 full cycles.'),
  out: z.string().min(1)
    .describe('Path of the pcap to write; the labels go to "<out>.labels.json" beside it.'),
}).strict();

/** Options as written by a caller (durations as strings). */
export type SimOptionsInput = z.input<typeof SimOptions>;
/** Parsed options: `duration`, `cycle` in ms, `start` in epoch ms. */
export type SimOptions = z.output<typeof SimOptions>;
