/** The replay summary a person reads: assets, conduits, baseline status, top findings. */
import { formatDuration } from '../core/units.ts';
import { hostPort, protoName } from '../core/records.ts';
import type { Finding, ReplayReport } from './replay.ts';
import { DEFAULT_DATA_DIR } from './args.ts';
import { fmtBytes, fmtInt } from './progress.ts';
import { selfCommand } from './self.ts';

const iso = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
const hms = (ms: number): string => new Date(ms).toISOString().slice(11, 19);

const findingLine = (a: Finding): string =>
  `${a.src} → ${hostPort(a.dst, a.dstPort)} ${a.l7 || protoName(a.proto)}  ${a.detector} ${a.score.toFixed(2)}, ${a.severity ?? '?'} ${(a.risk ?? 0).toFixed(1)}  ` +
  `${hms(a.tsStart)}–${hms(a.tsEnd)}${a.windows > 1 ? ` (${a.windows} windows)` : ''}`;

/** Incidents, most severe first, each with its findings (the worst first, at most 3 shown). */
const renderIncidents = (r: ReplayReport, top: number): string[] => {
  if (r.alerts.length === 0) return [`No alerts (${fmtInt(r.windowsScored)} windows scored).`];
  const out = [`Incidents, most severe first (${Math.min(top, r.incidents.length)} of ${r.incidents.length}; ` +
    `${fmtInt(r.alerts.length)} findings from ${fmtInt(r.rawAlerts)} alert windows; ${fmtInt(r.windowsScored)} windows scored):`];
  const byIncident = new Map<string, Finding[]>();
  for (const a of r.alerts) {
    const list = byIncident.get(a.incident ?? '') ?? [];
    list.push(a);
    byIncident.set(a.incident ?? '', list);
  }
  r.incidents.slice(0, top).forEach((inc, i) => {
    const findings = byIncident.get(inc.id) ?? [];
    const from = inc.sources.length === 1 ? `from ${inc.sources[0]}` : `from ${inc.sources.length} sources`;
    out.push(`  ${String(i + 1).padStart(2)}. ${inc.severity.toUpperCase()} (risk ${inc.risk.toFixed(1)})  ${inc.conduits.join(', ')}  ` +
      `${hms(inc.firstSeen)}–${hms(inc.lastSeen)}  ${inc.alerts} alert window${inc.alerts === 1 ? '' : 's'} ${from}  [${inc.id}]`);
    for (const f of findings.slice(0, 3)) {
      out.push(`      ${findingLine(f)}`, `        ${f.explanation}`);
      if (f.severityReason) out.push(`        severity: ${f.severityReason}`);
    }
    if (findings.length > 3) out.push(`      + ${findings.length - 3} more finding${findings.length - 3 === 1 ? '' : 's'}: ${findings.slice(3, 6).map((f) => `${f.src} → ${hostPort(f.dst, f.dstPort)} (${f.detector}, ${f.severity})`).join('; ')}${findings.length > 6 ? ' …' : ''}`);
  });
  return out;
};

export const renderReport = (r: ReplayReport, top = 10): string => {
  const out: string[] = [];
  const span = r.firstTs !== undefined && r.lastTs !== undefined ? `${iso(r.firstTs)} → ${iso(r.lastTs)} (${formatDuration(r.lastTs - r.firstTs)})` : 'no traffic';
  out.push(`conduitwatch replay — site ${r.site}`);
  out.push(`Event time: ${span}`);
  if (r.interrupted) out.push(`INTERRUPTED after ${fmtBytes(r.interrupted.bytesRead)} of ${fmtBytes(r.interrupted.bytesTotal)} of input: this report covers what was read.`);
  for (const i of r.inputs) {
    const problems = Object.entries(i.problems).map(([k, v]) => `${k} ${fmtInt(v)}`).join(', ');
    out.push(`Input: ${i.file} (${i.kind}): ${fmtInt(i.units)} ${i.kind.startsWith('pcap') ? 'packets' : 'rows'} → ${fmtInt(i.records)} flow records` +
      (i.truncated ? '; TRUNCATED: good packets kept' : '') + (problems ? `; skipped: ${problems}` : ''));
  }
  const byZone = new Map<string, number>();
  for (const a of r.assets) byZone.set(a.zone, (byZone.get(a.zone) ?? 0) + 1);
  out.push('', `Assets seen: ${r.assets.length} (${[...byZone].map(([z, n]) => `${z} ${n}`).join(', ')})`);
  const roles = new Map<string, number>();
  for (const a of r.inventory.assets) if (a.role !== 'unknown') roles.set(a.role, (roles.get(a.role) ?? 0) + 1);
  if (roles.size) out.push(`Roles from behaviour: ${[...roles].map(([k, n]) => `${k} ${n}`).join(', ')} (conduitwatch inventory shows each asset's evidence and identity)`);
  out.push('', 'Conduits:');
  const w = Math.max(8, ...r.conduits.map((c) => c.conduit.length));
  for (const c of r.conduits) {
    const state = !c.declared ? 'UNDECLARED' : c.learning ? `learning, ${Math.floor(c.coverage * 100)}% coverage` : `ready since ${hms(c.readyAt ?? c.firstSeen ?? 0)}`;
    out.push(`  ${c.conduit.padEnd(w)}  ${state.padEnd(26)} ${fmtInt(c.edges).padStart(5)} edges ${fmtInt(c.flows).padStart(9)} flows ${fmtInt(c.alerts).padStart(5)} alert windows`);
    const cycle = [
      c.cyclesCovered >= 1 ? `${c.cyclesCovered.toFixed(1)} production cycles seen, ${c.phaseBucketsSeen}/${c.phaseBuckets} cycle phases` : '',
      c.steady ? 'steady (site.yaml): not checked against productionCycle' : c.detectedCycleMs ? `cycle found in the data: ${formatDuration(c.detectedCycleMs)}` : '',
      // A cycle can be checked only in traffic that spans it: not for an undeclared conduit or one seen in a few phases.
      c.declared && c.phaseBucketsSeen >= c.phaseBuckets ? c.cycleNote : '',
    ].filter(Boolean).join('; ');
    if (cycle) out.push(`  ${' '.repeat(w)}  ${cycle}`);
  }
  out.push('', r.undeclared.length ? `Undeclared conduits (traffic between zones with no conduit in site.yaml): ${r.undeclared.join(', ')}` : 'Undeclared conduits: none');
  out.push('', ...renderIncidents(r, top));
  if (r.inventory.alerts.length) {
    out.push('', `Inventory changes (${r.inventory.alerts.length}):`);
    for (const a of r.inventory.alerts.slice(0, top)) out.push(`  ${hms(a.tsStart)} ${a.explanation}`);
  }
  if (r.lateRecords) out.push('', `Late records (arrived behind a closed window, counted, not scored): ${fmtInt(r.lateRecords)}`);
  if (r.dataDir) {
    const cw = selfCommand();
    const data = r.dataDir === DEFAULT_DATA_DIR ? '' : ` --data ${r.dataDir}`;
    out.push('', `Stored in ${r.dataDir} as run ${r.runId}${r.interrupted ? ' (interrupted: what was read)' : ''}. Query it (sql reads the newest run), e.g.:`,
      `  ${cw} sql${data} "SELECT severity, conduit, detector, count() FROM alerts GROUP BY ALL ORDER BY 4 DESC"`,
      `  ${cw} runs list${data}`);
  }
  return out.join('\n') + '\n';
};
