/** Options of the workflow subcommands of `conduitwatch rules` (approve, schedule, status, abort, rollback, submit, reject). */
export const RULES_WORKFLOW_OPTIONS = {
  api: { type: 'string' }, token: { type: 'string' }, reason: { type: 'string' }, window: { type: 'string' },
  'no-schedule': { type: 'boolean' }, watch: { type: 'string' }, interval: { type: 'string' }, alerts: { type: 'string' },
  within: { type: 'string' }, 'dropped-packets': { type: 'string' }, json: { type: 'boolean' },
  wait: { type: 'string' }, timeout: { type: 'string' },
} as const;
