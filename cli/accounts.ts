/**
 * `conduitwatch accounts add|list|token|disable|enable|roles`: the named accounts of the API and
 * the approval console, kept in `<data>/accounts.json` (enforce/accounts.ts). Run on the host by
 * whoever may read that file; each change names the local user who made it (`local:<user>`).
 */
import { userInfo } from 'node:os';
import { PipelineError } from '../core/errors.ts';
import { formatDuration } from '../core/units.ts';
import { AccountStore, PERMISSIONS, ROLES, type Permission, type Role } from '../enforce/accounts.ts';
import { durationArg, usageError } from './args.ts';
import { DEFAULT_DATA_DIR } from './replay-command.ts';

const list = (v: unknown): string[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]).flatMap((s) => String(s).split(',')).map((s) => s.trim()).filter(Boolean);

const readStdin = async (): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
};

const by = (): string => `local:${userInfo().username}`;

export const runAccountsCommand = async (v: Record<string, unknown>, positionals: string[]): Promise<number> => {
  const [sub, name, ...extra] = positionals;
  if (extra.length) throw usageError('accounts', `Unexpected argument(s): ${extra.join(' ')}.`);
  const store = new AccountStore(typeof v.data === 'string' ? v.data : DEFAULT_DATA_DIR);
  const out = (s: string): void => { process.stdout.write(`${s}\n`); };
  const need = (what: string): string => {
    if (!name) throw usageError('accounts', `accounts ${sub} needs ${what}, e.g. conduitwatch accounts ${sub} a.lindqvist`);
    return name;
  };
  switch (sub) {
    case 'add': {
      const n = need('the account name');
      const roles = list(v.role);
      const bad = roles.filter((r) => !(ROLES as readonly string[]).includes(r));
      if (roles.length === 0 || bad.length) throw usageError('accounts', `--role takes ${ROLES.join(', ')} (repeat it or comma-separate)${bad.length ? `, not ${bad.join(', ')}` : ''}.`);
      if (typeof v['display-name'] !== 'string') throw usageError('accounts', '--display-name "First Last" is required: the audit trail names a person.');
      const password = v['password-stdin'] ? await readStdin() : undefined;
      const a = await store.add({ name: n, displayName: v['display-name'], roles: roles as Role[], password, by: by() });
      out(`Added ${a.name} (${a.displayName}), roles ${a.roles.join(', ')}${password === undefined ? '; no password: use an API token (conduitwatch accounts token)' : ''}.`);
      return 0;
    }
    case 'list': {
      const accounts = store.list().map(({ passwordHash, ...a }) => ({ ...a, hasPassword: passwordHash !== '' }));
      const tokens = v.tokens ? store.tokens() : [];
      if (v.json) { out(JSON.stringify({ accounts, ...(v.tokens ? { tokens } : {}) }, null, 2)); return 0; }
      if (accounts.length === 0) { out(`No accounts in ${store.file}. Add one: conduitwatch accounts add a.lindqvist --display-name "Anna Lindqvist" --role engineer`); return 0; }
      for (const a of accounts) out(`${a.name.padEnd(20)} ${a.displayName.padEnd(24)} ${a.roles.join(',').padEnd(24)} ${a.disabled ? 'DISABLED' : 'active'}${a.hasPassword ? '' : ' (token only)'}`);
      for (const t of tokens) out(`  token ${t.id} ${t.account} ${t.kind} [${t.scopes.join(',')}] expires ${new Date(t.expiresAt).toISOString()}${t.revoked ? ' REVOKED' : ''}${t.label ? ` — ${t.label}` : ''}`);
      return 0;
    }
    case 'token': {
      const n = need('the account name');
      const ttlMs = durationArg('accounts', 'expires', v.expires, '30d');
      const scopes = list(v.scope);
      const bad = scopes.filter((s) => !(PERMISSIONS as readonly string[]).includes(s));
      if (bad.length) throw usageError('accounts', `--scope takes ${PERMISSIONS.join(', ')}, not ${bad.join(', ')}.`);
      const t = store.issueToken(n, { ttlMs, scopes: scopes as Permission[], label: typeof v.label === 'string' ? v.label : '' });
      if (v.json) { out(JSON.stringify(t)); return 0; }
      process.stderr.write(`Token ${t.id} for ${n}: scopes ${t.scopes.join(', ')}, expires ${new Date(t.expiresAt).toISOString()} (${formatDuration(ttlMs)}). It is shown once; store it like a password.\n`);
      out(t.token);
      return 0;
    }
    case 'disable':
    case 'enable': {
      const a = store.setDisabled(need('the account name'), sub === 'disable');
      out(`${a.name} is ${a.disabled ? 'disabled: it cannot log in and its tokens are refused from the next request on' : 'enabled again'}.`);
      return 0;
    }
    case 'roles': {
      const roles = list(v.role);
      if (roles.length === 0) throw usageError('accounts', `accounts roles NAME --role R[,R…] sets the roles (${ROLES.join(', ')}).`);
      const a = store.setRoles(need('the account name'), roles as Role[]);
      out(`${a.name} now holds ${a.roles.join(', ')}; existing tokens keep only the permissions these roles still give.`);
      return 0;
    }
    default:
      throw new PipelineError('config_invalid', `${sub ? `Unknown subcommand "${sub}"` : 'No subcommand'}: use add, list, token, disable, enable or roles.\nRun 'conduitwatch accounts --help' for examples.`);
  }
};
