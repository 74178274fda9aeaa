/**
 * What-if over 1 M and 10 M stored flows (simulated), beside the engine's own floor on the same rows.
 *
 *   node --import tsx bench/whatif.ts [--sizes 1000000,10000000] [--repeat 3] [--fresh]
 *
 * The store is a chDB directory in .cache/bench-whatif (kept between runs; --fresh rebuilds it). Each
 * size is its own conduit (`s<N>->field`, one run), so a query reads only its size's rows. Flows are
 * made inside the engine (INSERT … SELECT FROM numbers(N)): 40 HMIs poll 250 PLCs over Modbus/TCP over
 * 30 days — reads (FC 1/3/4), a write (FC 6) on every 50th flow, and one flow in 100 000 from a host
 * or with an op the rule does not allow. The rule allows the 10 000 poll edges with their read ops,
 * holds FC 6 on half the PLCs, and so blocks ≈1 % of the flows (the blocked list is read back whole);
 * a second rule allows FC 6 everywhere and blocks only the 1-in-100 000 strays (the cost of the scan alone).
 *
 * Printed per size (median of --repeat): whatIf() wall seconds, rows/s, CPU seconds (process: chDB
 * runs its threads in this process); the floor `SELECT count()` with the same WHERE; a scan that reads
 * the columns the what-if reads (`NOT ignore(…)`); learnRule (propose) on the same rows; `uptime` load.
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseSite } from '../core/config.ts';
import { learnRule, readiness } from '../enforce/baseline.ts';
import { ruleHash, RULE_KIND, type Rule, type RuleEntry } from '../enforce/rules.ts';
import { whatIf } from '../enforce/whatif.ts';
import { openChdb } from '../store/chdb.ts';
import { migrate } from '../store/migrate.ts';
import { tables } from '../store/schema.ts';
import type { Store } from '../store/store.ts';

const { values } = parseArgs({ options: { sizes: { type: 'string' }, repeat: { type: 'string' }, fresh: { type: 'boolean' } } });
const SIZES = (values.sizes ?? '1000000,10000000').split(',').map(Number);
const REPEAT = Number(values.repeat ?? 3);
const DIR = join(process.cwd(), '.cache', 'bench-whatif');
const HMIS = 40;
const PLCS = 250;
const T0 = Date.parse('2026-01-01T00:00:00Z');
const SPAN_MS = 30 * 86_400_000;
const F = tables.flows.columns;

const conduitOf = (n: number) => `s${n}->field`;
const hmi = (i: number) => `10.10.1.${10 + i}`;
const plc = (j: number) => `10.10.3.${j + 1}`;

/** N flows of one conduit, made by the engine. */
const fill = async (store: Store, n: number): Promise<void> => {
  const c = conduitOf(n);
  await store.exec(`INSERT INTO ${tables.flows.name} (${[F.runId, F.observedAt, F.conduit, F.srcZone, F.dstZone, F.tsStart, F.tsEnd, F.srcIp, F.srcPort, F.dstIp,
    F.dstPort, F.proto, F.packets, F.bytes, F.packetsRev, F.bytesRev, F.tcpFlags, F.exporter, F.observationDomain, F.source, F.l7, F.l7Ops].join(', ')})
    SELECT 'bench', fromUnixTimestamp64Milli(toInt64(${T0})), '${c}', 's${n}', 'field',
      fromUnixTimestamp64Milli(toInt64(${T0} + intDiv(number * ${SPAN_MS}, ${n}))), fromUnixTimestamp64Milli(toInt64(${T0} + intDiv(number * ${SPAN_MS}, ${n}) + 40)),
      if(number % 100000 = 77777, '10.10.1.250', concat('10.10.1.', toString(10 + number % ${HMIS}))), 40000 + number % 20000,
      concat('10.10.3.', toString(1 + intDiv(number, ${HMIS}) % ${PLCS})), 502, 6, 4, 240, 4, 260, 27, 'bench', 0, 'sim', 'modbus',
      multiIf(number % 100000 = 55555, map('fc_90', toUInt64(1)), number % 50 = 7, map('write_single_register', toUInt64(1)),
              number % 3 = 0, map('read_coils', toUInt64(1)), number % 3 = 1, map('read_holding_registers', toUInt64(1)), map('read_input_registers', toUInt64(1)))
    FROM numbers(${n})`);
};

const site = (n: number) => parseSite(`
site: bench
productionCycle: 1d
zones:
  - { name: s${n}, sl: 2, cidrs: [10.10.1.0/24] }
  - { name: field, sl: 3, cidrs: [10.10.3.0/24] }
conduits:
  - { from: s${n}, to: field }
detection: { window: 60s }
`);

const ruleFor = (n: number, holdWrites = true): Rule => {
  const ev = { cycles: 30, firstSeen: T0, lastSeen: T0 + SPAN_MS, flows: 1, firstSeenInAlert: '' };
  const entries: RuleEntry[] = [];
  for (let i = 0; i < HMIS; i++) {
    for (let j = 0; j < PLCS; j++) {
      entries.push({
        src: hmi(i), dst: plc(j), proto: 6, dstPort: 502, l7: 'modbus', status: 'allow', held: [], evidence: ev,
        ops: [
          { op: 'read_coils', status: 'allow', held: [], evidence: ev },
          { op: 'read_holding_registers', status: 'allow', held: [], evidence: ev },
          { op: 'read_input_registers', status: 'allow', held: [], evidence: ev },
          { op: 'write_single_register', status: holdWrites && j % 2 ? 'hold' : 'allow', held: holdWrites && j % 2 ? ['bench: held'] : [], evidence: ev },
        ],
      });
    }
  }
  return {
    kind: RULE_KIND, schema: 1, site: 'bench', conduit: conduitOf(n), productionCycleMs: 86_400_000, minCycles: 3, parent: '',
    learnedFrom: { runs: ['bench'], from: T0, to: T0 + SPAN_MS, flows: n, fullCycles: 30, phasesSeen: [], phases: 12 }, entries, waivers: [],
  };
};

const timed = async <T>(f: () => Promise<T>): Promise<{ s: number; cpu: number; out: T }> => {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const out = await f();
  const u = process.cpuUsage(c0);
  return { s: (performance.now() - t0) / 1000, cpu: (u.user + u.system) / 1e6, out };
};

const median = <T extends { s: number }>(xs: T[]): T => [...xs].sort((a, b) => a.s - b.s)[Math.floor(xs.length / 2)]!;
const la = () => loadavg().map((x) => x.toFixed(2)).join(' ');

if (values.fresh && existsSync(DIR)) await rm(DIR, { recursive: true, force: true });
const store = await openChdb(DIR);
await migrate(store);
console.log(`bench/whatif — ${new Date().toISOString()}, load ${la()}, store ${DIR}`);
const results: Record<string, unknown>[] = [];
for (const n of SIZES) {
  const c = conduitOf(n);
  const [have] = await store.query<{ n: string }>(`SELECT count() AS n FROM ${tables.flows.name} WHERE ${F.conduit} = '${c}'`);
  if (Number(have?.n) !== n) {
    await store.exec(`DELETE FROM ${tables.flows.name} WHERE ${F.conduit} = '${c}'`).catch(() => undefined);
    const t = await timed(() => fill(store, n));
    console.log(`  made ${n.toLocaleString('en-US')} flows in ${t.s.toFixed(1)} s`);
  }
  const rule = ruleFor(n);
  const hash = ruleHash(rule);
  const where = `${F.conduit} = '${c}' AND ${F.runId} IN ('bench')`;
  const few = ruleFor(n, false);
  const fewHash = ruleHash(few);
  const runs: Record<string, { s: number; cpu: number; out: unknown }[]> = { whatif: [], few: [], count: [], scan: [] };
  for (let r = 0; r < REPEAT; r++) {
    runs.whatif!.push(await timed(() => whatIf(store, rule, hash, ['bench'])));
    runs.few!.push(await timed(() => whatIf(store, few, fewHash, ['bench'])));
    runs.count!.push(await timed(() => store.query(`SELECT count() AS n FROM ${tables.flows.name} WHERE ${where}`)));
    runs.scan!.push(await timed(() => store.query(`SELECT count() AS n FROM ${tables.flows.name} WHERE ${where} AND NOT ignore(${F.srcIp}, ${F.dstIp}, ${F.proto}, ${F.dstPort}, ${F.l7Ops})`)));
  }
  const w = median(runs.whatif!) as { s: number; cpu: number; out: Awaited<ReturnType<typeof whatIf>> };
  const f = median(runs.few!) as { s: number; cpu: number; out: Awaited<ReturnType<typeof whatIf>> };
  const cnt = median(runs.count!);
  const scan = median(runs.scan!);
  const s = site(n);
  const learn = await timed(async () => learnRule(store, s, c, ['bench'], await readiness(store, s, c, ['bench'])));
  const row = {
    flows: n, whatifS: +w.s.toFixed(3), whatifRowsPerS: Math.round(n / w.s), whatifCpuS: +w.cpu.toFixed(2), blocked: w.out.flowsBlocked,
    fewS: +f.s.toFixed(3), fewRowsPerS: Math.round(n / f.s), fewCpuS: +f.cpu.toFixed(2), fewBlocked: f.out.flowsBlocked,
    countS: +cnt.s.toFixed(3), countRowsPerS: Math.round(n / cnt.s), countCpuS: +cnt.cpu.toFixed(2),
    scanS: +scan.s.toFixed(3), scanRowsPerS: Math.round(n / scan.s), scanCpuS: +scan.cpu.toFixed(2),
    learnS: +learn.s.toFixed(3), learnCpuS: +learn.cpu.toFixed(2), learnedEntries: learn.out.entries.length, ruleEntries: rule.entries.length,
    load: la(),
  };
  results.push(row);
  console.log(`  ${n.toLocaleString('en-US').padStart(10)} flows  what-if ${row.whatifS.toFixed(2)} s (${(row.whatifRowsPerS / 1e6).toFixed(1)} M rows/s, CPU ${row.whatifCpuS} s, ${row.blocked.toLocaleString('en-US')} blocked listed)` +
    `  |  what-if, rule blocking ${row.fewBlocked} ${row.fewS.toFixed(2)} s (${(row.fewRowsPerS / 1e6).toFixed(1)} M rows/s, CPU ${row.fewCpuS} s)` +
    `  |  SELECT count() ${row.countS.toFixed(3)} s (${(row.countRowsPerS / 1e6).toFixed(0)} M rows/s, CPU ${row.countCpuS} s)` +
    `  |  scan of the same columns ${row.scanS.toFixed(2)} s (${(row.scanRowsPerS / 1e6).toFixed(1)} M rows/s, CPU ${row.scanCpuS} s)` +
    `  |  learnRule ${row.learnS.toFixed(2)} s (CPU ${row.learnCpuS} s)  |  load ${row.load}`);
}
await store.close();
console.log(JSON.stringify({ bench: 'whatif', at: new Date().toISOString(), repeat: REPEAT, results }));
