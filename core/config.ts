/**
 * Site config (`site.yaml`): zones, conduits, production cycle, maintenance windows, detection.
 * Parsed once at the edge; nothing after this module sees raw YAML. Errors name the file, the
 * line, the field and a fix (STYLE.md §3).
 */
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, isMap, isSeq, type Node } from 'yaml';
import { z } from 'zod';
import { PipelineError } from './errors.ts';
import { cidrContains, ipToBig, parseCidr, type Cidr } from './net.ts';
import { duration } from './units.ts';
import { issueText } from './zod-text.ts';

const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'use letters, digits, "_", "-" or "." (no spaces), e.g. "plc-line3"');

const cidrText = z.string().superRefine((s, ctx) => {
  try { parseCidr(s); } catch (e) { ctx.addIssue({ code: 'custom', message: (e as Error).message }); }
});

export const Zone = z.object({
  name: name.describe('Zone name, used in conduit ids ("scada->field").'),
  sl: z.number().int().min(1).max(4).describe('Target security level SL-T, 1 to 4 (IEC 62443-3-2).'),
  cidrs: z.array(cidrText).default([]).describe('Address blocks in this zone, e.g. "10.1.2.0/24".'),
  assets: z.array(cidrText).default([]).describe('Single asset addresses in this zone, e.g. "10.1.2.7".'),
  description: z.string().default('').describe('What lives in this zone.'),
}).strict();
export type Zone = z.output<typeof Zone>;

export const Conduit = z.object({
  from: name.describe('Zone that initiates the traffic (the client side).'),
  to: name.describe('Zone that answers (the server side).'),
  description: z.string().default('').describe('What this conduit carries, e.g. "HMI polls PLCs over Modbus/TCP".'),
  steady: z.boolean().default(false).describe('The conduit\'s traffic does not follow the production cycle (steady polling, keep-alives, event-driven telemetry): its traffic is not checked against productionCycle, which then only sets how long it learns. Off, the report says when the cycle found in its traffic differs from productionCycle, or when none is found.'),
}).strict();
export type Conduit = z.output<typeof Conduit>;

export const MaintenanceWindow = z.object({
  name: z.string().describe('Window name, shown in reports.'),
  start: z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'write an ISO 8601 time, e.g. "2025-01-04T02:00:00Z"')
    .describe('First start, ISO 8601 with a zone, e.g. "2025-01-04T02:00:00Z".'),
  duration: duration.describe('How long the window stays open, e.g. "4h".'),
  every: duration.optional().describe('Repeat period, e.g. "7d" for weekly; omit for a one-off window.'),
}).strict();
export type MaintenanceWindow = z.output<typeof MaintenanceWindow>;

const portRange = z.string().transform((s, ctx): [number, number] => {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(s.trim());
  const lo = m ? Number(m[1]) : NaN;
  const hi = m ? Number(m[2] ?? m[1]) : NaN;
  if (!(lo >= 1 && hi <= 65_535 && lo <= hi)) {
    ctx.addIssue({ code: 'custom', message: `"${s}" is not a port range; write "LOW-HIGH" within 1-65535, e.g. "49152-65535", or one port` });
    return z.NEVER;
  }
  return [lo, hi];
});

export const Detection = z.object({
  window: duration.default('60s').describe('Tumbling window length: one score per conduit and edge per window.'),
  allowedLateness: duration.default('10s').describe('How far behind the newest event time a flow may arrive and still count (watermark lag).'),
  baseline: duration.optional().describe('Minimum learning time per conduit before alerts are raised (then `readiness` must be reached too); defaults to one production cycle.'),
  readiness: z.object({
    cycles: z.number().min(0).default(1).describe('Production cycles a conduit\'s baseline must cover (from its first flow) before all its findings alert.'),
    phases: z.number().min(0).max(1).default(1).describe('Share of the cycle\'s phase cells (12; fewer when a cycle holds fewer windows) that must have held traffic of the conduit: 1 = every phase of the cycle seen once.'),
  }).strict().default({}).describe('When a conduit\'s baseline is ready. Past `baseline` but not ready, only security-relevant findings (a never-seen write or program download, a burst of them) and undeclared conduits alert; undeclared conduits alert from their first window. The status and report say when each conduit became ready.'),
  alertThreshold: z.number().min(0).max(1).default(0.8).describe('A window score at or above this raises an alert.'),
  learningScores: z.boolean().default(false).describe('Also emit (and store) the detector scores of windows inside a conduit\'s baseline. They never alert (undeclared conduits alert at once either way, and their findings are always kept); off, a learning window gets only its `activity` row, with the count of novel items it learned.'),
  scoreFloor: z.number().min(0).max(1).default(0.1).describe('Detector scores below this are not emitted or stored (normal traffic); every conduit still gets one `activity` row per window with its counts and top score. 0 keeps every score.'),
  ephemeralPorts: z.array(portRange).default(['49152-65535']).describe('Port ranges of dynamic (ephemeral) services — FTP data, RPC/DCOM, S7 or Profinet, OPC Classic: a TCP or UDP server port in them is one service per host pair and l7, "tcp/ephemeral" (edge port 0) with the range seen, so a new dynamic port on a known edge is nothing new and only a new well-known port is a new service. Default the IANA dynamic range; `[]` turns it off.'),
  detectors: z.array(z.string().min(1)).optional().describe('Detectors to run, by name (the list and each one\'s settings: "Detector settings" below); default the statistical ones (cadence, novelty, rate, scan, silence, size), the learned models only when named.'),
  detectorConfig: z.record(z.string(), z.record(z.string(), z.unknown())).default({}).describe('Settings per detector, by name, e.g. `{ rate: { minWindows: 8 } }`: the same form as an eval spec\'s `detectorConfig`, so tuning found with `conduitwatch eval` deploys by copying it here. `replay`, `serve` and `eval` read it.'),
}).strict();
export type Detection = z.output<typeof Detection>;

export const EnforceAudit = z.object({
  signingKey: z.string().optional().describe('Ed25519 private key (PEM) that signs audit checkpoints; made on first use. Relative paths are from this file. Default: audit-signing-key.pem in the data directory — keep it elsewhere (another user, a TPM) in production.'),
  publicKey: z.string().optional().describe('The pinned public key `audit verify` checks checkpoints against: a PEM file or the base64 raw key it prints. Without it a log re-signed with another key is not detected.'),
  anchor: z.string().optional().describe('Witness file outside the data directory: every checkpoint is also appended there, and `audit verify` refuses a trail that no longer extends it (catches deleted tails).'),
  checkpointEvery: z.number().int().min(1).default(100).describe('A signed checkpoint at least every this many entries (and on every propose, waive, approve, apply and rollback).'),
}).strict();
export type EnforceAudit = z.output<typeof EnforceAudit>;

export const Enforce = z.object({
  minCycles: z.number().int().min(1).default(3).describe('Full production cycles a conduit\'s stored baseline must cover before a rule is proposed; an entry seen in fewer cycles is held for review.'),
  audit: EnforceAudit.default({}).describe('The tamper-evident audit trail of rule steps.'),
}).strict();
export type Enforce = z.output<typeof Enforce>;

export const Incidents = z.object({
  gap: duration.default('5m').describe('Alerts of the same conduit, source host or cause join one incident while they come less than this apart (event time); a longer quiet gap starts a new incident.'),
  maxSpan: duration.default('24h').describe('An incident takes no new alerts once it spans this long; the next related alert opens a new one (a noisy conduit does not make one endless incident).'),
}).strict();
export type Incidents = z.output<typeof Incidents>;

export const Site = z.object({
  site: name.describe('Site name, e.g. "plant-a".'),
  productionCycle: duration.describe('Length of one full production cycle (a shift, a batch, a day), e.g. "8h".'),
  zones: z.array(Zone).min(1).describe('Zones: named sets of assets with a target security level.'),
  conduits: z.array(Conduit).default([]).describe('Declared conduits. Traffic between zones with no conduit is itself an alert.'),
  maintenanceWindows: z.array(MaintenanceWindow).default([]).describe('Planned maintenance windows (when blocking rules may be applied).'),
  detection: Detection.default({}).describe('Windowing and alerting.'),
  enforce: Enforce.default({}).describe('Promote-to-block: allow-list rules, the readiness gate, the audit trail.'),
  incidents: Incidents.default({}).describe('How alerts are grouped into incidents (incidents/README.md).'),
}).strict().superRefine((s, ctx) => {
  const zones = new Set<string>();
  s.zones.forEach((z, i) => {
    if (zones.has(z.name)) ctx.addIssue({ code: 'custom', path: ['zones', i, 'name'], message: `zone "${z.name}" is declared twice; give each zone a unique name` });
    zones.add(z.name);
    if (z.cidrs.length + z.assets.length === 0) ctx.addIssue({ code: 'custom', path: ['zones', i], message: `zone "${z.name}" has no cidrs and no assets; add at least one address` });
  });
  s.conduits.forEach((c, i) => {
    for (const side of ['from', 'to'] as const) {
      if (!zones.has(c[side])) ctx.addIssue({ code: 'custom', path: ['conduits', i, side], message: `zone "${c[side]}" is not declared; declared zones: ${[...zones].join(', ')}` });
    }
  });
  if (s.detection.window > s.productionCycle) {
    ctx.addIssue({ code: 'custom', path: ['detection', 'window'], message: `window (${s.detection.window} ms) is longer than productionCycle (${s.productionCycle} ms); a window of a minute or so works well` });
  }
});
export type Site = z.output<typeof Site>;

const locate = (root: Node | null, path: (string | number)[], lc: LineCounter): number | undefined => {
  let node: unknown = root;
  let line: number | undefined;
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (p.key as { value?: unknown } | null)?.value === key);
      if (!pair) break;
      const kn = pair.key as Node;
      if (kn.range) line = lc.linePos(kn.range[0]).line;
      node = pair.value;
    } else if (isSeq(node) && typeof key === 'number') {
      node = node.items[key];
    } else break;
    const n = node as Node | null;
    if (n?.range) line = lc.linePos(n.range[0]).line;
  }
  return line;
};

/** Alias expansions a config file may use (the yaml package's own default, made explicit). */
export const MAX_YAML_ALIASES = 100;

/**
 * The config schemas of the detectors the wiring knows (name → schema), handed in so that
 * site.yaml's `detection.detectors` and `detection.detectorConfig` are checked where they are
 * written, with the line; core knows no detector.
 */
export type DetectorSchemas = Readonly<Record<string, z.ZodTypeAny>>;

export interface SiteOptions {
  detectors?: DetectorSchemas;
}

/** Problems of the detector selection in a parsed site: [path, message]. */
const detectorIssues = (d: Detection, schemas: DetectorSchemas): [(string | number)[], string][] => {
  const known = Object.keys(schemas).sort();
  const out: [(string | number)[], string][] = [];
  (d.detectors ?? []).forEach((n, i) => {
    if (!(n in schemas)) out.push([['detection', 'detectors', i], `unknown detector "${n}"; known detectors: ${known.join(', ')}`]);
  });
  for (const [n, raw] of Object.entries(d.detectorConfig)) {
    const schema = schemas[n];
    if (!schema) { out.push([['detection', 'detectorConfig', n], `settings for unknown detector "${n}"; known detectors: ${known.join(', ')}`]); continue; }
    const res = schema.safeParse(raw);
    if (!res.success) for (const iss of res.error.issues) out.push([['detection', 'detectorConfig', n, ...iss.path], issueText(iss, schema, false)]);
  }
  return out;
};

/** Validates a parsed object; `file` and `text` only sharpen the error messages. */
export const parseSite = (text: string, file = 'site.yaml', opts: SiteOptions = {}): Site => {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const line = e.linePos?.[0]?.line ?? lc.linePos(e.pos[0]).line;
    throw new PipelineError('config_invalid', `${file}:${line}: YAML syntax error: ${e.message.split('\n')[0]}. Check indentation and quoting on that line.`, { file, line });
  }
  let raw: unknown;
  try {
    // The yaml package refuses more alias expansions than this (a "billion laughs" bomb): a config error.
    raw = doc.toJS({ maxAliasCount: MAX_YAML_ALIASES });
  } catch (e) {
    throw new PipelineError('config_invalid',
      `${file}: ${(e as Error).message.split('\n')[0]} (more than ${MAX_YAML_ALIASES} alias expansions: a YAML alias bomb?). Write the repeated parts out instead of aliasing aliases.`,
      { file, limit: 'maxAliasCount' }, { cause: e });
  }
  const res = Site.safeParse(raw);
  if (res.success) {
    const bad = opts.detectors ? detectorIssues(res.data.detection, opts.detectors) : [];
    if (bad.length === 0) return res.data;
    const lines = bad.map(([path, msg]) => `${file}:${locate(doc.contents, path, lc) ?? 1}: ${path.join('.')}: ${msg}`);
    throw new PipelineError('config_invalid', `Invalid site config:\n  ${lines.join('\n  ')}`, { file, problems: lines });
  }
  const lines = res.error.issues.map((iss) => {
    const line = locate(doc.contents, iss.path, lc);
    const field = iss.path.length ? iss.path.join('.') : '(top level)';
    let msg = iss.message;
    if (iss.code === 'unrecognized_keys') msg = `unknown key(s) ${iss.keys.map((k) => `"${k}"`).join(', ')}: a typo? Allowed keys are documented in docs/config.md`;
    if (iss.code === 'invalid_type' && iss.received === 'undefined') msg = `required field is missing (expected ${iss.expected})`;
    return `${file}:${line ?? 1}: ${field}: ${msg}`;
  });
  throw new PipelineError('config_invalid', `Invalid site config:\n  ${lines.join('\n  ')}`, { file, issues: res.error.issues });
};

export const loadSite = (file: string, opts: SiteOptions = {}): Site => {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new PipelineError('config_invalid', `Cannot read site config ${file}: ${(e as NodeJS.ErrnoException).code ?? e}. Pass --site with the path of a site.yaml (examples in examples/).`, { file }, { cause: e });
  }
  return parseSite(text, file, opts);
};

/** Zone that holds no declared address. */
export const UNKNOWN_ZONE = 'unknown';

/** Resolves addresses to zones and zone pairs to conduits. Longest prefix wins. */
export class SiteMap {
  private readonly blocks: { cidr: Cidr; zone: string }[];
  private readonly declared: Set<string>;
  private readonly steady: Set<string>;
  private readonly cache = new Map<string, string>();

  constructor(readonly site: Site) {
    this.blocks = site.zones
      .flatMap((z) => [...z.cidrs, ...z.assets].map((c) => ({ cidr: parseCidr(c), zone: z.name })))
      .sort((a, b) => b.cidr.bits - a.cidr.bits);
    this.declared = new Set(site.conduits.map((c) => conduitId(c.from, c.to)));
    this.steady = new Set(site.conduits.filter((c) => c.steady).map((c) => conduitId(c.from, c.to)));
  }

  zoneOf(ip: string): string {
    let z = this.cache.get(ip);
    if (z === undefined) {
      const v = ipToBig(ip);
      z = (v && this.blocks.find((b) => cidrContains(b.cidr, v))?.zone) || UNKNOWN_ZONE;
      this.cache.set(ip, z);
    }
    return z;
  }

  conduitOf(srcIp: string, dstIp: string): string {
    return conduitId(this.zoneOf(srcIp), this.zoneOf(dstIp));
  }

  /** Declared conduits, and traffic inside one zone, are expected; anything else is undeclared. */
  isDeclared(conduit: string): boolean {
    const [from, to] = conduit.split('->');
    return this.declared.has(conduit) || (from === to && from !== UNKNOWN_ZONE);
  }

  /** Declared `steady`: traffic not expected to follow the production cycle. */
  isSteady(conduit: string): boolean {
    return this.steady.has(conduit);
  }

  /** True when `ts` falls inside a maintenance window. */
  inMaintenance(ts: number): string | undefined {
    for (const w of this.site.maintenanceWindows) {
      const start = Date.parse(w.start);
      if (ts < start) continue;
      const offset = w.every ? (ts - start) % w.every : ts - start;
      if (offset < w.duration) return w.name;
    }
    return undefined;
  }

  get baselineMs(): number {
    return this.site.detection.baseline ?? this.site.productionCycle;
  }
}

export const conduitId = (from: string, to: string): string => `${from}->${to}`;
