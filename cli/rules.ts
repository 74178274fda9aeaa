/**
 * `conduitwatch rules <propose|whatif|waive|nft|apply|rollback>`: the allow-list rule steps of
 * enforce/steps.ts on the embedded store, each audited in the data directory's trail.
 * Exit status: 0 done; 3 refused (not ready, not promotable); 2 bad arguments or input; 1 failure.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { Clock } from '../core/clock.ts';
import { conduitId, loadSite, SiteMap, type Site } from '../core/config.ts';
import { PipelineError } from '../core/errors.ts';
import { protoName } from '../core/records.ts';
import { AuditTrail, DEFAULT_KEY_FILE, loadOrCreateSigningKey, publicKeyBase64 } from '../enforce/audit.ts';
import { learnRule, readiness, resolveRuns } from '../enforce/baseline.ts';
import { canonicalJson } from '../enforce/canonical.ts';
import { NftablesBackend } from '../enforce/nftables/backend.ts';
import { tableName, NFT_FAMILY } from '../enforce/nftables/generate.ts';
import { ruleHash, ruleJson, type Rule } from '../enforce/rules.ts';
import { applyRule, auditedWhatIf, latestRule, propose, readRuleFile, rollback, waive, type Actor } from '../enforce/steps.ts';
import { whatIfJson, type WhatIfResult } from '../enforce/whatif.ts';
import { openChdb } from '../store/chdb.ts';
import { migrate } from '../store/migrate.ts';
import type { Store } from '../store/store.ts';
import { usageError } from './args.ts';
import { DEFAULT_DATA_DIR } from './replay-command.ts';
import { selfCommand } from './self.ts';

const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

/** A path from site.yaml, relative to the file it is written in. */
const fromSite = (siteFile: string, p: string): string => (isAbsolute(p) ? p : resolve(dirname(siteFile), p));

/** Opens the data directory's audit trail with the site's signing key (made on first use). */
export const openAudit = async (o: { site: Site; siteFile: string; dataDir: string; store: Store; clock: Clock }): Promise<AuditTrail> => {
  const a = o.site.enforce.audit;
  const keyFile = a.signingKey ? fromSite(o.siteFile, a.signingKey) : join(resolve(o.dataDir), DEFAULT_KEY_FILE);
  const { key, created } = await loadOrCreateSigningKey(keyFile);
  if (created) {
    process.stderr.write(`conduitwatch: made the audit signing key ${keyFile}. Pin its public key (enforce.audit.publicKey, or audit verify --public-key): ${publicKeyBase64(key)}\n`);
  }
  return AuditTrail.open({
    dataDir: o.dataDir, store: o.store, signingKey: key, clock: o.clock, origin: `conduitwatch/${o.site.site}`,
    checkpointEvery: a.checkpointEvery, ...(a.anchor ? { anchor: fromSite(o.siteFile, a.anchor) } : {}),
  });
};

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

const actorOf = (v: Record<string, unknown>): Actor => {
  const actor = str(v.actor) ?? process.env.CONDUITWATCH_ACTOR ?? userInfo().username;
  return { actor, ...(str(v.role) ? { role: str(v.role)! } : {}) };
};

/** --conduit FROM->TO, checked against site.yaml (an undeclared conduit gets no rule). */
const conduitArg = (cmd: string, v: Record<string, unknown>, site: Site, siteFile: string): string => {
  const c = str(v.conduit);
  if (!c) throw usageError(cmd, 'Missing --conduit FROM->TO, e.g. --conduit control->field.');
  const m = /^\s*([^\s>-][^>]*?)\s*->\s*(\S+)\s*$/.exec(c);
  const id = m ? conduitId(m[1]!, m[2]!) : c;
  if (!new SiteMap(site).isDeclared(id) || !site.zones.some((z) => z.name === m?.[1]) || !site.zones.some((z) => z.name === m?.[2])) {
    const declared = site.conduits.map((x) => conduitId(x.from, x.to));
    throw new PipelineError('config_invalid', `--conduit ${c}: not a conduit of ${siteFile}. Declared conduits: ${declared.join(', ') || '(none)'}; ` +
      'traffic inside one zone is one too (e.g. field->field). Undeclared traffic gets no allow-list: it is blocked by every rule.');
  }
  return id;
};

interface Ctx { site: Site; siteFile: string; dataDir: string; store: Store; clock: Clock }

const withStore = async <T>(cmd: string, v: Record<string, unknown>, clock: Clock, f: (c: Ctx) => Promise<T>): Promise<T> => {
  const siteFile = str(v.site);
  if (!siteFile) throw usageError(cmd, 'Missing --site: the site config the data was replayed with, e.g. --site examples/lemay/site.yaml.');
  const site = loadSite(siteFile);
  const dataDir = str(v.data) ?? DEFAULT_DATA_DIR;
  if (!existsSync(dataDir)) throw usageError(cmd, `No store at ${dataDir}: run 'conduitwatch replay … --site ${siteFile} --data ${dataDir}' first, or pass --data.`);
  const store = await openChdb(dataDir);
  try {
    await migrate(store);
    return await f({ site, siteFile, dataDir, store, clock });
  } finally {
    await store.close();
  }
};

const defaultRuleFile = (dataDir: string, rule: Rule, hash: string) =>
  join(resolve(dataDir), 'rules', `${rule.conduit.replace('->', '_to_').replace(/[^A-Za-z0-9_.-]/g, '_')}-${hash.replace('sha256:', '').slice(0, 12)}.json`);

const writeRule = async (file: string, rule: Rule): Promise<void> => {
  await mkdir(dirname(resolve(file)), { recursive: true });
  await writeFile(file, `${JSON.stringify(JSON.parse(ruleJson(rule)), null, 2)}\n`);
};

const edgeText = (e: { src: string; dst: string; proto: number; dstPort: number; l7?: string }) =>
  `${e.src} → ${e.dst} ${protoName(e.proto)}/${e.dstPort}${e.l7 ? ` ${e.l7}` : ''}`;

const renderRule = (rule: Rule, hash: string): string => {
  const out = [`Rule ${hash} for ${rule.conduit} (site ${rule.site}; learned from ${rule.learnedFrom.flows.toLocaleString('en-US')} flows, ` +
    `${iso(rule.learnedFrom.from)} → ${iso(rule.learnedFrom.to)}, ${rule.learnedFrom.fullCycles} full cycles; minCycles ${rule.minCycles})`];
  for (const e of rule.entries) {
    const ev = e.evidence ? ` — ${e.evidence.cycles} cycles, ${e.evidence.flows} flows, ${iso(e.evidence.firstSeen)} → ${iso(e.evidence.lastSeen)}` : ' — added by hand';
    out.push(`  ${e.status === 'allow' ? 'ALLOW' : 'HOLD '} ${edgeText(e)}${ev}`);
    for (const h of e.held) out.push(`        held: ${h}`);
    for (const o of e.ops) {
      out.push(`        ${o.status === 'allow' ? 'allow' : 'HOLD '} ${o.op}${o.evidence ? ` (${o.evidence.cycles} cycles, ${o.evidence.flows} flows)` : ''}`);
      for (const h of o.held) out.push(`              held: ${h}`);
    }
  }
  for (const w of rule.waivers) out.push(`  WAIVED ${edgeText(w)}${w.op ? ` op ${w.op}` : ''} by ${w.by}: ${w.reason}`);
  out.push('  everything else on the conduit: BLOCKED (deny by default)');
  return out.join('\n');
};

const renderWhatIf = (r: WhatIfResult, max = 20): string => {
  const out = [`What-if of ${r.ruleHash} on ${r.conduit}: ${r.flowsEvaluated.toLocaleString('en-US')} stored flows (${r.runs.join(', ')}; ` +
    `${r.flowsEvaluated ? `${iso(r.from)} → ${iso(r.to)}` : 'none'}), ${r.flowsBlocked} would be blocked.`];
  for (const b of r.blocked.slice(0, max)) {
    out.push(`  ${iso(b.tsStart)}  ${b.src}:${b.srcPort} → ${b.dst} ${protoName(b.proto)}/${b.dstPort}${b.op ? ` ${b.op}` : ''}` +
      `${b.inAlert ? `  [in alert ${b.inAlert}]` : ''}${b.waiver ? `  [waived: ${b.waiver}]` : ''}`);
    out.push(`      ${b.reason}`);
  }
  if (r.blocked.length > max) out.push(`  … and ${r.blocked.length - max} more (--json lists all)`);
  out.push(r.promotable ? 'Promotable: every blocked flow is inside an open alert or waived.' : `NOT promotable: ${r.notPromotable.join(' ')}`);
  out.push(`What-if hash ${r.hash}`);
  return out.join('\n');
};

const loadRule = async (c: Ctx, v: Record<string, unknown>, conduit: string | undefined): Promise<{ rule: Rule; hash: string; source: string }> => {
  const file = str(v.rule);
  if (file) {
    const r = await readRuleFile(file, c.site);
    if (conduit && r.rule.conduit !== conduit) throw new PipelineError('config_invalid', `${file}: the rule is for ${r.rule.conduit}, not --conduit ${conduit}.`);
    return { ...r, source: file };
  }
  if (!conduit) throw new PipelineError('config_invalid', 'Pass --rule FILE or --conduit FROM->TO.');
  const stored = await latestRule(c.store, c.site, conduit);
  if (stored) return { ...stored, source: 'the newest stored proposal' };
  const runs = await resolveRuns(c.store, conduit, str(v.run));
  const rule = await learnRule(c.store, c.site, conduit, runs, await readiness(c.store, c.site, conduit, runs));
  return { rule, hash: ruleHash(rule), source: 'learned now from the stored baseline (no proposal stored yet)' };
};

const edgeArg = (s: string | undefined): { src: string; dst: string; proto: number; dstPort: number } => {
  const m = /^(.+)>(.+)\/(tcp|udp|sctp|\d+)\/(\d+)$/.exec(s ?? '');
  if (!m) throw usageError('rules', `--edge "${s ?? ''}": write SRC>DST/PROTO/PORT, e.g. --edge "192.168.1.100>192.168.1.104/udp/137".`);
  const proto = m[3] === 'tcp' ? 6 : m[3] === 'udp' ? 17 : m[3] === 'sctp' ? 132 : Number(m[3]);
  return { src: m[1]!, dst: m[2]!, proto, dstPort: Number(m[4]) };
};

export const runRulesCommand = async (v: Record<string, unknown>, positionals: string[], clock: Clock): Promise<number> => {
  const [sub] = positionals;
  const json = v.json === true;
  const by = actorOf(v);
  switch (sub) {
    case 'propose':
      return withStore('rules', v, clock, async (c) => {
        const conduit = conduitArg('rules', v, c.site, c.siteFile);
        const audit = await openAudit(c);
        const out = await propose({ store: c.store, site: c.site, conduit, ...(str(v.run) ? { run: str(v.run)! } : {}), audit, by, clock });
        let file: string | undefined;
        if (out.rule && out.hash) {
          file = str(v.out) ?? defaultRuleFile(c.dataDir, out.rule, out.hash);
          await writeRule(file, out.rule);
        }
        if (json) {
          process.stdout.write(`${canonicalJson({ proposed: out.rule !== undefined, readiness: out.readiness, ...(out.hash ? { ruleHash: out.hash, file, rule: JSON.parse(ruleJson(out.rule!)) } : {}) })}\n`);
        } else if (!out.rule) {
          const r = out.readiness;
          process.stdout.write(`Refused: the baseline of ${conduit} is not ready (${r.flows.toLocaleString('en-US')} stored flows in ${r.runs.join(', ')}).\n` +
            `${r.reasons.map((x) => `  - ${x}`).join('\n')}\nNothing was proposed; the refusal is in the audit trail.\n`);
        } else {
          process.stdout.write(`${renderRule(out.rule, out.hash!)}\nProposed and written to ${file}; next: ${selfCommand()} rules whatif --conduit '${conduit}' --site ${c.siteFile} --data ${c.dataDir}\n`);
        }
        return out.rule ? 0 : 3;
      });
    case 'whatif':
      return withStore('rules', v, clock, async (c) => {
        const conduit = str(v.conduit) ? conduitArg('rules', v, c.site, c.siteFile) : undefined;
        const { rule, hash, source } = await loadRule(c, v, conduit);
        const audit = await openAudit(c);
        const r = await auditedWhatIf({ store: c.store, rule, hash, ...(str(v.run) ? { run: str(v.run)! } : {}), audit, by });
        process.stdout.write(json ? `${whatIfJson(r)}\n` : `Rule: ${source}\n${renderWhatIf(r)}\n`);
        return r.promotable ? 0 : 3;
      });
    case 'waive':
      return withStore('rules', v, clock, async (c) => {
        const conduit = str(v.conduit) ? conduitArg('rules', v, c.site, c.siteFile) : undefined;
        const { rule, hash } = await loadRule(c, v, conduit);
        const by2 = str(v.by);
        const reason = str(v.reason);
        if (!by2 || !reason) throw usageError('rules', 'A waiver needs --by NAME (the person who accepts the blocking) and --reason TEXT (why it is acceptable).');
        const audit = await openAudit(c);
        const out = await waive({ store: c.store, rule, hash, waiver: { ...edgeArg(str(v.edge)), op: str(v.op) ?? '', by: by2, reason }, audit, by, clock });
        const file = str(v.out) ?? defaultRuleFile(c.dataDir, out.rule, out.hash);
        await writeRule(file, out.rule);
        process.stdout.write(json ? `${canonicalJson({ ruleHash: out.hash, parent: hash, file })}\n` : `Waiver added: rule ${out.hash} (from ${hash}) written to ${file}.\n`);
        return 0;
      });
    case 'nft': {
      const siteFile = str(v.site);
      const file = str(v.rule);
      if (!siteFile || !file) throw usageError('rules', 'rules nft needs --rule FILE and --site site.yaml.');
      const site = loadSite(siteFile);
      const { rule, hash } = await readRuleFile(file, site);
      const rs = new NftablesBackend().generate(rule, site, hash);
      process.stdout.write(json ? `${canonicalJson(rs)}\n` : `${rs.text}${rs.limits.length ? `# Not enforced by nftables:\n${rs.limits.map((l) => `#   ${l}`).join('\n')}\n` : ''}`);
      return 0;
    }
    case 'apply':
      return withStore('rules', v, clock, async (c) => {
        const conduit = str(v.conduit) ? conduitArg('rules', v, c.site, c.siteFile) : undefined;
        const { rule, hash } = await loadRule(c, v, conduit);
        const audit = await openAudit(c);
        const backend = new NftablesBackend({ ...(str(v.netns) ? { netns: str(v.netns)! } : {}), clock });
        const out = await applyRule({ store: c.store, site: c.site, rule, hash, backend, audit, by, dataDir: c.dataDir, ...(str(v.run) ? { run: str(v.run)! } : {}), dryRun: v['dry-run'] === true });
        if (json) process.stdout.write(`${canonicalJson({ applied: out.applied ?? null, promotable: out.whatif.promotable, whatifHash: out.whatif.hash, limits: out.limits })}\n`);
        else if (!out.applied) process.stdout.write(`Refused: ${out.whatif.notPromotable.join(' ')}\n`);
        else {
          process.stdout.write(`${out.applied.dryRun ? 'Dry run: checked, nothing changed' : out.applied.changed ? 'Applied' : 'Already live, nothing changed'}: ` +
            `${out.applied.target} (ruleset ${out.applied.hash}).${out.limits.length ? `\nNot enforced by nftables:\n${out.limits.map((l) => `  ${l}`).join('\n')}` : ''}\n` +
            `Roll back with: ${selfCommand()} rules rollback --conduit '${rule.conduit}' --site ${c.siteFile} --data ${c.dataDir}\n`);
        }
        return out.applied ? 0 : 3;
      });
    case 'rollback':
      return withStore('rules', v, clock, async (c) => {
        const conduit = conduitArg('rules', v, c.site, c.siteFile);
        const audit = await openAudit(c);
        const backend = new NftablesBackend({ ...(str(v.netns) ? { netns: str(v.netns)! } : {}), clock });
        const target = `${NFT_FAMILY} ${tableName(conduit)}`;
        const out = await rollback({ conduit, target, backend, audit, by, dataDir: c.dataDir, ...(str(v.reason) ? { reason: str(v.reason)! } : {}), dryRun: v['dry-run'] === true });
        process.stdout.write(json ? `${canonicalJson({ changed: out.changed, target, restored: out.saved.existed ? out.saved.hash || 'a table not made by conduitwatch' : 'removed' })}\n`
          : `${out.changed ? 'Rolled back' : 'Nothing to change'}: ${target} ${out.saved.existed ? 'is as it was before the apply' : 'removed (it did not exist before)'}.\n`);
        return 0;
      });
    default:
      throw usageError('rules', `Unknown or missing subcommand "${sub ?? ''}": use propose, whatif, waive, nft, apply or rollback.`);
  }
};
