/**
 * The audit trail of promote-to-block: an append-only, hash-chained log with Ed25519-signed
 * checkpoints (RELIABILITY.md "A sound design for the audit trail"; IEC 62443-3-3 SR 2.8, 2.10,
 * 2.12, 3.9). It is kept twice: as `audit.jsonl` in the data directory (one canonical JSON object
 * per line) and in the store's `audit` table (the same lines, byte for byte). Each copy checks the
 * other; an anchor file kept elsewhere checks both.
 *
 * Lines (`type` says which):
 *
 *   entry       {type:'entry', seq, ts, actor, role, action, target, result, reason, requestId,
 *                ruleHash, whatifHash, details, prevHash, hash}
 *               seq runs 1, 2, 3 … with no gap; `hash` = SHA-256(0x00 ‖ prevHash ‖ canonical(entry
 *               without `hash`)) in hex; the first entry's prevHash is 64 zeros.
 *   checkpoint  {type:'checkpoint', seq, ts, origin, hash, keyId, note, signature}
 *               signs the chain up to entry `seq`: `note` is the C2SP-style signed-note body
 *               "origin\nseq\nbase64(hash)\nts\n", `signature` its Ed25519 signature (base64),
 *               `keyId` the first 16 hex digits of SHA-256 of the raw 32-byte public key.
 *
 * Writing: {@link AuditTrail.append} resolves only once the entry (and any checkpoint it triggers)
 * is fsync'ed to audit.jsonl AND inserted into the table; otherwise it rejects with
 * `write_rejected` and the file is cut back to where it was. Callers do the step only after the
 * append resolved (fail closed, SR 2.10): "a step whose audit entry cannot be written does not
 * happen". One writer per data directory (chDB's directory lock already enforces one process);
 * appends inside the process are serialised.
 *
 * Checking: {@link verifyAudit} recomputes the chain, checks every checkpoint signature against the
 * pinned public key, compares the file with the table and with an anchor file, and names the first
 * bad line. What it can and cannot catch is in enforce/README.md ("Audit trail").
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Clock } from '../core/clock.ts';
import { errorMessage, PipelineError } from '../core/errors.ts';
import { tables } from '../store/schema.ts';
import type { Store } from '../store/store.ts';
import { canonicalJson, sha256Hex } from './canonical.ts';

/** File name of the JSON-lines copy inside the data directory. */
export const AUDIT_FILE = 'audit.jsonl';
/** Default signing key file inside the data directory (see enforce/README.md on where it belongs). */
export const DEFAULT_KEY_FILE = 'audit-signing-key.pem';
/** The chain's start: the `prevHash` of entry 1. */
export const GENESIS_HASH = '0'.repeat(64);

/** What a step reports; the trail adds seq, ts and the chain. */
export interface AuditEvent {
  /** Who: a named user or service account (SR 1.1: never a shared "admin"), e.g. 'alice' or 'svc:workflow'. */
  actor: string;
  /** The actor's role when it acted (viewer, analyst, approver, admin, service …); '' when not known. */
  role?: string;
  /** What was done: lower-case words joined by '.', '_' or '-', e.g. 'propose', 'whatif', 'waive', 'approve', 'apply', 'rollback'. */
  action: string;
  /** What it was done to: a conduit id ('control->field'), a rule hash, a job id. */
  target: string;
  /** 'ok' done; 'refused' not done on purpose (gate, RBAC); 'failed' attempted and failed; 'requested' about to be attempted. */
  result: AuditResult;
  /** Why, in words: the refusal's reasons, a waiver's justification, an approval's comment. */
  reason?: string;
  /** Correlates the entries of one request (an API request id, a BullMQ job id + attempt). */
  requestId?: string;
  /** Content hash of the rule concerned (`ruleHash`), when there is one. */
  ruleHash?: string;
  /** Hash of the what-if result the step relied on (`WhatIfResult.hash`), when there is one. */
  whatifHash?: string;
  /** Anything else worth keeping (plain JSON; numbers must be finite). */
  details?: Record<string, unknown>;
}

export type AuditResult = 'ok' | 'refused' | 'failed' | 'requested';
const RESULTS: readonly AuditResult[] = ['ok', 'refused', 'failed', 'requested'];

/** One chained entry as written. */
export interface AuditEntry {
  type: 'entry';
  seq: number;
  /** Processing time, epoch ms, from the trail's clock. */
  ts: number;
  actor: string;
  role: string;
  action: string;
  target: string;
  result: AuditResult;
  reason: string;
  requestId: string;
  ruleHash: string;
  whatifHash: string;
  details: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

/** A signed checkpoint of the chain up to entry `seq`. */
export interface AuditCheckpoint {
  type: 'checkpoint';
  seq: number;
  ts: number;
  origin: string;
  hash: string;
  keyId: string;
  note: string;
  signature: string;
}

export type AuditLine = AuditEntry | AuditCheckpoint;

/** Chain hash of an entry: SHA-256(0x00 ‖ prevHash ‖ canonical(entry without hash)), hex. */
export const entryHash = (e: Omit<AuditEntry, 'hash'> & { hash?: string }): string => {
  const { hash: _h, ...rest } = e;
  return sha256Hex(Buffer.concat([Buffer.from([0]), Buffer.from(rest.prevHash, 'hex'), Buffer.from(canonicalJson(rest), 'utf8')]));
};

/** The signed-note body of a checkpoint (C2SP tlog-checkpoint style, plus a timestamp line). */
export const checkpointNote = (origin: string, seq: number, hash: string, ts: number): string =>
  `${origin}\n${seq}\n${Buffer.from(hash, 'hex').toString('base64')}\n${ts}\n`;

/** Raw 32-byte Ed25519 public key of a key object. */
const rawPublicKey = (k: KeyObject): Buffer => {
  const der = (k.type === 'public' ? k : createPublicKey(k)).export({ format: 'der', type: 'spki' });
  return der.subarray(der.length - 32);
};

/** Key id: the first 16 hex digits of SHA-256 of the raw public key. */
export const keyIdOf = (k: KeyObject): string => sha256Hex(rawPublicKey(k)).slice(0, 16);

/**
 * Reads a public key: a PEM file, a PEM text, or the base64 of the raw 32-byte key. A private key
 * PEM gives its public half. Throws `config_invalid` naming what was passed.
 */
export const loadPublicKey = async (spec: string): Promise<KeyObject> => {
  let text = spec;
  if (!spec.includes('-----BEGIN') && existsSync(spec)) text = await readFile(spec, 'utf8');
  try {
    if (text.includes('-----BEGIN')) return createPublicKey(text);
    const raw = Buffer.from(text.trim(), 'base64');
    if (raw.length !== 32) throw new Error(`${raw.length} bytes, not 32`);
    // SPKI DER prefix of an Ed25519 key (RFC 8410): SEQUENCE { AlgorithmIdentifier 1.3.101.112, BIT STRING }.
    const der = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw]);
    return createPublicKey({ key: der, format: 'der', type: 'spki' });
  } catch (e) {
    throw new PipelineError('config_invalid',
      `Cannot read the audit public key "${spec}": ${errorMessage(e)}. Pass a PEM file, or the base64 of the raw Ed25519 key ` +
      '(`conduitwatch audit verify` prints it as publicKey).', { spec }, { cause: e });
  }
};

/** Base64 of the raw Ed25519 public key, the form `--public-key` and `enforce.audit.publicKey` take. */
export const publicKeyBase64 = (k: KeyObject): string => rawPublicKey(k).toString('base64');

/**
 * Loads the Ed25519 signing key from a PEM file, creating it (mode 0600, with `<file>.pub` beside
 * it) when it does not exist. Throws `config_invalid` for a file that is not an Ed25519 private key.
 */
export const loadOrCreateSigningKey = async (file: string): Promise<{ key: KeyObject; created: boolean }> => {
  if (!existsSync(file)) {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600, flag: 'wx' });
    await writeFile(`${file}.pub`, publicKey.export({ format: 'pem', type: 'spki' }));
    return { key: privateKey, created: true };
  }
  try {
    const key = createPrivateKey(await readFile(file, 'utf8'));
    if (key.asymmetricKeyType !== 'ed25519') throw new Error(`a ${key.asymmetricKeyType} key, not ed25519`);
    return { key, created: false };
  } catch (e) {
    throw new PipelineError('config_invalid', `The audit signing key ${file} is unusable: ${errorMessage(e)}. ` +
      'Point enforce.audit.signingKey at an Ed25519 private key in PEM (PKCS#8), or remove the file to have a new one made.', { file }, { cause: e });
  }
};

export interface AuditTrailOptions {
  /** The data directory; audit.jsonl lives in it. */
  dataDir: string;
  /** The store whose `audit` table holds the second copy. Required in production; tests of the file alone may omit it. */
  store?: Pick<Store, 'insertRows' | 'query'>;
  /** Ed25519 private key that signs checkpoints. */
  signingKey: KeyObject;
  clock: Clock;
  /** Names the log in checkpoint notes, e.g. 'conduitwatch/plant-a'. */
  origin: string;
  /** A checkpoint at least every this many entries (default 100). */
  checkpointEvery?: number;
  /** Actions that are checkpointed at once (default {@link SIGNED_ACTIONS}). */
  signedActions?: ReadonlySet<string>;
  /**
   * A witness file outside the data directory: every checkpoint is also appended there (one JSON
   * line each), and `verifyAudit` with the same `anchor` refuses a log that no longer extends it.
   */
  anchor?: string;
}

/** Steps that change what a firewall does, or decide that it will: checkpointed on every append. */
export const SIGNED_ACTIONS: ReadonlySet<string> = new Set(['propose', 'waive', 'approve', 'reject', 'schedule', 'apply', 'rollback', 'restore', 'confirm']);

const ACTION_RE = /^[a-z][a-z0-9_.-]{0,63}$/;

const parseLines = (text: string): string[] => {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
};

/** The table row of a line. */
const rowOf = (l: AuditLine, line: string): Record<string, unknown> => {
  const c = tables.audit.columns;
  const isEntry = l.type === 'entry';
  return {
    [c.seq]: l.seq, [c.kind]: l.type, [c.ts]: l.ts,
    [c.actor]: isEntry ? l.actor : '', [c.action]: isEntry ? l.action : '', [c.target]: isEntry ? l.target : '',
    [c.result]: isEntry ? l.result : '', [c.ruleHash]: isEntry ? l.ruleHash : '', [c.whatifHash]: isEntry ? l.whatifHash : '',
    [c.hash]: l.hash, [c.line]: line,
  };
};

/**
 * The writer of one data directory's audit trail. Open with {@link AuditTrail.open}; append with
 * {@link AuditTrail.append}; the trail needs no close (every append is complete when it resolves).
 */
export class AuditTrail {
  private seq = 0;
  private head = GENESIS_HASH;
  private lastTs = 0;
  private sinceCheckpoint = 0;
  private queue: Promise<unknown> = Promise.resolve();
  readonly file: string;
  readonly keyId: string;
  private readonly every: number;
  private readonly signed: ReadonlySet<string>;

  private constructor(private readonly o: AuditTrailOptions) {
    this.file = join(resolve(o.dataDir), AUDIT_FILE);
    this.keyId = keyIdOf(o.signingKey);
    this.every = o.checkpointEvery ?? 100;
    this.signed = o.signedActions ?? SIGNED_ACTIONS;
    if (!(Number.isInteger(this.every) && this.every >= 1)) {
      throw new PipelineError('config_invalid', `checkpointEvery must be a whole number ≥ 1, not ${this.every}.`);
    }
  }

  /**
   * Opens the trail: reads the head of audit.jsonl (seq, hash) and brings the table up to the file
   * (lines a crash left in the file but not in the table are inserted; nothing else is ever
   * rewritten). Refuses (`unrecoverable`) a file whose last line does not parse, and a table that
   * holds lines the file lacks: both mean the copies disagree, which `audit verify` explains.
   */
  static async open(o: AuditTrailOptions): Promise<AuditTrail> {
    const t = new AuditTrail(o);
    await mkdir(resolve(o.dataDir), { recursive: true });
    let text = '';
    try {
      text = await readFile(t.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new PipelineError('write_rejected', `Cannot read the audit trail ${t.file}: ${errorMessage(e)}.`, { file: t.file }, { cause: e });
      }
    }
    if (text && !text.endsWith('\n')) {
      throw new PipelineError('unrecoverable', `The audit trail ${t.file} ends in a partial line: run 'conduitwatch audit verify --data ${o.dataDir}'.`, { file: t.file });
    }
    const lines = parseLines(text);
    // Walk back from the end to the newest entry; checkpoints after it only reset the counter.
    let checkpointSeen = false;
    for (let i = lines.length - 1; i >= 0; i--) {
      let l: AuditLine;
      try {
        l = JSON.parse(lines[i]!) as AuditLine;
      } catch (e) {
        throw new PipelineError('unrecoverable', `The audit trail ${t.file} has an unreadable line ${i + 1}: run 'conduitwatch audit verify --data ${o.dataDir}'.`, { file: t.file }, { cause: e });
      }
      t.lastTs = Math.max(t.lastTs, l.ts);
      if (l.type === 'checkpoint') { checkpointSeen = true; if (t.seq) break; continue; }
      if (!t.seq) { t.seq = l.seq; t.head = l.hash; }
      if (checkpointSeen) break;
      t.sinceCheckpoint += 1;
    }
    if (o.store) await t.syncTable(lines);
    return t;
  }

  private async syncTable(lines: string[]): Promise<void> {
    const c = tables.audit.columns;
    const rows = await this.o.store!.query<{ n: string }>(`SELECT count() AS n FROM ${tables.audit.name}`);
    const inTable = Number(rows[0]?.n ?? 0);
    if (inTable > lines.length) {
      throw new PipelineError('unrecoverable',
        `The audit table holds ${inTable} lines but ${this.file} only ${lines.length}: the file was cut or replaced. ` +
        `Run 'conduitwatch audit verify --data ${this.o.dataDir}' and restore the file from a backup before any further step.`, { file: this.file });
    }
    if (inTable < lines.length) {
      const missing = lines.slice(inTable);
      const have = await this.o.store!.query<{ line: string }>(`SELECT ${c.line} AS line FROM ${tables.audit.name} ORDER BY ${c.seq} DESC, ${c.kind} DESC LIMIT 1`);
      if (inTable > 0 && have[0]?.line !== lines[inTable - 1]) {
        throw new PipelineError('unrecoverable', `The audit table and ${this.file} disagree: run 'conduitwatch audit verify --data ${this.o.dataDir}'.`, { file: this.file });
      }
      await this.o.store!.insertRows(tables.audit.name, missing.map((line) => rowOf(JSON.parse(line) as AuditLine, line)));
    }
  }

  /** Seq of the newest entry (0 when empty). */
  get lastSeq(): number {
    return this.seq;
  }

  /**
   * Appends one entry and resolves with it once it is durable in audit.jsonl (fsync) and in the
   * table; also writes a signed checkpoint when the action is in `signedActions` or `checkpointEvery`
   * entries have passed. Rejects with `write_rejected` when either copy cannot be written — then the
   * file is cut back, the trail's head is unchanged, and the caller must not carry out the step.
   * Rejects with `config_invalid` for an event that breaks the entry format (empty actor, bad action).
   */
  append(ev: AuditEvent): Promise<AuditEntry> {
    const run = this.queue.then(() => this.appendNow(ev));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Writes a checkpoint of the current head now (no-op on an empty trail). */
  checkpoint(): Promise<AuditCheckpoint | undefined> {
    const run = this.queue.then(async () => {
      if (this.seq === 0) return undefined;
      const cp = this.makeCheckpoint(this.o.clock.now());
      await this.write([cp]);
      this.sinceCheckpoint = 0;
      return cp;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async appendNow(ev: AuditEvent): Promise<AuditEntry> {
    if (typeof ev.actor !== 'string' || !ev.actor.trim()) {
      throw new PipelineError('config_invalid', 'An audit entry needs a named actor (SR 1.1): pass the user or service account that acts.');
    }
    if (!ACTION_RE.test(ev.action)) {
      throw new PipelineError('config_invalid', `Audit action "${ev.action}" is not valid: use lower-case words joined by '.', '_' or '-', e.g. "apply".`);
    }
    if (!RESULTS.includes(ev.result)) {
      throw new PipelineError('config_invalid', `Audit result "${String(ev.result)}" is not one of ${RESULTS.join(', ')}.`);
    }
    // Timestamps never go backwards in the trail, even when the clock does (verify checks it).
    const ts = Math.max(this.lastTs, Math.floor(this.o.clock.now()));
    const body: Omit<AuditEntry, 'hash'> = {
      type: 'entry', seq: this.seq + 1, ts, actor: ev.actor, role: ev.role ?? '', action: ev.action, target: ev.target,
      result: ev.result, reason: ev.reason ?? '', requestId: ev.requestId ?? '', ruleHash: ev.ruleHash ?? '',
      whatifHash: ev.whatifHash ?? '', details: ev.details ?? {}, prevHash: this.head,
    };
    let entry: AuditEntry;
    try {
      entry = { ...body, hash: entryHash(body) };
    } catch (e) {
      throw new PipelineError('config_invalid', `Audit entry details are not plain JSON: ${errorMessage(e)}.`, {}, { cause: e });
    }
    const lines: AuditLine[] = [entry];
    const checkpoint = this.signed.has(ev.action) || this.sinceCheckpoint + 1 >= this.every;
    if (checkpoint) lines.push(this.makeCheckpoint(ts, entry));
    await this.write(lines);
    this.seq = entry.seq;
    this.head = entry.hash;
    this.lastTs = ts;
    this.sinceCheckpoint = checkpoint ? 0 : this.sinceCheckpoint + 1;
    return entry;
  }

  private makeCheckpoint(ts: number, upTo?: AuditEntry): AuditCheckpoint {
    const seq = upTo?.seq ?? this.seq;
    const hash = upTo?.hash ?? this.head;
    const t = Math.max(ts, this.lastTs);
    const note = checkpointNote(this.o.origin, seq, hash, t);
    return {
      type: 'checkpoint', seq, ts: t, origin: this.o.origin, hash, keyId: this.keyId, note,
      signature: sign(null, Buffer.from(note, 'utf8'), this.o.signingKey).toString('base64'),
    };
  }

  /** Both copies, file first; a failure cuts the file back to where it was and rethrows. */
  private async write(lines: AuditLine[]): Promise<void> {
    const texts = lines.map((l) => canonicalJson(l));
    const size = await stat(this.file).then((st) => st.size, () => 0);
    const fail = (what: string, e: unknown) => new PipelineError('write_rejected',
      `Audit entry not written (${what}: ${errorMessage(e)}); the step was not carried out (IEC 62443-3-3 SR 2.10). ` +
      'Fix the audit store, then retry the step.', { file: this.file }, { cause: e });
    let fh;
    try {
      fh = await open(this.file, 'a', 0o640);
      await fh.write(texts.map((t) => `${t}\n`).join(''));
      await fh.datasync();
    } catch (e) {
      await fh?.close().catch(() => undefined);
      await truncate(this.file, size).catch(() => undefined);
      throw fail(`cannot append to ${this.file}`, e);
    }
    await fh.close();
    if (this.o.store) {
      try {
        await this.o.store.insertRows(tables.audit.name, lines.map((l, i) => rowOf(l, texts[i]!)));
      } catch (e) {
        await truncate(this.file, size).catch(() => undefined);
        throw fail('the audit table refused the insert', e);
      }
    }
    if (this.o.anchor) {
      const cps = lines.filter((l) => l.type === 'checkpoint');
      if (cps.length) {
        try {
          await appendAnchor(this.o.anchor, cps as AuditCheckpoint[]);
        } catch (e) {
          // The entry is in both copies already; the anchor lags and verify says so. Not fatal to
          // the step, but worth an error for the operator.
          throw new PipelineError('write_rejected', `Audit entry written, but the anchor ${this.o.anchor} refused its checkpoint: ${errorMessage(e)}. ` +
            'The step was not carried out; fix the anchor (a witness outside the data directory) and retry.', { anchor: this.o.anchor }, { cause: e });
        }
      }
    }
  }
}

/**
 * Appends checkpoints to a witness file (one canonical JSON per line, fsync'ed). Refuses a
 * checkpoint that goes back in seq or time from the newest one the witness holds: a witness never
 * accepts a regression (RELIABILITY.md "Roll back the witness state → the witness refuses").
 */
export const appendAnchor = async (file: string, cps: readonly AuditCheckpoint[]): Promise<void> => {
  let last: AuditCheckpoint | undefined;
  try {
    const lines = parseLines(await readFile(file, 'utf8'));
    if (lines.length) last = JSON.parse(lines.at(-1)!) as AuditCheckpoint;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  for (const cp of cps) {
    if (last && (cp.seq < last.seq || cp.ts < last.ts || (cp.seq === last.seq && cp.hash !== last.hash))) {
      throw new Error(`checkpoint seq ${cp.seq} (ts ${cp.ts}) does not extend the witnessed seq ${last.seq} (ts ${last.ts})`);
    }
    last = cp;
  }
  await mkdir(dirname(resolve(file)), { recursive: true });
  const fh = await open(file, 'a', 0o640);
  try {
    await fh.write(cps.map((c) => `${canonicalJson(c)}\n`).join(''));
    await fh.datasync();
  } finally {
    await fh.close();
  }
};

/** Why a line is bad. */
export type AuditProblem =
  | 'unparsable' | 'bad_format' | 'seq_gap' | 'prev_hash_mismatch' | 'hash_mismatch' | 'ts_backwards'
  | 'checkpoint_mismatch' | 'bad_signature' | 'unknown_key' | 'table_mismatch' | 'table_missing' | 'table_extra'
  | 'anchor_mismatch' | 'truncated';

export interface AuditFinding {
  /** 1-based line number in audit.jsonl (0 when the line is missing from the file). */
  line: number;
  /** Seq of the entry or checkpoint concerned (the expected seq for a gap). */
  seq: number;
  problem: AuditProblem;
  message: string;
}

export interface AuditVerifyReport {
  ok: boolean;
  file: string;
  entries: number;
  checkpoints: number;
  /** Newest entry seq that a valid checkpoint signs (0 when none). */
  signedThrough: number;
  /** Entries after the newest checkpoint: chained but not yet signed. */
  unsignedTail: number;
  /** Key id the checkpoints must carry. */
  keyId: string;
  publicKey: string;
  /** True when the public key came from outside the data directory (flag or site.yaml). */
  keyPinned: boolean;
  tableChecked: boolean;
  anchorChecked: boolean;
  /** The first bad line, if any. */
  firstBad?: AuditFinding;
  /** Every problem found, in file order (capped at 100). */
  problems: AuditFinding[];
  warnings: string[];
}

export interface VerifyOptions {
  dataDir: string;
  /** The pinned public key. Without it the key beside the default signing key is used, and the report warns. */
  publicKey?: KeyObject;
  keyPinned?: boolean;
  /** Compare with the store's audit table. */
  store?: Pick<Store, 'query'>;
  /** A witness file written by `AuditTrailOptions.anchor`. */
  anchor?: string;
}

const isHex64 = (s: unknown): boolean => typeof s === 'string' && /^[0-9a-f]{64}$/.test(s);

/**
 * Verifies a data directory's audit trail (see the module comment) and names the first bad line.
 * Never throws for a bad trail (the report says what is wrong); throws `input_invalid` when there is
 * no trail to read.
 */
export const verifyAudit = async (o: VerifyOptions): Promise<AuditVerifyReport> => {
  const file = join(resolve(o.dataDir), AUDIT_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new PipelineError('input_invalid', `No audit trail at ${file} (${(e as NodeJS.ErrnoException).code ?? errorMessage(e)}): ` +
      'the data directory has never recorded a rule step, or --data points elsewhere.', { file }, { cause: e });
  }
  const warnings: string[] = [];
  let key = o.publicKey;
  if (!key) {
    const pub = join(resolve(o.dataDir), `${DEFAULT_KEY_FILE}.pub`);
    if (existsSync(pub)) key = await loadPublicKey(pub);
    warnings.push(key
      ? `public key not pinned: used ${pub} from the data directory itself, so a log rebuilt and re-signed by whoever can write there is not detected. Pin it with --public-key or enforce.audit.publicKey.`
      : 'no public key: pass --public-key (or set enforce.audit.publicKey); checkpoint signatures were not checked.');
  }
  const keyId = key ? keyIdOf(key) : '';
  const problems: AuditFinding[] = [];
  const report = (f: AuditFinding) => { if (problems.length < 100) problems.push(f); };
  const lines = parseLines(text);
  if (text && !text.endsWith('\n')) report({ line: lines.length, seq: 0, problem: 'unparsable', message: `line ${lines.length} is cut short (no newline at the end of the file)` });
  let seq = 0;
  let head = GENESIS_HASH;
  let lastTs = 0;
  let lastCpTs = 0;
  let entries = 0;
  let checkpoints = 0;
  let signedThrough = 0;
  let lastEntryLine = 0;
  const hashes = new Map<number, string>();
  const seqLine = new Map<number, number>();
  lines.forEach((line, i) => {
    const n = i + 1;
    let l: AuditLine;
    try {
      l = JSON.parse(line) as AuditLine;
    } catch {
      report({ line: n, seq: seq + 1, problem: 'unparsable', message: `line ${n} is not JSON` });
      return;
    }
    if (l === null || typeof l !== 'object' || (l.type !== 'entry' && l.type !== 'checkpoint') || !Number.isInteger(l.seq) || typeof l.ts !== 'number') {
      report({ line: n, seq: seq + 1, problem: 'bad_format', message: `line ${n} is neither an audit entry nor a checkpoint` });
      return;
    }
    let canonical = '';
    try { canonical = canonicalJson(l); } catch { /* reported below */ }
    if (canonical !== line) {
      report({ line: n, seq: l.seq, problem: 'bad_format', message: `line ${n} (seq ${l.seq}) is not in canonical form: it was rewritten by hand or by another tool` });
    }
    if (l.type === 'entry') {
      entries += 1;
      lastEntryLine = n;
      if (l.seq !== seq + 1) {
        const again = seqLine.get(l.seq);
        report(again !== undefined
          ? { line: n, seq: l.seq, problem: 'seq_gap', message: `entry seq ${l.seq} appears again at line ${n} after line ${again}: an entry was inserted or moved` }
          : { line: n, seq: seq + 1, problem: 'seq_gap', message: `line ${n}: entry seq ${l.seq} where ${seq + 1} was expected (an entry was deleted, inserted or moved)` });
      } else if (l.prevHash !== head) {
        report({ line: n, seq: l.seq, problem: 'prev_hash_mismatch', message: `entry ${l.seq} (line ${n}) does not chain to entry ${seq}: its prevHash is not that entry's hash` });
      } else if (!isHex64(l.hash) || entryHash(l) !== l.hash) {
        report({ line: n, seq: l.seq, problem: 'hash_mismatch', message: `entry ${l.seq} (line ${n}) was changed after it was written: its content does not give its hash` });
      }
      if (l.ts < lastTs) report({ line: n, seq: l.seq, problem: 'ts_backwards', message: `entry ${l.seq} (line ${n}) is dated before the entry it follows` });
      lastTs = Math.max(lastTs, l.ts);
      seq = l.seq;
      head = l.hash;
      hashes.set(l.seq, l.hash);
      if (!seqLine.has(l.seq)) seqLine.set(l.seq, n);
      return;
    }
    checkpoints += 1;
    const want = hashes.get(l.seq);
    if (want === undefined || want !== l.hash || l.seq > seq) {
      report({ line: n, seq: l.seq, problem: 'checkpoint_mismatch', message: `checkpoint for seq ${l.seq} (line ${n}) does not match entry ${l.seq} of the chain` });
    } else if (l.note !== checkpointNote(l.origin, l.seq, l.hash, l.ts)) {
      report({ line: n, seq: l.seq, problem: 'checkpoint_mismatch', message: `checkpoint for seq ${l.seq} (line ${n}): its note does not say what its fields say` });
    } else if (key) {
      let good: boolean;
      try { good = verify(null, Buffer.from(l.note, 'utf8'), key, Buffer.from(l.signature, 'base64')); } catch { good = false; }
      if (l.keyId !== keyId) {
        report({ line: n, seq: l.seq, problem: 'unknown_key', message: `checkpoint for seq ${l.seq} (line ${n}) is signed by key ${l.keyId}, not the pinned key ${keyId}` });
      } else if (!good) {
        report({ line: n, seq: l.seq, problem: 'bad_signature', message: `checkpoint for seq ${l.seq} (line ${n}) has a signature the pinned key does not verify` });
      } else {
        signedThrough = Math.max(signedThrough, l.seq);
      }
    }
    if (l.ts < lastCpTs) report({ line: n, seq: l.seq, problem: 'ts_backwards', message: `checkpoint for seq ${l.seq} (line ${n}) is dated before the checkpoint it follows` });
    lastCpTs = Math.max(lastCpTs, l.ts);
  });

  let tableChecked = false;
  if (o.store) {
    tableChecked = true;
    const c = tables.audit.columns;
    const rows = await o.store.query<{ line: string }>(
      `SELECT ${c.line} AS line FROM ${tables.audit.name} ORDER BY ${c.seq}, ${c.kind} = 'checkpoint', ${c.ts}`);
    const max = Math.max(rows.length, lines.length);
    for (let i = 0; i < max; i++) {
      const a = lines[i];
      const b = rows[i]?.line;
      if (a === b) continue;
      const seqOf = (s: string | undefined) => { try { return Number((JSON.parse(s ?? '') as AuditLine).seq) || 0; } catch { return 0; } };
      if (b === undefined) {
        report({ line: i + 1, seq: seqOf(a), problem: 'table_missing', message: `line ${i + 1} of ${AUDIT_FILE} is not in the audit table (inserted in the file only, or the table lost it)` });
      } else if (a === undefined) {
        report({ line: 0, seq: seqOf(b), problem: 'table_extra', message: `the audit table holds a line for seq ${seqOf(b)} that ${AUDIT_FILE} lacks (deleted from the file)` });
      } else {
        report({ line: i + 1, seq: seqOf(a), problem: 'table_mismatch', message: `line ${i + 1} of ${AUDIT_FILE} differs from the audit table's copy` });
      }
      break;
    }
  }

  let anchorChecked = false;
  if (o.anchor) {
    anchorChecked = true;
    let witnessed: AuditCheckpoint[] = [];
    try {
      witnessed = parseLines(await readFile(o.anchor, 'utf8')).map((l) => JSON.parse(l) as AuditCheckpoint);
    } catch (e) {
      warnings.push(`anchor ${o.anchor} unreadable: ${errorMessage(e)}`);
    }
    for (const w of witnessed) {
      if (w.seq > seq) {
        report({ line: lastEntryLine, seq: w.seq, problem: 'truncated', message: `the anchor witnessed entry ${w.seq}, but the trail ends at entry ${seq}: entries were deleted from its end` });
        break;
      }
      if (hashes.get(w.seq) !== w.hash) {
        report({ line: 0, seq: w.seq, problem: 'anchor_mismatch', message: `entry ${w.seq} differs from the one the anchor witnessed: the trail was rewritten` });
        break;
      }
    }
  }

  problems.sort((a, b) => (a.line || Infinity) - (b.line || Infinity) || a.seq - b.seq);
  const lastCp = [...lines].reverse().find((l) => l.includes('"type":"checkpoint"'));
  const lastCpSeq = lastCp ? Number((JSON.parse(lastCp) as AuditCheckpoint).seq) || 0 : 0;
  return {
    ok: problems.length === 0, file, entries, checkpoints, signedThrough, unsignedTail: Math.max(0, seq - lastCpSeq),
    keyId, publicKey: key ? publicKeyBase64(key) : '', keyPinned: o.keyPinned === true, tableChecked, anchorChecked,
    ...(problems[0] ? { firstBad: problems[0] } : {}), problems, warnings,
  };
};
