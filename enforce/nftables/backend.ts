/**
 * The nftables backend: `nft` run as a child process (optionally inside a network namespace with
 * `ip netns exec`), one table per conduit (generate.ts).
 *
 * - preflight: `nft list tables` must work — it fails without the binary (`config_invalid`:
 *   install nftables) or without CAP_NET_ADMIN (`config_invalid`: run as root). Nothing is changed.
 * - validate: `nft -c -f <file>` of the very transaction `apply` would load.
 * - apply: one `nft -f` transaction `add table …; delete table …; table … { … }` — the kernel
 *   commits all of it or none (nftables transactions are atomic), so a refused ruleset leaves the
 *   old table live. When the live table's comment already names the same ruleset hash, nothing is
 *   loaded (idempotent; counters keep counting).
 * - restore: the same transaction with the saved table text, or only the delete when the table
 *   did not exist before.
 * Files passed to nft are written to a private temporary directory and removed afterwards.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock, type Clock } from '../../core/clock.ts';
import type { Site } from '../../core/config.ts';
import { errorMessage, PipelineError } from '../../core/errors.ts';
import type { ApplyOptions, ApplyResult, EnforcementBackend, GeneratedRuleset, LiveState, SavedState } from '../backend.ts';
import type { Rule } from '../rules.ts';
import { generateNftables, hashFromComment, NFT_FAMILY } from './generate.ts';

export interface NftablesOptions {
  /** Run nft inside this network namespace (`ip netns exec NAME nft …`); default: the caller's namespace. */
  netns?: string;
  /** The nft binary (default 'nft' on PATH). */
  nft?: string;
  clock?: Clock;
  /** Kills an nft call that takes longer (default 20 s). */
  timeoutMs?: number;
}

interface Run { stdout: string; stderr: string }

/** Target 'inet cw_x' → ['inet', 'cw_x']; only our own tables are accepted. */
const splitTarget = (target: string): [string, string] => {
  const m = /^(inet|ip|ip6) (cw_[A-Za-z0-9_]{1,60})$/.exec(target);
  if (!m) throw new PipelineError('config_invalid', `"${target}" is not a conduitwatch nftables table (expected "inet cw_…").`);
  return [m[1]!, m[2]!];
};

export class NftablesBackend implements EnforcementBackend {
  readonly name = 'nftables';
  private readonly clock: Clock;

  constructor(private readonly o: NftablesOptions = {}) {
    this.clock = o.clock ?? systemClock;
  }

  generate(rule: Rule, site: Site, ruleHash: string): GeneratedRuleset {
    return generateNftables(rule, site, ruleHash);
  }

  private run(args: string[]): Promise<Run> {
    const nft = this.o.nft ?? 'nft';
    const [cmd, argv] = this.o.netns ? ['ip', ['netns', 'exec', this.o.netns, nft, ...args]] : [nft, args];
    return new Promise((resolve, reject) => {
      execFile(cmd, argv, { timeout: this.o.timeoutMs ?? 20_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
        if (!err) { resolve({ stdout, stderr }); return; }
        const e = err as NodeJS.ErrnoException & { code?: string | number };
        if (e.code === 'ENOENT') {
          reject(new PipelineError('config_invalid', `${cmd} is not installed (or not on PATH): install nftables${this.o.netns ? ' and iproute2' : ''} ` +
            '(Debian: apt-get install nftables iproute2). Nothing was changed.', { cmd }, { cause: err }));
          return;
        }
        const text = `${stderr}`.trim() || errorMessage(err);
        if (/Operation not permitted|Permission denied|must be root/i.test(text)) {
          reject(new PipelineError('config_invalid', `nft was refused: ${text.split('\n')[0]}. Changing nftables needs root (or CAP_NET_ADMIN). Nothing was changed.`, { cmd }, { cause: err }));
          return;
        }
        reject(Object.assign(new Error(text), { nftExit: e.code }));
      });
    });
  }

  private async withFile<T>(text: string, f: (path: string) => Promise<T>): Promise<T> {
    const dir = await mkdtemp(join(tmpdir(), 'cw-nft-'));
    try {
      const path = join(dir, 'ruleset.nft');
      await writeFile(path, text, { mode: 0o600 });
      return await f(path);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  async preflight(): Promise<void> {
    try {
      await this.run(['list', 'tables']);
    } catch (e) {
      if ((e as { code?: unknown }).code === 'config_invalid') throw e;
      throw new PipelineError('config_invalid', `nft cannot list tables here: ${errorMessage(e)}. Nothing was changed.`, {}, { cause: e });
    }
  }

  /** The atomic transaction that replaces `target` with `tableText` ('' = remove it). */
  private transaction(target: string, tableText: string): string {
    const [family, table] = splitTarget(target);
    return `add table ${family} ${table}\ndelete table ${family} ${table}\n${tableText}`;
  }

  async validate(rs: GeneratedRuleset): Promise<void> {
    await this.preflight();
    await this.withFile(this.transaction(rs.target, rs.text), async (path) => {
      try {
        await this.run(['-c', '-f', path]);
      } catch (e) {
        if ((e as { code?: unknown }).code === 'config_invalid') throw e;
        throw new PipelineError('unrecoverable', `nft -c refused the ruleset for ${rs.conduit}: ${errorMessage(e)}`, { target: rs.target }, { cause: e });
      }
    });
  }

  async saveCurrent(target: string): Promise<SavedState> {
    const [family, table] = splitTarget(target);
    const savedAt = this.clock.now();
    let text: string;
    try {
      text = (await this.run(['list', 'table', family, table])).stdout;
    } catch (e) {
      if ((e as { code?: unknown }).code === 'config_invalid') throw e;
      if (/No such file or directory|does not exist/i.test(errorMessage(e))) {
        return { backend: this.name, target, existed: false, text: '', hash: '', savedAt };
      }
      throw new PipelineError('write_rejected', `Cannot read the live table ${target}: ${errorMessage(e)}`, { target }, { cause: e });
    }
    const comment = /^\s*comment "(.*)"$/m.exec(text)?.[1];
    return { backend: this.name, target, existed: true, text, hash: hashFromComment(comment), savedAt };
  }

  async apply(rs: GeneratedRuleset, opts: ApplyOptions = {}): Promise<ApplyResult> {
    await this.validate(rs);
    const previous = await this.saveCurrent(rs.target);
    const dryRun = opts.dryRun === true;
    if (dryRun || previous.hash === rs.hash) return { changed: false, dryRun, target: rs.target, hash: rs.hash, previous };
    await this.load(rs.target, rs.text, `apply the ruleset for ${rs.conduit}`);
    return { changed: true, dryRun, target: rs.target, hash: rs.hash, previous };
  }

  async restore(saved: SavedState, opts: ApplyOptions = {}): Promise<{ changed: boolean }> {
    await this.preflight();
    const now = await this.saveCurrent(saved.target);
    const same = saved.existed ? now.existed && now.hash !== '' && now.hash === saved.hash : !now.existed;
    if (same) return { changed: false };
    const text = saved.existed ? saved.text : '';
    if (opts.dryRun) {
      if (text) await this.withFile(this.transaction(saved.target, text), (p) => this.run(['-c', '-f', p]));
      return { changed: false };
    }
    await this.load(saved.target, text, `restore ${saved.target}`);
    return { changed: true };
  }

  private async load(target: string, tableText: string, what: string): Promise<void> {
    await this.withFile(this.transaction(target, tableText), async (path) => {
      try {
        await this.run(['-f', path]);
      } catch (e) {
        if ((e as { code?: unknown }).code === 'config_invalid') throw e;
        // nft -f is one transaction: when it fails, nothing of it was committed.
        throw new PipelineError('write_rejected', `nft refused to ${what} (nothing was changed): ${errorMessage(e)}`, { target }, { cause: e });
      }
    });
  }

  async current(target: string): Promise<LiveState> {
    const [family, table] = splitTarget(target);
    const saved = await this.saveCurrent(target);
    if (!saved.existed) return { exists: false, hash: '', counters: {} };
    const out = (await this.run(['-j', 'list', 'counters', 'table', family, table])).stdout;
    const counters: LiveState['counters'] = {};
    const doc = JSON.parse(out) as { nftables: { counter?: { name: string; table: string; family: string; packets: number; bytes: number } }[] };
    for (const item of doc.nftables) {
      const c = item.counter;
      if (c && c.table === table && c.family === family) counters[c.name] = { packets: c.packets, bytes: c.bytes };
    }
    return { exists: true, hash: saved.hash, counters };
  }
}

export { NFT_FAMILY };
