/**
 * What serve says when it stops (SIGINT/SIGTERM, or a file-fed collector done): per role in this
 * process, what it did, read from the same counters /metrics exports.
 */
import type { Metrics } from '../../core/telemetry.ts';
import { formatDuration } from '../../core/units.ts';
import { TOPICS } from '../../bus/bus.ts';
import { TABLES } from '../../store/schema.ts';

const n = (x: number): string => Math.round(x).toLocaleString('en-US');

export interface ServeFigures {
  uptimeMs: number;
  collector?: { published: number; spooled: number; spoolDropped: number; received?: number };
  detector?: { flows: number; scores: number; alerts: number; incidentUpdates: number; deadLetters: number };
  sink?: { flows: number; windows: number; alerts: number; incidents: number; unwritten: number };
  siem?: { sent: number };
}

/** The figures of the roles that ran here, from the process's counters. */
export const serveFigures = (m: Metrics, roles: { collector: boolean; udp: boolean; detector: boolean; sink: boolean; siem: boolean }, uptimeMs: number): ServeFigures => {
  const sent = (table: string) => m.get('conduitwatch_component_sent_records_total', { component_kind: 'sink', component_id: table });
  return {
    uptimeMs,
    ...(roles.collector ? {
      collector: {
        published: m.get('conduitwatch_bus_published_records_total', { topic: TOPICS.flows }),
        spooled: m.get('conduitwatch_spool_appended_records_total'), spoolDropped: m.get('conduitwatch_spool_dropped_records_total'),
        ...(roles.udp ? { received: m.get('conduitwatch_netflow_records_total') } : {}),
      },
    } : {}),
    ...(roles.detector ? {
      detector: {
        flows: m.get('conduitwatch_component_received_records_total', { component_kind: 'detector' }), scores: m.get('conduitwatch_detector_scores_total'),
        alerts: m.get('conduitwatch_detector_alerts_total'), incidentUpdates: m.get('conduitwatch_detector_incident_updates_total'),
        deadLetters: m.get('conduitwatch_bus_deadletters_total'),
      },
    } : {}),
    ...(roles.sink ? {
      sink: {
        flows: sent(TABLES.flows), windows: sent(TABLES.windows), alerts: sent(TABLES.alerts), incidents: sent(TABLES.incidents),
        unwritten: m.get('conduitwatch_sink_unwritten_rows_total'),
      },
    } : {}),
    // The SIEM sender counts under its format (bus/siem/sender.ts).
    ...(roles.siem ? { siem: { sent: sent('rfc5424') + sent('cef') } } : {}),
  };
};

/** One sentence: "Stopped after 1m12s: collector …; detector …; sink …." */
export const summaryText = (f: ServeFigures): string => {
  const parts: string[] = [];
  if (f.collector) {
    const c = f.collector;
    parts.push(`collector ${c.received !== undefined ? `received ${n(c.received)} flow records, ` : ''}published ${n(c.published)} flows` +
      (c.spooled ? ` (${n(c.spooled)} through the spool${c.spoolDropped ? `, ${n(c.spoolDropped)} dropped from it` : ''})` : ''));
  }
  if (f.detector) {
    const d = f.detector;
    parts.push(`detector scored ${n(d.flows)} flows: ${n(d.scores)} scores, ${n(d.alerts)} alerts, ${n(d.incidentUpdates)} incident updates` +
      (d.deadLetters ? `, ${n(d.deadLetters)} undecodable messages dead-lettered` : ''));
  }
  if (f.sink) {
    const s = f.sink;
    parts.push(`sink wrote ${n(s.flows)} flows, ${n(s.windows)} windows, ${n(s.alerts)} alerts, ${n(s.incidents)} incident versions` +
      (s.unwritten ? `; ${n(s.unwritten)} rows left on the bus for the next sink` : ''));
  }
  if (f.siem) parts.push(`SIEM sent ${n(f.siem.sent)} alerts`);
  return `Stopped after ${formatDuration(Math.max(1000, Math.round(f.uptimeMs / 1000) * 1000))}: ${parts.join('; ') || 'no role ran'}.`;
};
