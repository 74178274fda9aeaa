/**
 * Part 1's enforcement backend (enforce/backend.ts; nftables in enforce/nftables/) behind the
 * workflow's `Enforcer`, and the watched edges of a rule (`edgesOf`).
 *
 * - The rule is normalized (enforce/rules.ts) before it is generated, so the nftables counters
 *   `e<i>` (packets of entry i) and `e<i>_op_drop` (its function codes the allow-list lacks) line up
 *   with the entries in canonical order; `dropped_edge` (deny by default) goes under '*'.
 * - `save` is the backend's `saveCurrent` of the rule's target, kept as JSON; `restore` hands it
 *   back to `restore`. Both are idempotent in the backend.
 * - `dryRun` (bench, rehearsals) checks every step with the firewall (nft -c) and changes nothing.
 */
import type { Site } from '../../core/config.ts';
import type { EnforcementBackend, SavedState } from '../backend.ts';
import { edgeKeyOf, normalizeRule, ruleHash, type Rule } from '../rules.ts';
import type { CounterReading, Enforcer, WatchedEdge } from './ports.ts';

const protoName = (p: number): string => (p === 6 ? 'tcp' : p === 17 ? 'udp' : `proto ${p}`);

/**
 * The allowed entries of a rule as the watch sees them. An edge whose baseline shows steady
 * traffic (at least 10 flows) is due at least every span / (flows - 1); others are watched for
 * drops only.
 */
export const edgesOf = (rule: Rule): WatchedEdge[] => normalizeRule(rule).entries
  .filter((e) => e.status === 'allow')
  .map((e) => {
    const ev = e.evidence;
    const steady = ev && ev.flows >= 10 && ev.lastSeen > ev.firstSeen;
    return {
      key: edgeKeyOf(e),
      label: `${e.src} → ${e.dst} ${protoName(e.proto)}/${e.dstPort}${e.l7 ? ` ${e.l7}` : ''}`,
      ...(steady ? { expectedEveryMs: Math.ceil((ev.lastSeen - ev.firstSeen) / (ev.flows - 1)) } : {}),
    };
  });

export const backendEnforcer = (backend: EnforcementBackend, site: Site, o: { dryRun?: boolean } = {}): Enforcer => {
  const gen = (rule: unknown) => {
    const r = normalizeRule(rule as Rule);
    return { r, rs: backend.generate(r, site, ruleHash(r)) };
  };
  // On a dry run nothing changes on the firewall; what "would be live" is remembered here.
  const dry = new Map<string, string>();
  return {
    save: async (_c, rule) => JSON.stringify(await backend.saveCurrent(gen(rule).rs.target)),
    apply: async (c, rule) => {
      const { rs } = gen(rule);
      await backend.apply(rs, { dryRun: o.dryRun });
      if (o.dryRun) dry.set(c, rs.hash);
    },
    restore: async (c, saved) => {
      await backend.restore(JSON.parse(saved) as SavedState, { dryRun: o.dryRun });
      if (o.dryRun) dry.delete(c);
    },
    isApplied: async (c, rule) => {
      const { rs } = gen(rule);
      if (o.dryRun) return dry.get(c) === rs.hash;
      return (await backend.current(rs.target)).hash === rs.hash;
    },
    counters: async (_c, rule) => {
      const { r, rs } = gen(rule);
      const live = await backend.current(rs.target);
      const n = (name: string): number => live.counters[name]?.packets ?? 0;
      const out: CounterReading = { accepted: {}, dropped: { '*': n('dropped_edge') } };
      r.entries.forEach((e, i) => {
        if (e.status !== 'allow') return;
        out.accepted[edgeKeyOf(e)] = n(`e${i}`);
        out.dropped[edgeKeyOf(e)] = n(`e${i}_op_drop`);
      });
      return out;
    },
  };
};
