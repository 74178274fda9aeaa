/** Config of the rate detector (see README.md). */
import { z } from 'zod';

export const RateConfig = z.object({
  minWindows: z.number().int().min(1).default(5)
    .describe('Windows an edge must have been learned for before its rate is scored (score 0 until then).'),
  relativeFloor: z.number().min(0).default(0.1)
    .describe('Smallest standard deviation used, as a fraction of the learned mean (0.1 = ±10%): a perfectly steady poll does not make every extra request an outlier.'),
  absoluteFloor: z.number().positive().default(1)
    .describe('Smallest standard deviation used, in requests (or flows) per window.'),
  minPolledWindows: z.number().int().min(1).default(10)
    .describe('Windows an edge must have been learned for before its silence can be polling_stop: a talker seen for three windows (an intruder that left) is not a poller that stopped.'),
  pollingFraction: z.number().min(0).max(1).default(0.8)
    .describe('An edge counts as polled (so that silence is polling_stop, summed over consecutive silent windows) when it had traffic in at least this fraction of its learned windows.'),
  phaseBuckets: z.number().int().min(1).max(96).default(12)
    .describe('Buckets the production cycle is split into; each keeps its own per-window statistics (the profile), so batch-phase traffic is normal in the batch phase and anomalous outside it. 1 turns the profile off.'),
  minBucketWindows: z.number().int().min(1).default(3)
    .describe('Windows a phase bucket must have learned before it is used; until then the edge\'s global statistics are.'),
  securityPatterns: z.array(z.string().min(1)).optional()
    .describe('Extra case-insensitive name substrings for security-relevant operations (the protocol sets of ingest/protocols/*/codes.ts always apply); default: detectors/security.ts DEFAULT_SECURITY_PATTERNS.'),
  learnBelow: z.number().min(0).max(1).default(0.5)
    .describe('After the baseline, a window keeps updating the model only while its score is below this, so an anomaly is not learned as normal.'),
}).strict();
export type RateConfig = z.output<typeof RateConfig>;
