/**
 * The stored baseline of the tests' plant, made the way an operator makes one: `conduitwatch
 * simulate` writes a capture of the simulated plant (3+ production cycles of 12 min), `replay`
 * stores its flows and scored windows, and part 1's `rules propose --json` (readiness gate + rule
 * learning) writes the proposal the workflow takes. About 4 s of CPU.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../../../bin/conduitwatch.mjs', import.meta.url));
export const CONDUIT = 'scada->field';

const cw = (args: string[]): string => execFileSync(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CONDUITWATCH_LOG: 'error' } }).toString();

/** site.yaml of the simulated plant with one maintenance window (ISO start, duration). */
export const writePlantSite = (dir: string, window: { start: string; duration: string; every?: string }): string => {
  const file = join(dir, 'site.yaml');
  writeFileSync(file, `site: sim-plant
productionCycle: 12m
zones:
  - { name: scada, sl: 2, cidrs: [10.10.1.0/24] }
  - { name: ops, sl: 2, cidrs: [10.10.2.0/24] }
  - { name: field, sl: 3, cidrs: [10.10.3.0/24] }
conduits:
  - { from: scada, to: field }
  - { from: ops, to: field }
maintenanceWindows:
  - { name: tonight, start: "${window.start}", duration: ${window.duration}${window.every ? `, every: ${window.every}` : ''} }
detection:
  window: 60s
  baseline: 12m
`);
  return file;
};

/** Simulates, replays into `data` and proposes a rule for the scada->field conduit; returns the proposal JSON. */
export const proposePlant = (dir: string, siteFile: string, data: string): Record<string, unknown> => {
  const pcap = join(dir, 'plant.pcap');
  cw(['simulate', '--out', pcap, '--duration', '38m', '--cycle', '12m', '--seed', '3', '--quiet']);
  cw(['replay', pcap, '--site', siteFile, '--data', data, '--quiet']);
  const out = JSON.parse(cw(['rules', 'propose', '--conduit', CONDUIT, '--site', siteFile, '--data', data, '--json']));
  if (!out.proposed) throw new Error(`part 1 refused the proposal: ${JSON.stringify(out.readiness.reasons)}`);
  return out;
};
