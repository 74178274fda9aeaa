/**
 * A shared capture replayed into a fresh chDB data directory (in this process; the store is closed
 * again when the replay returns, so the caller can open the directory itself or serve it).
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { runReplay, type ReplayReport } from '../../cli/replay.ts';
import { fakeClock } from '../../core/clock.ts';
import { loadSite } from '../../core/config.ts';
import { projectRoot, sharedData } from './data.ts';

/** The Lemay "fake command" capture: polling, a new RTU→RTU write, undeclared broadcast conduits. */
export const LEMAY_FAKE_COMMAND = 'lemay/send_a_fake_command_modbus_6RTU_with_operate.pcap';

export interface Replayed {
  dir: string;
  report: ReplayReport;
  /** The capture's event-time range, epoch ms. */
  from: number;
  to: number;
}

export const replayShared = async (t: TestContext, rel = LEMAY_FAKE_COMMAND, site = 'examples/lemay/site.yaml'): Promise<Replayed | undefined> => {
  const input = sharedData(t, rel);
  if (!input) return undefined;
  const dir = await mkdtemp(join(tmpdir(), 'cw-dash-'));
  const report = await runReplay({
    inputs: [input], site: loadSite(join(projectRoot, site)), dataDir: dir, clock: fakeClock('2026-01-01T00:00:00Z'),
  });
  return { dir, report, from: Math.floor(report.firstTs!), to: Math.ceil(report.lastTs!) };
};
