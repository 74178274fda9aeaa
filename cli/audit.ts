/**
 * `conduitwatch audit verify --data DIR [--json] [--public-key K] [--anchor FILE] [--site site.yaml]`:
 * checks the data directory's audit trail (enforce/audit.ts) and names the first bad entry.
 * Exit status: 0 intact; 3 tampering or damage found; 2 bad arguments or no trail; 1 failure.
 */
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { loadSite } from '../core/config.ts';
import { AUDIT_FILE, loadPublicKey, verifyAudit, type AuditVerifyReport } from '../enforce/audit.ts';
import { canonicalJson } from '../enforce/canonical.ts';
import { openChdb } from '../store/chdb.ts';
import { tables } from '../store/schema.ts';
import { usageError } from './args.ts';
import { DEFAULT_DATA_DIR } from './replay-command.ts';

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

const render = (r: AuditVerifyReport): string => {
  const out = [
    `${r.ok ? 'INTACT' : 'TAMPERED OR DAMAGED'}: ${r.file}: ${r.entries} entries, ${r.checkpoints} signed checkpoints; ` +
    `signed through entry ${r.signedThrough}${r.unsignedTail ? `, ${r.unsignedTail} newer entries chained but not yet signed` : ''}.`,
    `  key ${r.keyId || '(none)'} ${r.keyPinned ? '(pinned)' : '(NOT pinned)'}; audit table ${r.tableChecked ? 'compared' : 'not compared'}; anchor ${r.anchorChecked ? 'compared' : 'not given'}.`,
  ];
  if (r.firstBad) out.push(`  first bad: line ${r.firstBad.line || '-'}, seq ${r.firstBad.seq}: ${r.firstBad.problem}: ${r.firstBad.message}`);
  for (const p of r.problems.slice(1, 10)) out.push(`  also: line ${p.line || '-'}, seq ${p.seq}: ${p.problem}: ${p.message}`);
  for (const w of r.warnings) out.push(`  warning: ${w}`);
  return `${out.join('\n')}\n`;
};

export const runAuditCommand = async (v: Record<string, unknown>, positionals: string[]): Promise<number> => {
  if (positionals[0] !== 'verify') throw usageError('audit', `Unknown or missing subcommand "${positionals[0] ?? ''}": use verify.`);
  const dataDir = str(v.data) ?? DEFAULT_DATA_DIR;
  if (!existsSync(join(dataDir, AUDIT_FILE))) throw usageError('audit', `No audit trail at ${join(dataDir, AUDIT_FILE)}: pass --data with the data directory the rule steps used.`);
  const siteFile = str(v.site);
  const audit = siteFile ? loadSite(siteFile).enforce.audit : undefined;
  const fromSite = (p: string) => (isAbsolute(p) || !siteFile ? p : resolve(dirname(siteFile), p));
  const keySpec = str(v['public-key']) ?? (audit?.publicKey ? fromSite(audit.publicKey) : undefined);
  const anchor = str(v.anchor) ?? (audit?.anchor ? fromSite(audit.anchor) : undefined);
  const publicKey = keySpec ? await loadPublicKey(keySpec) : undefined;
  // The table copy is compared when the directory holds a store with an audit table.
  const store = existsSync(join(dataDir, 'metadata')) || existsSync(join(dataDir, 'store')) ? await openChdb(dataDir) : undefined;
  try {
    const hasTable = store ? Number((await store.query<{ n: string }>(`SELECT count() AS n FROM system.tables WHERE database = currentDatabase() AND name = '${tables.audit.name}'`))[0]?.n) > 0 : false;
    const report = await verifyAudit({
      dataDir, ...(publicKey ? { publicKey, keyPinned: true } : {}), ...(store && hasTable ? { store } : {}), ...(anchor ? { anchor } : {}),
    });
    process.stdout.write(v.json === true ? `${canonicalJson(report)}\n` : render(report));
    return report.ok ? 0 : 3;
  } finally {
    await store?.close();
  }
};
