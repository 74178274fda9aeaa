/**
 * Which operations are security-relevant (writes, program download, restarts, PLC stop …): the
 * sets each dissector exports in ingest/protocols/<proto>/codes.ts, by the edge's `l7` — handed in
 * by the wiring (cli/security-ops.ts, through `DetectorContext.securityOp`), since detectors/ does
 * not import its peer ingest/ — plus configurable name substrings for protocols and vendors those
 * sets do not cover. Used by novelty (a never-seen security op scores 1.0 and alerts inside
 * maintenance windows) and by rate (a burst of security ops — a program download — alerts inside
 * maintenance windows).
 */

/** Default name substrings that mark an operation security-relevant in any protocol. */
export const DEFAULT_SECURITY_PATTERNS: readonly string[] = [
  'write', 'download', 'upload', 'program', 'firmware', 'delete', 'reset', 'restart', 'reboot', 'plc_stop', 'plc_start',
  'force', 'operate', 'command', 'setpoint',
];

/** `(l7, op) → in that protocol's own set of security-relevant operations?` (the dissectors' sets). */
export type ProtocolSecurity = (l7: string, op: string) => boolean;

/** Last segment of a qualified op name: 'job.download_block' → 'download_block'. */
const bare = (op: string): string => {
  const i = Math.max(op.lastIndexOf('.'), op.lastIndexOf(':'), op.lastIndexOf('/'));
  return i >= 0 ? op.slice(i + 1) : op;
};

/**
 * `(l7, op) → security-relevant?`, from the protocol sets (`protocol`, tried on the op and on its
 * last segment) and `patterns` (case-insensitive substrings). Memoised.
 */
export const securityMatcher = (patterns: readonly string[] = DEFAULT_SECURITY_PATTERNS, protocol?: ProtocolSecurity): ((l7: string, op: string) => boolean) => {
  const lower = patterns.map((p) => p.toLowerCase());
  const memo = new Map<string, boolean>();
  return (l7, op) => {
    const key = `${l7}\n${op}`;
    let hit = memo.get(key);
    if (hit === undefined) {
      const o = op.toLowerCase();
      hit = (protocol !== undefined && (protocol(l7, op) || protocol(l7, bare(op)))) || lower.some((p) => o.includes(p));
      if (memo.size < 10_000) memo.set(key, hit);
    }
    return hit;
  };
};

/**
 * `securityMatcher` over interned ids, for the hot path: (l7 id, op id) → security-relevant?,
 * cached in one array per l7 (`names` resolves ids: an `EdgeTable`'s interners).
 */
export const securityById = (match: (l7: string, op: string) => boolean, names: { l7s: { list: string[] }; ops: { list: string[] } }): ((l7: number, op: number) => boolean) => {
  const cache: Int8Array[] = [];
  return (l7, op) => {
    let row = cache[l7];
    if (!row || row.length <= op) {
      const next = new Int8Array(Math.max(op + 1, (row?.length ?? 0) * 2, 16)).fill(-1);
      if (row) next.set(row);
      cache[l7] = row = next;
    }
    let v = row[op]!;
    if (v === -1) row[op] = v = match(names.l7s.list[l7]!, names.ops.list[op]!) ? 1 : 0;
    return v === 1;
  };
};
