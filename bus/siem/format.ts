/**
 * Alerts as a SIEM reads them: RFC 5424 syslog with the fields in structured data, or ArcSight
 * CEF (Common Event Format, rev 25) carried as the syslog message.
 *
 * RFC 5424 §6:  <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD-ID PARAM="v" …] BOM MSG
 *   PRI = facility × 8 + severity; TIMESTAMP = the alert's event time (RFC 3339, ms, UTC);
 *   MSGID = the detector; SD-ID `conduitwatch@<enterprise>` (default 32473, the documentation
 *   number of RFC 5612, until the project has its own); PARAM-VALUE escapes `"`, `\` and `]`
 *   (§6.3.3); MSG = the explanation, UTF-8 after a BOM (§6.4).
 * CEF:  CEF:0|Vendor|Product|Version|SignatureID|Name|Severity|key=value …
 *   header fields escape `\` and `|`; extension values escape `\`, `=`, CR/LF; Severity 0–10.
 *
 * Severity is the alert's own (incidents/severity.ts: what is at stake times the score, set before
 * the alert is published), with its risk, reason and incident id beside it. An alert without one
 * (published before severities existed) gets it from the score, as dashboards/common.ts does:
 * critical ≥ 0.99, high ≥ 0.9, else medium.
 */
import { hostname as osHostname } from 'node:os';
import type { Alert } from '../../core/records.ts';
import { protoName } from '../../core/records.ts';

export type Severity = 'critical' | 'high' | 'medium' | 'low' | 'info';

/** The severity of an alert that carries none, from its score alone. */
export const severityOf = (score: number): Severity => (score >= 0.99 ? 'critical' : score >= 0.9 ? 'high' : 'medium');

/** The alert's severity: its own, else from the score. */
export const alertSeverity = (a: Alert): Severity => a.severity ?? severityOf(a.score);

/** RFC 5424 severities (§6.2.1): crit 2, err 3, warning 4, notice 5, informational 6. */
const SYSLOG_SEVERITY: Record<Severity, number> = { critical: 2, high: 3, medium: 4, low: 5, info: 6 };
/** CEF severity 0–10. */
const CEF_SEVERITY: Record<Severity, number> = { critical: 10, high: 8, medium: 5, low: 3, info: 1 };

/** RFC 5424 facility codes by name (§6.2.1). */
export const FACILITIES = {
  kern: 0, user: 1, daemon: 3, auth: 4, syslog: 5, authpriv: 10, local0: 16, local1: 17, local2: 18, local3: 19,
  local4: 20, local5: 21, local6: 22, local7: 23,
} as const;
export type Facility = keyof typeof FACILITIES;

export interface FormatOptions {
  facility: Facility;
  /** HOSTNAME field; default the machine's name. */
  hostname?: string;
  appName: string;
  /** Private enterprise number in the SD-ID. */
  enterprise: number;
  /** PROCID; default this process id. */
  procId?: string;
  version: string;
}

/** PRINTUSASCII without spaces, at most `max` characters; '-' when empty (§6). */
const headerField = (s: string, max: number): string => {
  const clean = s.replace(/[^\x21-\x7e]/g, '').slice(0, max);
  return clean || '-';
};

const sdValue = (v: string | number): string => String(v).replace(/[\\"\]]/g, (c) => `\\${c}`);

const iso = (ms: number): string => new Date(Math.floor(ms)).toISOString();

/** The fields a SOC maps, in one order for both formats. */
export const alertFields = (a: Alert) => ({
  id: a.id,
  severity: alertSeverity(a),
  conduit: a.conduit,
  src: a.src,
  dst: a.dst,
  dstPort: a.dstPort,
  proto: protoName(a.proto),
  l7: a.l7,
  detector: a.detector,
  score: Math.round(a.score * 1000) / 1000,
  start: iso(a.tsStart),
  end: iso(a.tsEnd),
  // Triage's fields, when the alert carries them.
  ...(a.risk !== undefined ? { risk: a.risk } : {}),
  ...(a.incident ? { incident: a.incident } : {}),
  ...(a.severityReason ? { severityReason: a.severityReason } : {}),
  explanation: a.explanation,
});

const header = (a: Alert, o: FormatOptions): string => {
  const pri = FACILITIES[o.facility] * 8 + SYSLOG_SEVERITY[alertSeverity(a)];
  return `<${pri}>1 ${iso(a.tsStart)} ${headerField(o.hostname ?? osHostname(), 255)} ${headerField(o.appName, 48)} ` +
    `${headerField(o.procId ?? String(process.pid), 128)} ${headerField(a.detector, 32)}`;
};

/** One alert as an RFC 5424 message (no transport framing). */
export const rfc5424 = (a: Alert, o: FormatOptions): Buffer => {
  const f = alertFields(a);
  const params = Object.entries(f).filter(([k]) => k !== 'explanation').map(([k, v]) => `${k}="${sdValue(v)}"`).join(' ');
  const head = `${header(a, o)} [conduitwatch@${o.enterprise} ${params}] `;
  return Buffer.concat([Buffer.from(head, 'utf8'), Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(f.explanation, 'utf8')]);
};

const cefHeader = (s: string): string => s.replace(/[\\|]/g, (c) => `\\${c}`).replace(/[\r\n]+/g, ' ');
const cefValue = (s: string | number): string => String(s).replace(/[\\=]/g, (c) => `\\${c}`).replace(/\r?\n|\r/g, '\\n');

/** One alert as CEF, inside an RFC 5424 message without structured data. */
export const cef = (a: Alert, o: FormatOptions): Buffer => {
  const f = alertFields(a);
  const ext: [string, string | number][] = [
    ['rt', Math.floor(a.tsStart)], ['start', Math.floor(a.tsStart)], ['end', Math.floor(a.tsEnd)],
    ['src', f.src], ['dst', f.dst], ['dpt', f.dstPort], ['proto', f.proto.toUpperCase()], ['app', f.l7 || f.proto],
    ['cat', f.detector], ['externalId', f.id],
    ['cs1Label', 'conduit'], ['cs1', f.conduit], ['cs2Label', 'detector'], ['cs2', f.detector],
    ['cs3Label', 'severity'], ['cs3', f.severity], ['cfp1Label', 'score'], ['cfp1', f.score],
    ...(f.risk !== undefined ? [['cfp2Label', 'risk'], ['cfp2', f.risk]] as [string, number | string][] : []),
    ...(f.incident ? [['cs4Label', 'incident'], ['cs4', f.incident]] as [string, string][] : []),
    ...(f.severityReason ? [['cs5Label', 'severityReason'], ['cs5', f.severityReason]] as [string, string][] : []),
    ['msg', f.explanation],
  ];
  const body = `CEF:0|${cefHeader(o.appName)}|${cefHeader(o.appName)}|${cefHeader(o.version)}|${cefHeader(f.detector)}|` +
    `${cefHeader(`${f.detector} alert on ${f.conduit}`)}|${CEF_SEVERITY[f.severity]}|` +
    ext.map(([k, v]) => `${k}=${cefValue(v)}`).join(' ');
  return Buffer.from(`${header(a, o)} - ${body}`, 'utf8');
};
