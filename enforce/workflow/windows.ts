/**
 * Maintenance windows of `site.yaml` (`maintenanceWindows`: name, start, duration, every?) as concrete
 * occurrences: when the next one opens and closes. A promotion's apply is a delayed job at the
 * opening; a window closing before the apply finished aborts it and rolls back.
 */
import type { MaintenanceWindow } from '../../core/config.ts';
import { PipelineError } from '../../core/errors.ts';
import { formatDuration } from '../../core/units.ts';

/** One opening of a maintenance window. */
export interface WindowOccurrence {
  name: string;
  /** Epoch ms. */
  opensAt: number;
  closesAt: number;
}

/** The occurrence of `w` that is open at `t` or opens next after it; undefined when none is left. */
export const occurrenceAt = (w: MaintenanceWindow, t: number): WindowOccurrence | undefined => {
  const start = Date.parse(w.start);
  if (t < start) return { name: w.name, opensAt: start, closesAt: start + w.duration };
  if (!w.every) return t < start + w.duration ? { name: w.name, opensAt: start, closesAt: start + w.duration } : undefined;
  const k = Math.floor((t - start) / w.every);
  const open = start + k * w.every;
  const at = t < open + w.duration ? open : open + w.every;
  return { name: w.name, opensAt: at, closesAt: at + w.duration };
};

/**
 * The earliest window (optionally only the one named `name`) in which an apply that needs
 * `needMs` still fits: an open window counts if at least `needMs` of it is left.
 */
export const nextWindow = (
  windows: readonly MaintenanceWindow[], now: number, o: { needMs?: number; name?: string } = {},
): WindowOccurrence | undefined => {
  const need = o.needMs ?? 0;
  let best: WindowOccurrence | undefined;
  for (const w of windows) {
    if (o.name !== undefined && w.name !== o.name) continue;
    if (w.duration < need) continue;
    let occ = occurrenceAt(w, now);
    if (occ && occ.closesAt - Math.max(now, occ.opensAt) < need) occ = occurrenceAt(w, occ.closesAt);
    if (occ && (!best || occ.opensAt < best.opensAt)) best = occ;
  }
  return best;
};

/** `nextWindow`, or a `config_invalid` error that says what site.yaml lacks. */
export const requireWindow = (
  windows: readonly MaintenanceWindow[], now: number, o: { needMs?: number; name?: string } = {},
): WindowOccurrence => {
  const w = nextWindow(windows, now, o);
  if (w) return w;
  const names = windows.map((x) => x.name);
  if (o.name !== undefined && !names.includes(o.name)) {
    throw new PipelineError('config_invalid', `No maintenance window named "${o.name}" in site.yaml; declared: ${names.join(', ') || '(none)'}.`);
  }
  throw new PipelineError('config_invalid', windows.length === 0
    ? 'site.yaml declares no maintenanceWindows; a blocking rule is applied only inside one. Add e.g. {name: weekly, start: "2026-01-04T02:00:00Z", duration: 4h, every: 7d}.'
    : `No maintenance window${o.name ? ` "${o.name}"` : ''} opens after ${new Date(now).toISOString()} with at least ${formatDuration(need(o))} free; add a later or repeating window (every: 7d).`);
};

const need = (o: { needMs?: number }): number => o.needMs ?? 0;
