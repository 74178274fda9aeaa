/** The replay summary a person reads: assets, conduits, baseline status, top findings. */
import { formatDuration } from '../core/units.ts';
import { hostPort, protoName } from '../core/records.ts';
import type { ReplayReport } from './replay.ts';
import { fmtInt } from './progress.ts';

const iso = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
const hms = (ms: number): string => new Date(ms).toISOString().slice(11, 19);

export const renderReport = (r: ReplayReport, top = 10): string => {
  const out: string[] = [];
  const span = r.firstTs !== undefined && r.lastTs !== undefined ? `${iso(r.firstTs)} → ${iso(r.lastTs)} (${formatDuration(r.lastTs - r.firstTs)})` : 'no traffic';
  out.push(`conduitwatch replay — site ${r.site}`);
  out.push(`Event time: ${span}`);
  for (const i of r.inputs) {
    const problems = Object.entries(i.problems).map(([k, v]) => `${k} ${fmtInt(v)}`).join(', ');
    out.push(`Input: ${i.file} (${i.kind}): ${fmtInt(i.units)} ${i.kind.startsWith('pcap') ? 'packets' : 'rows'} → ${fmtInt(i.records)} flow records` +
      (i.truncated ? '; TRUNCATED: good packets kept' : '') + (problems ? `; skipped: ${problems}` : ''));
  }
  const byZone = new Map<string, number>();
  for (const a of r.assets) byZone.set(a.zone, (byZone.get(a.zone) ?? 0) + 1);
  out.push('', `Assets seen: ${r.assets.length} (${[...byZone].map(([z, n]) => `${z} ${n}`).join(', ')})`);
  out.push('', 'Conduits:');
  const w = Math.max(8, ...r.conduits.map((c) => c.conduit.length));
  for (const c of r.conduits) {
    const state = !c.declared ? 'UNDECLARED' : c.learning ? `learning, ${Math.floor(c.coverage * 100)}% coverage` : `ready since ${hms(c.readyAt ?? c.firstSeen ?? 0)}`;
    out.push(`  ${c.conduit.padEnd(w)}  ${state.padEnd(26)} ${fmtInt(c.edges).padStart(5)} edges ${fmtInt(c.flows).padStart(9)} flows ${fmtInt(c.alerts).padStart(5)} alert windows`);
    const cycle = [
      c.cyclesCovered >= 1 ? `${c.cyclesCovered.toFixed(1)} production cycles seen, ${c.phaseBucketsSeen}/${c.phaseBuckets} cycle phases` : '',
      c.detectedCycleMs ? `cycle found in the data: ${formatDuration(c.detectedCycleMs)}` : '',
      c.cycleNote,
    ].filter(Boolean).join('; ');
    if (cycle) out.push(`  ${' '.repeat(w)}  ${cycle}`);
  }
  out.push('', r.undeclared.length ? `Undeclared conduits (traffic between zones with no conduit in site.yaml): ${r.undeclared.join(', ')}` : 'Undeclared conduits: none');
  out.push('', r.alerts.length ? `Top findings (${Math.min(top, r.alerts.length)} of ${r.alerts.length}, from ${fmtInt(r.rawAlerts)} alert windows; ${fmtInt(r.windowsScored)} windows scored):` : `No alerts (${fmtInt(r.windowsScored)} windows scored).`);
  r.alerts.slice(0, top).forEach((a, i) => {
    out.push(`  ${String(i + 1).padStart(2)}. ${a.score.toFixed(2)} ${a.detector.padEnd(8)} ${a.conduit}  ${a.src} → ${hostPort(a.dst, a.dstPort)} ${a.l7 || protoName(a.proto)}  ${hms(a.tsStart)}–${hms(a.tsEnd)}${a.windows > 1 ? ` (${a.windows} windows)` : ''}`);
    out.push(`      ${a.explanation}`);
  });
  if (r.lateRecords) out.push('', `Late records (arrived behind a closed window, counted, not scored): ${fmtInt(r.lateRecords)}`);
  if (r.dataDir) {
    out.push('', `Stored in ${r.dataDir} (run ${r.runId}). Query it, e.g.:`,
      `  conduitwatch sql --data ${r.dataDir} "SELECT conduit, detector, count() FROM alerts GROUP BY ALL ORDER BY 3 DESC"`);
  }
  return out.join('\n') + '\n';
};
