/**
 * Recorded plant traffic lives in ../shared/data beside the clone (read-only, never copied in).
 * Outside CI a test that needs it skips with a reason; under CI=true its absence is a failure.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';

export const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const sharedDataDir = process.env.CONDUITWATCH_SHARED_DATA ?? resolve(projectRoot, '..', 'shared', 'data');

/** Absolute path of `rel` under shared/data, or undefined (after `t.skip`) when absent outside CI. */
export const sharedData = (t: TestContext, rel: string): string | undefined => {
  const p = join(sharedDataDir, rel);
  if (existsSync(p)) return p;
  const why = `needs ${p} (the recorded plant traffic in ../shared/data beside the clone; set CONDUITWATCH_SHARED_DATA to its path)`;
  if (process.env.CI === 'true') throw new Error(`missing under CI: ${why}`);
  t.skip(why);
  return undefined;
};

/** Whether a command is on PATH; under CI a missing peer tool is a failure, elsewhere a skip. */
export const requireTool = async (t: TestContext, tool: string, install: string): Promise<boolean> => {
  const { execFileSync } = await import('node:child_process');
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return true;
  } catch {
    const why = `needs ${tool} on PATH (${install}); npm test installs it when run as root`;
    if (process.env.CI === 'true') throw new Error(`missing under CI: ${why}`);
    t.skip(why);
    return false;
  }
};
