/**
 * Incidents: related alerts as one case. An alert joins an open incident that shares its conduit,
 * its source host or its cause (the same kind of deviation at the same target, e.g. every poller of
 * one PLC falling silent) when it comes less than `gap` after that incident's last alert and the
 * incident spans less than `maxSpan`; otherwise it opens a new incident.
 *
 * Streaming and deterministic: alerts are taken in event-time order (window start, then id) as the
 * engine closes windows, an alert that matches several open incidents joins the oldest, and
 * incidents are never merged afterwards, so an incident id handed out once (to a Kafka alert, a
 * stored row) stays true. The state is plain data (`snapshot`/`restore`), for serve's checkpoints.
 */
import { createHash } from 'node:crypto';
import { hostPort, protoName, type Alert, type Incident } from '../core/records.ts';
import { levelOf, severityRank } from './severity.ts';

export interface IncidentOptions {
  /** Longest quiet gap inside one incident, ms. */
  gapMs: number;
  /** Longest span of one incident, ms. */
  maxSpanMs: number;
}

/** An alert that has been assessed (severity.ts): the builder needs its severity, risk and class. */
export interface AssessedAlert extends Alert {
  risk: number;
  /** The alert's class (severity.ts `AlertClass`), the "cause" part of the grouping. */
  cls: string;
}

interface Open {
  incident: Incident;
  /** Creation order: the oldest of several matching incidents wins. */
  seq: number;
  /** The explanation of the most severe alert, for the summary. */
  topText: string;
  topEdge: string;
  /** Causes seen: the alert class at a target, `cause:<class>@<dst>`. */
  causes: string[];
}

export interface IncidentState {
  version: 1;
  seq: number;
  open: Open[];
}

const incidentId = (firstAlertId: string): string => `inc-${createHash('sha256').update(firstAlertId).digest('hex').slice(0, 16)}`;

const keysOf = (a: AssessedAlert): string[] => [`conduit:${a.conduit}`, `src:${a.src}`, `cause:${a.cls}@${a.dst}`];

const addSorted = (list: string[], v: string): void => {
  if (list.includes(v)) return;
  list.push(v);
  list.sort();
};

const listText = (items: readonly string[], max = 3): string =>
  items.length <= max ? items.join(', ') : `${items.slice(0, max).join(', ')} and ${items.length - max} more`;

const span = (a: number, b: number): string => {
  const t = (ms: number) => new Date(ms).toISOString().slice(11, 19);
  const d = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  return d(a) === d(b) ? `${d(a)} ${t(a)}–${t(b)}Z` : `${d(a)} ${t(a)}Z – ${d(b)} ${t(b)}Z`;
};

/** The summary a person reads first: how bad, how many, where, and the worst alert in words. */
export const summarize = (inc: Incident, topText: string, topEdge: string): string => {
  const n = inc.alerts;
  const where = inc.conduits.length === 1 ? `conduit ${inc.conduits[0]}` : `${inc.conduits.length} conduits (${listText(inc.conduits)})`;
  const from = inc.sources.length === 1 ? `from ${inc.sources[0]}` : `from ${inc.sources.length} sources (${listText(inc.sources)})`;
  return `${inc.severity}: ${n} alert${n === 1 ? '' : 's'} ${from} on ${where}, ${span(inc.firstSeen, inc.lastSeen)} ` +
    `(${inc.detectors.join(', ')}). Worst: ${topEdge}: ${topText}`;
};

const edgeText = (a: Alert): string => `${a.src} → ${hostPort(a.dst, a.dstPort)} ${a.l7 || protoName(a.proto)}`;

export class IncidentBuilder {
  private seq = 0;
  private open: Open[] = [];

  constructor(private readonly o: IncidentOptions) {}

  /**
   * Adds alerts (any order; they are sorted by window start, then id) and returns them with their
   * `incident` set, and the incidents they changed, as they now stand (sorted by id).
   */
  add(alerts: readonly AssessedAlert[]): { alerts: AssessedAlert[]; incidents: Incident[] } {
    const sorted = [...alerts].sort((a, b) => a.tsStart - b.tsStart || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const touched = new Map<string, Open>();
    const out: AssessedAlert[] = [];
    for (const a of sorted) {
      this.expire(a.tsStart);
      const keys = keysOf(a);
      let best: Open | undefined;
      for (const o of this.open) {
        if (o.incident.lastSeen < a.tsStart - this.o.gapMs) continue;
        if (a.tsEnd - o.incident.firstSeen > this.o.maxSpanMs) continue;
        const inc = o.incident;
        const match = keys.some((k) => {
          if (k.startsWith('conduit:')) return inc.conduits.includes(k.slice(8));
          if (k.startsWith('src:')) return inc.sources.includes(k.slice(4));
          return o.causes.includes(k);
        });
        if (match && (!best || o.seq < best.seq)) best = o;
      }
      if (!best) {
        best = {
          seq: this.seq++,
          incident: {
            id: incidentId(a.id), severity: a.severity ?? 'info', risk: a.risk, firstSeen: a.tsStart, lastSeen: a.tsEnd, alerts: 0,
            alertIds: [], conduits: [], sources: [], targets: [], detectors: [], topAlert: a.id, summary: '',
          },
          topText: a.explanation, topEdge: edgeText(a), causes: [],
        };
        this.open.push(best);
      }
      this.join(best, a);
      touched.set(best.incident.id, best);
      out.push({ ...a, incident: best.incident.id });
    }
    const incidents = [...touched.values()].map((o) => structuredClone(o.incident)).sort((x, y) => (x.id < y.id ? -1 : 1));
    return { alerts: out, incidents };
  }

  private join(o: Open, a: AssessedAlert): void {
    const inc = o.incident;
    inc.alerts += 1;
    inc.alertIds.push(a.id);
    inc.firstSeen = Math.min(inc.firstSeen, a.tsStart);
    inc.lastSeen = Math.max(inc.lastSeen, a.tsEnd);
    addSorted(inc.conduits, a.conduit);
    addSorted(inc.sources, a.src);
    addSorted(inc.targets, a.dst);
    addSorted(inc.detectors, a.detector);
    addSorted(o.causes, `cause:${a.cls}@${a.dst}`);
    const better = inc.alerts === 1 || a.risk > inc.risk || (a.risk === inc.risk && severityRank(a.severity) > severityRank(inc.severity));
    if (better) {
      inc.risk = a.risk;
      inc.topAlert = a.id;
      o.topText = a.explanation;
      o.topEdge = edgeText(a);
    }
    inc.severity = levelOf(inc.risk);
    inc.summary = summarize(inc, o.topText, o.topEdge);
  }

  /** Forgets incidents that can take no alert at or after `ts`. */
  private expire(ts: number): void {
    this.open = this.open.filter((o) => o.incident.lastSeen >= ts - this.o.gapMs && ts - o.incident.firstSeen <= this.o.maxSpanMs);
  }

  snapshot(): IncidentState {
    return structuredClone({ version: 1, seq: this.seq, open: this.open });
  }

  static restore(o: IncidentOptions, state: IncidentState | undefined): IncidentBuilder {
    const b = new IncidentBuilder(o);
    if (state?.version === 1) {
      b.seq = state.seq;
      b.open = structuredClone(state.open);
    }
    return b;
  }
}
