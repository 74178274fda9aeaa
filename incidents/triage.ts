/**
 * Triage: what the wiring applies to every batch the detection engine returns, in replay and in
 * serve's detector role alike — each alert gets its severity (severity.ts) from the features of its
 * own scored window, then joins an incident (incidents.ts).
 */
import type { SiteMap } from '../core/config.ts';
import { edgeId, type Alert, type Incident, type WindowScore } from '../core/records.ts';
import { IncidentBuilder, type AssessedAlert, type IncidentState } from './incidents.ts';
import { assess } from './severity.ts';

export interface TriagedBatch {
  /** The batch's alerts with severity, risk, severityReason and incident set (event-time order). */
  alerts: Alert[];
  /** The incidents those alerts opened or joined, as they now stand. */
  incidents: Incident[];
}

const windowKey = (conduit: string, edge: string, detector: string, windowStart: number): string =>
  `${conduit}\n${edge}\n${detector}\n${windowStart}`;

export class Triage {
  private constructor(private readonly siteMap: SiteMap, private readonly builder: IncidentBuilder) {}

  static create(siteMap: SiteMap, state?: IncidentState): Triage {
    const { gap, maxSpan } = siteMap.site.incidents;
    return new Triage(siteMap, IncidentBuilder.restore({ gapMs: gap, maxSpanMs: maxSpan }, state));
  }

  apply(batch: { scores: readonly WindowScore[]; alerts: readonly Alert[] }): TriagedBatch {
    if (batch.alerts.length === 0) return { alerts: [], incidents: [] };
    const features = new Map<string, Record<string, number>>();
    for (const s of batch.scores) if (s.edge) features.set(windowKey(s.conduit, s.edge, s.detector, s.windowStart), s.features);
    const assessed: AssessedAlert[] = batch.alerts.map((a) => {
      const f = features.get(windowKey(a.conduit, edgeId(a), a.detector, a.tsStart)) ?? {};
      const r = assess(a, f, this.siteMap);
      return { ...a, severity: r.severity, risk: r.risk, severityReason: r.reason, cls: r.class };
    });
    const { alerts, incidents } = this.builder.add(assessed);
    return { alerts: alerts.map(({ cls: _cls, ...a }) => a), incidents };
  }

  snapshot(): IncidentState {
    return this.builder.snapshot();
  }
}
