/**
 * The enforcement backend interface: what turns a {@link Rule} into a live firewall change and back.
 * nftables (`enforce/nftables/`) is the first; vendor firewall exports fit behind the same interface.
 *
 * Contract every backend keeps (the promote-to-block workflow relies on it):
 * - `generate` is pure and deterministic: the same rule and site give the same text and hash.
 * - `preflight` fails before anything changes when the backend cannot act at all (tool missing,
 *   no privilege), with `config_invalid` and a message that says how to fix it.
 * - `apply` is atomic (all of the ruleset or none of it) and idempotent: applying the ruleset that
 *   is already live changes nothing and reports `changed: false`. It saves what was live before
 *   (`previous`) so that `restore(previous)` undoes it exactly.
 * - `dryRun: true` runs every check (`preflight`, `validate`, `saveCurrent`) and changes nothing:
 *   the workflow bench and rehearsals use it where there is no firewall to touch.
 * - Errors are `PipelineError`s: `config_invalid` for what an operator must fix, `write_rejected`
 *   for a refused change that may be retried, `unrecoverable` for a ruleset the firewall rejects.
 *
 * The caller writes the audit entry of a step before calling `apply`/`restore` (SR 2.10) and
 * keeps the returned `SavedState` (enforce2's workflow stores it with the job).
 */
import type { Site } from '../core/config.ts';
import type { Rule } from './rules.ts';

/** A backend's rendering of one conduit's rule. */
export interface GeneratedRuleset {
  /** Backend name, e.g. 'nftables'. */
  backend: string;
  conduit: string;
  /** Content hash of the rule it renders. */
  ruleHash: string;
  /** What it replaces on the firewall, e.g. 'inet cw_control_field_3f2a1c' (one nftables table). */
  target: string;
  /** The ruleset text as the backend loads it. */
  text: string;
  /** `sha256:` of `text`; `current()` reports the hash of what is live. */
  hash: string;
  /** What this backend cannot enforce of the rule, in words (e.g. ops of a protocol it cannot match). */
  limits: string[];
}

/** What was live on a target before a change, enough to put it back. */
export interface SavedState {
  backend: string;
  target: string;
  /** False when the target did not exist: restoring removes it. */
  existed: boolean;
  /** The target's ruleset text as the firewall listed it ('' when it did not exist). */
  text: string;
  /** The ruleset hash recorded on the target when it was ours ('' otherwise). */
  hash: string;
  /** Processing time it was saved, epoch ms. */
  savedAt: number;
}

export interface ApplyOptions {
  /** Check everything, change nothing. */
  dryRun?: boolean;
}

export interface ApplyResult {
  /** False when the same ruleset was already live (or on a dry run). */
  changed: boolean;
  dryRun: boolean;
  target: string;
  /** Hash of the ruleset now live (on a dry run: the one that would be). */
  hash: string;
  /** What was live before; pass it to `restore` to roll back. */
  previous: SavedState;
}

/** Live state of a target: its ruleset hash (ours) and its counters by name. */
export interface LiveState {
  exists: boolean;
  hash: string;
  counters: Record<string, { packets: number; bytes: number }>;
}

export interface EnforcementBackend {
  readonly name: string;
  /** Renders a rule (pure, deterministic). Throws `config_invalid` for a rule it cannot render. */
  generate(rule: Rule, site: Site, ruleHash: string): GeneratedRuleset;
  /** Can this backend act here at all? Throws `config_invalid` saying what is missing. */
  preflight(): Promise<void>;
  /** Asks the firewall whether it would accept the ruleset (nftables: `nft -c`), changing nothing. */
  validate(rs: GeneratedRuleset): Promise<void>;
  /** What is live on `target` now. */
  saveCurrent(target: string): Promise<SavedState>;
  /** Replaces the target with the ruleset atomically (see the module comment). */
  apply(rs: GeneratedRuleset, opts?: ApplyOptions): Promise<ApplyResult>;
  /** Puts back what `saveCurrent`/`apply` saved, atomically; idempotent. */
  restore(saved: SavedState, opts?: ApplyOptions): Promise<{ changed: boolean }>;
  /** Live hash and counters of a target. */
  current(target: string): Promise<LiveState>;
}
