/** The `serve` command's options, apart from the command so that `cli/main.ts` can parse them before loading it. */
import { MODEL_OPTIONS } from '../models-args.ts';

/** node:util parseArgs options of `serve`, for cli/main.ts. */
export const SERVE_OPTIONS = {
  role: { type: 'string', multiple: true },
  kafka: { type: 'string' },
  site: { type: 'string' },
  listen: { type: 'string' },
  'allow-exporter': { type: 'string', multiple: true },
  data: { type: 'string' },
  http: { type: 'string' },
  'run-id': { type: 'string' },
  prefix: { type: 'string' },
  'query-listen': { type: 'string' },
  siem: { type: 'string' },
  'siem-format': { type: 'string' },
  'siem-ca': { type: 'string' },
  ...MODEL_OPTIONS,
  spool: { type: 'string' },
  'spool-max': { type: 'string' },
  'spool-age': { type: 'string' },
  'connect-timeout': { type: 'string' },
} as const;
