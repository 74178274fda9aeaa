/** Small helpers shared by the commands' argument checks. */
import { PipelineError } from '../core/errors.ts';
import { parseDuration } from '../core/units.ts';

export const usageError = (command: string, message: string): PipelineError =>
  new PipelineError('config_invalid', `${message}\nRun 'conduitwatch ${command} --help' for usage and examples.`);

export const durationArg = (command: string, flag: string, v: unknown, fallback: string): number => {
  const text = typeof v === 'string' ? v : fallback;
  try {
    return parseDuration(text);
  } catch (e) {
    throw usageError(command, `--${flag}: ${(e as Error).message}`);
  }
};

export const intArg = (command: string, flag: string, v: unknown, fallback: number): number => {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw usageError(command, `--${flag} takes a whole number, not "${String(v)}".`);
  return n;
};
