/**
 * Each edge's last windows of features (log1p), kept per conduit: what the forecast reads, built
 * the same way in training and in scoring. A window without traffic on a known edge counts as
 * zeros; windows the engine skipped (no traffic anywhere) are filled with zeros too, so the
 * history is always the last `history` windows of event time. An edge silent for `history`
 * windows is forgotten (novelty and silence judge it from then on).
 *
 * Only edges with a cadence are judged: traffic in at least half of the last `history` windows
 * (`past` is undefined otherwise). A sporadic edge (a DHCP solicit now and then) has no next
 * window to forecast; novelty, rate and silence judge it.
 */
import { byString } from '../detectors/detector.ts';
import { EDGE_FEATURES, edgeRaw, logOf, type WindowView } from './features.ts';

export interface EdgeStep {
  edge: string;
  /** The last `history` windows before this one, oldest first; undefined while fewer are known. */
  past: number[][] | undefined;
  /** This window's log features, and its raw values. */
  now: number[];
  raw: number[];
}

/** Plain-data history of one conduit: last window start and each edge's windows. */
export interface HistoryJSON {
  last: number | null;
  edges: [string, number[][]][];
}

const zero = (): number[] => new Array<number>(EDGE_FEATURES.length).fill(0);
const isZero = (v: readonly number[]): boolean => v.every((x) => x === 0);

export class EdgeHistory {
  private last: number | null = null;
  private edges = new Map<string, number[][]>();

  constructor(private readonly history: number, private readonly windowMs: number) {}

  /** The steps of a window (edges sorted by id), then records it. */
  step(w: WindowView): EdgeStep[] {
    if (this.last !== null && w.windowStart > this.last + this.windowMs) {
      const gap = Math.min(this.history, Math.round((w.windowStart - this.last) / this.windowMs) - 1);
      for (const h of this.edges.values()) for (let i = 0; i < gap; i += 1) h.push(zero());
      this.trim();
    }
    this.last = w.windowStart;
    const seen = new Map(w.edges.map((e) => [e.edge, e]));
    const ids = [...new Set([...this.edges.keys(), ...seen.keys()])].sort(byString);
    const out: EdgeStep[] = [];
    for (const id of ids) {
      const raw = edgeRaw(seen.get(id));
      const now = logOf(raw);
      const h = this.edges.get(id);
      const past = h && h.length >= this.history ? h.slice(-this.history) : undefined;
      const regular = past !== undefined && past.filter((v) => !isZero(v)).length * 2 >= this.history;
      out.push({ edge: id, past: regular ? past : undefined, now, raw });
      if (h) h.push(now);
      else this.edges.set(id, [now]);
    }
    this.trim();
    return out;
  }

  /**
   * Replaces what was just recorded for `edge` (this window) by `v`: a window judged anomalous is
   * remembered as its forecast, so one anomaly does not make the next normal window look
   * anomalous, and a lasting deviation keeps being judged against the learned cadence.
   */
  replaceLast(edge: string, v: readonly number[]): void {
    const h = this.edges.get(edge);
    if (h && h.length > 0) h[h.length - 1] = [...v];
  }

  private trim(): void {
    for (const [id, h] of this.edges) {
      if (h.length > this.history) h.splice(0, h.length - this.history);
      if (h.length >= this.history && h.every(isZero)) this.edges.delete(id);
    }
  }

  get size(): number {
    return this.edges.size;
  }

  toJSON(): HistoryJSON {
    return { last: this.last, edges: [...this.edges].map(([id, h]) => [id, h.map((v) => [...v])]) };
  }

  static fromJSON(j: HistoryJSON, history: number, windowMs: number): EdgeHistory {
    const e = new EdgeHistory(history, windowMs);
    e.last = j.last;
    e.edges = new Map(j.edges.map(([id, h]) => [id, h.map((v) => [...v])]));
    return e;
  }
}
