/**
 * Decode throughput of the NetFlow v5, v9 and IPFIX decoders: softflowd exports a recorded plant
 * capture once per version to a raw UDP socket, then the captured datagrams are decoded in-process
 * many times (3 runs of `rounds` passes; the median and best run are printed with the load average).
 * Prints records/s; never asserts. The lemay capture has few hosts, so the IPv4 text cache of
 * common.ts hits on nearly every address, as it does on a plant's exporters.
 *
 *   node --import tsx bench/netflow.ts [capture.pcap] [rounds]
 */
import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { fakeClock } from '../core/clock.ts';
import { IpfixDecoder } from '../ingest/netflow/ipfix.ts';
import { V5Decoder } from '../ingest/netflow/v5.ts';
import { V9Decoder } from '../ingest/netflow/v9.ts';

const run = promisify(execFile);
const pcap = process.argv[2] ?? resolve('..', 'shared', 'data', 'lemay', 'send_a_fake_command_modbus_6RTU_with_operate.pcap');
const rounds = Number(process.argv[3] ?? 2000);
const RUNS = 3;
console.log(`load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);

const capture = async (version: number): Promise<Buffer[]> => {
  const s = createSocket('udp4');
  const got: Buffer[] = [];
  s.on('message', (m) => got.push(m));
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  await run('softflowd', ['-r', pcap, '-n', `127.0.0.1:${s.address().port}`, '-v', String(version), '-a', '-d', '-c', 'none',
    '-p', `/tmp/softflowd-bench-${process.pid}.pid`], { timeout: 60_000 });
  await new Promise((r) => setTimeout(r, 300));
  s.close();
  return got;
};

const fmt = (x: number): string => Math.round(x).toLocaleString('en');

for (const version of [5, 9, 10]) {
  const dgs = await capture(version);
  const clock = fakeClock(0);
  const d = version === 5 ? new V5Decoder() : version === 9 ? new V9Decoder(clock) : new IpfixDecoder(clock);
  let records = 0;
  for (const b of dgs) records += d.decode(b, '127.0.0.1', 0).records.length; // learn templates
  const rates: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const t0 = process.hrtime.bigint();
    let n = 0;
    for (let i = 0; i < rounds; i++) for (const b of dgs) n += d.decode(b, '127.0.0.1', 0).records.length;
    rates.push(n / (Number(process.hrtime.bigint() - t0) / 1e9));
  }
  rates.sort((a, b) => a - b);
  console.log(`v${version}: ${dgs.length} datagrams, ${records} records per pass; ${RUNS} × ${rounds} passes: ` +
    `median ${fmt(rates[1]!)} records/s (best ${fmt(rates[2]!)}), ${fmt((rates[1]! * dgs.length) / Math.max(records, 1))} datagrams/s`);
}
