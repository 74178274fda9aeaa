/** Config of the size detector (see README.md). */
import { z } from 'zod';

export const SizeConfig = z.object({
  minWindows: z.number().int().min(1).default(5)
    .describe('Windows an edge must have learned on a channel before that channel is scored.'),
  minPackets: z.number().int().min(1).default(4)
    .describe('Packets a direction must carry in a window to be scored (a lone SYN or ACK says nothing about payload size).'),
  relativeFloor: z.number().min(0).default(0.05)
    .describe('Smallest standard deviation used, as a fraction of the learned mean size.'),
  absoluteFloor: z.number().positive().default(4)
    .describe('Smallest standard deviation used, in bytes.'),
  learnBelow: z.number().min(0).max(1).default(0.5)
    .describe('After the baseline, a window keeps updating the envelope only while its score is below this.'),
}).strict();
export type SizeConfig = z.output<typeof SizeConfig>;
