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
  learnBelow: z.number().min(0).max(1).default(0.5)
    .describe('After the baseline, a window keeps updating the model only while its score is below this.'),
}).strict();
export type CadenceConfig = z.output<typeof CadenceConfig>;
