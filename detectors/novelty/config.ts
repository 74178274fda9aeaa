/** Config of the novelty detector (see README.md). */
import { z } from 'zod';
import { duration } from '../../core/units.ts';
import { DEFAULT_SECURITY_PATTERNS } from '../security.ts';

/** An edge (and its operations) an analyst folded into the baseline (enforce/workflow/learn.ts). */
export const LearnedEdge = z.object({
  src: z.string().min(1).describe('Initiator address.'),
  dst: z.string().min(1).describe('Responder address.'),
  proto: z.number().int().min(0).max(255).describe('IP protocol number.'),
  dstPort: z.number().int().min(0).max(65535).describe('Responder port.'),
  l7: z.string().default('').describe('Application protocol, as the dissectors name it; empty when none.'),
  ops: z.array(z.string()).default([]).describe('Operations learned on the edge.'),
  units: z.array(z.number().int().min(0)).default([]).describe('Unit ids / station addresses learned on the edge.'),
}).strict();

export const NoveltyConfig = z.object({
  newOperationScore: z.number().min(0).max(1).default(0.85)
    .describe('Score of an operation (function code, service) never seen on a known edge when it is not security-relevant.'),
  newUnitScore: z.number().min(0).max(1).default(0.85)
    .describe('Score of a unit id / station address never addressed on a known edge.'),
  newServiceScore: z.number().min(0).max(1).default(0.95)
    .describe('Score of a new dst port / l7 between two hosts that already talked on this conduit.'),
  newDirectionScore: z.number().min(0).max(1).default(1)
    .describe('Score of a new edge whose reverse (the same two hosts and service, the other way round) is known: a server that starts initiating.'),
  securityOps: z.array(z.string().min(1)).default([...DEFAULT_SECURITY_PATTERNS])
    .describe('Case-insensitive substrings that make an operation name security-relevant (writes, program download, PLC stop …), on top of the protocol sets of ingest/protocols/*/codes.ts. A never-seen security-relevant operation scores 1.0 and alerts even in a maintenance window.'),
  unbaselinedScore: z.number().min(0).max(1).default(0.8)
    .describe('Score of each window in which an unbaselined edge (first seen after the baseline) opens new connections (TCP SYN) or comes back after a quiet window: lower than a new edge, at the default alert line.'),
  unbaselinedFor: duration.optional()
    .describe('How long an edge first seen after the baseline stays unbaselined (its new connections keep scoring), from its first flow; default one production cycle (site productionCycle). "0s" turns the rule off.'),
  scanMinNewEdges: z.number().int().min(2).default(8)
    .describe('A source with at least this many new edges in one window is scanning: when the scan detector runs, those edges are scored but reported by its one aggregated finding instead of one alert each.'),
  learned: z.array(LearnedEdge).default([])
    .describe('Edges folded into the baseline by an analyst (conduitwatch learn/unlearn, audited): known from the first window on, so they never alert as new. The wiring fills it from the data directory.'),
}).strict();
export type NoveltyConfig = z.output<typeof NoveltyConfig>;
