/**
 * bench/dashboards.ts: every dashboard panel's query over a simulated week of one plant on chDB,
 * p50/p99 per panel, and the same queries through the read-only HTTP endpoint (dashboards/http/)
 * beside chDB called directly, so the endpoint's overhead shows query by query.
 *
 *   node --import tsx bench/dashboards.ts [--runs 15] [--edges 18] [--days 7]
 *
 * The week is generated as rows (not replayed through the detectors, which bench/detect.ts times):
 * an SCADA server and an HMI polling 8 PLCs each over Modbus/TCP, a historian reading OPC UA, one
 * flow slice per edge per minute; rate, cadence and novelty scores per edge per minute window (the
 * first day learning); ~20 alerts a day; an undeclared conduit a few times a day; the assets.
 * Prints wall and CPU seconds and the load average beside the figures.
 */
import { cpus, loadavg, tmpdir } from 'node:os';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DASHBOARDS_DIR } from '../cli/dashboards.ts';
import { startQueryEndpoint, QueryEndpointConfig } from '../dashboards/http/server.ts';
import { loadDashboards, panelQuery, resolveVariables, type RunQuery } from '../dashboards/model.ts';
import type { Alert, FlowRecord, WindowScore } from '../core/records.ts';
import { edgeId } from '../core/records.ts';
import { openChdb } from '../store/chdb.ts';
import { migrate } from '../store/migrate.ts';
import { alertRow, assetRow, flowRow, TABLES, windowRow } from '../store/schema.ts';

const { values: argv } = parseArgs({ options: { runs: { type: 'string' }, days: { type: 'string' } } });
const RUNS = Number(argv.runs ?? 15);
const DAYS = Number(argv.days ?? 7);
const T0 = Date.parse('2025-01-06T00:00:00Z');
const MIN = 60_000;
const RUN_ID = 'bench-week';

/** mulberry32: the same week every run. */
const rng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

interface Edge { src: string; dst: string; port: number; l7: string; srcZone: string; dstZone: string; op: string; perMin: number }

const edges: Edge[] = [
  ...Array.from({ length: 8 }, (_, i) => ({ src: '10.0.1.10', dst: `10.0.2.${i + 1}`, port: 502, l7: 'modbus', srcZone: 'scada', dstZone: 'field', op: 'read_holding_registers', perMin: 60 })),
  ...Array.from({ length: 8 }, (_, i) => ({ src: '10.0.3.10', dst: `10.0.2.${i + 1}`, port: 502, l7: 'modbus', srcZone: 'control', dstZone: 'field', op: 'read_coils', perMin: 30 })),
  { src: '10.0.0.5', dst: '10.0.1.10', port: 4840, l7: 'opcua', srcZone: 'enterprise', dstZone: 'scada', op: 'read', perMin: 12 },
  { src: '10.0.3.20', dst: '10.0.1.10', port: 502, l7: 'modbus', srcZone: 'control', dstZone: 'scada', op: 'read_input_registers', perMin: 6 },
];

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};

const main = async (): Promise<void> => {
  const dir = await mkdtemp(join(tmpdir(), 'cw-bench-dash-'));
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  const store = await openChdb(dir);
  try {
    await migrate(store);
    const r = rng(7);
    const minutes = DAYS * 1_440;
    const flows: object[] = [];
    const windows: object[] = [];
    const alerts: object[] = [];
    let rows = 0;
    const flush = async (force = false) => {
      for (const [table, buf] of [[TABLES.flows, flows], [TABLES.windows, windows], [TABLES.alerts, alerts]] as const) {
        if (buf.length >= 50_000 || (force && buf.length)) {
          await store.insertRows(table, buf.splice(0));
        }
      }
    };
    for (let m = 0; m < minutes; m++) {
      const t = T0 + m * MIN;
      const learning = m < 1_440;
      const phase = Math.floor((m % 60) / 5); // a one-hour production cycle, 12 phases
      for (const e of edges) {
        const n = Math.max(1, Math.round(e.perMin * (1 + 0.05 * (r() - 0.5)) * (phase === 7 ? 1.3 : 1)));
        const conduit = `${e.srcZone}->${e.dstZone}`;
        const rec: FlowRecord = {
          id: `${conduit}:${e.src}:${e.dst}:${e.port}:${t}`, tsStart: t + 150, tsEnd: t + 59_800, srcIp: e.src, srcPort: 40_000 + (m % 20_000), dstIp: e.dst, dstPort: e.port, proto: 6,
          packets: n * 2, bytes: n * 66, packetsRev: n * 2, bytesRev: n * 74, tcpFlags: 0x18, exporter: 'bench', observationDomain: 0,
          source: 'sim', l7: e.l7, l7Ops: { [e.op]: n, ...(r() < 0.002 ? { write_single_register: 1 } : {}) },
          requestIntervalsMs: { count: n, mean: 60_000 / n, m2: n * 25, min: 60_000 / n - 20, max: 60_000 / n + 20 },
        };
        flows.push(flowRow(rec, { conduit, srcZone: e.srcZone, dstZone: e.dstZone, runId: RUN_ID, observedAt: t + 60_500 + Math.floor(r() * 900) }));
        const edge = edgeId({ src: e.src, dst: e.dst, proto: 6, dstPort: e.port, l7: e.l7 });
        const base = { conduit, edge, windowStart: t, windowEnd: t + MIN, learning };
        const rate: WindowScore = { ...base, detector: 'rate', score: Math.min(1, Math.abs(r() - 0.5) * 0.2), explanation: `${n} requests, expected ${e.perMin}`,
          features: { value: n, expected: e.perMin, std: e.perMin * 0.03, z: r(), phase_bucket: phase } };
        const cadence: WindowScore = { ...base, detector: 'cadence', score: r() * 0.05, explanation: `period ${(60_000 / n).toFixed(0)} ms`,
          features: { connection_period_ms: 60_000 / n + (r() - 0.5) * 10, connection_expected_period_ms: 60_000 / e.perMin, connection_expected_jitter_ms: 8, connection_intervals: n } };
        const novelty: WindowScore = { ...base, detector: 'novelty', score: 0, explanation: 'nothing new', features: { new_edge: 0, undeclared: 0 } };
        windows.push(windowRow(rate, RUN_ID), windowRow(cadence, RUN_ID), windowRow(novelty, RUN_ID));
        if (!learning && r() < 20 / 1_440 / edges.length) {
          const a: Alert = { id: `a-${m}-${e.dst}`, conduit, src: e.src, dst: e.dst, proto: 6, dstPort: e.port, l7: e.l7, tsStart: t, tsEnd: t + MIN,
            score: 0.8 + r() * 0.2, detector: r() < 0.5 ? 'rate' : 'cadence', explanation: `request rate ${n} per window, expected ${e.perMin} ± ${(e.perMin * 0.03).toFixed(1)}` };
          alerts.push(alertRow(a, RUN_ID));
        }
      }
      if (m % 480 === 200) {
        // An undeclared conduit: a laptop in no zone reaching a PLC.
        const edge = edgeId({ src: '10.9.9.9', dst: '10.0.2.3', proto: 6, dstPort: 502, l7: 'modbus' });
        windows.push(windowRow({ conduit: 'unknown->field', edge, windowStart: t, windowEnd: t + MIN, detector: 'novelty', score: 1, learning: false,
          explanation: 'undeclared conduit unknown->field', features: { undeclared: 1, new_edge: 1 } }, RUN_ID));
        alerts.push(alertRow({ id: `u-${m}`, conduit: 'unknown->field', src: '10.9.9.9', dst: '10.0.2.3', proto: 6, dstPort: 502, l7: 'modbus', tsStart: t, tsEnd: t + MIN,
          score: 1, detector: 'novelty', explanation: 'undeclared conduit unknown->field' }, RUN_ID));
      }
      rows = rows + edges.length * 4;
      await flush();
    }
    await flush(true);
    const ips = new Set(edges.flatMap((e) => [`${e.srcZone}|${e.src}`, `${e.dstZone}|${e.dst}`]));
    await store.insertRows(TABLES.assets, [...ips].map((k) => {
      const [zone, ip] = k.split('|') as [string, string];
      return assetRow({ ip, zone, firstSeen: T0, lastSeen: T0 + minutes * MIN, flows: minutes, bytes: minutes * 1_000, l7: ['modbus'] }, RUN_ID, T0 + minutes * MIN);
    }));
    const counts = await store.query<{ t: string; n: number }>(
      `SELECT 'flows' AS t, count() AS n FROM ${TABLES.flows} UNION ALL SELECT 'windows', count() FROM ${TABLES.windows} UNION ALL SELECT 'alerts', count() FROM ${TABLES.alerts}`);
    const loadCpu = process.cpuUsage(cpu0);
    const loadWall = (performance.now() - wall0) / 1_000;
    console.log(`# simulated ${DAYS} days of one plant: ${counts.map((c) => `${c.n.toLocaleString('en-US')} ${c.t}`).join(', ')} ` +
      `(generated and stored in ${loadWall.toFixed(1)} s wall, ${((loadCpu.user + loadCpu.system) / 1e6).toFixed(1)} CPU s)`);

    const ep = await startQueryEndpoint(QueryEndpointConfig.parse({ listen: 'http://127.0.0.1:0' }), { run: (sql, f, o) => store.raw!(sql, f, o) });
    const direct = async (sql: string) => store.text(sql, 'JSONCompact');
    const http = async (sql: string) => {
      const res = await fetch(`${ep.url}/?default_format=JSONCompact`, { method: 'POST', body: sql });
      const text = await res.text();
      if (!res.ok) throw new Error(text);
      return text;
    };
    const run: RunQuery = async (sql) => (JSON.parse(await direct(sql)) as { data: unknown[][] }).data;
    const range = { from: T0, to: T0 + minutes * MIN };
    const cpu1 = process.cpuUsage();
    const wall1 = performance.now();
    console.log(`\n${RUNS} runs per panel, time range = all ${DAYS} days, Grafana's interval for the range; ms`);
    console.log('| dashboard | panel | rows | chDB p50 | chDB p99 | HTTP p50 | HTTP p99 | HTTP − chDB (p50) |');
    console.log('|---|---|---|---|---|---|---|---|');
    const overheads: number[] = [];
    const totals = { direct: 0, http: 0 };
    for (const d of loadDashboards(DASHBOARDS_DIR)) {
      const vars = await resolveVariables(d, run, range, d.uid === 'conduitwatch-conduit' || d.uid === 'conduitwatch-alert' ? { conduit: 'scada->field' } : {});
      for (const p of d.panels) {
        const sql = panelQuery(p, range, vars);
        const n = (JSON.parse(await direct(sql)) as { data: unknown[] }).data.length;
        await http(sql);
        const td: number[] = [];
        const th: number[] = [];
        for (let i = 0; i < RUNS; i++) {
          // Alternate, so both see the same cache and load.
          let t = performance.now(); await direct(sql); td.push(performance.now() - t);
          t = performance.now(); await http(sql); th.push(performance.now() - t);
        }
        totals.direct += td.reduce((a, b) => a + b, 0);
        totals.http += th.reduce((a, b) => a + b, 0);
        overheads.push(pct(th, 50) - pct(td, 50));
        const f = (x: number) => x.toFixed(1);
        console.log(`| ${d.file.replace('.json', '')} | ${p.title} | ${n} | ${f(pct(td, 50))} | ${f(pct(td, 99))} | ${f(pct(th, 50))} | ${f(pct(th, 99))} | ${f(pct(th, 50) - pct(td, 50))} |`);
      }
    }
    await ep.close();
    const qCpu = process.cpuUsage(cpu1);
    console.log(`\nHTTP endpoint overhead per query (p50 difference): median ${pct(overheads, 50).toFixed(2)} ms, max ${Math.max(...overheads).toFixed(2)} ms; ` +
      `all queries: chDB ${(totals.direct / 1e3).toFixed(1)} s, through HTTP ${(totals.http / 1e3).toFixed(1)} s`);
    console.log(`queries: ${((performance.now() - wall1) / 1e3).toFixed(1)} s wall, ${((qCpu.user + qCpu.system) / 1e6).toFixed(1)} CPU s (engine threads included); ` +
      `${cpus().length} cores, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
};

await main();
