/** Config of the silence detector (see README.md). */
import { z } from 'zod';

export const SilenceConfig = z.object({
  minWindows: z.number().int().min(1).default(10)
    .describe('Windows with requests an edge must have learned before an unanswered window is scored.'),
  minRequestPackets: z.number().int().min(1).default(2)
    .describe('Initiator packets a window must carry (when it has no l7 requests) to count as asking for an answer.'),
  l7Fraction: z.number().min(0).max(1).default(0.9)
    .describe("When at least this fraction of the edge's learned windows carried l7 responses (l7OpsRev), a window with requests but no l7 response counts as unanswered even if TCP still acknowledges."),
  learnBelow: z.number().min(0).max(1).default(0.5)
    .describe('After the baseline, a window keeps updating the answer statistics only while its score is below this.'),
}).strict();
export type SilenceConfig = z.output<typeof SilenceConfig>;
