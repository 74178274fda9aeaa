/** Config of the scan detector (see README.md). */
import { z } from 'zod';

export const ScanConfig = z.object({
  minDestinations: z.number().int().min(2).default(8)
    .describe('Distinct destinations (host, port, proto) one source must reach in a window before its fan-out is scored; narrower sources get no finding.'),
  minWindows: z.number().int().min(1).default(5)
    .describe('Windows a source must have been learned for before its own fan-out statistics are used; until then it counts as a new source.'),
  newSourceSpread: z.number().positive().default(1.6)
    .describe('Destinations never reached before, from a source without statistics, worth one standard deviation: 1.6 makes 8 new destinations in one window z 5 (score 0.8).'),
  relativeFloor: z.number().min(0).default(0.1)
    .describe('Smallest standard deviation of a source\'s fan-out, as a fraction of its mean.'),
  absoluteFloor: z.number().positive().default(1)
    .describe('Smallest standard deviation of a source\'s fan-out, in destinations per window.'),
  learnBelow: z.number().min(0).max(1).default(0.5)
    .describe('After the baseline, a window keeps updating a source\'s fan-out only while its score is below this.'),
}).strict();
export type ScanConfig = z.output<typeof ScanConfig>;
