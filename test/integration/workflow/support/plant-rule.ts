/** The rule and proposal of the namespace plant: the HMI may read coils and holding registers of the PLC. */
import { RULE_KIND, ruleHash, type Rule } from '../../../../enforce/rules.ts';
import { HMI, PLC } from './netns.ts';

/** Evidence of a steady baseline edge: 10 flows 1 s apart over 3 cycles, so its traffic is due every 1 s. */
const ev = { cycles: 3, firstSeen: 1_700_000_000_000, lastSeen: 1_700_000_009_000, flows: 10, firstSeenInAlert: '' };

export const plantRule = (extraOps: string[] = []): Rule => ({
  kind: RULE_KIND, schema: 1, site: 'netns-plant', conduit: 'control->field', productionCycleMs: 600_000, minCycles: 3, parent: '',
  learnedFrom: { runs: ['netns'], from: ev.firstSeen, to: ev.lastSeen, flows: 10, fullCycles: 3, phasesSeen: [1], phases: 12 },
  entries: [{
    src: HMI, dst: PLC, proto: 6, dstPort: 502, l7: 'modbus', status: 'allow', held: [], evidence: ev,
    ops: [
      { op: 'read_coils', status: 'allow', held: [], evidence: ev },
      { op: 'read_holding_registers', status: 'allow', held: [], evidence: ev },
      ...extraOps.map((op) => ({ op, status: 'allow' as const, held: [], evidence: ev })),
    ],
  }],
  waivers: [],
});

/**
 * The proposal body the console takes: the rule, its readiness and its what-if. The what-if here is
 * written by the test (0 of 10 flows blocked) because part 1's stored-flow what-if is not wired yet.
 */
export const plantProposal = (rule: Rule = plantRule()) => ({
  rule,
  readiness: { ready: true, summary: '3 of 3 production cycles covered, every phase seen' },
  whatif: {
    ruleHash: ruleHash(rule), whatifHash: `sha256:${'0'.repeat(64)}`, from: rule.learnedFrom.from, to: rule.learnedFrom.to,
    flowsEvaluated: 10, flowsBlocked: 0, blocked: [], promotable: true, reasons: [],
  },
});
