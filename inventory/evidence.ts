/**
 * IEC 62443 evidence for an auditor, from what one installation stored: per zone its target SL and
 * assets; per conduit what is monitored, baseline coverage in production cycles and cycle phases,
 * rule / promotion / audit state; and which IEC 62443-3-3 system requirements (SRs) the installation
 * produces evidence for, which only in part, and which not. Pure: the caller (cli/report-evidence.ts)
 * reads the store and hands the facts in; nothing here claims more than those facts show.
 *
 * SR numbers and names follow IEC 62443-3-3:2013 as transcribed in shared/RELIABILITY.md §C, which
 * notes where transcriptions disagree; this report says what conduitwatch records, not a conformity
 * verdict.
 */
import type { Site } from '../core/config.ts';
import type { AssetRole } from '../core/records.ts';
import { ROLE_LABELS } from './roles.ts';

/** One stored asset as the evidence needs it. */
export interface EvidenceAsset {
  ip: string;
  zone: string;
  role: AssetRole;
  confidence: number;
  identity: string;
  mac: string;
  firstSeen: number;
  lastSeen: number;
}

/** One conduit as the store saw it. */
export interface EvidenceConduit {
  conduit: string;
  declared: boolean;
  flows: number;
  firstSeen: number;
  lastSeen: number;
  /** Services seen (`modbus tcp/502`). */
  services: string[];
  /** Windows scored, of them while learning, and the detectors that scored. */
  windows: number;
  learningWindows: number;
  detectors: string[];
  /** Starts (epoch ms) of the windows that held traffic of the conduit, for cycles and phases. */
  windowStarts: number[];
  alerts: number;
  inventoryAlerts: number;
  /** Rule versions stored for this conduit (the `rules` table), or undefined when the table does not exist. */
  rules?: number;
  /** Audited rule steps on this conduit (propose, whatif, waive, apply, rollback …), oldest first; undefined without an audit table. */
  steps?: { action: string; result: string; actor: string; ts: number }[];
}

/** What the store holds beyond flows, windows and alerts. */
export interface EvidenceFacts {
  site: Site;
  runId: string;
  firstTs?: number;
  lastTs?: number;
  assets: EvidenceAsset[];
  conduits: EvidenceConduit[];
  /** Malformed input counted (violation code → count), from the flows. */
  violations: Record<string, number>;
  /** Tables present in the store (enforcement and audit ones appear once those are built). */
  tables: string[];
  /** Audit records and whether the chain verified (and against a pinned key), when a trail exists. */
  audit?: { records: number; verified?: boolean; keyPinned?: boolean; note?: string };
  /** Cleartext (no integrity protection) industrial protocols seen, by conduit. */
  cleartext: Record<string, string[]>;
  generatedAt: number;
}

export type SrStatus = 'evidence' | 'partial' | 'none';

export interface SrEvidence {
  sr: string;
  name: string;
  status: SrStatus;
  /** What the installation records for it, or why not. */
  detail: string;
}

export interface EvidenceReport {
  site: string;
  runId: string;
  period?: { from: number; to: number };
  generatedAt: number;
  zones: { name: string; sl: number; description: string; assets: EvidenceAsset[] }[];
  unzoned: EvidenceAsset[];
  conduits: (EvidenceConduit & {
    cyclesCovered: number; phasesSeen: number; phases: number; baseline: string; ruleState: string; promotionState: string;
  })[];
  audit: string;
  srs: SrEvidence[];
}

/** Calendar cells of a production cycle, as the detectors count them (detectors/readiness.ts PHASE_BUCKETS). */
export const PHASES = 12;

const round = (x: number, d = 2): number => Math.round(x * 10 ** d) / 10 ** d;

export const buildEvidence = (f: EvidenceFacts): EvidenceReport => {
  const cycle = f.site.productionCycle;
  const win = f.site.detection.window;
  const baselineMs = f.site.detection.baseline ?? cycle;
  const has = (t: string): boolean => f.tables.includes(t);
  const zones = f.site.zones.map((z) => ({ name: z.name, sl: z.sl, description: z.description, assets: f.assets.filter((a) => a.zone === z.name) }));
  const unzoned = f.assets.filter((a) => !f.site.zones.some((z) => z.name === a.zone));
  const conduits = f.conduits.map((c) => {
    const starts = [...new Set(c.windowStarts)];
    const phases = new Set(starts.map((t) => Math.min(PHASES - 1, Math.floor(((((t % cycle) + cycle) % cycle) / cycle) * PHASES))));
    const coveredMs = starts.length * win;
    const cyclesCovered = round(coveredMs / cycle);
    const baseline = !c.declared ? 'undeclared: not baselined as a conduit (traffic on it is itself an alert)'
      : c.windows === 0 ? 'no windows scored'
        : c.learningWindows >= c.windows ? `learning: ${round(Math.min(1, coveredMs / baselineMs) * 100, 0)}% of the ${fmtMs(baselineMs)} baseline seen`
          : c.learningWindows === 0 ? 'no baseline of its own: first seen after the site\'s baseline, so it alerts from its first window'
            : `baseline ready (learnt over ${c.learningWindows} windows)`;
    return {
      ...c, cyclesCovered, phasesSeen: phases.size, phases: PHASES, baseline,
      ruleState: ruleState(c), promotionState: promotionState(c),
    };
  });
  const audit = f.audit ? `${f.audit.records} audit records${f.audit.verified === undefined ? '' : f.audit.verified ? `, chain verified${f.audit.keyPinned ? ' against a pinned key' : ' (key not pinned)'}` : ', CHAIN DOES NOT VERIFY'}${f.audit.note ? ` (${f.audit.note})` : ''}`
    : 'no audit trail yet (no rule step was ever recorded in this data directory)';
  const enforced = conduits.filter((c) => /^blocking/.test(c.promotionState));
  const monitored = conduits.filter((c) => c.windows > 0);
  const ready = conduits.filter((c) => c.declared && c.windows > 0 && c.learningWindows < c.windows);
  const identified = f.assets.filter((a) => a.identity);
  const undeclared = conduits.filter((c) => !c.declared);
  const violations = Object.values(f.violations).reduce((s, n) => s + n, 0);
  const cleartext = Object.entries(f.cleartext).filter(([, l]) => l.length > 0);
  const srs: SrEvidence[] = [
    { sr: 'SR 6.2', name: 'Continuous monitoring', status: monitored.length ? 'evidence' : 'none',
      detail: monitored.length ? `${monitored.length} conduit(s) scored window by window (${monitored.reduce((s, c) => s + c.windows, 0)} windows), ${ready.length} with a ready baseline; alerts: ${conduits.reduce((s, c) => s + c.alerts, 0)}` : 'no scored windows in this run' },
    { sr: 'SR 7.8', name: 'Control system component inventory', status: f.assets.length ? (identified.length ? 'evidence' : 'partial') : 'none',
      detail: f.assets.length ? `${f.assets.length} assets with role, first/last seen and MAC from passive observation; ${identified.length} with a device identity from the traffic${identified.length ? '' : ' (none revealed one)'}` : 'no inventory rows in this run' },
    { sr: 'SR 5.1', name: 'Network segmentation', status: f.site.zones.length > 1 ? 'partial' : 'none',
      detail: `${f.site.zones.length} zones declared with SL-T; observed traffic checked against them (${undeclared.length} undeclared conduit(s)${undeclared.length ? `: ${undeclared.map((c) => c.conduit).join(', ')}` : ''}); physical or logical separation itself is not observable from flows` },
    { sr: 'SR 5.2', name: 'Zone boundary protection', status: enforced.length ? 'partial' : 'none',
      detail: enforced.length ? `deny-by-default allow-list rules applied on ${enforced.map((c) => c.conduit).join(', ')}; the other conduits are monitored only`
        : has('rules') ? 'rules may be proposed, but none is applied: boundary protection is not enforced by this installation'
          : 'no rules yet: boundary protection (deny by default, allow by exception) is not enforced by this installation' },
    { sr: 'SR 2.8', name: 'Auditable events', status: f.audit && f.audit.records > 0 ? 'evidence' : 'none', detail: f.audit ? `rule steps recorded: ${audit}` : 'no audit trail yet' },
    { sr: 'SR 3.9', name: 'Protection of audit information', status: f.audit?.verified ? (f.audit.keyPinned ? 'evidence' : 'partial') : 'none',
      detail: f.audit?.verified ? `hash chain with signed checkpoints verified${f.audit.keyPinned ? ' against a pinned public key' : '; the key was read from the data directory itself, so pin it (enforce.audit.publicKey)'}` : f.audit ? 'the audit chain does not verify: run conduitwatch audit verify' : 'no audit trail yet' },
    { sr: 'SR 6.1', name: 'Audit log accessibility', status: f.audit ? 'partial' : 'none', detail: f.audit ? 'audit records readable with conduitwatch sql' : 'no audit trail yet' },
    { sr: 'SR 2.11', name: 'Timestamps', status: 'partial', detail: 'every record carries UTC event time from the capture or exporter; time-source integrity and sync offsets are not monitored' },
    { sr: 'SR 3.5', name: 'Input validation', status: 'evidence', detail: `parsers count malformed input instead of failing: ${violations} violation(s) in this run${violations ? ` (${Object.entries(f.violations).sort((a, b) => b[1] - a[1]).slice(0, 5).map(([k, n]) => `${k} ${n}`).join(', ')})` : ''}` },
    { sr: 'SR 3.1', name: 'Communication integrity', status: cleartext.length ? 'partial' : 'none',
      detail: cleartext.length ? `observed, not provided: conduits carrying industrial protocols without integrity protection: ${cleartext.map(([c, l]) => `${c} (${l.join(', ')})`).join('; ')}` : 'no observation of protocol integrity in this run' },
    { sr: 'SR 1.1', name: 'Human user identification and authentication', status: has('accounts') ? 'partial' : 'none', detail: has('accounts') ? 'accounts table present' : 'no accounts yet (the approval workflow and its accounts are not built in this installation)' },
    { sr: 'SR 2.1', name: 'Authorization enforcement', status: has('accounts') ? 'partial' : 'none', detail: has('accounts') ? 'roles recorded with accounts' : 'no roles / RBAC yet' },
    { sr: 'SR 2.12', name: 'Non-repudiation', status: 'none', detail: 'no signed approvals yet' },
    { sr: 'SR 7.1', name: 'Denial-of-service protection', status: 'none', detail: 'load shedding is tested in the project, but this report has no record of it for this installation' },
    { sr: 'SR 7.6', name: 'Network and security configuration settings', status: 'partial', detail: `the site configuration (zones, conduits, SL-T) is machine-readable: site.yaml "${f.site.site}"` },
  ];
  return {
    site: f.site.site, runId: f.runId,
    ...(f.firstTs !== undefined && f.lastTs !== undefined ? { period: { from: f.firstTs, to: f.lastTs } } : {}),
    generatedAt: f.generatedAt, zones, unzoned, conduits, audit, srs,
  };
};

const PROMOTION = new Set(['apply', 'confirm', 'rollback', 'restore']);

const ruleState = (c: EvidenceConduit): string => {
  if (c.rules === undefined && c.steps === undefined) return 'no rules yet (rules are not built in this installation)';
  const steps = (c.steps ?? []).filter((s) => !PROMOTION.has(s.action));
  const last = steps.at(-1);
  if (!c.rules && !last) return 'no rule proposed';
  return `${c.rules ?? 0} rule version(s)${last ? `; last step ${last.action} ${last.result} by ${last.actor} at ${iso(last.ts)}` : ''}`;
};

const promotionState = (c: EvidenceConduit): string => {
  const last = (c.steps ?? []).filter((s) => PROMOTION.has(s.action) && s.result === 'ok').at(-1);
  if (!last) return c.steps === undefined && c.rules === undefined ? 'no promotions yet' : 'not promoted (monitoring only)';
  return last.action === 'rollback' || last.action === 'restore' ? `rolled back at ${iso(last.ts)} by ${last.actor}: monitoring only` : `blocking since ${iso(last.ts)} (${last.action} by ${last.actor})`;
};

const fmtMs = (ms: number): string => (ms % 3_600_000 === 0 ? `${ms / 3_600_000} h` : ms % 60_000 === 0 ? `${ms / 60_000} min` : `${ms / 1000} s`);
const iso = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

const STATUS: Record<SrStatus, string> = { evidence: 'evidence', partial: 'partial', none: 'no evidence' };

/** The report as Markdown, for an auditor. */
export const renderEvidenceMd = (r: EvidenceReport): string => {
  const out: string[] = [
    `# IEC 62443 evidence — site ${r.site}`, '',
    `Run \`${r.runId}\`${r.period ? `, traffic ${iso(r.period.from)} → ${iso(r.period.to)}` : ''}; generated ${iso(r.generatedAt)} by conduitwatch from its store.`,
    'It states what this installation recorded; it is not a conformity assessment.', '',
    '## Zones', '',
    '| zone | SL-T | assets | description |', '|---|---|---|---|',
  ];
  for (const z of r.zones) {
    out.push(`| ${z.name} | ${z.sl} | ${z.assets.length ? z.assets.map((a) => `${a.ip} (${ROLE_LABELS[a.role]}${a.identity ? `; ${cell(a.identity)}` : ''})`).join('<br>') : '—'} | ${cell(z.description)} |`);
  }
  if (r.unzoned.length) out.push('', `Assets in no zone: ${r.unzoned.map((a) => `${a.ip} (${ROLE_LABELS[a.role]})`).join(', ')}.`);
  out.push('', '## Conduits', '', '| conduit | declared | monitored | services | baseline | cycles covered | phases seen | alerts | rules | promotions |',
    '|---|---|---|---|---|---|---|---|---|---|');
  for (const c of r.conduits) {
    out.push(`| ${c.conduit} | ${c.declared ? 'yes' : 'no'} | ${c.windows} windows (${c.detectors.join(', ') || '—'}) | ${cell(c.services.join(', '))} | ${cell(c.baseline)} | ${c.cyclesCovered} | ${c.phasesSeen}/${c.phases} | ${c.alerts}${c.inventoryAlerts ? ` (+${c.inventoryAlerts} inventory)` : ''} | ${cell(c.ruleState)} | ${cell(c.promotionState)} |`);
  }
  out.push('', `Audit trail: ${r.audit}.`, '', '## IEC 62443-3-3 system requirements', '', '| SR | requirement | status | what this installation records |', '|---|---|---|---|');
  for (const s of r.srs) out.push(`| ${s.sr} | ${s.name} | ${STATUS[s.status]} | ${cell(s.detail)} |`);
  out.push('', 'SR names and numbers after IEC 62443-3-3:2013 (secondary transcriptions; confirm against the standard before an SL-C claim).', '');
  return out.join('\n');
};
