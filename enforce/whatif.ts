/**
 * What-if: replays a rule over every stored flow of its conduit — the whole baseline and everything
 * since — as one ClickHouse query, and lists each flow the rule would have blocked and why.
 *
 * The rule is loaded into transient ClickHouse `Set` tables (hash-set lookups in the engine, not a row
 * loop in JS; see {@link whatIfSql}):
 *   exact   (src_ip, dst_ip, proto, dst_port) of allowed entries with an address as src,
 *   zone    (dst_ip, proto, dst_port) of allowed `zone:` entries (the conduit's src zone by definition),
 *   ops     (edge, op) of allowed ops on allowed entries that name an l7 protocol.
 * A flow is blocked when neither `exact` nor `zone` holds its edge, or when the entry that matches
 * (exact first) names an l7 and one of the flow's `l7_ops` keys is not in `ops` for that entry.
 * The reason for each blocked flow (entry missing, entry held and why, op missing, op held and why)
 * is then read off the rule in JS: blocked flows are few, or the rule is not worth promoting.
 *
 * Determinism: the result holds no wall-clock time and its lists are fully ordered, so the same
 * store, runs and rule give byte-identical JSON ({@link whatIfJson}) and the same `hash`.
 *
 * Promotable: a rule is not promotable while `blocked` holds a flow outside an open alert of the
 * conduit that no waiver covers (a waiver names the edge, optionally the op, a person and a reason).
 */
import { randomBytes } from 'node:crypto';
import { PipelineError } from '../core/errors.ts';
import { protoName } from '../core/records.ts';
import { tables } from '../store/schema.ts';
import type { Store } from '../store/store.ts';
import { alertSpans, msOf, openAlertAt, sqlList, sqlString } from './baseline.ts';
import { canonicalJson, contentHash } from './canonical.ts';
import { edgeKeyOf, type Rule, type RuleEntry, type Waiver } from './rules.ts';

const F = tables.flows.columns;

/** One flow the rule would have blocked. */
export interface BlockedFlow {
  conduit: string;
  runId: string;
  src: string;
  srcPort: number;
  dst: string;
  proto: number;
  dstPort: number;
  l7: string;
  /** The first op that is not allowed ('' when the edge itself is not). */
  op: string;
  /** Every op of the flow that is not allowed, sorted. */
  ops: string[];
  tsStart: number;
  tsEnd: number;
  /** Which entry is missing or held, in words. */
  reason: string;
  /** Id of an alert on the conduit open at the flow's start ('' when none). */
  inAlert: string;
  /** The waiver that covers it, as "by: reason" ('' when none). */
  waiver: string;
}

export interface WhatIfResult {
  conduit: string;
  ruleHash: string;
  runs: string[];
  /** Event time range of the flows evaluated, epoch ms (0 when there were none). */
  from: number;
  to: number;
  flowsEvaluated: number;
  flowsBlocked: number;
  blocked: BlockedFlow[];
  /** Blocked flows outside open alerts with no waiver: each stops promotion. */
  unwaived: number;
  promotable: boolean;
  /** Why it is not promotable, in words (empty when promotable). */
  notPromotable: string[];
  /** `sha256:` of the canonical JSON of everything above. */
  hash: string;
}

/**
 * The transient tables one what-if loads its rule into (all dropped when it is done): for each of
 * the six key sets a Memory table of plain rows (`…_rows`) and a `Set` table of their cityHash64.
 */
export interface WhatIfSets {
  /** (src, dst, proto, port) of allowed address entries. */
  exact: string;
  /** (dst, proto, port) of allowed `zone:` entries. */
  zone: string;
  /** The subset of `exact` that names an l7 (their ops are checked). */
  exactL7: string;
  zoneL7: string;
  /** (src, dst, proto, port, op) of allowed ops on allowed address entries. */
  exactOps: string;
  /** (dst, proto, port, op) of allowed ops on allowed `zone:` entries. */
  zoneOps: string;
}

/** Columns of each key set, typed as the flows columns they are compared with. */
const COLUMNS: Record<keyof WhatIfSets, string[]> = {
  exact: ['src String', 'dst String', 'proto UInt8', 'port UInt16'],
  zone: ['dst String', 'proto UInt8', 'port UInt16'],
  exactL7: ['src String', 'dst String', 'proto UInt8', 'port UInt16'],
  zoneL7: ['dst String', 'proto UInt8', 'port UInt16'],
  exactOps: ['src String', 'dst String', 'proto UInt8', 'port UInt16', 'op String'],
  zoneOps: ['dst String', 'proto UInt8', 'port UInt16', 'op String'],
};

/** Names of the tables of one what-if: `whatif_<12 hex of the rule hash>_<token>_<set>`. */
export const whatIfSets = (ruleHash: string, token: string): WhatIfSets => {
  const base = `whatif_${ruleHash.replace('sha256:', '').slice(0, 12)}_${token}`;
  return { exact: `${base}_exact`, zone: `${base}_zone`, exactL7: `${base}_exact_l7`, zoneL7: `${base}_zone_l7`, exactOps: `${base}_exact_ops`, zoneOps: `${base}_zone_ops` };
};

/** The rows of each key set, from the rule's allowed entries and ops. */
const setRows = (rule: Rule): Record<keyof WhatIfSets, object[]> => {
  const allowed = rule.entries.filter((e) => e.status === 'allow');
  const k4 = (e: RuleEntry) => ({ src: e.src, dst: e.dst, proto: e.proto, port: e.dstPort });
  const k3 = (e: RuleEntry) => ({ dst: e.dst, proto: e.proto, port: e.dstPort });
  const exact = allowed.filter((e) => !e.src.startsWith('zone:'));
  const zone = allowed.filter((e) => e.src.startsWith('zone:'));
  const opsOf = (e: RuleEntry) => e.ops.filter((o) => o.status === 'allow').map((o) => o.op);
  return {
    exact: exact.map(k4), zone: zone.map(k3),
    exactL7: exact.filter((e) => e.l7 !== '').map(k4), zoneL7: zone.filter((e) => e.l7 !== '').map(k3),
    exactOps: exact.filter((e) => e.l7 !== '').flatMap((e) => opsOf(e).map((op) => ({ ...k4(e), op }))),
    zoneOps: zone.filter((e) => e.l7 !== '').flatMap((e) => opsOf(e).map((op) => ({ ...k3(e), op }))),
  };
};

/**
 * The SQL of a what-if over the key sets `t` (exported for the bench and for reading). The rule
 * travels in tables, not in the query text: a plant's rule of thousands of entries would pass
 * ClickHouse's max_query_size (256 KiB) as literals. Keys are compared as cityHash64 of the typed
 * columns: one UInt64 hash-set probe per key, about 3× less CPU than a probe with the tuple of
 * strings (bench/whatif.ts, 10 M flows). Two different keys with one hash would make a flow look
 * allowed: with n keys in the rule that is n / 2⁶⁴ per flow key not in it (≈ 2·10⁻¹⁵ for 35 000).
 */
export const whatIfSql = (conduit: string, runs: readonly string[], t: WhatIfSets): { blocked: string; summary: string } => {
  const where = `${F.conduit} = ${sqlString(conduit)} AND ${F.runId} IN ${sqlList(runs)}`;
  const h4 = `cityHash64(${F.srcIp}, ${F.dstIp}, ${F.proto}, ${F.dstPort})`;
  const h3 = `cityHash64(${F.dstIp}, ${F.proto}, ${F.dstPort})`;
  const sql = `
    SELECT ${F.runId} AS run, ${F.srcIp} AS src, ${F.srcPort} AS src_port, ${F.dstIp} AS dst, ${F.proto} AS proto, ${F.dstPort} AS port,
      toString(${F.l7}) AS l7, ${msOf(F.tsStart)} AS ts0, ${msOf(F.tsEnd)} AS ts1,
      ${h4} IN ${t.exact} AS exact_ok,
      ${h3} IN ${t.zone} AS zone_ok,
      if(exact_ok,
        if(${h4} IN ${t.exactL7}, arrayFilter(op -> NOT (cityHash64(${F.srcIp}, ${F.dstIp}, ${F.proto}, ${F.dstPort}, op) IN ${t.exactOps}), mapKeys(${F.l7Ops})), []),
        if(zone_ok AND ${h3} IN ${t.zoneL7}, arrayFilter(op -> NOT (cityHash64(${F.dstIp}, ${F.proto}, ${F.dstPort}, op) IN ${t.zoneOps}), mapKeys(${F.l7Ops})), [])) AS bad_ops
    FROM ${tables.flows.name}
    WHERE ${where} AND (NOT (exact_ok OR zone_ok) OR notEmpty(bad_ops))`;
  // Sorted outside: ORDER BY ts_start on the table itself reads in sort-key order, serially.
  const blocked = `SELECT * FROM (${sql}) ORDER BY ts0, src, src_port, dst, port, proto, ts1, run, l7, bad_ops`;
  const summary = `SELECT count() AS n, ${msOf(`min(${F.tsStart})`)} AS from, ${msOf(`max(${F.tsEnd})`)} AS to FROM ${tables.flows.name} WHERE ${where}`;
  return { blocked, summary };
};

interface Row { run: string; src: string; src_port: number; dst: string; proto: number; port: number; l7: string; ts0: string; ts1: string; exact_ok: number; zone_ok: number; bad_ops: string[] }

const edgeText = (e: { src: string; dst: string; proto: number; dstPort: number }) => `${e.src} → ${e.dst} ${protoName(e.proto)}/${e.dstPort}`;

const waiverFor = (waivers: readonly Waiver[], b: { src: string; dst: string; proto: number; dstPort: number; ops: string[] }): Waiver | undefined =>
  waivers.find((w) => w.src === b.src && w.dst === b.dst && w.proto === b.proto && w.dstPort === b.dstPort && (w.op === '' || (b.ops.length > 0 && b.ops.every((o) => o === w.op))));

/**
 * Runs the what-if of `rule` over the conduit's stored flows in `runs` (see the module comment).
 * `ruleHash` is the hash the caller computed (ruleHash(rule)); it is copied into the result.
 */
export const whatIf = async (store: Pick<Store, 'query' | 'exec' | 'insertRows'>, rule: Rule, ruleHash: string, runs: readonly string[]): Promise<WhatIfResult> => {
  if (runs.length === 0) throw new PipelineError('input_invalid', `No runs to evaluate for ${rule.conduit}.`);
  const sets = whatIfSets(ruleHash, randomBytes(4).toString('hex'));
  const rowsOf = setRows(rule);
  let sum: { n: string; from: string; to: string } | undefined;
  let rows: Row[];
  try {
    for (const k of Object.keys(sets) as (keyof WhatIfSets)[]) {
      const cols = COLUMNS[k];
      await store.exec(`CREATE TABLE ${sets[k]}_rows (${cols.join(', ')}) ENGINE = Memory`);
      await store.exec(`CREATE TABLE ${sets[k]} (h UInt64) ENGINE = Set`);
      if (rowsOf[k].length) {
        await store.insertRows(`${sets[k]}_rows`, rowsOf[k]);
        await store.exec(`INSERT INTO ${sets[k]} SELECT cityHash64(${cols.map((c) => c.split(' ')[0]).join(', ')}) FROM ${sets[k]}_rows`);
      }
    }
    const { blocked: sql, summary } = whatIfSql(rule.conduit, runs, sets);
    [sum] = await store.query<{ n: string; from: string; to: string }>(summary);
    rows = await store.query<Row>(sql);
  } finally {
    for (const name of Object.values(sets)) {
      for (const t of [name, `${name}_rows`]) await store.exec(`DROP TABLE IF EXISTS ${t}`).catch(() => undefined);
    }
  }
  const spans = await alertSpans(store, rule.conduit, runs);
  const exact = new Map(rule.entries.filter((e) => !e.src.startsWith('zone:')).map((e) => [edgeKeyOf(e), e]));
  const zone = new Map(rule.entries.filter((e) => e.src.startsWith('zone:')).map((e) => [`${e.dst}/${e.proto}/${e.dstPort}`, e]));
  // Blocked flows repeat a few reasons many times: each is worded once.
  const reasons = new Map<string, string>();
  const blocked: BlockedFlow[] = rows.map((r) => {
    const e = { src: r.src, dst: r.dst, proto: Number(r.proto), dstPort: Number(r.port) };
    const ops = [...r.bad_ops].sort();
    const rk = `${edgeKeyOf(e)}|${ops.join(',')}`;
    let reason = reasons.get(rk);
    if (reason === undefined) {
      reason = reasonFor(e, ops);
      reasons.set(rk, reason);
    }
    const ts0 = Number(r.ts0);
    const w = waiverFor(rule.waivers, { ...e, ops });
    return {
      conduit: rule.conduit, dst: r.dst, dstPort: e.dstPort, inAlert: openAlertAt(spans, ts0)?.id ?? '', l7: r.l7,
      op: ops[0] ?? '', ops, proto: e.proto, reason, runId: r.run, src: r.src, srcPort: Number(r.src_port), tsEnd: Number(r.ts1), tsStart: ts0,
      waiver: w ? `${w.by}: ${w.reason}` : '',
    };
  });
  function reasonFor(e: { src: string; dst: string; proto: number; dstPort: number }, ops: string[]): string {
    const entry = exact.get(edgeKeyOf(e)) ?? zone.get(`${e.dst}/${e.proto}/${e.dstPort}`);
    let reason: string;
    if (!entry) reason = `edge ${edgeText(e)} is not in the rule`;
    else if (entry.status === 'hold') reason = `edge ${edgeText(e)} is held for review: ${entry.held.join('; ')}`;
    else {
      reason = ops.map((op) => {
        const o = entry.ops.find((x) => x.op === op);
        return o ? `${entry.l7} op ${op} on ${edgeText(e)} is held for review: ${o.held.join('; ')}` : `${entry.l7} op ${op} is not allowed on ${edgeText(e)}`;
      }).join('; ');
    }
    return reason;
  }
  const unwaived = blocked.filter((b) => !b.inAlert && !b.waiver);
  const notPromotable: string[] = [];
  if (unwaived.length) {
    const byReason = new Map<string, number>();
    for (const b of unwaived) byReason.set(b.reason, (byReason.get(b.reason) ?? 0) + 1);
    notPromotable.push(`${unwaived.length} blocked flow(s) outside open alerts have no waiver: ` +
      [...byReason].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 5).map(([why, n]) => `${n} × ${why}`).join('; ') +
      '. Allow them in the rule, or waive them with a named, reasoned waiver (conduitwatch rules waive).');
  }
  const n = Number(sum?.n ?? 0);
  const body = {
    conduit: rule.conduit, ruleHash, runs: [...runs].sort(), from: n ? Number(sum!.from) : 0, to: n ? Number(sum!.to) : 0,
    flowsEvaluated: n, flowsBlocked: blocked.length, blocked, unwaived: unwaived.length, promotable: notPromotable.length === 0, notPromotable,
  };
  return { ...body, hash: contentHash(body) };
};

/** The result as canonical JSON (byte-identical for the same store, runs and rule). */
export const whatIfJson = (r: WhatIfResult): string => canonicalJson(r);
