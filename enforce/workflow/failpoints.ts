/**
 * Crash points for the crash tests: `failpoint('apply.after-save')` SIGKILLs this process — a real
 * kill -9 at an exact step, which a test cannot time from outside — when
 * `CONDUITWATCH_FAILPOINTS` names the point. Each point fires once per
 * `CONDUITWATCH_FAILPOINT_DIR` (a marker file), so the restarted process runs past it. Unset (every
 * deployment), it does nothing.
 */
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';

export const failpoint = (name: string): void => {
  const on = process.env.CONDUITWATCH_FAILPOINTS;
  if (!on || !on.split(',').includes(name)) return;
  const dir = process.env.CONDUITWATCH_FAILPOINT_DIR ?? '.';
  try {
    closeSync(openSync(join(dir, `failpoint-${name}`), 'wx'));
  } catch {
    return; // fired before
  }
  process.kill(process.pid, 'SIGKILL');
};
