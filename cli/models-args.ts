/** `--model NAME[@VERSION]` (repeatable), `--models DIR` and `--backend` of the commands that run models (replay, serve). */
import { BACKEND_CHOICES, type BackendChoice } from '../models/backend.ts';
import type { ModelUse } from '../models/use.ts';
import { usageError } from './args.ts';

/** parseArgs options, for cli/main.ts and cli/serve/options.ts. */
export const MODEL_OPTIONS = {
  model: { type: 'string', multiple: true },
  models: { type: 'string' },
  backend: { type: 'string' },
} as const;

/** The models a command was told to run, or undefined when none. */
export const modelUseArg = (command: string, v: Record<string, unknown>): ModelUse | undefined => {
  const refs = (Array.isArray(v.model) ? v.model : typeof v.model === 'string' ? [v.model] : []) as string[];
  const backend = typeof v.backend === 'string' ? v.backend : undefined;
  if (backend !== undefined && !BACKEND_CHOICES.includes(backend as BackendChoice)) throw usageError(command, `--backend is one of ${BACKEND_CHOICES.join(', ')}, not "${backend}".`);
  if (refs.length === 0) {
    if (typeof v.models === 'string' || backend !== undefined) throw usageError(command, '--models and --backend need --model NAME[@VERSION]: the trained model to run (conduitwatch models list).');
    return undefined;
  }
  return { refs: refs.flatMap((r) => r.split(',')).map((r) => r.trim()).filter(Boolean), ...(typeof v.models === 'string' ? { dir: v.models } : {}), ...(backend ? { backend: backend as BackendChoice } : {}) };
};
