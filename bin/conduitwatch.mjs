#!/usr/bin/env node
// Launcher: loads the TypeScript sources through tsx, so a clone runs without a build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
