/** Config of the silence detector (see README.md). */
import { z } from 'zod';
import { duration } from '../../core/units.ts';

export const SilenceConfig = z.object({
  minWindows: z.number().int().min(1).default(10)
    .describe('Windows with requests an edge must have learned before an unanswered window is scored.'),
  minRequestPackets: z.number().int().min(1).default(2)
    .describe('Initiator packets a window must carry (when it has no l7 requests) to count as asking for an answer.'),
  l7Fraction: z.number().min(0).max(1).default(0.9)
    .describe("When at least this fraction of the edge's learned windows carried l7 responses (l7OpsRev), a window with requests but no l7 response counts as unanswered even if TCP still acknowledges."),
  learnBelow: z.number().min(0).max(1).default(0.5)
    .describe('After the baseline, a window keeps updating the answer and gap statistics only while its score is below this.'),
  gapMinWindows: z.number().int().min(1).default(10)
    .describe('Windows an edge must have learned (and gaps it must have measured) before its longest silence is scored.'),
  gapActiveFraction: z.number().min(0).max(1).default(0.8)
    .describe('The longest-gap check applies only to edges with traffic in at least this fraction of their learned windows: a talker that comes and goes has no usual longest gap.'),
  gapQuantile: z.number().min(0.5).max(1).default(0.99)
    .describe('Quantile of the learned per-window longest gaps used as the reference (1 = the longest ever learned); with fewer than 1 / (1 − q) windows it is the longest.'),
  gapZPerDoubling: z.number().positive().default(3)
    .describe('Deviation per doubling of the gap over the reference: 3 makes a silence 3.2x the usual longest gap reach z 5 (score 0.8).'),
  gapFloor: duration.default('5s')
    .describe('Smallest reference gap: a fast poller (every 100 ms) is judged against at least this, so a few missed polls are cadence and rate findings, not a lost connection.'),
}).strict();
export type SilenceConfig = z.output<typeof SilenceConfig>;
