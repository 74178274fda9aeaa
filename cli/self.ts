/**
 * How to run conduitwatch again from here, for the hints the commands print ("Query it: …"): the
 * bare name only when `conduitwatch` on PATH is this checkout's launcher (after `npm link`), else
 * `npx conduitwatch` inside the checkout, else the launcher by its path.
 */
import { realpathSync } from 'node:fs';
import { delimiter, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const LAUNCHER = join(ROOT, 'bin', 'conduitwatch.mjs');

const real = (p: string): string | undefined => {
  try {
    return realpathSync(p);
  } catch {
    return undefined;
  }
};

let memo: string | undefined;

export const selfCommand = (env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string => {
  if (memo !== undefined && env === process.env && cwd === process.cwd()) return memo;
  const launcher = real(LAUNCHER);
  const onPath = (env.PATH ?? '').split(delimiter).filter(Boolean).some((d) => launcher !== undefined && real(join(d, 'conduitwatch')) === launcher);
  const rel = relative(ROOT, resolve(cwd));
  const inside = rel === '' || (!rel.startsWith('..') && !rel.startsWith('/'));
  const cmd = onPath ? 'conduitwatch' : inside ? 'npx conduitwatch' : `node ${LAUNCHER}`;
  if (env === process.env && cwd === process.cwd()) memo = cmd;
  return cmd;
};
