/** `conduitwatch console` options (kept apart so main.ts loads the command only when it runs). */
export const CONSOLE_OPTIONS = {
  site: { type: 'string' }, data: { type: 'string' }, redis: { type: 'string' }, listen: { type: 'string' },
  'tls-cert': { type: 'string' }, 'tls-key': { type: 'string' }, 'insecure-http': { type: 'boolean' },
  netns: { type: 'string' }, prefix: { type: 'string' }, 'dry-run': { type: 'boolean' },
} as const;
