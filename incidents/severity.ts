/**
 * An alert's severity: what is at stake, weighed by how sure the detector is.
 *
 * Stake is counted in points, each with its reason, so the severity explains itself:
 *
 *   what                                            points   why
 *   the detector's class (CLASS_POINTS)             1 – 3    a new talker or a scan is an intrusion's
 *                                                            first sign; a rate or cadence shift is
 *                                                            more often the process than an attacker
 *   the highest target SL of the conduit's zones    0 – 2    SL 3 → +1, SL 4 → +2 (IEC 62443-3-2 SL-T)
 *   no declared zone at either end                  −1       (broadcasts, link-local, the internet)
 *   a security-relevant operation in the window     +2       a write, program download, stop, restart
 *                                                            (the dissectors' sets, via the features)
 *   an industrial protocol on the edge (l7)         +1       the process itself is addressed
 *
 * risk = points × score (0–10, one decimal), and the level follows the risk:
 * info < 1.5 ≤ low < 2.5 ≤ medium < 3.5 ≤ high < 5.5 ≤ critical.
 *
 * The inputs are the alert, the features of its scored window (the detectors put what they saw
 * there: `security_ops`, `new_talker`, `undeclared` …) and the site; nothing here knows a
 * detector's internals, so a detector that is rewritten keeps its severities as long as it keeps
 * its feature names.
 */
import { UNKNOWN_ZONE, type SiteMap } from '../core/config.ts';
import { SEVERITIES, type Alert, type Severity } from '../core/records.ts';

/** What kind of deviation an alert is, from its detector and features. */
export type AlertClass =
  | 'scan' | 'new_talker' | 'undeclared' | 'new_edge' | 'new_service' | 'reverse_direction' | 'new_operation'
  | 'new_unit' | 'silence' | 'rate' | 'cadence' | 'size' | 'other';

export const CLASS_POINTS: Record<AlertClass, number> = {
  scan: 3, new_talker: 3, undeclared: 2, new_edge: 2, new_service: 2, reverse_direction: 2, new_operation: 2,
  new_unit: 1, silence: 2, rate: 1, cadence: 1, size: 1, other: 1,
};

const CLASS_TEXT: Record<AlertClass, string> = {
  scan: 'reconnaissance (scan)', new_talker: 'new talker', undeclared: 'undeclared conduit', new_edge: 'new edge',
  new_service: 'new service', reverse_direction: 'reverse direction', new_operation: 'new operation',
  new_unit: 'new unit id', silence: 'loss of view (silence)', rate: 'rate change', cadence: 'cadence change',
  size: 'size change', other: 'deviation',
};

/** Industrial protocols as the dissectors name them in `FlowRecord.l7`. */
export const OT_PROTOCOLS: ReadonlySet<string> = new Set([
  'modbus', 'iec104', 'dnp3', 's7comm', 's7comm-plus', 'mms', 'goose', 'enip', 'cip', 'opcua', 'bacnet',
]);

/** Level by risk: the lower bound of each level above info. */
const LEVELS: [number, Severity][] = [[5.5, 'critical'], [3.5, 'high'], [2.5, 'medium'], [1.5, 'low']];

export const levelOf = (risk: number): Severity => LEVELS.find(([min]) => risk >= min)?.[1] ?? 'info';

export const classOf = (detector: string, f: Readonly<Record<string, number>>): AlertClass => {
  switch (detector) {
    case 'scan': return 'scan';
    case 'silence': return 'silence';
    case 'rate': return 'rate';
    case 'cadence': return 'cadence';
    case 'size': return 'size';
    case 'novelty':
      if ((f.scan_new_edges ?? 0) > 0) return 'scan';
      if (f.undeclared === 1) return 'undeclared';
      if (f.new_talker === 1) return 'new_talker';
      if (f.new_service === 1) return 'new_service';
      if (f.reverse_direction === 1) return 'reverse_direction';
      if (f.new_edge === 1) return 'new_edge';
      if ((f.new_ops ?? 0) > 0) return 'new_operation';
      if ((f.new_units ?? 0) > 0) return 'new_unit';
      return 'new_edge';
    default: return 'other';
  }
};

export interface Assessment {
  severity: Severity;
  risk: number;
  reason: string;
  class: AlertClass;
}

/** The zone's target SL, or undefined for the implicit unknown zone. */
const slOf = (siteMap: SiteMap, zone: string): number | undefined =>
  zone === UNKNOWN_ZONE ? undefined : siteMap.site.zones.find((z) => z.name === zone)?.sl;

/** Severity of one alert, given the features of its scored window ({} when none was stored). */
export const assess = (alert: Alert, features: Readonly<Record<string, number>>, siteMap: SiteMap): Assessment => {
  const cls = classOf(alert.detector, features);
  const reasons: string[] = [CLASS_TEXT[cls]];
  let points = CLASS_POINTS[cls];
  // The conduit names both zones (a scan's edge has no single destination host).
  const [from, to] = alert.conduit.split('->');
  const zones = from !== undefined && to !== undefined ? [from, to] : [siteMap.zoneOf(alert.src), siteMap.zoneOf(alert.dst)];
  const sls = zones.map((z) => [z, slOf(siteMap, z)] as const).filter((x): x is readonly [string, number] => x[1] !== undefined);
  if (sls.length === 0) {
    points -= 1;
    reasons.push('no declared zone at either end');
  } else {
    const [zone, sl] = sls.reduce((a, b) => (b[1] > a[1] ? b : a));
    points += Math.max(0, sl - 2);
    reasons.push(`zone ${zone} SL ${sl}`);
  }
  if ((features.security_ops ?? 0) > 0) {
    points += 2;
    reasons.push('security-relevant operation');
  }
  if (OT_PROTOCOLS.has(alert.l7)) {
    points += 1;
    reasons.push(alert.l7);
  }
  const score = Number.isFinite(alert.score) ? Math.max(0, Math.min(1, alert.score)) : 1;
  const risk = Math.round(Math.max(0, points) * score * 10) / 10;
  return { severity: levelOf(risk), risk, reason: reasons.join('; '), class: cls };
};

/** Levels as numbers (info 0 … critical 4), for sorting. */
export const severityRank = (s: Severity | undefined): number =>
  s === undefined ? -1 : SEVERITIES.indexOf(s);
