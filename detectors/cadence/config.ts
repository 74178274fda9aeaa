/** Config of the cadence detector (see README.md). */
import { z } from 'zod';

export const CadenceConfig = z.object({
  minBaselineIntervals: z.number().int().min(1).default(10)
    .describe('Intervals a channel (requests or connection starts) must have learned before it is scored.'),
  minIntervals: z.number().int().min(1).default(1)
    .describe('Intervals a window must hold on a channel to be scored on it.'),
  relativeFloor: z.number().min(0).default(0.05)
    .describe('Smallest learned jitter used, as a fraction of the learned period (0.05 = ±5%).'),
  absoluteFloorMs: z.number().positive().default(5)
    .describe('Smallest learned jitter used, in ms (timestamp resolution and scheduling noise).'),
  jitterZPerDoubling: z.number().positive().default(2.5)
    .describe('Deviation added per doubling of the window jitter over the learned jitter: 2.5 makes 4x the learned jitter reach z 5 (score 0.8).'),
  maxPeriodicCv: z.number().positive().default(0.5)
    .describe('A channel counts as periodic (its period and jitter are judged) while its learned jitter / period stays at or below this; event-driven traffic (IEC 104 spontaneous measurements, CV ≈ 2) is left to rate.'),
  maxChannels: z.number().int().min(1).default(16)
    .describe('Most connection channels (one per set of operations a connection asks for) kept per edge; connections beyond it share one channel.'),
  learnBelow: z.number().min(0).max(1).default(0.5)
    .describe('After the baseline, a window keeps updating the model only while its score is below this.'),
}).strict();
export type CadenceConfig = z.output<typeof CadenceConfig>;
