#!/usr/bin/env node
// Launcher: loads the TypeScript sources through tsx, so a clone runs without a build step.
import { register } from 'tsx/esm/api';

register();
// A reader that stops early (`conduitwatch flows … | head`) is not an error.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
