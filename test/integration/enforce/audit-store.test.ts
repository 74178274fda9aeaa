/**
 * The audit trail's second copy in the store's `audit` table (chDB), and fail-closed steps
 * (IEC 62443-3-3 SR 2.10): a step whose audit entry cannot be written does not happen.
 */
import assert from 'node:assert/strict';
import { sign } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fakeClock } from '../../../core/clock.ts';
import { hasCode } from '../../../core/errors.ts';
import {
  AUDIT_FILE, AuditTrail, checkpointNote, entryHash, keyIdOf, loadOrCreateSigningKey, verifyAudit, type AuditCheckpoint, type AuditLine,
} from '../../../enforce/audit.ts';
import { canonicalJson } from '../../../enforce/canonical.ts';
import { ruleHash, RULE_KIND, type Rule } from '../../../enforce/rules.ts';
import { auditedWhatIf, waive } from '../../../enforce/steps.ts';
import { openChdb } from '../../../store/chdb.ts';
import { migrate } from '../../../store/migrate.ts';
import { flowRow, tables } from '../../../store/schema.ts';
import type { Store } from '../../../store/store.ts';

const rule: Rule = {
  kind: RULE_KIND, schema: 1, site: 't', conduit: 'control->field', productionCycleMs: 600_000, minCycles: 3, parent: '',
  learnedFrom: { runs: ['r1'], from: 0, to: 1, flows: 2, fullCycles: 3, phasesSeen: [1], phases: 12 },
  entries: [{ src: '10.0.1.10', dst: '10.0.2.20', proto: 6, dstPort: 502, l7: 'modbus', status: 'allow', held: [], ops: [{ op: 'read_coils', status: 'allow', held: [] }] }],
  waivers: [],
};

const flow = (i: number, ops: Record<string, number>) => flowRow({
  id: String(i), tsStart: 1_700_000_000_000 + i * 1000, tsEnd: 1_700_000_000_500 + i * 1000, srcIp: '10.0.1.10', srcPort: 40000 + i, dstIp: '10.0.2.20', dstPort: 502,
  proto: 6, packets: 4, bytes: 200, packetsRev: 4, bytesRev: 200, tcpFlags: 0x1b, exporter: 'x', observationDomain: 0, source: 'file', l7: 'modbus', l7Ops: ops,
}, { conduit: 'control->field', srcZone: 'control', dstZone: 'field', runId: 'r1', observedAt: 1 });

/** A store whose audit table refuses inserts, as a read-only audit store would. */
const refusingAudit = (s: Store): Store => ({
  dir: s.dir, query: (q) => s.query(q), text: (q, f) => s.text(q, f), exec: (q) => s.exec(q), close: () => s.close(),
  insertRows: (t, rows, o) => (t === tables.audit.name ? Promise.reject(new Error('audit table is read-only (injected)')) : s.insertRows(t, rows, o)),
});

test('the audit table catches a trail rewritten and re-signed with the real key, and a cut file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cw-audit-store-'));
  const store = await openChdb(dir);
  try {
    await migrate(store);
    const { key } = await loadOrCreateSigningKey(join(dir, 'k.pem'));
    const clock = fakeClock('2026-01-01T00:00:00Z');
    const trail = await AuditTrail.open({ dataDir: dir, store, signingKey: key, clock, origin: 'o', checkpointEvery: 2 });
    for (let i = 0; i < 5; i++) { clock.advance('1m'); await trail.append({ actor: 'alice', action: 'whatif', target: 'control->field', result: 'ok' }); }
    assert.equal((await verifyAudit({ dataDir: dir, publicKey: key, keyPinned: true, store })).ok, true);
    const file = join(dir, AUDIT_FILE);
    const original = await readFile(file, 'utf8');

    // Someone who holds the signing key but cannot write the table rebuilds the file: entry 3 names another actor.
    let head = '0'.repeat(64);
    const hashes = new Map<number, string>();
    const forged = original.trimEnd().split('\n').map((l) => {
      const p = JSON.parse(l) as AuditLine;
      if (p.type === 'entry') {
        const body = { ...p, prevHash: head, ...(p.seq === 3 ? { actor: 'mallory' } : {}) };
        const e = { ...body, hash: entryHash(body) };
        head = e.hash;
        hashes.set(e.seq, e.hash);
        return canonicalJson(e);
      }
      const hash = hashes.get(p.seq)!;
      const note = checkpointNote(p.origin, p.seq, hash, p.ts);
      return canonicalJson({ ...p, hash, note, keyId: keyIdOf(key), signature: sign(null, Buffer.from(note), key).toString('base64') } satisfies AuditCheckpoint);
    });
    await writeFile(file, `${forged.join('\n')}\n`);
    assert.equal((await verifyAudit({ dataDir: dir, publicKey: key, keyPinned: true })).ok, true, 'the file alone cannot tell');
    const withTable = await verifyAudit({ dataDir: dir, publicKey: key, keyPinned: true, store });
    assert.equal(withTable.ok, false);
    assert.equal(withTable.firstBad!.problem, 'table_mismatch');
    assert.equal(withTable.firstBad!.seq, 3);

    // The last two lines cut from the file: the table still has them.
    await writeFile(file, `${original.trimEnd().split('\n').slice(0, -2).join('\n')}\n`);
    const cut = await verifyAudit({ dataDir: dir, publicKey: key, keyPinned: true, store });
    assert.equal(cut.firstBad!.problem, 'table_extra');
    // And a writer refuses to go on from a file the table has outgrown.
    await assert.rejects(AuditTrail.open({ dataDir: dir, store, signingKey: key, clock, origin: 'o' }), (e) => hasCode(e, 'unrecoverable'));
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a what-if or a waiver whose audit entry cannot be written is not returned and not stored', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cw-audit-sr210-'));
  const store = await openChdb(dir);
  try {
    await migrate(store);
    await store.insertRows(tables.flows.name, [flow(0, { read_coils: 1 }), flow(1, { write_single_coil: 1 })]);
    const { key } = await loadOrCreateSigningKey(join(dir, 'k.pem'));
    const clock = fakeClock('2026-01-01T00:00:00Z');
    const by = { actor: 'alice' };
    const good = await AuditTrail.open({ dataDir: dir, store, signingKey: key, clock, origin: 'o' });
    const wi = await auditedWhatIf({ store, rule, hash: ruleHash(rule), audit: good, by });
    assert.equal(wi.flowsBlocked, 1);

    const bad = refusingAudit(store);
    const trail = await AuditTrail.open({ dataDir: dir, store: bad, signingKey: key, clock, origin: 'o' });
    const fileBefore = await readFile(join(dir, AUDIT_FILE), 'utf8');
    let returned = false;
    await assert.rejects(auditedWhatIf({ store: bad, rule, hash: ruleHash(rule), audit: trail, by }).then(() => { returned = true; }),
      (e) => hasCode(e, 'write_rejected') && /SR 2\.10/.test((e as Error).message));
    assert.equal(returned, false);
    await assert.rejects(waive({ store: bad, rule, hash: ruleHash(rule), audit: trail, by, clock,
      waiver: { src: '10.0.1.10', dst: '10.0.2.20', proto: 6, dstPort: 502, op: 'write_single_coil', by: 'alice', reason: 'retired write, accepted' } }),
    (e) => hasCode(e, 'write_rejected'));
    const [n] = await store.query<{ n: string }>(`SELECT count() AS n FROM ${tables.rules.name}`);
    assert.equal(Number(n!.n), 0, 'no rule version was stored');
    assert.equal(await readFile(join(dir, AUDIT_FILE), 'utf8'), fileBefore, 'the file is as it was');
    assert.equal((await verifyAudit({ dataDir: dir, publicKey: key, keyPinned: true, store })).ok, true);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});
