/**
 * bench/replay, two modes.
 *
 * Default: pcap → flow records with Modbus operations, beside tshark with Modbus dissection on the same
 * file in the same run. Prints packets/s and MB/s for both.
 *
 *   npm run bench:replay -- [--mb 200] [--file plant.pcap] [--skip-tshark] [--runs 3]
 *
 * Without --file it simulates a plant capture of at least --mb MB into .cache/bench/ (kept for the next
 * run).
 *
 * --whole: the whole `conduitwatch replay` (cli/replay.ts runReplay: ingest → detectors, triage and
 * inventory → chDB store) on connection-per-poll traffic: the shared Lemay capture tiled into
 * --lemay-tiles × 6 RTUs (default 50 = 300 RTUs) and --rounds rounds of its 670 s (default 4: about
 * 45 min of event time, 247 k flows of 9 packets), with examples/lemay/site.yaml whose field zone is
 * widened to the tiles' 10/8 (or --file X --site Y). Three stages, each in its own child process so its
 * wall, CPU seconds and peak RSS are its own:
 *
 *   read    openInput → flow records only (what replay reads)
 *   detect  runReplay without a store (ingest + detectors + triage + inventory + report)
 *   whole   runReplay into a fresh chDB directory, like `conduitwatch replay --data DIR`
 *   cli     `conduitwatch replay FILE --site S --data DIR` as a whole process (start-up included), under
 *           /usr/bin/time (the site written to .cache/bench/lemay-tiles-site.yaml)
 *
 * The split is printed two ways: by difference of the stages (ingest = read, detection = detect − read,
 * store = whole − detect), and inside the whole run: main-thread time in the detection calls
 * (engine.ingest/flush, triage, inventory), in building Native blocks and waiting on writes, the rest
 * (reading, the replay loop) as ingest; CPU seconds per thread group from /proc (the main JS thread,
 * V8's GC helpers, chDB's own threads, which run the inserts beside the main thread).
 *
 *   npm run bench:replay -- --whole [--lemay-tiles 50] [--rounds 4] [--runs 1] [--stages read,detect,whole,cli] [--profile] [--live]
 *
 * --live runs the stages with --expose-gc and forces a GC every 20 000 flows to print the largest live JS
 * heap (what is retained, not garbage): a memory diagnosis, its times are not comparable.
 * What-if knobs (not what `conduitwatch replay` does; printed when set): --node-flags "…" for the stage
 * processes, --writer-rows N and --writer-buffer K (the store writers' block size, and their buffer bound
 * as K blocks; replay's writers use 50 000 and 4), --writer-mb M (the bound on encoded bytes a writer buffers).
 * --profile runs `whole` once more under `node --cpu-prof` and prints the main thread's self time per
 * area (ingest/, detectors/, store/, …) and per function. Figures are for this machine; nothing here is
 * asserted.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { simulatePlant, SimOptions } from '../ingest/simulate/index.ts';
import { newPcapStats, readPcapFlows } from '../ingest/pcap/index.ts';
import { BENCH_DIR, ensureLemayTiles, runPart, timedProcess } from './support.ts';

const SELF = fileURLToPath(import.meta.url);

const { values } = parseArgs({
  options: {
    mb: { type: 'string' }, file: { type: 'string' }, 'skip-tshark': { type: 'boolean' }, runs: { type: 'string' },
    whole: { type: 'boolean', default: false }, site: { type: 'string' }, 'lemay-tiles': { type: 'string', default: '50' },
    rounds: { type: 'string', default: '4' }, stages: { type: 'string', default: 'read,detect,whole,cli' },
    profile: { type: 'boolean', default: false }, part: { type: 'string' }, live: { type: 'boolean', default: false },
    'node-flags': { type: 'string', default: '' }, 'writer-rows': { type: 'string' }, 'writer-buffer': { type: 'string' },
    'writer-mb': { type: 'string' },
  },
});

// ---------------------------------------------------------------------------------------------
// Default mode: pcap → flows beside tshark.

const ensureCapture = async (targetMb: number): Promise<string> => {
  if (values.file) return values.file;
  mkdirSync(BENCH_DIR, { recursive: true });
  // The default 2h simulation is about MB_PER_2H; scale the duration to reach the target size.
  const probe = join(BENCH_DIR, 'probe.pcap');
  if (!existsSync(probe)) await simulatePlant(SimOptions.parse({ out: probe, duration: '2h', seed: 1 }));
  const mbPerHour = statSync(probe).size / 2 / 1e6;
  const hours = Math.ceil(targetMb / mbPerHour);
  const file = join(BENCH_DIR, `plant-${hours}h.pcap`);
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

const flowsMode = async (): Promise<void> => {
  const runs = Number(values.runs ?? 3);
  const file = await ensureCapture(Number(values.mb ?? 200));
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
};

// ---------------------------------------------------------------------------------------------
// --whole: runReplay as a whole, in stages.

/** What one stage's child process reports. */
interface Stage {
  stage: string;
  flows: number;
  seconds: number;
  /** User + system CPU seconds of the whole process (every thread). */
  cpu: number;
  peakRssMb: number;
  /** Main-thread milliseconds inside each instrumented call (whole and detect only). */
  inside?: Record<string, number>;
  /** CPU seconds per thread group, from /proc/self/task (Linux). */
  threads?: Record<string, number>;
  /** At the sample of highest RSS (taken at every writer.write and engine.ingest): RSS, JS heap, ArrayBuffers, MB. */
  memory?: { rssMb: number; anonMb: number; fileMb: number; shmemMb: number; heapMb: number; arrayBuffersMb: number; atFlows: number };
  /** With --live: the largest live JS heap (after a forced GC every 20 000 flows), MB. */
  liveHeap?: { heapMb: number; arrayBuffersMb: number; atFlows: number };
  note: string;
}

/** The Lemay site with its field zone widened to the tiles' addresses (copy k's RTUs are at 10.k/16). */
const tilesSiteText = (): string => {
  const text = readFileSync(fileURLToPath(new URL('../examples/lemay/site.yaml', import.meta.url)), 'utf8');
  const out = text.replace(/^(\s+)assets: \[192\.168\.1\.101[^\]]*\]$/m, '$1cidrs: [10.0.0.0/8]');
  if (out === text) throw new Error('examples/lemay/site.yaml: the field zone\'s asset list was not found; update bench/replay.ts tilesSiteText');
  return out;
};

/** CPU seconds of this process's live threads (by thread id, with its group: main, Node's helpers, chDB's pools), from /proc. */
const threadCpu = (): Map<string, { group: string; cpu: number }> => {
  const out = new Map<string, { group: string; cpu: number }>();
  const tick = 100; // USER_HZ on Linux
  let dir: string[];
  try { dir = readdirSync('/proc/self/task'); } catch { return out; }
  for (const tid of dir) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const fields = stat.slice(close + 2).split(' ');
      const cpu = (Number(fields[11]) + Number(fields[12])) / tick;
      // Node's own helpers (V8's GC and compiler workers, the libuv pool) keep the name "node"; chDB names its pools.
      const group = Number(tid) === process.pid ? 'main JS thread' : comm === 'node' || /^libuv|^V8/.test(comm) ? 'node threads (V8 GC and compiler helpers; the libuv pool, where chDB runs each query)' : 'chDB threads';
      out.set(tid, { group, cpu });
    } catch { /* the thread ended */ }
  }
  return out;
};

/** CPU seconds per thread group spent since the `from` reading (threads started since count from zero). */
const threadCpuSince = (from: Map<string, { group: string; cpu: number }>): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const [tid, t] of threadCpu()) out[t.group] = +((out[t.group] ?? 0) + t.cpu - (from.get(tid)?.cpu ?? 0)).toFixed(2);
  return out;
};

/** Wraps `obj[name]` so the main-thread time inside it (until its promise settles, if any) adds to `acc[key]`. */
const timeMethod = (obj: Record<string, unknown>, name: string, acc: Record<string, number>, key: string): void => {
  const orig = obj[name] as (...a: unknown[]) => unknown;
  obj[name] = function timed(this: unknown, ...a: unknown[]) {
    const t0 = performance.now();
    const r = orig.apply(this, a);
    if (r instanceof Promise) return r.finally(() => { acc[key] = (acc[key] ?? 0) + performance.now() - t0; });
    acc[key] = (acc[key] ?? 0) + performance.now() - t0;
    return r;
  };
};

/** The highest-RSS sample seen, with what the JS heap and ArrayBuffers held at that moment. */
const memPeak = { rssMb: 0, anonMb: 0, fileMb: 0, shmemMb: 0, heapMb: 0, arrayBuffersMb: 0, atFlows: 0 };
let flowsSeen = 0;
/** RssAnon, RssFile and RssShmem of /proc/self/status in MB (file-backed pages: mapped code, libchdb.so's among them). */
const rssKinds = (): { anonMb: number; fileMb: number; shmemMb: number } => {
  try {
    const st = readFileSync('/proc/self/status', 'utf8');
    const kb = (k: string): number => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(st)?.[1] ?? 0);
    return { anonMb: Math.round(kb('RssAnon') / 1024), fileMb: Math.round(kb('RssFile') / 1024), shmemMb: Math.round(kb('RssShmem') / 1024) };
  } catch { return { anonMb: 0, fileMb: 0, shmemMb: 0 }; }
};
/** With --live (node --expose-gc): the largest JS heap left after a forced GC, sampled every 20 000 flows. */
const live = { heapMb: 0, arrayBuffersMb: 0, atFlows: 0, next: 20_000 };
const sampleMemory = (): void => {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc && flowsSeen >= live.next) {
    live.next += 20_000;
    gc();
    const m = process.memoryUsage();
    const h = m.heapUsed / 1048576;
    if (h > live.heapMb) Object.assign(live, { heapMb: Math.round(h), atFlows: flowsSeen });
    live.arrayBuffersMb = Math.max(live.arrayBuffersMb, Math.round(m.arrayBuffers / 1048576));
  }
  const m = process.memoryUsage();
  if (m.rss / 1048576 > memPeak.rssMb) {
    Object.assign(memPeak, { rssMb: Math.round(m.rss / 1048576), ...rssKinds(), heapMb: Math.round(m.heapUsed / 1048576), arrayBuffersMb: Math.round(m.arrayBuffers / 1048576), atFlows: flowsSeen });
  }
};

const partStage = async (stage: string, file: string, siteFile: string | undefined): Promise<Stage> => {
  // Every stage loads the same modules before its clock starts, so module loading is in none of them.
  const { parseSite, loadSite } = await import('../core/config.ts');
  const { openInput } = await import('../cli/inputs.ts');
  const { DetectionEngine } = await import('../detectors/engine.ts');
  const { Triage } = await import('../incidents/triage.ts');
  const { Inventory } = await import('../inventory/inventory.ts');
  const { BatchWriter } = await import('../store/writer.ts');
  const { runReplay } = await import('../cli/replay.ts');
  const { systemClock } = await import('../core/clock.ts');
  const site = siteFile ? loadSite(siteFile) : parseSite(tilesSiteText(), 'lemay-tiles site');
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const th0 = threadCpu();
  const finish = (flows: number, note: string, inside?: Record<string, number>): Stage => {
    const seconds = (performance.now() - t0) / 1000;
    const u = process.cpuUsage(c0);
    return {
      stage, flows, seconds: +seconds.toFixed(3), cpu: +((u.user + u.system) / 1e6).toFixed(3), peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
      ...(inside ? { inside: Object.fromEntries(Object.entries(inside).map(([k, v]) => [k, Math.round(v)])) } : {}), threads: threadCpuSince(th0),
      ...(memPeak.rssMb ? { memory: memPeak } : {}), ...(live.heapMb ? { liveHeap: { heapMb: live.heapMb, arrayBuffersMb: live.arrayBuffersMb, atFlows: live.atFlows } } : {}), note,
    };
  };
  if (stage === 'read') {
    const { flows } = openInput(file, { sliceMs: site.detection.window });
    let n = 0;
    for await (const batch of flows) { n += batch.length; flowsSeen = n; sampleMemory(); }
    return finish(n, 'openInput only');
  }
  // Main-thread time inside the calls runReplay makes, by stage (prototype wrappers: runReplay unchanged).
  const inside: Record<string, number> = {};
  const tables: Record<string, { inserts: number; rows: number; bytes: number }> = {};
  const proto = (c: { prototype: object }) => c.prototype as Record<string, unknown>;
  timeMethod(proto(DetectionEngine), 'ingest', inside, 'detection: engine.ingest/flush');
  timeMethod(proto(DetectionEngine), 'flush', inside, 'detection: engine.ingest/flush');
  const ingest = proto(DetectionEngine).ingest as (flows: unknown[]) => unknown;
  proto(DetectionEngine).ingest = function (this: unknown, flows: unknown[]) { flowsSeen += flows.length; sampleMemory(); return ingest.call(this, flows); };
  timeMethod(proto(Triage), 'apply', inside, 'detection: triage');
  timeMethod(proto(Inventory), 'observe', inside, 'detection: inventory');
  // The writers' block encoders and their store's insertRows, wrapped on first use.
  const bw = proto(BatchWriter);
  const write = bw.write as (rows: unknown[]) => Promise<void>;
  const wrapped = new WeakSet<object>();
  bw.write = function (this: Record<string, unknown>, rows: unknown[]) {
    sampleMemory();
    if (!wrapped.has(this)) {
      wrapped.add(this);
      // What-if knobs (--writer-rows, --writer-buffer): the writers' block size and buffer bound (× block size).
      if (values['writer-rows']) this.maxRows = Number(values['writer-rows']);
      if (values['writer-buffer'] || values['writer-rows']) this.maxBufferedRows = Number(values['writer-buffer'] ?? 4) * (this.maxRows as number);
      if (values['writer-mb']) this.maxBufferedBytes = Number(values['writer-mb']) * 1_048_576;
      if (typeof this.encode === 'function') timeMethod(this, 'encode', inside, 'store: build Native blocks (main thread)');
      const store = this.store as Record<string, unknown>;
      if (!wrapped.has(store)) {
        wrapped.add(store);
        // Per table: inserts, rows and the time each insert is in flight (chDB's threads; overlaps the main thread).
        const insertRows = store.insertRows as (table: string, rows: unknown, o?: unknown) => Promise<{ records: number; bytes: number }>;
        store.insertRows = async function (this: unknown, table: string, rows: unknown, o?: unknown) {
          const t0 = performance.now();
          const r = await insertRows.call(this, table, rows, o);
          const key = `store: insert ${table} in flight (chDB threads; overlaps)`;
          inside[key] = (inside[key] ?? 0) + performance.now() - t0;
          const t = (tables[table] ??= { inserts: 0, rows: 0, bytes: 0 });
          t.inserts += 1;
          t.rows += r.records;
          t.bytes += r.bytes;
          return r;
        };
      }
    }
    return write.call(this, rows);
  };
  timeMethod(bw, 'write', inside, 'store: awaiting writer.write (backpressure)');
  timeMethod(bw, 'close', inside, 'store: awaiting writer.close (last blocks)');
  const dataDir = stage === 'whole' ? await mkdtemp(join(tmpdir(), 'cw-bench-replay-')) : undefined;
  try {
    const r = await runReplay({ inputs: [file], site, clock: systemClock, ...(dataDir ? { dataDir } : {}) });
    const stored = Object.entries(tables).map(([t, v]) => `${t} ${v.rows.toLocaleString('en-US')} rows in ${v.inserts} (${(v.bytes / 1e6).toFixed(1)} MB)`).join(', ');
    return finish(r.flows, `${r.windowsScored.toLocaleString('en-US')} windows scored, ${r.rawAlerts} alert windows, ${r.incidents.length} incidents, ${r.assets.length} assets` +
      (stored ? `; stored: ${stored}` : ''), inside);
  } finally {
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  }
};

/** Self time of the main thread by area (top folder of the source) and by function, from the main thread's profile written since `since` in `dir`. */
const profileSummary = (dir: string, since: number): string => {
  // One file per thread (tsx's loader runs in a worker of its own): the main thread's is the largest.
  const newest = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(dir, f))
    .filter((f) => statSync(f).mtimeMs >= since).sort((a, b) => statSync(b).size - statSync(a).size)[0];
  if (!newest) return 'no profile written';
  interface Node { id: number; hitCount?: number; callFrame: { functionName: string; url: string; lineNumber: number } }
  const prof = JSON.parse(readFileSync(newest, 'utf8')) as { nodes: Node[]; samples: number[] };
  const total = prof.samples.length;
  const root = fileURLToPath(new URL('..', import.meta.url));
  const byFn = new Map<string, number>();
  const byArea = new Map<string, number>();
  for (const n of prof.nodes) {
    const hits = n.hitCount ?? 0;
    if (hits === 0) continue;
    const url = n.callFrame.url.replace(/^file:\/\//, '').replace(root, '') || `(${n.callFrame.functionName || 'native'})`;
    byFn.set(`${n.callFrame.functionName || '(anonymous)'} ${url}:${n.callFrame.lineNumber + 1}`, (byFn.get(`${n.callFrame.functionName || '(anonymous)'} ${url}:${n.callFrame.lineNumber + 1}`) ?? 0) + hits);
    const area = url.startsWith('node:') ? 'node internals' : url.startsWith('node_modules/') ? url.split('/').slice(0, url.startsWith('node_modules/@') ? 3 : 2).join('/') : url.includes('/') ? `${url.split('/')[0]}/` : url;
    byArea.set(area, (byArea.get(area) ?? 0) + hits);
  }
  const top = (m: Map<string, number>, n: number): string => [...m].sort((a, b) => b[1] - a[1]).slice(0, n)
    .map(([k, v]) => `  ${((100 * v) / total).toFixed(1).padStart(5)} %  ${k}`).join('\n');
  return `${newest} (${total} samples, main thread only)\nself time by area:\n${top(byArea, 14)}\nself time by function:\n${top(byFn, 25)}`;
};

const memLine = (m: NonNullable<Stage['memory']>): string =>
  `at the highest RSS sampled (${m.rssMb} MB = ${m.anonMb} anonymous + ${m.fileMb} file-backed + ${m.shmemMb} shared memory, after ${m.atFlows.toLocaleString('en-US')} flows): ` +
  `JS heap ${m.heapMb} MB, ArrayBuffers ${m.arrayBuffersMb} MB, other anonymous (chDB, V8 free space, malloc) ${m.anonMb - m.heapMb - m.arrayBuffersMb} MB`;

/** `conduitwatch replay FILE --site S --data DIR` as a user runs it (tsx start-up included), under /usr/bin/time. */
const cliStage = async (file: string, siteFile: string): Promise<Stage> => {
  const bin = fileURLToPath(new URL('../bin/conduitwatch.mjs', import.meta.url));
  const dataDir = await mkdtemp(join(tmpdir(), 'cw-bench-replay-cli-'));
  try {
    const r = await timedProcess(process.execPath, [bin, 'replay', file, '--site', siteFile, '--data', dataDir, '--quiet']);
    return { stage: 'cli', flows: 0, seconds: +r.seconds.toFixed(3), cpu: +r.cpu.toFixed(3), peakRssMb: Math.round(r.peakRssMb), note: `conduitwatch replay --data, whole process (exit ${r.code}, ${r.lines} report lines)` };
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
};

const wholeMode = async (): Promise<void> => {
  const file = values.file ?? await ensureLemayTiles(Number(values['lemay-tiles']), Number(values.rounds));
  if (values.file && !values.site) throw new Error('--whole --file X needs --site Y (the site.yaml to replay it with)');
  const siteArgs = values.site ? ['--site', values.site] : [];
  const stages = values.stages!.split(',').filter(Boolean);
  const runs = Math.max(1, Number(values.runs ?? 1));
  process.stdout.write(`input: ${file} (${(statSync(file).size / 1e6).toFixed(1)} MB); site: ${values.site ?? 'examples/lemay/site.yaml, field zone 10.0.0.0/8'}\n`);
  process.stdout.write(`load average before: ${loadavg().map((x) => x.toFixed(2)).join(' ')}; ${runs} run(s) of stages ${stages.join(', ')}\n`);
  const got = new Map<string, Stage[]>();
  const nodeFlags = [...(values.live ? ['--expose-gc'] : []), ...values['node-flags']!.split(' ').filter(Boolean)];
  const knobs = [...(values['writer-rows'] ? ['--writer-rows', values['writer-rows']] : []), ...(values['writer-buffer'] ? ['--writer-buffer', values['writer-buffer']] : []),
    ...(values['writer-mb'] ? ['--writer-mb', values['writer-mb']] : [])];
  if (nodeFlags.length || knobs.length) process.stdout.write(`what-if: node flags ${nodeFlags.join(' ') || '(none)'}; writers ${knobs.join(' ') || 'as replay makes them'}\n`);
  let siteFile = values.site;
  if (stages.includes('cli') && !siteFile) {
    siteFile = join(BENCH_DIR, 'lemay-tiles-site.yaml');
    await writeFile(siteFile, tilesSiteText());
  }
  for (let i = 0; i < runs; i++) {
    for (const s of stages) {
      const r = s === 'cli' ? await cliStage(file, siteFile!) : await runPart<Stage>(SELF, ['--whole', '--part', s, '--file', file, ...siteArgs, ...knobs], nodeFlags);
      got.set(s, [...(got.get(s) ?? []), r]);
    }
  }
  // The CLI's report is not parsed: its flow count is the other stages' (same input).
  const known = [...got.values()].flat().find((r) => r.flows > 0)?.flows ?? 0;
  for (const r of got.get('cli') ?? []) r.flows = known;
  process.stdout.write(`load average after: ${loadavg().map((x) => x.toFixed(2)).join(' ')}\n`);
  const med = (rs: Stage[]): Stage => [...rs].sort((a, b) => a.seconds - b.seconds)[Math.floor((rs.length - 1) / 2)]!;
  const line = (r: Stage): string => `${r.stage.padEnd(7)} ${r.seconds.toFixed(2).padStart(7)} s ${r.cpu.toFixed(2).padStart(7)} cpu-s ` +
    `${Math.round(r.flows / r.seconds).toLocaleString('en-US').padStart(9)} flows/s ${Math.round(r.flows / r.cpu).toLocaleString('en-US').padStart(9)} flows/cpu-s ` +
    `peak RSS ${String(r.peakRssMb).padStart(5)} MB  ${r.flows.toLocaleString('en-US')} flows; ${r.note}`;
  const m = new Map([...got].map(([k, v]) => [k, med(v)]));
  for (const [k, v] of got) {
    process.stdout.write(`${line(m.get(k)!)}${v.length > 1 ? ` (median of ${v.length}: ${v.map((x) => x.seconds.toFixed(2)).join(', ')} s)` : ''}\n`);
  }
  const read = m.get('read');
  const detect = m.get('detect');
  const whole = m.get('whole');
  if (read && detect && whole) {
    const pct = (x: number, of: number): string => `${((100 * x) / of).toFixed(0)} %`;
    process.stdout.write(`split by stage difference (wall s / cpu-s, share of whole):\n` +
      `  ingest    ${read.seconds.toFixed(2)} / ${read.cpu.toFixed(2)}  (${pct(read.seconds, whole.seconds)} / ${pct(read.cpu, whole.cpu)})\n` +
      `  detection ${(detect.seconds - read.seconds).toFixed(2)} / ${(detect.cpu - read.cpu).toFixed(2)}  (${pct(detect.seconds - read.seconds, whole.seconds)} / ${pct(detect.cpu - read.cpu, whole.cpu)})\n` +
      `  store     ${(whole.seconds - detect.seconds).toFixed(2)} / ${(whole.cpu - detect.cpu).toFixed(2)}  (${pct(whole.seconds - detect.seconds, whole.seconds)} / ${pct(whole.cpu - detect.cpu, whole.cpu)})\n`);
  }
  if (read?.memory) process.stdout.write(`inside read:\n  ${memLine(read.memory)}\n`);
  if (read?.liveHeap) process.stdout.write(`  largest live JS heap after a forced GC: ${read.liveHeap.heapMb} MB after ${read.liveHeap.atFlows.toLocaleString('en-US')} flows\n`);
  for (const r of [detect, whole]) {
    if (!r?.inside) continue;
    const rest = r.seconds * 1000 - Object.entries(r.inside).filter(([k]) => !k.includes('overlaps')).reduce((s, [, v]) => s + v, 0);
    process.stdout.write(`inside ${r.stage} (main-thread ms):\n${Object.entries(r.inside).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `  ${String(v).padStart(7)}  ${k}`).join('\n')}\n` +
      `  ${String(Math.round(rest)).padStart(7)}  the rest: reading the input (ingest), the replay loop, opening the store, report\n`);
    if (r.threads) process.stdout.write(`  cpu-s by thread group (threads alive at the end): ${Object.entries(r.threads).map(([k, v]) => `${k} ${v}`).join(', ')}\n`);
    if (r.memory) process.stdout.write(`  ${memLine(r.memory)}\n`);
    if (r.liveHeap) process.stdout.write(`  largest live JS heap after a forced GC: ${r.liveHeap.heapMb} MB after ${r.liveHeap.atFlows.toLocaleString('en-US')} flows; largest live ArrayBuffers ${r.liveHeap.arrayBuffersMb} MB\n`);
  }
  if (values.profile) {
    const dir = join(BENCH_DIR, 'prof-replay');
    mkdirSync(dir, { recursive: true });
    const since = Date.now() - 1000;
    const prof = await runPart<Stage>(SELF, ['--whole', '--part', 'whole', '--file', file, ...siteArgs, ...knobs], [...nodeFlags, '--cpu-prof', `--cpu-prof-dir=${dir}`]);
    process.stdout.write(`\nprofiled run: ${line(prof)}\n${profileSummary(dir, since)}\n`);
  }
};

if (values.part) process.stdout.write(`${JSON.stringify(await partStage(values.part, values.file!, values.site))}\n`);
else if (values.whole) await wholeMode();
else await flowsMode();
