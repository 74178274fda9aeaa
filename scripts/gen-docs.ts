/** Writes docs/config.md from the zod schemas (`npm run docs`); a test fails when it is stale. */
import { writeFileSync } from 'node:fs';
import { configDoc } from '../cli/config-doc.ts';

writeFileSync(new URL('../docs/config.md', import.meta.url), configDoc());
process.stdout.write('wrote docs/config.md\n');
