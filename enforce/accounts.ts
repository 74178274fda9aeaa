/**
 * Named accounts, roles and API tokens (IEC 62443-3-3 SR 1.1 unique identification, SR 1.3 account
 * management, SR 2.1 authorization by role). Kept in one JSON file in the data directory
 * (`accounts.json`, mode 0600), written atomically (temp file + rename), re-read when it changes, so
 * an account disabled by `conduitwatch accounts disable` is refused by a running API at once.
 *
 * - Passwords: `node:crypto` scrypt (memory-hard; N=2^15, r=8, p=1 = 32 MiB by default), a random
 *   16-byte salt each, compared in constant time. The parameters live in each hash string
 *   (`scrypt$N$r$p$salt$hash`), so they can be raised later without breaking old hashes.
 * - No shared accounts: a name is one person ("a.lindqvist"); generic names ("admin", "operator",
 *   "shift1") are refused, and so is any login without an account (anonymous).
 * - Tokens: `cw_<id>_<secret>` (32 random bytes). Only SHA-256 of the secret is stored (a random
 *   256-bit secret needs no slow KDF). Each token has scopes (a subset of its account's
 *   permissions) and an expiry; what a token may do is its scopes ∩ the account's permissions
 *   *now*, so a role taken away or an account disabled is felt by every token of it.
 * - Approver ≠ proposer is enforced by the workflow, not by roles: one person may hold both roles.
 */
import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { systemClock, type Clock } from '../core/clock.ts';
import { PipelineError } from '../core/errors.ts';

/** The five roles. A person holds one or more. */
export const ROLES = ['viewer', 'analyst', 'engineer', 'approver', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** What a request may do. Routes and CLI commands each need exactly one. */
export const PERMISSIONS = [
  'read', // proposals, what-if flows, readiness, status, audit
  'learn', // fold a deviation into the baseline, or unlearn an item
  'propose', // submit a proposal (its what-if runs)
  'schedule', // put an approved promotion into a maintenance window
  'approve', // approve or reject (never one's own proposal)
  'abort', // operator abort during the watch; cancel a scheduled promotion
  'rollback', // restore the known-good ruleset of a promotion on command
  'accounts', // add, disable, change roles, issue tokens for others
] as const;
export type Permission = (typeof PERMISSIONS)[number];

/** Least privilege: each role gets what its job needs. Admins manage accounts but cannot approve. */
export const ROLE_PERMISSIONS: Record<Role, readonly Permission[]> = {
  viewer: ['read'],
  analyst: ['read', 'learn'],
  engineer: ['read', 'propose', 'schedule', 'abort', 'rollback'],
  approver: ['read', 'approve', 'schedule', 'abort', 'rollback'],
  admin: ['read', 'accounts'],
};

export const permissionsOf = (roles: readonly Role[]): Set<Permission> =>
  new Set(roles.flatMap((r) => ROLE_PERMISSIONS[r]));

/** Names that stand for a function or a group, not a person (SR 1.1: no shared accounts). */
const SHARED_NAMES = new Set([
  'admin', 'administrator', 'root', 'operator', 'operators', 'engineer', 'engineering', 'approver', 'analyst',
  'viewer', 'user', 'users', 'guest', 'shared', 'default', 'anonymous', 'anon', 'test', 'service', 'system',
  'ops', 'soc', 'scada', 'hmi', 'control', 'maintenance', 'shift', 'team', 'everyone', 'public', 'conduitwatch',
]);

/** Why `name` cannot be an account name, or undefined when it can. */
export const sharedNameReason = (name: string): string | undefined => {
  if (!/^[a-z][a-z0-9._-]{1,63}$/.test(name)) return 'use 2–64 lower-case letters, digits, ".", "_" or "-", starting with a letter (e.g. "a.lindqvist")';
  const stem = name.replace(/[0-9._-]+$/, '');
  if (SHARED_NAMES.has(name) || SHARED_NAMES.has(stem)) return `"${name}" names a function or a group, not a person; accounts are personal (IEC 62443-3-3 SR 1.1), e.g. "a.lindqvist"`;
  return undefined;
};

const Account = z.object({
  name: z.string().describe('Login name of one person, e.g. "a.lindqvist".'),
  displayName: z.string().describe('The person\'s full name, shown in the audit trail and the console.'),
  roles: z.array(z.enum(ROLES)).min(1).describe('Roles held: viewer, analyst, engineer, approver, admin.'),
  passwordHash: z.string().describe('scrypt$N$r$p$salt$hash (base64url); empty for a token-only account.'),
  disabled: z.boolean().default(false).describe('A disabled account cannot log in; its tokens stop working at once.'),
  createdAt: z.number().describe('Epoch ms.'),
  createdBy: z.string().describe('Who added the account.'),
}).strict();
export type Account = z.output<typeof Account>;

const Token = z.object({
  id: z.string().describe('Public part of the token (16 hex digits); audit records name it.'),
  account: z.string().describe('Account the token acts for.'),
  kind: z.enum(['api', 'session']).describe('"api": issued by `accounts token`; "session": a console login.'),
  label: z.string().default('').describe('What the token is for, e.g. "ci pipeline".'),
  scopes: z.array(z.enum(PERMISSIONS)).min(1).describe('Permissions the token may use (within the account\'s).'),
  secretSha256: z.string().describe('SHA-256 of the secret, hex.'),
  createdAt: z.number(),
  expiresAt: z.number().describe('Epoch ms after which the token is refused.'),
  revoked: z.boolean().default(false),
}).strict();
export type Token = z.output<typeof Token>;

const AccountsFile = z.object({
  version: z.literal(1),
  accounts: z.array(Account),
  tokens: z.array(Token),
}).strict();
type AccountsFile = z.output<typeof AccountsFile>;

/** scrypt cost; tests lower `N` to keep a suite fast (the hash string records what was used). */
export interface ScryptParams { N: number; r: number; p: number }
export const DEFAULT_SCRYPT: ScryptParams = { N: 2 ** 15, r: 8, p: 1 };

const scrypt = (password: string, salt: Buffer, keylen: number, opts: ScryptOptions): Promise<Buffer> =>
  new Promise((resolve, reject) => scryptCb(password, salt, keylen, opts, (e, k) => (e ? reject(e) : resolve(k))));

const b64 = (b: Buffer): string => b.toString('base64url');

export const hashPassword = async (password: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> => {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, 32, { ...params, maxmem: 256 * params.N * params.r + 1024 * 1024 });
  return `scrypt$${params.N}$${params.r}$${params.p}$${b64(salt)}$${b64(key)}`;
};

export const verifyPassword = async (password: string, stored: string): Promise<boolean> => {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  const salt = Buffer.from(parts[4]!, 'base64url');
  const want = Buffer.from(parts[5]!, 'base64url');
  const got = await scrypt(password, salt, want.length, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 });
  return timingSafeEqual(got, want);
};

/** Password rules: long beats clever (NIST SP 800-63B §5.1.1: at least 8, we ask 12). */
export const passwordProblem = (password: string, name: string): string | undefined => {
  if (password.length < 12) return 'use at least 12 characters (a few unrelated words work well)';
  if (password.toLowerCase().includes(name.toLowerCase())) return 'do not put the account name in the password';
  return undefined;
};

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

/** Who a request acts as, after authentication. */
export interface Principal {
  account: string;
  displayName: string;
  roles: Role[];
  /** What this request may do: the token's scopes ∩ the account's permissions now. */
  permissions: Set<Permission>;
  tokenId: string;
  tokenKind: 'api' | 'session';
  expiresAt: number;
}

/** Why authentication failed: for the 401 body and the audit record (never which part was wrong for a password). */
export type AuthFailure = 'no_credentials' | 'malformed_token' | 'unknown_token' | 'expired' | 'revoked' | 'account_disabled' | 'bad_login';

export class AuthError extends PipelineError {
  constructor(readonly reason: AuthFailure, message: string, readonly account?: string) {
    super('unrecoverable', message, { reason, account });
  }
}

export interface NewToken { token: string; id: string; expiresAt: number; scopes: Permission[] }

/** Options of `AccountStore`. */
export interface AccountStoreOptions {
  clock?: Clock;
  scrypt?: ScryptParams;
  /** Longest lifetime an API token may ask for (default 90 days). */
  maxTokenMs?: number;
  /** Console session lifetime (default 8 h: one shift). */
  sessionMs?: number;
}

/**
 * The accounts file and everything done with it. Each mutation re-reads the file, changes it and
 * writes it back atomically; two writers at once are not expected (the CLI and the API of one
 * site), and the rename keeps the file whole whatever happens.
 */
export class AccountStore {
  readonly file: string;
  private readonly clock: Clock;
  private readonly scryptParams: ScryptParams;
  private readonly maxTokenMs: number;
  private readonly sessionMs: number;
  private cache?: { mtimeMs: number; size: number; data: AccountsFile };

  constructor(dataDir: string, opts: AccountStoreOptions = {}) {
    this.file = join(dataDir, 'accounts.json');
    this.clock = opts.clock ?? systemClock;
    this.scryptParams = opts.scrypt ?? DEFAULT_SCRYPT;
    this.maxTokenMs = opts.maxTokenMs ?? 90 * 86_400_000;
    this.sessionMs = opts.sessionMs ?? 8 * 3_600_000;
  }

  private read(): AccountsFile {
    let st;
    try {
      st = statSync(this.file);
    } catch {
      return { version: 1, accounts: [], tokens: [] };
    }
    if (this.cache && this.cache.mtimeMs === st.mtimeMs && this.cache.size === st.size) return this.cache.data;
    let data: AccountsFile;
    try {
      data = AccountsFile.parse(JSON.parse(readFileSync(this.file, 'utf8')));
    } catch (e) {
      throw new PipelineError('config_invalid', `${this.file}: not a valid accounts file (${(e as Error).message.split('\n')[0]}). Restore it from a backup, or move it away and add the accounts again with 'conduitwatch accounts add'.`, { file: this.file }, { cause: e });
    }
    this.cache = { mtimeMs: st.mtimeMs, size: st.size, data };
    return data;
  }

  private write(data: AccountsFile): void {
    mkdirSync(dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, `${JSON.stringify(data, null, 2)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.file);
    this.cache = undefined;
  }

  list(): Account[] {
    return this.read().accounts.map((a) => ({ ...a }));
  }

  get(name: string): Account | undefined {
    return this.read().accounts.find((a) => a.name === name);
  }

  tokens(account?: string): Omit<Token, 'secretSha256'>[] {
    return this.read().tokens.filter((t) => !account || t.account === account)
      .map(({ secretSha256: _s, ...t }) => t);
  }

  /** Adds a person. Refuses shared or generic names, duplicates, weak passwords. */
  async add(a: { name: string; displayName: string; roles: Role[]; password?: string; by: string }): Promise<Account> {
    const why = sharedNameReason(a.name);
    if (why) throw new PipelineError('config_invalid', `Account name refused: ${why}.`, { name: a.name });
    if (!a.displayName.trim() || a.displayName.trim().split(/\s+/).length < 2) {
      throw new PipelineError('config_invalid', `--display-name "${a.displayName}": give the person's full name (first and last), so the audit trail names a person.`);
    }
    if (a.roles.length === 0) throw new PipelineError('config_invalid', `Give at least one role: ${ROLES.join(', ')}.`);
    if (a.password !== undefined) {
      const p = passwordProblem(a.password, a.name);
      if (p) throw new PipelineError('config_invalid', `Password refused: ${p}.`);
    }
    const passwordHash = a.password === undefined ? '' : await hashPassword(a.password, this.scryptParams);
    const data = this.read();
    if (data.accounts.some((x) => x.name === a.name)) throw new PipelineError('config_invalid', `Account "${a.name}" exists already; 'conduitwatch accounts list' shows it.`);
    const account: Account = {
      name: a.name, displayName: a.displayName.trim(), roles: [...new Set(a.roles)], passwordHash,
      disabled: false, createdAt: this.clock.now(), createdBy: a.by,
    };
    this.write({ ...data, accounts: [...data.accounts, account] });
    return account;
  }

  /** Disables or re-enables an account; a disabled account's tokens are refused from the next request on. */
  setDisabled(name: string, disabled: boolean): Account {
    const data = this.read();
    const a = data.accounts.find((x) => x.name === name);
    if (!a) throw new PipelineError('config_invalid', `No account "${name}"; 'conduitwatch accounts list' shows the accounts.`);
    const next = { ...a, disabled };
    this.write({ ...data, accounts: data.accounts.map((x) => (x.name === name ? next : x)) });
    return next;
  }

  setRoles(name: string, roles: Role[]): Account {
    const data = this.read();
    const a = data.accounts.find((x) => x.name === name);
    if (!a) throw new PipelineError('config_invalid', `No account "${name}"; 'conduitwatch accounts list' shows the accounts.`);
    if (roles.length === 0) throw new PipelineError('config_invalid', `Give at least one role: ${ROLES.join(', ')}.`);
    const next = { ...a, roles: [...new Set(roles)] };
    this.write({ ...data, accounts: data.accounts.map((x) => (x.name === name ? next : x)) });
    return next;
  }

  private mint(account: Account, kind: 'api' | 'session', scopes: Permission[], ttlMs: number, label: string): NewToken {
    const id = randomBytes(8).toString('hex');
    const secret = b64(randomBytes(32));
    const now = this.clock.now();
    const token: Token = {
      id, account: account.name, kind, label, scopes, secretSha256: sha256(secret),
      createdAt: now, expiresAt: now + ttlMs, revoked: false,
    };
    const data = this.read();
    // Expired tokens are dropped on every mint so the file does not grow without bound.
    const live = data.tokens.filter((t) => t.expiresAt > now);
    this.write({ ...data, tokens: [...live, token] });
    return { token: `cw_${id}_${secret}`, id, expiresAt: token.expiresAt, scopes };
  }

  /**
   * Issues an API token for `name` with `scopes` (default: all the account's permissions) valid for
   * `ttlMs`. A scope the account does not hold is refused, so a token never widens an account.
   */
  issueToken(name: string, o: { scopes?: Permission[]; ttlMs: number; label?: string }): NewToken {
    const a = this.get(name);
    if (!a) throw new PipelineError('config_invalid', `No account "${name}"; 'conduitwatch accounts list' shows the accounts.`);
    if (a.disabled) throw new PipelineError('config_invalid', `Account "${name}" is disabled; enable it first.`);
    const held = permissionsOf(a.roles);
    const scopes = o.scopes && o.scopes.length > 0 ? [...new Set(o.scopes)] : [...held];
    const extra = scopes.filter((s) => !held.has(s));
    if (extra.length) throw new PipelineError('config_invalid', `Account "${name}" (roles ${a.roles.join(', ')}) does not hold ${extra.join(', ')}; it holds ${[...held].join(', ')}.`);
    if (!(o.ttlMs > 0) || o.ttlMs > this.maxTokenMs) {
      throw new PipelineError('config_invalid', `Token lifetime must be between 1 s and ${Math.round(this.maxTokenMs / 86_400_000)} days (e.g. --expires 30d).`);
    }
    return this.mint(a, 'api', scopes, o.ttlMs, o.label ?? '');
  }

  revokeToken(id: string): void {
    const data = this.read();
    if (!data.tokens.some((t) => t.id === id)) throw new PipelineError('config_invalid', `No token ${id}; 'conduitwatch accounts list --tokens' shows them.`);
    this.write({ ...data, tokens: data.tokens.map((t) => (t.id === id ? { ...t, revoked: true } : t)) });
  }

  /** Password login (the console): a session token for the account's permissions, for one shift. */
  async login(name: string, password: string): Promise<NewToken & { principal: Principal }> {
    const a = this.get(name);
    // The same work and the same answer whether the name exists or not.
    const ok = await verifyPassword(password, a?.passwordHash || `scrypt$${this.scryptParams.N}$${this.scryptParams.r}$${this.scryptParams.p}$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`);
    if (!a || !a.passwordHash || !ok) throw new AuthError('bad_login', 'Wrong account name or password.', name);
    if (a.disabled) throw new AuthError('account_disabled', `Account "${name}" is disabled.`, name);
    const t = this.mint(a, 'session', [...permissionsOf(a.roles)], this.sessionMs, 'console login');
    return { ...t, principal: this.authenticate(t.token) };
  }

  /** Checks a bearer token; throws `AuthError` saying why it is refused. */
  authenticate(bearer: string | undefined): Principal {
    if (!bearer) throw new AuthError('no_credentials', 'No credentials: log in, or send "Authorization: Bearer cw_…" (conduitwatch accounts token).');
    const m = /^cw_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/.exec(bearer);
    if (!m) throw new AuthError('malformed_token', 'Malformed token: expected cw_<16 hex>_<43 base64url>.');
    const data = this.read();
    const t = data.tokens.find((x) => x.id === m[1]);
    if (!t || !timingSafeEqual(Buffer.from(t.secretSha256, 'hex'), createHash('sha256').update(m[2]!).digest())) {
      throw new AuthError('unknown_token', 'Unknown token.');
    }
    if (t.revoked) throw new AuthError('revoked', `Token ${t.id} was revoked.`, t.account);
    if (t.expiresAt <= this.clock.now()) throw new AuthError('expired', `Token ${t.id} expired at ${new Date(t.expiresAt).toISOString()}.`, t.account);
    const a = data.accounts.find((x) => x.name === t.account);
    if (!a || a.disabled) throw new AuthError('account_disabled', `Account "${t.account}" is disabled.`, t.account);
    const held = permissionsOf(a.roles);
    return {
      account: a.name, displayName: a.displayName, roles: [...a.roles],
      permissions: new Set(t.scopes.filter((s) => held.has(s))),
      tokenId: t.id, tokenKind: t.kind, expiresAt: t.expiresAt,
    };
  }
}
