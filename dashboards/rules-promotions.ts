/** Rules and promotions: each conduit's allow-list rule, its what-if result and its enforcement state. */
import { C, RUN_VAR, stat, T, table, toConduit, UID, type DashboardSpec } from './common.ts';

const r = C.rules;
const a = C.audit;

/** Audit entries of the enforcement steps (kind 'entry'), with their details from the canonical line. */
const steps = `${T.audit} WHERE ${a.kind} = 'entry' AND ${a.action} IN ('propose', 'whatif', 'waive', 'approve', 'apply', 'rollback')`;

/** The state a conduit's newest successful step leaves it in. */
const state = (action: string) =>
  `multiIf(${action} = 'apply', 'enforcing', ${action} = 'rollback', 'rolled back', ${action} = 'approve', 'approved', ${action} IN ('whatif', 'waive'), 'what-if done', ${action} = 'propose', 'proposed', ${action})`;

export const rulesPromotions = (): DashboardSpec => ({
  uid: UID.rules,
  file: 'rules-promotions',
  title: 'conduitwatch / Rules and promotions',
  description: 'Promote-to-block: each conduit\'s allow-list rule (proposed from its baseline), what the what-if replay would block, who approved, and whether it is enforcing. Every step is in the audit trail.',
  variables: [RUN_VAR],
  from: 'now-30d',
  panels: [
    stat({
      title: 'Conduits enforcing', unit: 'short', w: 8,
      description: 'Conduits whose newest successful enforcement step is apply (an nftables allow-list is loaded).',
      sql: `SELECT countIf(s = 'apply') AS enforcing FROM (SELECT ${a.target}, argMax(${a.action}, ${a.seq}) AS s FROM ${steps} AND ${a.result} = 'ok' AND ${a.action} IN ('apply', 'rollback') GROUP BY ${a.target})`,
    }),
    stat({
      title: 'Rules proposed', unit: 'short', w: 8,
      description: 'Conduits with at least one stored rule version.',
      sql: `SELECT uniqExact(${r.conduit}) AS conduits FROM ${T.rules}`,
    }),
    stat({
      title: 'Refused steps', unit: 'short', w: 8,
      description: 'Steps the readiness gate, a what-if or RBAC refused (proposals on a baseline too short, applies that were not promotable).',
      sql: `SELECT count() AS refused FROM ${steps} AND ${a.result} = 'refused'`,
    }),
    table({
      title: 'Rule and state per conduit', unit: 'short', w: 24, h: 8, units: { last_step_at: 'dateTimeAsIso', proposed_at: 'dateTimeAsIso' },
      description: 'Per conduit: its state from the newest successful step, the newest rule version (hash, by whom, when), how many entries it allows and holds for review, and the waivers. Click for the conduit detail.',
      links: [toConduit()],
      sql: `SELECT c.conduit AS conduit, ${state('s.last_action')} AS state, s.last_step_at AS last_step_at, s.last_actor AS by,
  c.versions AS versions, c.latest_hash AS rule, c.latest_by AS proposed_by, c.latest_at AS proposed_at,
  JSONLength(c.latest_json, 'entries') AS entries,
  length(arrayFilter(e -> JSONLength(e, 'held') > 0, JSONExtractArrayRaw(c.latest_json, 'entries'))) AS edges_held,
  JSONLength(c.latest_json, 'waivers') AS waivers
FROM (SELECT ${r.conduit} AS conduit, count() AS versions, argMax(${r.hash}, ${r.createdAt}) AS latest_hash, argMax(${r.createdBy}, ${r.createdAt}) AS latest_by,
        max(${r.createdAt}) AS latest_at, argMax(${r.json}, ${r.createdAt}) AS latest_json FROM ${T.rules} GROUP BY conduit) AS c
LEFT JOIN (SELECT ${a.target} AS conduit, argMax(${a.action}, ${a.seq}) AS last_action, max(${a.ts}) AS last_step_at, argMax(${a.actor}, ${a.seq}) AS last_actor
        FROM ${steps} AND ${a.result} = 'ok' GROUP BY conduit) AS s ON s.conduit = c.conduit
ORDER BY conduit`,
    }),
    table({
      title: 'What-if results', unit: 'short', w: 24, h: 8, units: { at: 'dateTimeAsIso' },
      description: 'Each what-if replay of a rule over every stored flow of its conduit: flows evaluated and blocked, blocked flows without a waiver, and whether the rule is promotable (no unwaived block outside an open alert).',
      sql: `SELECT ${a.ts} AS at, ${a.target} AS conduit, ${a.actor} AS by, ${a.ruleHash} AS rule,
  JSONExtractUInt(${a.line}, 'details', 'flowsEvaluated') AS flows_evaluated, JSONExtractUInt(${a.line}, 'details', 'flowsBlocked') AS flows_blocked,
  JSONExtractUInt(${a.line}, 'details', 'unwaived') AS unwaived, if(JSONExtractBool(${a.line}, 'details', 'promotable'), 'yes', 'no') AS promotable,
  ${a.whatifHash} AS whatif
FROM ${steps} AND ${a.action} = 'whatif'
ORDER BY at DESC LIMIT 100`,
    }),
    table({
      title: 'Promotion steps', unit: 'short', w: 24, h: 9, units: { at: 'dateTimeAsIso' },
      description: 'Every promote-to-block step, newest first: who (the approver on approve), what, the result, and the reason a gate gave when it refused.',
      sql: `SELECT ${a.ts} AS at, ${a.target} AS conduit, ${a.action} AS step, ${a.result} AS result, ${a.actor} AS by,
  JSONExtractString(${a.line}, 'role') AS role, JSONExtractString(${a.line}, 'reason') AS reason, ${a.ruleHash} AS rule
FROM ${steps}
ORDER BY ${a.seq} DESC LIMIT 200`,
    }),
  ],
});
