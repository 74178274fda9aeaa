/**
 * What the workflow needs from the rest of enforce/ (part 1: rules, what-if, the nftables backend,
 * the audit trail) and from the store (alerts), as small interfaces. The wiring (cli/) hands in the
 * real ones; unit tests of the step logic hand in doubles. Nothing here imports part 1 directly, so
 * a backend other than nftables (a vendor firewall export) fits behind `Enforcer` too.
 */

/** One flow the rule would have blocked (part 1's what-if `blocked[]` entry, kept as it came). */
export type BlockedFlow = Record<string, unknown> & { reason?: string };

/** The what-if of a rule over every stored flow of its conduit, as the workflow keeps it. */
export interface WhatIfResult {
  ruleHash: string;
  /** SHA-256 of the what-if's canonical JSON: the audit trail and the approval name it. */
  whatifHash: string;
  /** Data range the what-if covered (epoch ms). */
  from: number;
  to: number;
  flowsEvaluated: number;
  flowsBlocked: number;
  /** At most `WHATIF_KEEP` of the blocked flows (the total is `flowsBlocked`). */
  blocked: BlockedFlow[];
  /** False while blocked flows outside open alerts lack a waiver; `reasons` says which. */
  promotable: boolean;
  reasons: string[];
}

/** Readiness evidence of the conduit's baseline, as part 1's gate reported it at proposal time. */
export interface Readiness {
  ready: boolean;
  /** One line a person reads ("3 of 3 cycles covered, every phase seen"). */
  summary: string;
  details?: Record<string, unknown>;
}

/**
 * A baseline edge the watch keeps an eye on: traffic is due on it at least every `expectedEveryMs`
 * (from the rule entry's evidence), so its allow counter going silent, or a drop counter on it
 * rising, means the rule is cutting production traffic.
 */
export interface WatchedEdge {
  /** The key the enforcer's counters use for this edge. */
  key: string;
  /** For people: "10.0.1.5 → 10.0.2.7 tcp/502 modbus". */
  label: string;
  /** Longest normal gap between flows on this edge in the baseline; undefined = not regular enough to watch for silence. */
  expectedEveryMs?: number;
}

/** What a proposal brings into the workflow (built from part 1's `rules propose` output). */
export interface ProposalInput {
  conduit: string;
  /** The rule as part 1 defines it (plain data); the workflow passes it through untouched. */
  rule: unknown;
  ruleHash: string;
  readiness: Readiness;
  /** Baseline edges with their cadence, for the "baseline flow dropped" abort criterion. */
  edges: WatchedEdge[];
}

/** nftables counter readings (packets) for the conduit's table, per edge key and verdict. */
export interface CounterReading {
  /** Packets accepted per edge key (the allow entries' counters). */
  accepted: Record<string, number>;
  /** Packets dropped per edge key; drops no entry can be attributed to go under '*'. */
  dropped: Record<string, number>;
}

/** The enforcement backend (part 1's nftables backend in production). Every method is idempotent. */
export interface Enforcer {
  /** What is live where the conduit's rule goes, as text that `restore` brings back exactly. */
  save(conduit: string, rule: unknown): Promise<string>;
  /** Validates (`nft -c`) and applies the conduit's rule atomically (one `nft -f` of one table). */
  apply(conduit: string, rule: unknown): Promise<void>;
  /** Restores a ruleset that `save` returned. */
  restore(conduit: string, saved: string): Promise<void>;
  /** True when the ruleset now live for the conduit is the one `apply(rule)` writes. */
  isApplied(conduit: string, rule: unknown): Promise<boolean>;
  /** Counter readings of the rule's table, by the edge keys of `WatchedEdge` (all zero before apply). */
  counters(conduit: string, rule: unknown): Promise<CounterReading>;
}

/** Runs the what-if of a rule over every stored flow of its conduit (part 1, in ClickHouse). */
export interface WhatIfRunner {
  run(conduit: string, rule: unknown): Promise<WhatIfResult>;
}

/** Alerts stored for a conduit in a time range (the `alerts` table). */
export interface AlertCounter {
  count(conduit: string, fromMs: number, toMs: number): Promise<number>;
}

/**
 * One audit event as the workflow, the API and the accounts commands report it: the fields of
 * part 1's `AuditEvent` (enforce/audit.ts), which adds seq, ts and the chain (SR 2.8 fields).
 */
export interface AuditEntry {
  /** Account name; 'anonymous' for a refused request without credentials; 'svc:workflow' for the worker. */
  actor: string;
  role?: string;
  /** e.g. 'propose', 'whatif', 'approve', 'schedule', 'apply', 'rollback', 'confirm', 'access', 'account.add'. */
  action: string;
  /** What it acted on: a promotion id, a conduit, an account name, a route. */
  target: string;
  /** 'ok' done; 'refused' not done on purpose (RBAC, two-person rule, state); 'failed'; 'requested' about to be attempted. */
  result: 'ok' | 'refused' | 'failed' | 'requested';
  /** Why (the approver's reason, the criterion that tripped, the refusal). */
  reason?: string;
  requestId?: string;
  ruleHash?: string;
  whatifHash?: string;
  details?: Record<string, unknown>;
}

/**
 * The audit trail (part 1's hash chain). `append` resolves only once the entry is durable; when it
 * rejects, the step it records must not happen (SR 2.10 fail-safe).
 */
export interface AuditLog {
  append(e: AuditEntry): Promise<unknown>;
}
