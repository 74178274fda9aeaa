/**
 * `conduitwatch inventory INPUTS… [--site site.yaml] [--suggest-site out.yaml] [--json]`: the passive
 * asset inventory of the inputs (roles, identity, MACs, changes), a suggested site (zones, conduits,
 * SL-T by role) written as a draft site.yaml, and with `--site` the declared-vs-observed comparison.
 */
import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { loadSite, parseSite, SiteMap } from '../core/config.ts';
import { PipelineError } from '../core/errors.ts';
import type { Asset } from '../core/records.ts';
import { formatDuration } from '../core/units.ts';
import { DEFAULT_SECURITY_PATTERNS, securityMatcher } from '../detectors/security.ts';
import { protocolSecurityOp } from './security-ops.ts';
import { compareSite, type Comparison } from '../inventory/compare.ts';
import { Inventory, type InventoryChange } from '../inventory/inventory.ts';
import { ROLE_LABELS } from '../inventory/roles.ts';
import { durationText, renderSiteYaml, suggestSite, type Suggestion } from '../inventory/suggest.ts';
import { usageError } from './args.ts';
import { openInput } from './inputs.ts';
import { createProgress, fmtInt } from './progress.ts';
import { selfCommand } from './self.ts';

export interface InventoryReport {
  inputs: { file: string; kind: string; records: number; problems: Record<string, number> }[];
  flows: number;
  otFlows: number;
  firstTs?: number;
  lastTs?: number;
  assets: Asset[];
  changes: InventoryChange[];
  suggestion: Suggestion;
  /** With --site: declared vs observed. */
  comparison?: Comparison;
  site?: string;
  notes: string[];
}

export interface InventoryRunOptions {
  inputs: string[];
  /** The declared site: zones for the comparison, its baseline as the warm-up before changes count. */
  site?: SiteMap;
  mapping?: string;
  sliceMs?: number;
  quiet?: boolean;
}

/** Reads the inputs into an inventory; returns the report (the suggested site is always made). */
export const runInventory = async (o: InventoryRunOptions): Promise<InventoryReport> => {
  const inv = new Inventory({
    isSecurityOp: securityMatcher(DEFAULT_SECURITY_PATTERNS, protocolSecurityOp),
    ...(o.site ? { zoneOf: (ip: string) => o.site!.zoneOf(ip), learnMs: o.site.baselineMs } : {}),
  });
  const opened = o.inputs.map((f) => openInput(f, { sliceMs: o.sliceMs ?? 60_000, ...(o.mapping ? { mapping: o.mapping } : {}) }));
  const progress = createProgress('inventory', process.stderr, o.quiet === true);
  const total = opened.reduce((s, x) => s + x.progress.fileSize, 0);
  let done = 0;
  for (const { flows, progress: p } of opened) {
    for await (const batch of flows) {
      inv.observe(batch);
      progress.update((done + p.bytesRead()) / Math.max(1, total), `${basename(p.file)}: ${fmtInt(inv.stats().flows)} flows, ${inv.stats().assets} addresses`);
    }
    done += p.fileSize;
  }
  const st = inv.stats();
  progress.done(`${fmtInt(st.flows)} flows, ${st.assets} addresses`);
  const assets = inv.assets();
  const comms = inv.communications();
  const name = o.inputs.length === 1 ? basename(o.inputs[0]!) : 'observed';
  const suggestion = suggestSite(assets, comms, { name, spanMs: st.firstTs !== undefined ? st.lastTs! - st.firstTs : 0 });
  const notes: string[] = [];
  if (st.flows === 0) notes.push('The inputs held no flow records: no traffic to inventory.');
  else if (st.otFlows === 0) notes.push('No industrial-protocol traffic was seen: roles cannot be told from behaviour; the suggested site has one zone.');
  return {
    inputs: opened.map(({ progress: p }) => ({ file: p.file, kind: p.kind, records: p.records(), problems: p.problems() })),
    flows: st.flows, otFlows: st.otFlows,
    ...(st.firstTs !== undefined ? { firstTs: st.firstTs, lastTs: st.lastTs! } : {}),
    assets, changes: inv.allChanges(), suggestion,
    ...(o.site ? { comparison: compareSite(o.site, assets, comms), site: o.site.site.site } : {}),
    notes,
  };
};

const iso = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');

const identityLine = (a: Asset): string => {
  const parts = [a.vendor, a.model, a.productCode && a.productCode !== a.model ? a.productCode : undefined,
    a.firmware ? `fw ${a.firmware}` : undefined, a.serial ? `s/n ${a.serial}` : undefined, a.name ? `"${a.name}"` : undefined,
    a.address ? `address ${a.address}` : undefined].filter(Boolean);
  return parts.join(', ');
};

export const renderInventory = (r: InventoryReport, sitePath?: string): string => {
  const out: string[] = [];
  const span = r.firstTs !== undefined ? `${iso(r.firstTs)} → ${iso(r.lastTs!)} (${formatDuration(r.lastTs! - r.firstTs)})` : 'no traffic';
  out.push(`conduitwatch inventory — ${r.assets.length} addresses from ${fmtInt(r.flows)} flows (${fmtInt(r.otFlows)} industrial), ${span}`);
  for (const n of r.notes) out.push(`Note: ${n}`);
  out.push('');
  for (const a of r.assets) {
    out.push(`${a.ip}${a.mac ? `  ${a.mac}${a.macVendor ? ` (${a.macVendor})` : ''}` : ''}`);
    out.push(`  role: ${ROLE_LABELS[a.role]} (confidence ${a.confidence}) — ${a.evidence.join('; ')}`);
    const id = identityLine(a);
    if (id) out.push(`  identity: ${id}`);
    out.push(`  protocols: ${a.protocols.join(', ') || '-'}${a.services.length ? `; answers: ${a.services.join(', ')}` : ''}`);
    out.push(`  peers: ${a.peers.slice(0, 8).join(', ')}${a.peers.length > 8 ? ` +${a.peers.length - 8} more` : ''}; seen ${iso(a.firstSeen)} → ${iso(a.lastSeen)}, ${fmtInt(a.flows)} flows`);
    for (const f of a.flags) out.push(`  ! ${f}`);
  }
  if (r.changes.length) {
    out.push('', `Changes (${r.changes.length}):`);
    for (const c of r.changes) out.push(`  ${iso(c.ts)} ${c.kind}: ${c.explanation}`);
  }
  const s = r.suggestion;
  out.push('', `Suggested zones (productionCycle ${durationText(s.productionCycleMs)}, window ${durationText(s.windowMs)}):`);
  for (const z of s.zones) out.push(`  ${z.name.padEnd(12)} SL ${z.sl}  ${z.assets.join(', ')}`);
  for (const c of s.conduits) out.push(`  conduit ${c.from} -> ${c.to} (SL ${c.sl}): ${c.services.join('; ')}`);
  for (const c of s.notProposed) out.push(`  not proposed ${c.from} -> ${c.to}: ${c.description} (${c.flows} flows)`);
  if (sitePath) out.push(`Draft site written to ${sitePath}: review it, then run ${selfCommand()} replay ${r.inputs.map((i) => i.file).join(' ')} --site ${sitePath}`);
  else out.push('Write it as a draft site.yaml with --suggest-site FILE.');
  const c = r.comparison;
  if (c) {
    out.push('', `Declared (site ${r.site}) vs observed:`);
    out.push(c.unzoned.length ? `  assets in no zone: ${c.unzoned.map((a) => `${a.ip} (${a.role}, ${fmtInt(a.flows)} flows)`).join(', ')}` : '  assets in no zone: none');
    out.push(c.unused.length ? `  declared conduits never used: ${c.unused.map((u) => u.conduit).join(', ')}` : '  declared conduits never used: none');
    out.push(c.undeclared.length ? `  traffic on undeclared conduits: ${c.undeclared.map((u) => `${u.conduit} (${fmtInt(u.flows)} flows: ${u.services.join(', ')})`).join('; ')}` : '  traffic on undeclared conduits: none');
    out.push(c.contradictions.length ? '  zones whose behaviour contradicts their SL:' : '  zones whose behaviour contradicts their SL: none');
    for (const x of c.contradictions) out.push(`    ${x.zone} (SL ${x.sl}): ${x.ip} ${x.why}`);
  }
  return out.join('\n') + '\n';
};

export const runInventoryCommand = async (v: Record<string, unknown>, inputs: string[]): Promise<number> => {
  if (inputs.length === 0) throw usageError('inventory', 'No inputs: name one or more pcap, pcapng or flow files.');
  const site = typeof v.site === 'string' ? new SiteMap(loadSite(v.site)) : undefined;
  const report = await runInventory({
    inputs, ...(site ? { site } : {}), quiet: v.quiet === true,
    ...(typeof v.mapping === 'string' ? { mapping: v.mapping } : {}),
  });
  const out = typeof v['suggest-site'] === 'string' ? v['suggest-site'] : undefined;
  if (out) {
    const yaml = renderSiteYaml(report.suggestion, report.assets, [`From: ${report.inputs.map((i) => basename(i.file)).join(', ')}`]);
    // The draft must be a site the pipeline accepts; a failure here is a bug, said as one.
    try {
      parseSite(yaml, out);
    } catch (e) {
      throw new PipelineError('unrecoverable', `the suggested site does not parse (a bug; please report it): ${(e as Error).message}`, {}, { cause: e });
    }
    writeFileSync(out, yaml);
  }
  process.stdout.write(v.json ? `${JSON.stringify(report, null, 2)}\n` : renderInventory(report, out));
  return 0;
};


