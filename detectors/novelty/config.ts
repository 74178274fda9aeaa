/** Config of the novelty detector (see README.md). */
import { z } from 'zod';

export const NoveltyConfig = z.object({
  newOperationScore: z.number().min(0).max(1).default(0.85)
    .describe('Score of an operation (function code, service) never seen on a known edge when it is not security-relevant.'),
  newUnitScore: z.number().min(0).max(1).default(0.85)
    .describe('Score of a unit id / station address never addressed on a known edge.'),
  newServiceScore: z.number().min(0).max(1).default(0.95)
    .describe('Score of a new dst port / l7 between two hosts that already talked on this conduit.'),
  securityOps: z.array(z.string().min(1)).default([
    'write', 'download', 'upload', 'program', 'firmware', 'delete', 'reset', 'restart', 'reboot', 'plc_stop', 'plc_start',
    'force', 'operate', 'command', 'setpoint',
  ]).describe('Case-insensitive substrings that make an operation name security-relevant (writes, program download, PLC stop …). A never-seen security-relevant operation scores 1.0 and alerts even in a maintenance window.'),
}).strict();
export type NoveltyConfig = z.output<typeof NoveltyConfig>;
