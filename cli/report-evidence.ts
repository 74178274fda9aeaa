/**
 * `conduitwatch report evidence --site site.yaml [--data DIR] [--run RUN] [--format md|json]`: the
 * IEC 62443 evidence of one stored run (inventory/evidence.ts), read from the chDB store that
 * `replay` (or `serve`) wrote. The site is the one the run used: the store holds no site.yaml.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { AUDIT_FILE, verifyAudit } from '../enforce/audit.ts';
import { loadSite, SiteMap } from '../core/config.ts';
import { PipelineError } from '../core/errors.ts';
import type { AssetRole } from '../core/records.ts';
import { buildEvidence, renderEvidenceMd, type EvidenceAsset, type EvidenceConduit } from '../inventory/evidence.ts';
import { openChdb } from '../store/chdb.ts';
import { parseChTime, TABLES } from '../store/schema.ts';
import type { Store } from '../store/store.ts';
import { usageError } from './args.ts';
import { DEFAULT_DATA_DIR } from './replay-command.ts';

/** Industrial protocols with no integrity protection of their own (SR 3.1 observation). */
const CLEARTEXT = ['modbus', 's7comm', 'dnp3', 'iec104', 'enip', 'bacnet', 'mms'];

const str = (s: string): string => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
const num = (v: unknown): number => Number(v);

/** Reads what the evidence needs for `runId` (the newest run when undefined). */
export const readEvidenceFacts = async (store: Store, sitePath: string, runId: string | undefined, now: number) => {
  const site = loadSite(sitePath);
  const map = new SiteMap(site);
  const tables = (await store.query<{ name: string }>('SELECT name FROM system.tables WHERE database = currentDatabase()')).map((r) => r.name).sort();
  const run = runId ?? (await store.query<{ run_id: string }>(`SELECT run_id FROM ${TABLES.flows} GROUP BY run_id ORDER BY max(observed_at) DESC, run_id DESC LIMIT 1`))[0]?.run_id;
  if (!run) throw new PipelineError('config_invalid', `The store at ${store.dir} holds no run: replay a capture into it first, e.g. conduitwatch replay capture.pcap --site ${sitePath}`);
  const r = str(run);
  const [span] = await store.query<{ n: number; a: string; b: string }>(`SELECT count() AS n, min(ts_start) AS a, max(ts_end) AS b FROM ${TABLES.flows} WHERE run_id = ${r}`);
  if (!span || num(span.n) === 0) throw new PipelineError('config_invalid', `Run ${run} is not in the store at ${store.dir}; runs there: conduitwatch sql "SELECT DISTINCT run_id FROM flows"`);
  const flows = await store.query<{ conduit: string; n: number; a: string; b: string; services: string[]; clear: string[] }>(
    `SELECT conduit, count() AS n, min(ts_start) AS a, max(ts_end) AS b,
            arraySort(groupUniqArray(concat(if(l7 = '', '', concat(l7, ' ')), multiIf(proto = 6, 'tcp', proto = 17, 'udp', toString(proto)), '/', toString(dst_port)))) AS services,
            arraySort(groupUniqArrayIf(l7, l7 IN (${CLEARTEXT.map(str).join(', ')}))) AS clear
     FROM ${TABLES.flows} WHERE run_id = ${r} GROUP BY conduit ORDER BY conduit`);
  const windows = await store.query<{ conduit: string; ws: number; learning: number; detectors: string[] }>(
    `SELECT conduit, toUnixTimestamp64Milli(window_start) AS ws, max(learning) AS learning, groupUniqArray(detector) AS detectors
     FROM ${TABLES.windows} FINAL WHERE run_id = ${r} GROUP BY conduit, ws ORDER BY conduit, ws`);
  const W = site.detection.window;
  const busy = await store.query<{ conduit: string; ws: number }>(
    `SELECT conduit, intDiv(toUnixTimestamp64Milli(ts_start), ${W}) * ${W} AS ws FROM ${TABLES.flows} WHERE run_id = ${r} GROUP BY conduit, ws ORDER BY conduit, ws`);
  const alerts = await store.query<{ conduit: string; inv: number; n: number }>(
    `SELECT conduit, 0 AS inv, count() AS n FROM ${TABLES.alerts} FINAL WHERE run_id = ${r} GROUP BY conduit` +
    (tables.includes(TABLES.inventoryChanges) ? ` UNION ALL SELECT conduit, 1 AS inv, count() AS n FROM ${TABLES.inventoryChanges} FINAL WHERE run_id = ${r} GROUP BY conduit` : ''));
  const violations = await store.query<{ k: string; n: number }>(
    `SELECT k, sum(v) AS n FROM ${TABLES.flows} ARRAY JOIN mapKeys(l7_violations) AS k, mapValues(l7_violations) AS v WHERE run_id = ${r} GROUP BY k ORDER BY k`);
  const inventory = tables.includes(TABLES.inventory)
    ? await store.query<{ ip: string; role: string; confidence: number; vendor: string; model: string; firmware: string; serial: string; name: string; mac: string; a: string; b: string }>(
      `SELECT ip, argMax(role, flows) AS role, argMax(confidence, flows) AS confidence, argMax(vendor, updated_at) AS vendor,
              argMax(model, updated_at) AS model, argMax(firmware, updated_at) AS firmware, argMax(serial, updated_at) AS serial,
              argMax(name, updated_at) AS name, argMax(mac, updated_at) AS mac, min(first_seen) AS a, max(last_seen) AS b
       FROM ${TABLES.inventory} FINAL WHERE run_id = ${r} GROUP BY ip ORDER BY ip`)
    : [];
  /** Rows per conduit of an enforcement table, or undefined when the table is not there (yet). */
  const perConduit = async (table: string): Promise<Map<string, number> | undefined> => {
    if (!tables.includes(table)) return undefined;
    try {
      const rows = await store.query<{ conduit: string; n: number }>(`SELECT conduit, count() AS n FROM ${table} GROUP BY conduit`);
      return new Map(rows.map((x) => [x.conduit, num(x.n)]));
    } catch {
      return new Map();
    }
  };
  const rules = await perConduit(TABLES.rules);
  const steps = new Map<string, { action: string; result: string; actor: string; ts: number }[]>();
  if (tables.includes(TABLES.audit)) {
    const rows = await store.query<{ target: string; action: string; result: string; actor: string; ts: string }>(
      `SELECT target, action, result, actor, ts FROM ${TABLES.audit} WHERE kind = 'entry' ORDER BY seq`);
    for (const x of rows) (steps.get(x.target) ?? steps.set(x.target, []).get(x.target)!).push({ action: x.action, result: x.result, actor: x.actor, ts: parseChTime(x.ts) });
  }
  let audit: { records: number; verified: boolean; keyPinned: boolean; note?: string } | undefined;
  if (existsSync(join(store.dir, AUDIT_FILE))) {
    const v = await verifyAudit({ dataDir: store.dir, ...(tables.includes(TABLES.audit) ? { store } : {}) });
    audit = { records: v.entries, verified: v.ok, keyPinned: v.keyPinned, note: `${v.checkpoints} signed checkpoints, signed through entry ${v.signedThrough}${v.firstBad ? `; first bad entry ${v.firstBad.seq}: ${v.firstBad.problem}` : ''}` };
  }
  const stepsOf = (id: string) => (tables.includes(TABLES.audit) ? { steps: steps.get(id) ?? [] } : {});
  const byConduit = new Map<string, EvidenceConduit>();
  for (const f of flows) {
    byConduit.set(f.conduit, {
      conduit: f.conduit, declared: map.isDeclared(f.conduit), flows: num(f.n), firstSeen: parseChTime(f.a), lastSeen: parseChTime(f.b),
      services: f.services, windows: 0, learningWindows: 0, detectors: [], windowStarts: [], alerts: 0, inventoryAlerts: 0,
      ...(rules ? { rules: rules.get(f.conduit) ?? 0 } : {}), ...stepsOf(f.conduit),
    });
  }
  for (const c of site.conduits) {
    const id = `${c.from}->${c.to}`;
    if (!byConduit.has(id)) {
      byConduit.set(id, { conduit: id, declared: true, flows: 0, firstSeen: 0, lastSeen: 0, services: [], windows: 0, learningWindows: 0, detectors: [], windowStarts: [], alerts: 0, inventoryAlerts: 0,
        ...(rules ? { rules: rules.get(id) ?? 0 } : {}), ...stepsOf(id) });
    }
  }
  for (const w of windows) {
    const c = byConduit.get(w.conduit);
    if (!c) continue;
    c.windows++;
    if (num(w.learning)) c.learningWindows++;
    for (const d of w.detectors) if (!c.detectors.includes(d)) c.detectors.push(d);
  }
  for (const b of busy) byConduit.get(b.conduit)?.windowStarts.push(num(b.ws));
  for (const a of alerts) {
    const c = byConduit.get(a.conduit);
    if (!c) continue;
    if (num(a.inv)) c.inventoryAlerts += num(a.n); else c.alerts += num(a.n);
  }
  for (const c of byConduit.values()) c.detectors.sort();
  const assets: EvidenceAsset[] = inventory.map((a) => ({
    ip: a.ip, zone: map.zoneOf(a.ip), role: a.role as AssetRole, confidence: num(a.confidence),
    identity: [a.vendor, a.model, a.firmware && `fw ${a.firmware}`, a.serial && `s/n ${a.serial}`, a.name && `"${a.name}"`].filter(Boolean).join(', '),
    mac: a.mac, firstSeen: parseChTime(a.a), lastSeen: parseChTime(a.b),
  }));
  return {
    site, runId: run, firstTs: parseChTime(span.a), lastTs: parseChTime(span.b), assets,
    conduits: [...byConduit.values()].sort((a, b) => a.conduit.localeCompare(b.conduit)),
    violations: Object.fromEntries(violations.map((v) => [v.k, num(v.n)])), tables,
    ...(audit ? { audit } : {}),
    cleartext: Object.fromEntries(flows.map((f) => [f.conduit, f.clear])), generatedAt: now,
  };
};

export const runReportCommand = async (v: Record<string, unknown>, args: string[], now: () => number): Promise<number> => {
  const [what, ...rest] = args;
  if (what !== 'evidence') throw usageError('report', what ? `Unknown report "${what}": the report is "evidence".` : 'Which report? Say: conduitwatch report evidence --site site.yaml');
  if (rest.length) throw usageError('report', `Unexpected argument(s): ${rest.join(' ')}.`);
  if (typeof v.site !== 'string') throw usageError('report', 'Missing --site: the site.yaml the stored run was replayed with (its zones and SL-T).');
  const format = v.json ? 'json' : typeof v.format === 'string' ? v.format : 'md';
  if (format !== 'md' && format !== 'json') throw usageError('report', `--format takes md or json, not "${format}".`);
  const dir = typeof v.data === 'string' ? v.data : DEFAULT_DATA_DIR;
  if (!existsSync(dir)) throw usageError('report', `No store at ${dir}: replay into it first (conduitwatch replay capture.pcap --site ${v.site} --data ${dir}), or pass --data.`);
  const store = await openChdb(dir);
  try {
    const facts = await readEvidenceFacts(store, v.site, typeof v.run === 'string' ? v.run : undefined, now());
    const report = buildEvidence(facts);
    process.stdout.write(format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : renderEvidenceMd(report));
  } finally {
    await store.close();
  }
  return 0;
};
