import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasCode } from '../../../../core/errors.ts';
import { simulatePlant, SimOptions, ANOMALY_KINDS, ANOMALY_MS, GAP_MS, type LabelsFile, type SimResult, type Label } from '../../../../ingest/simulate/index.ts';
import { requireTool } from '../../../support/data.ts';

const START = Date.parse('2025-03-03T06:00:00Z');
const CYCLE_MS = 120_000;
let dir: string;
/** 40 minutes with a 2-minute cycle and every anomaly: the smallest capture that holds them all. */
let all: SimResult;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cw-sim-'));
  all = await simulatePlant(SimOptions.parse({ duration: '40m', cycle: '2m', inject: ['all'], out: join(dir, 'all.pcap') }));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

const tshark = (file: string, ...args: string[]): string[] =>
  execFileSync('tshark', ['-r', file, ...args], { maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'ignore'] }).toString().split('\n').filter(Boolean);

interface Frame { t: number; src: string; dst: string; sport: number; dport: number; rst: boolean; fc: number | undefined }

/** One row per frame: epoch ms, addresses, ports, RST flag and the Modbus function code. */
const frames = (file: string): Frame[] =>
  tshark(file, '-T', 'fields', '-E', 'separator=,', '-e', 'frame.time_epoch', '-e', 'ip.src', '-e', 'ip.dst', '-e', 'tcp.srcport', '-e', 'tcp.dstport', '-e', 'tcp.flags.reset', '-e', 'modbus.func_code')
    .map((l) => {
      const [t, src, dst, sport, dport, rst, fc] = l.split(',');
      return { t: Math.round(Number(t) * 1000), src: src!, dst: dst!, sport: Number(sport), dport: Number(dport), rst: rst === '1' || rst === 'True', fc: fc ? Number(fc) : undefined };
    });

let allFrames: Frame[] | undefined;
const framesOfAll = (): Frame[] => (allFrames ??= frames(all.pcapPath));

const labelOf = (kind: string): Label => {
  const l = all.labels.find((x) => x.kind === kind);
  assert.ok(l, `no ${kind} label`);
  return l;
};
const within = (l: Label, t: number): boolean => t >= l.start && t < l.end;

test('the same options give a byte-identical capture and another seed a different one', async () => {
  const opts = { duration: '12m', cycle: '2m', inject: ['new_talker'] as const, seed: 7 };
  const a = await simulatePlant({ ...opts, inject: [...opts.inject], out: join(dir, 'a.pcap') });
  const b = await simulatePlant({ ...opts, inject: [...opts.inject], out: join(dir, 'b.pcap') });
  const c = await simulatePlant({ ...opts, inject: [...opts.inject], seed: 8, out: join(dir, 'c.pcap') });
  assert.equal(sha256(a.pcapPath), sha256(b.pcapPath));
  assert.equal(a.packets, b.packets);
  assert.notEqual(sha256(a.pcapPath), sha256(c.pcapPath));
  assert.deepEqual(JSON.parse(readFileSync(a.labelsPath, 'utf8')), JSON.parse(readFileSync(b.labelsPath, 'utf8')));
});

test('writes a classic pcap: µs magic, Ethernet link type, time-ordered records inside the capture span', () => {
  const b = readFileSync(all.pcapPath);
  assert.equal(b.readUInt32LE(0), 0xa1b2c3d4);
  assert.equal(b.readUInt16LE(4), 2);
  assert.equal(b.readUInt16LE(6), 4);
  assert.equal(b.readUInt32LE(20), 1);
  let off = 24, n = 0, prev = 0;
  while (off < b.length) {
    const t = b.readUInt32LE(off) * 1e6 + b.readUInt32LE(off + 4);
    assert.ok(b.readUInt32LE(off + 4) < 1e6, 'ts_usec below one second');
    assert.ok(t >= prev, `record ${n} goes back in time`);
    prev = t;
    const len = b.readUInt32LE(off + 8);
    assert.equal(len, b.readUInt32LE(off + 12));
    assert.equal(b.readUInt16BE(off + 16 + 12), 0x0800, 'IPv4 ethertype');
    off += 16 + len;
    n += 1;
  }
  assert.equal(off, b.length);
  assert.equal(n, all.packets);
  assert.equal(b.length, all.bytes);
  assert.ok(b.readUInt32LE(24) * 1000 >= START);
  assert.ok(prev / 1000 < START + 40 * 60_000);
});

test('labels every requested kind once, after two production cycles, inside the capture, apart by clean gaps', () => {
  const file = JSON.parse(readFileSync(all.labelsPath, 'utf8')) as LabelsFile;
  assert.deepEqual(file, { seed: 1, start: START, end: START + 40 * 60_000, anomalies: all.labels });
  assert.deepEqual(all.labels.map((l) => l.kind), [...ANOMALY_KINDS]);
  let prevEnd = START + 2 * CYCLE_MS;
  for (const l of all.labels) {
    assert.equal(l.end - l.start, ANOMALY_MS, l.id);
    assert.ok(l.start - prevEnd >= GAP_MS, `${l.id} starts ${l.start - prevEnd} ms after the previous interval`);
    prevEnd = l.end;
  }
  assert.ok(file.end - prevEnd >= GAP_MS, 'clean traffic after the last anomaly');
  assert.equal(new Set(all.labels.map((l) => l.id)).size, all.labels.length);
});

test('tshark decodes exactly the Modbus PDUs the simulator wrote, with valid checksums', async (t) => {
  if (!(await requireTool(t, 'tshark', 'apt-get install tshark'))) return;
  assert.equal(tshark(all.pcapPath, '-Y', 'modbus').length, all.modbusPdus);
  assert.ok(all.modbusPdus > 50_000);
  const bad = tshark(all.pcapPath, '-o', 'tcp.check_checksum:TRUE', '-o', 'ip.check_checksum:TRUE', '-Y', 'tcp.checksum.status != 1 || ip.checksum.status != 1');
  assert.deepEqual(bad, []);
});

test("tshark flags nothing but the scan's connection resets as malformed or warning", async (t) => {
  if (!(await requireTool(t, 'tshark', 'apt-get install tshark'))) return;
  const scan = labelOf('scan');
  const flagged = tshark(all.pcapPath, '-Y', '_ws.malformed || _ws.expert.severity >= warning', '-T', 'fields', '-E', 'separator=,',
    '-e', 'frame.time_epoch', '-e', 'ip.src', '-e', 'ip.dst', '-e', 'tcp.flags.reset', '-e', '_ws.expert.message');
  // One reset per probe: RST-ACK from a closed port, or the scanner's RST after an open port's SYN-ACK.
  assert.equal(flagged.length, 8 * 15);
  for (const row of flagged) {
    const [ts, src, dst, , msg] = row.split(',');
    assert.equal(msg, 'Connection reset (RST)', row);
    assert.ok(src === scan.src || dst === scan.src, row);
    assert.ok(within(scan, Number(ts) * 1000), row);
  }
  const clean = await simulatePlant({ duration: '16m', cycle: '2m', inject: ['cadence_change', 'polling_stop'], out: join(dir, 'clean.pcap') });
  assert.deepEqual(tshark(clean.pcapPath, '-Y', '_ws.malformed || _ws.expert.severity >= warning || tcp.analysis.flags'), []);
});

test('each anomaly appears on the wire only inside its labelled interval', async (t) => {
  if (!(await requireTool(t, 'tshark', 'apt-get install tshark'))) return;
  const fr = framesOfAll();
  assert.equal(fr.length, all.packets);
  const involving = (ip: string) => fr.filter((f) => f.src === ip || f.dst === ip);

  const talker = labelOf('new_talker');
  const tf = involving(talker.src);
  assert.ok(tf.length > 3 * 170, `new talker sent ${tf.length} frames`);
  assert.ok(tf.every((f) => within(talker, f.t) && (f.dst === talker.dst || f.src === talker.dst)));

  const scan = labelOf('scan');
  const sf = involving(scan.src);
  assert.ok(sf.every((f) => within(scan, f.t)));
  assert.equal(new Set(sf.filter((f) => f.src === scan.src && !f.rst).map((f) => `${f.dst}:${f.dport}`)).size, 8 * 15);

  const dl = labelOf('program_download');
  const df = involving(dl.src);
  assert.ok(df.every((f) => within(dl, f.t) && (f.dst === dl.dst || f.src === dl.dst)));
  const dlReqs = df.filter((f) => f.dport === 502 && f.fc !== undefined);
  assert.ok(dlReqs.length > 1_500, `${dlReqs.length} download requests`);
  assert.ok(dlReqs.some((f) => f.fc === 21) && dlReqs.some((f) => f.fc === 16));

  const wr = labelOf('unusual_write');
  const hmiWrites = fr.filter((f) => f.src === wr.src && f.dport === 502 && [5, 6, 15, 16].includes(f.fc ?? 0));
  assert.ok(hmiWrites.length >= 10, `${hmiWrites.length} HMI writes`);
  assert.ok(hmiWrites.every((f) => within(wr, f.t) && f.dst === wr.dst));
  assert.deepEqual([...new Set(hmiWrites.map((f) => f.fc))].sort((a, b) => a! - b!), [5, 6, 16]);

  const cad = labelOf('cadence_change');
  const polls = fr.filter((f) => f.src === cad.src && f.dst === cad.dst && f.fc === 3);
  const inside = polls.filter((f) => within(cad, f.t)).length;
  const before = polls.filter((f) => f.t >= cad.start - ANOMALY_MS && f.t < cad.start).length;
  assert.ok(Math.abs(inside - 720) <= 3, `${inside} FC 3 polls in 3 min at 250 ms`);
  assert.ok(Math.abs(before - 180) <= 2, `${before} FC 3 polls in 3 min at 1000 ms`);

  const stop = labelOf('polling_stop');
  const hmiToPlc = fr.filter((f) => f.src === stop.src && f.dst === stop.dst && f.fc !== undefined);
  assert.equal(hmiToPlc.filter((f) => within(stop, f.t)).length, 0);
  assert.ok(hmiToPlc.some((f) => f.t >= stop.end && f.t < stop.end + 5_000), 'polling resumes after the stop');
  assert.ok(hmiToPlc.some((f) => f.t < stop.start && f.t >= stop.start - 5_000), 'polling runs up to the stop');
});

test('the SCADA server writes setpoints only in the batch phase of every production cycle', async (t) => {
  if (!(await requireTool(t, 'tshark', 'apt-get install tshark'))) return;
  const writes = framesOfAll().filter((f) => f.src === '10.10.1.11' && f.dport === 502 && (f.fc === 6 || f.fc === 16));
  const phases = writes.map((f) => ((f.t - START) % CYCLE_MS) / CYCLE_MS);
  assert.ok(phases.every((p) => p >= 0.5 && p < 0.75));
  // 4 batch PLCs, 30 s of batch phase at one write per 10 s, 20 cycles.
  assert.equal(writes.length, 4 * 3 * 20);
});

test('a duration too short for the requested anomalies is config_invalid and names the minimum', async () => {
  await assert.rejects(simulatePlant({ duration: '30m', cycle: '30m', inject: ['all'], out: join(dir, 'short.pcap') }), (e: Error) => {
    assert.ok(hasCode(e, 'config_invalid'));
    assert.match(e.message, /duration 30m is too short to inject 6 anomalies/);
    assert.match(e.message, /at least 1h32m/);
    return true;
  });
});

test('bad options are config_invalid with the field named', async () => {
  for (const [opts, field] of [
    [{ out: join(dir, 'x.pcap'), duration: 'two hours' }, 'duration'],
    [{ out: join(dir, 'x.pcap'), start: 'yesterday' }, 'start'],
    [{ out: join(dir, 'x.pcap'), inject: ['meteor'] }, 'inject'],
    [{ out: join(dir, 'x.pcap'), speed: 2 }, '(options)'],
  ] as const) {
    await assert.rejects(simulatePlant(opts as never), (e: Error) => hasCode(e, 'config_invalid') && e.message.includes(`${field}:`));
  }
});

test('reports progress as rising fractions that end at 1', async () => {
  const seen: number[] = [];
  await simulatePlant({ duration: '20m', cycle: '2m', out: join(dir, 'p.pcap') }, (f) => seen.push(f));
  assert.ok(seen.length >= 1);
  assert.equal(seen.at(-1), 1);
  assert.ok(seen.every((f, i) => f >= 0 && f <= 1 && (i === 0 || f >= seen[i - 1]!)));
});
