/**
 * A suggested site from what was observed: zones by role and communication, conduits between them
 * with the services seen, a target SL by role, and a draft `site.yaml` whose comments say why each
 * zone and conduit is there. The draft is what `parseSite` accepts and `replay` runs on unchanged.
 *
 * Zones (IEC 62443-3-2 ZCR 3: group by function and criticality):
 *
 *   field        PLCs / RTUs (answer OT requests)                SL-T 3  the process itself
 *   control      HMI / SCADA masters (poll the field)            SL-T 2  supervisory
 *   operations   historians (read the field, serve the IT side)  SL-T 2
 *   engineering  engineering workstations (program the field)    SL-T 3  can change what the PLCs do
 *   other        addresses with no OT role                       SL-T 1
 *
 * Field devices polled by different masters that share none of them form separate cells
 * (`field-1`, `field-2` …). Every zone lists exact addresses (not CIDRs), so a newcomer on the same
 * subnet lands in no zone and its traffic is an undeclared conduit.
 *
 * Conduits: every zone pair whose traffic carries an industrial protocol the server answered.
 * Inter-zone traffic with no industrial protocol is listed in comments, not proposed: declare it
 * only if it belongs there. A conduit's SL suggestion is the higher of its zones'.
 *
 * A capture with no industrial traffic gives one zone holding every address, and a note.
 */
import type { Asset, AssetRole } from '../core/records.ts';
import { protoName } from '../core/records.ts';
import { isAssetAddress, type Communication } from './inventory.ts';
import { ROLE_LABELS } from './roles.ts';

export interface SuggestedZone {
  name: string;
  sl: number;
  assets: string[];
  description: string;
  /** Why the zone is there and why its SL. */
  why: string[];
}

export interface SuggestedConduit {
  from: string;
  to: string;
  /** Services seen: `modbus tcp/502: read_coils 120, write_single_coil 2`. */
  services: string[];
  flows: number;
  /** The higher of its zones' SL-T. */
  sl: number;
  description: string;
  why: string[];
}

export interface Suggestion {
  site: string;
  productionCycleMs: number;
  windowMs: number;
  zones: SuggestedZone[];
  conduits: SuggestedConduit[];
  /** Inter-zone traffic seen but not proposed as a conduit. */
  notProposed: SuggestedConduit[];
  notes: string[];
}

interface ZoneKind { base: string; sl: number; what: string; slWhy: string }

const KINDS: Record<AssetRole, ZoneKind> = {
  plc_rtu: { base: 'field', sl: 3, what: 'PLCs / RTUs that answer industrial-protocol requests', slWhy: 'SL-T 3: the devices that run the process; a compromise acts on the plant directly' },
  hmi_scada: { base: 'control', sl: 2, what: 'HMI / SCADA masters that poll the field devices', slWhy: 'SL-T 2: supervisory stations; they command the field but do not hold its program' },
  historian: { base: 'operations', sl: 2, what: 'historians that read the field and serve the IT side', slWhy: 'SL-T 2: read-mostly, but a bridge towards IT networks' },
  engineering: { base: 'engineering', sl: 3, what: 'engineering workstations that program or reconfigure the field', slWhy: 'SL-T 3: they can change what the PLCs do (download, stop, reset)' },
  unknown: { base: 'other', sl: 1, what: 'addresses with no industrial-protocol role', slWhy: 'SL-T 1: nothing seen that controls the process; raise it if these hosts matter' },
};

const NICE = [10, 15, 20, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600, 7200, 14_400, 28_800, 43_200, 86_400].map((s) => s * 1000);

/** The largest "nice" duration ≤ `ms` (the smallest one when `ms` is below it). */
export const niceDuration = (ms: number): number => NICE.filter((n) => n <= ms).at(-1) ?? NICE[0]!;

/** Duration text as site.yaml takes it: `10s`, `2m`, `4h`, `1d`. */
export const durationText = (ms: number): string => {
  const s = Math.round(ms / 1000);
  if (s % 86_400 === 0) return `${s / 86_400}d`;
  if (s % 3600 === 0) return `${s / 3600}h`;
  if (s % 60 === 0) return `${s / 60}m`;
  return `${s}s`;
};

/** A site or zone name from free text: letters, digits, '_', '-', '.'; starting with a letter or digit. */
export const siteName = (text: string): string => {
  const s = text.replace(/\.(pcapng|pcap|csv|log|gz|json)$/gi, '').replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '');
  return s.slice(0, 60) || 'site';
};

const byIp = (a: string, b: string): number => a.localeCompare(b, 'en', { numeric: true });

export interface SuggestOptions {
  /** Site name (default `observed`). */
  name?: string;
  /** Event-time span observed, ms (for the production cycle). */
  spanMs?: number;
}

export const suggestSite = (assets: readonly Asset[], comms: readonly Communication[], opts: SuggestOptions = {}): Suggestion => {
  const notes: string[] = [];
  const real = assets.filter((a) => isAssetAddress(a.ip));
  const roleOf = new Map(real.map((a) => [a.ip, a]));
  const otComms = comms.filter((c) => c.l7 && c.answered && Object.keys(c.ops).length > 0);
  const windowMs = suggestWindow(otComms);
  const spanMs = opts.spanMs ?? 0;
  const productionCycleMs = niceDuration(Math.max(12 * windowMs, Math.min(spanMs / 3, 8 * 3600_000)));
  notes.push(`productionCycle ${durationText(productionCycleMs)} is a guess from ${spanMs > 0 ? `${durationText(niceDuration(spanMs))} or so of traffic` : 'no traffic'}: set it to the plant's real cycle (a shift, a batch, a day); learning lasts one cycle.`);

  const zoneOf = new Map<string, string>();
  const zones: SuggestedZone[] = [];
  if (otComms.length === 0 || real.every((a) => a.role === 'unknown')) {
    const all = real.map((a) => a.ip).sort(byIp);
    notes.push('No industrial-protocol traffic was seen: every address is in one zone. Split it by hand once you know which hosts control the process.');
    zones.push({
      name: 'observed', sl: 1, assets: all.length ? all : ['0.0.0.0'],
      description: 'Every address seen (no industrial protocol was identified).',
      why: all.length ? [`${all.length} addresses, none speaking an industrial protocol this tool reads`] : ['no traffic at all: replace 0.0.0.0 with your addresses'],
    });
    for (const ip of all) zoneOf.set(ip, 'observed');
    return { site: siteName(opts.name ?? 'observed'), productionCycleMs, windowMs, zones, conduits: [], notProposed: [], notes };
  }

  // Field cells: outstations joined by the masters that poll them (union-find over master → outstation).
  const parent = new Map<string, string>();
  const find = (x: string): string => { let r = x; while (parent.get(r) !== r) r = parent.get(r)!; parent.set(x, r); return r; };
  const field = real.filter((a) => a.role === 'plc_rtu').map((a) => a.ip);
  for (const ip of field) parent.set(ip, ip);
  const mastersOf = new Map<string, Set<string>>();
  for (const c of otComms) {
    const client = roleOf.get(c.client);
    if (!client || client.role === 'plc_rtu' || !parent.has(c.server)) continue;
    let s = mastersOf.get(c.client);
    if (!s) mastersOf.set(c.client, (s = new Set()));
    s.add(c.server);
  }
  for (const servers of mastersOf.values()) {
    const [first, ...rest] = [...servers].sort(byIp);
    for (const r of rest) parent.set(find(r), find(first!));
  }
  const cells = new Map<string, string[]>();
  for (const ip of field) {
    const r = find(ip);
    const l = cells.get(r) ?? [];
    l.push(ip);
    cells.set(r, l);
  }
  const cellList = [...cells.values()].map((l) => l.sort(byIp)).sort((a, b) => byIp(a[0]!, b[0]!));

  const add = (name: string, kind: ZoneKind, ips: string[], extra: string[] = []): void => {
    if (ips.length === 0) return;
    const members = ips.map((ip) => roleOf.get(ip)!);
    const conf = members.map((a) => a.confidence);
    zones.push({
      name, sl: kind.sl, assets: ips, description: `${kind.what[0]!.toUpperCase()}${kind.what.slice(1)} (${ips.length}).`,
      why: [
        `${ips.length} asset${ips.length > 1 ? 's' : ''} whose traffic says ${ROLE_LABELS[members[0]!.role]} (confidence ${Math.min(...conf) === Math.max(...conf) ? Math.min(...conf) : `${Math.min(...conf)}–${Math.max(...conf)}`})`,
        ...extra, kind.slWhy,
      ],
    });
    for (const ip of ips) zoneOf.set(ip, name);
  };
  cellList.forEach((ips, i) => {
    const masters = [...mastersOf].filter(([, s]) => ips.some((ip) => s.has(ip))).map(([m]) => m).sort(byIp);
    add(cellList.length > 1 ? `field-${i + 1}` : 'field', KINDS.plc_rtu, ips,
      masters.length ? [`polled by ${masters.join(', ')}${cellList.length > 1 ? '; devices of other cells share none of these masters' : ''}`] : ['polled by no master seen']);
  });
  for (const role of ['hmi_scada', 'historian', 'engineering', 'unknown'] as const) {
    add(KINDS[role].base, KINDS[role], real.filter((a) => a.role === role).map((a) => a.ip).sort(byIp));
  }

  // Conduits: zone pairs, with services.
  const byPair = new Map<string, Communication[]>();
  for (const c of comms) {
    const from = zoneOf.get(c.client);
    const to = zoneOf.get(c.server);
    if (!from || !to || from === to) continue;
    const k = `${from}->${to}`;
    const l = byPair.get(k) ?? [];
    l.push(c);
    byPair.set(k, l);
  }
  const slOf = new Map(zones.map((z) => [z.name, z.sl]));
  const conduits: SuggestedConduit[] = [];
  const notProposed: SuggestedConduit[] = [];
  for (const [k, list] of [...byPair].sort(([a], [b]) => a.localeCompare(b))) {
    const [from, to] = k.split('->') as [string, string];
    const ot = list.filter((c) => otComms.includes(c));
    const services = serviceLines(list);
    const flows = list.reduce((s, c) => s + c.flows, 0);
    const sl = Math.max(slOf.get(from)!, slOf.get(to)!);
    const clients = [...new Set(list.map((c) => c.client))].sort(byIp);
    const servers = [...new Set(list.map((c) => c.server))].sort(byIp);
    const periods = ot.map((c) => c.periodMs).filter((x): x is number => x !== undefined);
    const c: SuggestedConduit = {
      from, to, services, flows, sl,
      description: ot.length
        ? `${clients.length} ${from} host${clients.length > 1 ? 's' : ''} → ${servers.length} ${to} host${servers.length > 1 ? 's' : ''}: ${[...new Set(ot.map((x) => `${x.l7} ${protoName(x.proto)}/${x.port}`))].sort().join(', ')}${periods.length ? `, polled every ${durationText(niceDuration(median(periods)))} or so` : ''}.`
        : `${[...new Set(list.map((x) => `${x.l7 || protoName(x.proto)}/${x.port}`))].sort().join(', ')} from ${clients.join(', ')} to ${servers.join(', ')}.`,
      why: ot.length
        ? [`${flows} flows seen (${clients.join(', ')} → ${servers.join(', ')})`, `suggested SL-T ${sl}: the higher of ${from} (${slOf.get(from)}) and ${to} (${slOf.get(to)})`]
        : [`${flows} flows without an industrial protocol between these zones: not proposed; declare it only if it belongs there (replay reports it as an undeclared conduit)`],
    };
    (ot.length ? conduits : notProposed).push(c);
  }
  return { site: siteName(opts.name ?? 'observed'), productionCycleMs, windowMs, zones, conduits, notProposed, notes };
};

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Window: about one polling round of the dominant period, between 10 s and 60 s; 60 s without a cadence. */
const suggestWindow = (ot: readonly Communication[]): number => {
  const periods = ot.map((c) => c.periodMs).filter((x): x is number => x !== undefined && x > 0);
  if (periods.length === 0) return 60_000;
  return Math.min(60_000, Math.max(10_000, niceDuration(median(periods))));
};

const serviceLines = (list: readonly Communication[]): string[] => {
  const by = new Map<string, { flows: number; ops: Record<string, number> }>();
  for (const c of list) {
    const k = `${c.l7 ? `${c.l7} ` : ''}${protoName(c.proto)}/${c.port}`;
    const s = by.get(k) ?? { flows: 0, ops: {} };
    s.flows += c.flows;
    for (const [op, n] of Object.entries(c.ops)) s.ops[op] = (s.ops[op] ?? 0) + n;
    by.set(k, s);
  }
  return [...by].sort(([a], [b]) => a.localeCompare(b)).map(([k, s]) => {
    const ops = Object.entries(s.ops).sort(([a], [b]) => a.localeCompare(b)).map(([op, n]) => `${op} ${n}`);
    return `${k}: ${s.flows} flows${ops.length ? `; ${ops.slice(0, 8).join(', ')}${ops.length > 8 ? ` +${ops.length - 8} more` : ''}` : ''}`;
  });
};

const q = (s: string): string => JSON.stringify(s);
const comment = (lines: readonly string[], indent: string): string[] => lines.map((l) => `${indent}# ${l}`);

/** The draft site.yaml, with comments that say why each zone and conduit is there. */
export const renderSiteYaml = (s: Suggestion, assets: readonly Asset[], header: readonly string[] = []): string => {
  const byIpAsset = new Map(assets.map((a) => [a.ip, a]));
  const out: string[] = [
    '# Draft site.yaml suggested by `conduitwatch inventory` from observed traffic.',
    '# Review it: zone names, SL-T values and the production cycle are guesses to confirm with the',
    '# people who run the plant (IEC 62443-3-2: zones and conduits are a risk decision, not a capture).',
    ...header.map((h) => `# ${h}`),
    ...comment(s.notes, ''),
    `site: ${s.site}`,
    '',
    `productionCycle: ${durationText(s.productionCycleMs)}`,
    '',
    'zones:',
  ];
  for (const z of s.zones) {
    out.push(...comment(z.why, '  '));
    out.push(`  - name: ${z.name}`, `    sl: ${z.sl}`, `    description: ${q(z.description)}`, '    assets:');
    for (const ip of z.assets) {
      const a = byIpAsset.get(ip);
      const id = a ? [a.vendor, a.model, a.firmware].filter(Boolean).join(' ') : '';
      const note = a ? `${ROLE_LABELS[a.role]} ${a.confidence}${id ? `; ${id}` : ''}${a.macVendor && a.macVendor !== 'locally administered' ? `; NIC ${a.macVendor}` : ''}` : '';
      out.push(`      - ${q(ip)}${note ? ` # ${note.replace(/\n/g, ' ')}` : ''}`);
    }
  }
  out.push('');
  if (s.conduits.length === 0) out.push('conduits: []');
  else {
    out.push('conduits:');
    for (const c of s.conduits) {
      out.push(...comment([...c.why, ...c.services.map((x) => `seen: ${x}`)], '  '));
      out.push(`  - from: ${c.from}`, `    to: ${c.to}`, `    description: ${q(c.description)}`);
    }
  }
  if (s.notProposed.length) {
    out.push('# Seen between zones but not proposed (no industrial protocol):');
    for (const c of s.notProposed) out.push(`#   ${c.from} -> ${c.to}: ${c.description} (${c.flows} flows)`);
  }
  out.push('', 'detection:', `  # About one polling round${s.windowMs === 60_000 ? ' (no polling cadence was found: the default minute)' : ''}.`,
    `  window: ${durationText(s.windowMs)}`, '');
  return out.join('\n');
};
