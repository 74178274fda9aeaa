/**
 * How to run conduitwatch again from here, for the hints the commands print ("Query it: …"): the
 * bare name only when `conduitwatch` on PATH is this checkout's launcher (after `npm link`), else
 * `npx conduitwatch` inside the checkout, else the launcher by its path. npx itself links the
 * launcher into a PATH entry of its own cache (~/.npm/_npx/…/node_modules/.bin) for the one run:
 * that entry is not on the user's PATH afterwards, so it does not count.
 */
import { realpathSync } from 'node:fs';
import { delimiter, dirname, join, relative, resolve, sep } from 'node:path';
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
  const npxCache = `${sep}_npx${sep}`;
  const onPath = (env.PATH ?? '').split(delimiter).filter((d) => d !== '' && !d.includes(npxCache))
    .some((d) => launcher !== undefined && real(join(d, 'conduitwatch')) === launcher);
  const rel = relative(ROOT, resolve(cwd));
  const inside = rel === '' || (!rel.startsWith('..') && !rel.startsWith('/'));
  const cmd = onPath ? 'conduitwatch' : inside ? 'npx conduitwatch' : `node ${LAUNCHER}`;
  if (env === process.env && cwd === process.cwd()) memo = cmd;
  return cmd;
};
