import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fakeClock } from '../../../core/clock.ts';
import { hasCode } from '../../../core/errors.ts';
import {
  AUDIT_FILE, AuditTrail, checkpointNote, entryHash, keyIdOf, loadOrCreateSigningKey, verifyAudit,
  type AuditCheckpoint, type AuditEntry, type AuditLine,
} from '../../../enforce/audit.ts';
import { canonicalJson, contentHash } from '../../../enforce/canonical.ts';

const tmp = () => mkdtemp(join(tmpdir(), 'cw-audit-'));

/** A trail of `n` entries (a checkpoint every 3 entries and on 'propose'), with its key and anchor. */
const trail = async (n: number) => {
  const dir = await tmp();
  const { key } = await loadOrCreateSigningKey(join(dir, 'key.pem'));
  const clock = fakeClock('2026-01-01T00:00:00Z');
  const anchor = join(dir, 'witness', 'anchor.jsonl');
  const t = await AuditTrail.open({ dataDir: dir, signingKey: key, clock, origin: 'conduitwatch/test', checkpointEvery: 3, anchor });
  for (let i = 1; i <= n; i++) {
    clock.advance('1m');
    await t.append({ actor: 'alice', role: 'engineer', action: i === 4 ? 'propose' : 'whatif', target: 'control->field', result: 'ok', reason: `step ${i}`, ruleHash: 'sha256:ab' });
  }
  return { dir, key, clock, anchor, file: join(dir, AUDIT_FILE), t };
};

const readLines = async (file: string) => (await readFile(file, 'utf8')).trimEnd().split('\n');
const writeLines = (file: string, lines: string[]) => writeFile(file, `${lines.join('\n')}\n`);
const parse = (l: string) => JSON.parse(l) as AuditLine;
/** Line index of entry `seq`. */
const lineOf = (lines: string[], seq: number) => lines.findIndex((l) => { const p = parse(l); return p.type === 'entry' && p.seq === seq; });

test('canonical JSON sorts keys, drops undefined and refuses what JSON cannot hold', () => {
  assert.equal(canonicalJson({ b: 1, a: [true, null, 'x'], c: undefined, d: -0 }), '{"a":[true,null,"x"],"b":1,"d":0}');
  assert.equal(contentHash({ a: 1, b: 2 }), contentHash({ b: 2, a: 1 }));
  assert.throws(() => canonicalJson({ x: Number.NaN }), TypeError);
  assert.throws(() => canonicalJson({ x: 1n }), TypeError);
});

test('an untouched trail verifies, with checkpoints on propose and every 3 entries', async () => {
  const { dir, key, anchor, file } = await trail(7);
  const r = await verifyAudit({ dataDir: dir, publicKey: key, keyPinned: true, anchor });
  assert.equal(r.ok, true, JSON.stringify(r.problems));
  assert.equal(r.entries, 7);
  // entries 1..7: checkpoint after 3, after 4 (propose), after 7 (3 since the last)
  assert.deepEqual((await readLines(file)).map((l) => { const p = parse(l); return `${p.type[0]}${p.seq}`; }),
    ['e1', 'e2', 'e3', 'c3', 'e4', 'c4', 'e5', 'e6', 'e7', 'c7']);
  assert.equal(r.signedThrough, 7);
  assert.equal(r.unsignedTail, 0);
  await rm(dir, { recursive: true });
});

test('the chain hash covers every field and links to the previous entry', async () => {
  const { dir, file } = await trail(2);
  const [a, b] = (await readLines(file)).map(parse) as AuditEntry[];
  assert.equal(a!.prevHash, '0'.repeat(64));
  assert.equal(b!.prevHash, a!.hash);
  assert.equal(entryHash(b!), b!.hash);
  assert.notEqual(entryHash({ ...b!, reason: 'other' }), b!.hash);
  await rm(dir, { recursive: true });
});

/** Each tamper case: what is done to the file, and the problem and seq verify must name first. */
const TAMPERS: { name: string; seq: number; problems: string[]; edit: (lines: string[], ctx: { key: ReturnType<typeof generateKeyPairSync>['privateKey'] }) => string[] }[] = [
  {
    name: 'edits one byte of entry 5 (the actor)', seq: 5, problems: ['hash_mismatch'],
    edit: (lines) => { const i = lineOf(lines, 5); lines[i] = lines[i]!.replace('"actor":"alice"', '"actor":"alicf"'); return lines; },
  },
  {
    name: 'deletes entry 3', seq: 3, problems: ['seq_gap', 'checkpoint_mismatch'],
    edit: (lines) => { lines.splice(lineOf(lines, 3), 1); return lines; },
  },
  {
    name: 'inserts a forged entry after entry 2', seq: 3, problems: ['seq_gap', 'prev_hash_mismatch'],
    edit: (lines) => {
      const prev = parse(lines[lineOf(lines, 2)]!) as AuditEntry;
      const body = { ...prev, seq: 3, prevHash: prev.hash, actor: 'mallory', reason: 'forged' } as AuditEntry;
      const forged = { ...body, hash: entryHash(body) };
      lines.splice(lineOf(lines, 2) + 1, 0, canonicalJson(forged));
      return lines;
    },
  },
  {
    name: 'swaps entries 5 and 6', seq: 5, problems: ['seq_gap'],
    edit: (lines) => { const i = lineOf(lines, 5); const j = lineOf(lines, 6); [lines[i], lines[j]] = [lines[j]!, lines[i]!]; return lines; },
  },
  {
    name: 'rewrites entry 2 and re-chains and re-signs everything after it with a rogue key', seq: 3, problems: ['unknown_key'],
    edit: (lines, { key }) => {
      let head = '0'.repeat(64);
      const hashes = new Map<number, string>();
      return lines.map((l) => {
        const p = parse(l);
        if (p.type === 'entry') {
          const body = { ...p, prevHash: head, ...(p.seq === 2 ? { actor: 'mallory' } : {}) };
          const e = { ...body, hash: entryHash(body) };
          head = e.hash;
          hashes.set(e.seq, e.hash);
          return canonicalJson(e);
        }
        const hash = hashes.get(p.seq)!;
        const note = checkpointNote(p.origin, p.seq, hash, p.ts);
        const cp: AuditCheckpoint = { ...p, hash, note, keyId: keyIdOf(key), signature: sign(null, Buffer.from(note), key).toString('base64') };
        return canonicalJson(cp);
      });
    },
  },
  {
    name: 'moves a checkpoint timestamp back', seq: 7, problems: ['checkpoint_mismatch', 'bad_signature', 'ts_backwards'],
    edit: (lines) => {
      const i = lines.findIndex((l) => { const p = parse(l); return p.type === 'checkpoint' && p.seq === 7; });
      const cp = parse(lines[i]!) as AuditCheckpoint;
      lines[i] = canonicalJson({ ...cp, ts: cp.ts - 3_600_000 });
      return lines;
    },
  },
  {
    name: 'deletes the last two entries and their checkpoint', seq: 7, problems: ['truncated'],
    edit: (lines) => lines.slice(0, lineOf(lines, 6)),
  },
];

test('verify names the first bad entry for every tamper case', async () => {
  assert.ok(TAMPERS.length >= 7);
  const rogue = generateKeyPairSync('ed25519').privateKey;
  for (const c of TAMPERS) {
    const { dir, key, anchor, file } = await trail(7);
    await writeLines(file, c.edit(await readLines(file), { key: rogue }));
    const r = await verifyAudit({ dataDir: dir, publicKey: key, keyPinned: true, anchor });
    assert.equal(r.ok, false, `${c.name}: not detected`);
    assert.ok(c.problems.includes(r.firstBad!.problem), `${c.name}: first problem ${r.firstBad!.problem} (${r.firstBad!.message})`);
    assert.equal(r.firstBad!.seq, c.seq, `${c.name}: ${r.firstBad!.message}`);
    await rm(dir, { recursive: true });
  }
});

test('a trail re-signed with a rogue key passes only when the key is not pinned, and says so', async () => {
  const { dir, file } = await trail(3);
  const rogue = generateKeyPairSync('ed25519').privateKey;
  const lines = TAMPERS.find((c) => c.name.startsWith('rewrites'))!.edit(await readLines(file), { key: rogue });
  await writeLines(file, lines);
  const pinned = await verifyAudit({ dataDir: dir, publicKey: (await loadOrCreateSigningKey(join(dir, 'key.pem'))).key, keyPinned: true });
  assert.equal(pinned.ok, false);
  const unpinned = await verifyAudit({ dataDir: dir });
  assert.match(unpinned.warnings.join('\n'), /public key/);
  assert.equal(unpinned.keyPinned, false);
  await rm(dir, { recursive: true });
});

test('the anchor refuses a checkpoint that goes back, and a reopened trail continues the chain', async () => {
  const { dir, key, anchor, clock } = await trail(4);
  const t2 = await AuditTrail.open({ dataDir: dir, signingKey: key, clock, origin: 'conduitwatch/test', checkpointEvery: 3, anchor });
  assert.equal(t2.lastSeq, 4);
  clock.advance('1m');
  const e5 = await t2.append({ actor: 'bob', action: 'apply', target: 'control->field', result: 'requested' });
  assert.equal(e5.seq, 5);
  const r = await verifyAudit({ dataDir: dir, publicKey: key, keyPinned: true, anchor });
  assert.equal(r.ok, true, JSON.stringify(r.problems));
  // A witness never accepts a regression: cut the trail back to entry 2 and write on from there.
  const lines = await readLines(join(dir, AUDIT_FILE));
  await writeLines(join(dir, AUDIT_FILE), lines.slice(0, lineOf(lines, 3)));
  const t3 = await AuditTrail.open({ dataDir: dir, signingKey: key, clock, origin: 'conduitwatch/test', anchor });
  assert.equal(t3.lastSeq, 2);
  await assert.rejects(t3.append({ actor: 'mallory', action: 'apply', target: 'x', result: 'ok' }), (e) => hasCode(e, 'write_rejected') && /anchor/.test((e as Error).message));
  const cut = await verifyAudit({ dataDir: dir, publicKey: key, keyPinned: true, anchor });
  assert.equal(cut.ok, false);
  await rm(dir, { recursive: true });
});

test('an entry that cannot be written durably rejects, leaves the file as it was, and the next append continues', async (t) => {
  const { dir, key, clock, file } = await trail(2);
  const before = await readFile(file, 'utf8');
  const tr = await AuditTrail.open({ dataDir: dir, signingKey: key, clock, origin: 'conduitwatch/test' });
  // A store whose audit table refuses every insert (the ClickHouse copy cannot be written).
  const refusing = { query: async () => [{ n: String(before.trimEnd().split('\n').length) }], insertRows: async () => { throw new Error('table is read-only (injected)'); } };
  const tr2 = await AuditTrail.open({ dataDir: dir, signingKey: key, clock, origin: 'conduitwatch/test', store: refusing as never });
  let stepRan = false;
  await assert.rejects(tr2.append({ actor: 'alice', action: 'apply', target: 'control->field', result: 'requested' }).then(() => { stepRan = true; }),
    (e) => hasCode(e, 'write_rejected') && /SR 2\.10/.test((e as Error).message));
  assert.equal(stepRan, false);
  assert.equal(await readFile(file, 'utf8'), before);
  const e3 = await tr.append({ actor: 'alice', action: 'whatif', target: 'control->field', result: 'ok' });
  assert.equal(e3.seq, 3);
  t.diagnostic(`file kept ${before.length} bytes after the refused append`);
  assert.equal((await verifyAudit({ dataDir: dir, publicKey: key })).ok, true);
  await rm(dir, { recursive: true });
});

test('an event without a named actor or with a malformed action is refused before anything is written', async () => {
  const { dir, key, clock, file } = await trail(1);
  const before = await readFile(file, 'utf8');
  const tr = await AuditTrail.open({ dataDir: dir, signingKey: key, clock, origin: 'o' });
  await assert.rejects(tr.append({ actor: ' ', action: 'apply', target: 'x', result: 'ok' }), (e) => hasCode(e, 'config_invalid'));
  await assert.rejects(tr.append({ actor: 'a', action: 'Apply Now', target: 'x', result: 'ok' }), (e) => hasCode(e, 'config_invalid'));
  await assert.rejects(tr.append({ actor: 'a', action: 'apply', target: 'x', result: 'ok', details: { n: Number.POSITIVE_INFINITY } }), (e) => hasCode(e, 'config_invalid'));
  assert.equal(await readFile(file, 'utf8'), before);
  await rm(dir, { recursive: true });
});
