/**
 * bench/replay: pcap → flow records with Modbus operations, beside tshark with Modbus dissection
 * on the same file in the same run. Prints packets/s and MB/s for both.
 *
 *   npm run bench:replay -- [--mb 200] [--file plant.pcap] [--skip-tshark]
 *
 * Without --file it simulates a plant capture of at least --mb MB into .cache/bench/ (kept for
 * the next run). Figures are for this machine; nothing here is asserted.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { simulatePlant, SimOptions } from '../ingest/simulate/index.ts';
import { newPcapStats, readPcapFlows } from '../ingest/pcap/index.ts';

const { values } = parseArgs({ options: { mb: { type: 'string' }, file: { type: 'string' }, 'skip-tshark': { type: 'boolean' }, runs: { type: 'string' } } });
const targetMb = Number(values.mb ?? 200);
const runs = Number(values.runs ?? 3);

const ensureCapture = async (): Promise<string> => {
  if (values.file) return values.file;
  const dir = join('.cache', 'bench');
  mkdirSync(dir, { recursive: true });
  // The default 2h simulation is about MB_PER_2H; scale the duration to reach the target size.
  const probe = join(dir, 'probe.pcap');
  if (!existsSync(probe)) await simulatePlant(SimOptions.parse({ out: probe, duration: '2h', seed: 1 }));
  const mbPerHour = statSync(probe).size / 2 / 1e6;
  const hours = Math.ceil(targetMb / mbPerHour);
  const file = join(dir, `plant-${hours}h.pcap`);
  if (!existsSync(file)) {
    process.stderr.write(`bench: simulating ${hours}h of plant traffic (≈${(hours * mbPerHour).toFixed(0)} MB) into ${file}…\n`);
    await simulatePlant(SimOptions.parse({ out: file, duration: `${hours}h`, seed: 1 }));
  }
  return file;
};

const ours = async (file: string) => {
  const stats = newPcapStats(file);
  let flows = 0;
  let ops = 0;
  const t0 = process.hrtime.bigint();
  for await (const batch of readPcapFlows(file, { sliceMs: 60_000 }, stats)) {
    flows += batch.length;
    for (const f of batch) for (const n of Object.values(f.l7Ops ?? {})) ops += n;
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  return { s, packets: stats.packets, flows, ops };
};

const tshark = (file: string): Promise<{ s: number; lines: number }> => new Promise((resolve, reject) => {
  const t0 = process.hrtime.bigint();
  const p = spawn('tshark', ['-n', '-r', file, '-Y', 'modbus', '-T', 'fields', '-e', 'modbus.func_code'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let lines = 0;
  p.stdout.on('data', (b: Buffer) => { for (const c of b) if (c === 10) lines++; });
  p.on('error', reject);
  p.on('close', () => resolve({ s: Number(process.hrtime.bigint() - t0) / 1e9, lines }));
});

const file = await ensureCapture();
const mb = statSync(file).size / 1e6;
process.stdout.write(`capture: ${file} (${mb.toFixed(1)} MB)\n`);
let best = { s: Infinity, packets: 0, flows: 0, ops: 0 };
for (let i = 0; i < runs; i++) {
  const r = await ours(file);
  if (r.s < best.s) best = r;
}
const row = (name: string, s: number, packets: number, extra: string) =>
  process.stdout.write(`${name.padEnd(34)} ${s.toFixed(2).padStart(7)} s ${Math.round(packets / s).toLocaleString('en-US').padStart(11)} packets/s ${(mb / s).toFixed(1).padStart(7)} MB/s  ${extra}\n`);
row('conduitwatch readPcapFlows (best of ' + runs + ')', best.s, best.packets, `${best.flows.toLocaleString('en-US')} flows, ${best.ops.toLocaleString('en-US')} Modbus requests`);
if (!values['skip-tshark']) {
  const t = await tshark(file);
  row('tshark -Y modbus -e modbus.func_code', t.s, best.packets, `${t.lines.toLocaleString('en-US')} Modbus PDUs`);
}
