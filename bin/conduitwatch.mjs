#!/usr/bin/env node
// Launcher: loads the TypeScript sources through tsx, so a clone runs without a build step.
// Plain JavaScript on purpose: it must run before `npm install` to say what is missing.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const say = (text) => process.stderr.write(`${text}\n`);

const [major] = process.versions.node.split('.').map(Number);
if (major < 20) {
  say(`conduitwatch needs Node.js 20 or newer; this is ${process.version} (${process.execPath}).`);
  say('Install Node.js 20 (https://nodejs.org/, or your distribution\'s nodejs package), then run the command again.');
  process.exit(2);
}

let register;
try {
  ({ register } = await import('tsx/esm/api'));
} catch (e) {
  if (e?.code !== 'ERR_MODULE_NOT_FOUND') throw e;
  say(`conduitwatch: its npm packages are not installed yet (tsx is missing from ${join(root, 'node_modules')}).`);
  say(`Install them once, in ${root}:`);
  say('  npm run demo                  # installs the locked versions, then runs the demo');
  say('  bash scripts/ensure-deps.sh   # or: only install them');
  say('Then: npx conduitwatch --help');
  process.exit(2);
}

register();
// A reader that stops early (`conduitwatch flows … | head`) is not an error.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
