/** The readable side of `conduitwatch eval`: the result and the comparison as plain-text tables. */
import { formatDuration } from '../../core/units.ts';
import type { Change, EvalDiff } from './diff.ts';
import type { EvalResult } from './run.ts';

/** Left-aligned columns, two spaces apart. */
export const table = (head: string[], rows: string[][]): string => {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(head), ...rows.map(line)].map((l) => `  ${l}`).join('\n') + '\n';
};

const num = (x: number | null, digits = 4): string => (x === null ? '-' : String(Number(x.toFixed(digits))));
const yesNo = (b: boolean | null): string => (b === null ? 'n/a' : b ? 'yes' : 'no');
const span = (start: string, end: string): string => `${start.slice(0, 19).replace('T', ' ')} → ${end.slice(11, 19)}`;
const cut = (from: number | null, until: number | null): string =>
  [from !== null ? `from ${formatDuration(from)}` : '', until !== null ? `until ${formatDuration(until)}` : ''].filter(Boolean).join(' ') || 'whole';
const short = (file: string): string => file.split('/').pop()!;

export const renderResult = (r: EvalResult): string => {
  const s = r.summary;
  const out: string[] = [];
  out.push(`eval ${r.name}: ${r.description}\n`);
  out.push(`site ${r.site}, window ${formatDuration(r.windowMs)}, alert threshold ${r.alertThreshold}, detectors ${r.detectors === 'all' ? 'all' : r.detectors.join(', ')}\n\n`);
  out.push('baseline (learned, never scored)\n');
  out.push(r.baseline.length === 0 ? '  none\n' : table(['input', 'part', 'time (UTC)', 'records'],
    r.baseline.map((b) => [short(b.file), cut(b.from, b.until), span(b.start, b.end), String(b.records)])));
  out.push('\nruns (each: baseline, then this input)\n');
  out.push(table(['input', 'part', 'time (UTC)', 'shift', 'records', 'windows', 'settle (alerts)', 'learning', 'late'],
    r.runs.map((x) => [short(x.file), cut(x.from, x.until), span(x.start, x.end), x.shiftMs ? `+${formatDuration(x.shiftMs)}` : '0',
      String(x.records), String(x.windows), `${x.settleWindows} (${x.settleAlerts})`,
      Object.entries(x.learningWindows).map(([c, n]) => `${c} ${n}`).join(', ') || '0', String(x.lateRecords)])));
  out.push(`\nattacks: ${s.detected} of ${s.attacks} detected\n`);
  if (r.attacks.length > 0) {
    out.push(table(['input', 'attack', 'kind', 'detected', 'by', 'delay', 'first alert'],
      r.attacks.map((a) => [short(a.input), a.id, a.kind, a.detected ? 'yes' : 'NO', a.detectors.join(',') || '-',
        a.delayMs !== undefined ? `${(a.delayMs / 1000).toFixed(1)}s` : '-', a.first ? `${a.first.src} → ${a.first.dst}:${a.first.dstPort} ${a.first.explanation}`.slice(0, 100) : '-'])));
  }
  const w = s.windows;
  out.push(`\nwindows (global): precision ${num(w.precision)}  recall ${num(w.recall)}  F1 ${num(w.f1)}  (tp ${w.tp}, fp ${w.fp}, fn ${w.fn}, tn ${w.tn} of ${w.windows})\n`);
  out.push(`\nfalse alerts: ${s.falseAlerts.total} in ${num(s.falseAlerts.normalHours, 2)} h of normal time = ${num(s.falseAlerts.perDay, 2)} per day\n`);
  if (s.falseAlerts.conduits.length > 0) {
    out.push(table(['conduit', 'false alerts', 'normal h', 'per day'],
      s.falseAlerts.conduits.map((c) => [c.conduit, String(c.alerts), num(c.normalHours, 2), num(c.perDay, 2)])));
  }
  out.push('\nalerts per detector\n');
  out.push(s.detectors.length === 0 ? '  none\n' : table(['detector', 'alerts', 'near an attack', 'false'],
    s.detectors.map((d) => [d.detector, String(d.alerts), String(d.nearAttack), String(d.false)])));
  out.push(`\ntargets: every attack detected: ${yesNo(r.targets.everyAttackDetected)}${s.missed.length ? ` (${s.missed.length} missed)` : ''}; ` +
    `under 1 false alert per conduit per day: ${yesNo(r.targets.underOneFalseAlertPerConduitPerDay)} (max ${num(s.falseAlerts.maxPerConduitPerDay, 2)})\n`);
  return out.join('');
};

const delta = (c: Change, digits = 4): string =>
  `${num(c.old, digits)} → ${num(c.new, digits)}${c.delta !== null && c.delta !== 0 ? ` (${c.delta > 0 ? '+' : ''}${num(c.delta, digits)})` : ''}`;

export const renderDiff = (d: EvalDiff): string => {
  const old = d.old.file !== undefined ? `${d.old.file} (${d.old.name})` : d.old.name;
  const out: string[] = [`\ncompared with the old result ${old}: ${d.regressed ? 'REGRESSED' : 'no regression'}\n`];
  const list = (title: string, xs: string[]) => { if (xs.length) out.push(`${title}:\n${xs.map((x) => `  ${x}\n`).join('')}`); };
  list('newly detected', d.attacks.newlyDetected);
  list('newly missed', d.attacks.newlyMissed);
  list('new attacks (labels or inputs changed)', d.attacks.added);
  list('attacks gone (labels or inputs changed)', d.attacks.removed);
  out.push(`precision ${delta(d.precision)}; recall ${delta(d.recall)}; F1 ${delta(d.f1)}\n`);
  out.push(`false alerts per day ${delta(d.falseAlertsPerDay, 2)}\n`);
  if (d.conduits.length) out.push(table(['conduit', 'false alerts per day'], d.conduits.map((c) => [c.conduit, delta(c, 2)])));
  if (d.detectors.length) out.push(table(['detector', 'alerts'], d.detectors.map((c) => [c.detector, delta(c, 0)])));
  return out.join('');
};
