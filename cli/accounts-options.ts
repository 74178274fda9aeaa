/** `conduitwatch accounts` options (kept apart so main.ts loads the command only when it runs). */
export const ACCOUNTS_OPTIONS = {
  data: { type: 'string' }, 'display-name': { type: 'string' }, role: { type: 'string', multiple: true },
  'password-stdin': { type: 'boolean' }, expires: { type: 'string' }, scope: { type: 'string', multiple: true },
  label: { type: 'string' }, tokens: { type: 'boolean' }, json: { type: 'boolean' },
} as const;
