/**
 * Allow-list rules: what a conduit may carry once it is enforced, learned from its stored baseline
 * (enforce/baseline.ts builds them; enforce/whatif.ts replays them; enforce/nftables/ enforces them).
 *
 * A rule is plain data — JSON or YAML, versioned by `schema`, identified by its content hash
 * ({@link ruleHash}: SHA-256 of its canonical JSON, `hash` member excluded). Everything a reviewer
 * needs is inside it: every entry carries its evidence, every held entry its reasons, every
 * waiver its author and reason. A changed rule (a waiver added, an entry released by hand) is a new
 * version with a new hash and `parent` = the hash it came from.
 *
 * Semantics (deny by default, IEC 62443-3-3 SR 5.2 RE1): a flow of the conduit passes when an entry
 * with `status: allow` matches its (src, dst, proto, dstPort) and, when the entry names an `l7`
 * protocol, every op the flow's initiator sent is listed in the entry's `ops` with `status: allow`.
 * Anything else is blocked. Entries and ops with `status: hold` are *held for review*: shown with
 * their evidence, not allowed.
 *   - `src` is an address (an asset) or `zone:<name>` (any address of the conduit's initiating
 *     zone); `dst` is an address. An entry for the exact src wins over a `zone:` entry.
 *   - `l7` empty: the entry allows the edge whatever it carries (no L7 seen, or not dissected), and
 *     `ops` must be empty. `l7` set: `ops` is the allow-list of that protocol's operations (empty =
 *     no operation allowed; flows that carry none, such as a bare TCP handshake, still pass).
 */
import { LineCounter, parseDocument, isMap, isSeq, type Node } from 'yaml';
import { z } from 'zod';
import { conduitId, SiteMap, type Site } from '../core/config.ts';
import { PipelineError } from '../core/errors.ts';
import { ipToBig } from '../core/net.ts';
import { canonicalJson, contentHash } from './canonical.ts';
import { isOpOf, knownProtocol, opHint, RULE_PROTOCOLS } from './ops.ts';

/** `kind` of every rule document. */
export const RULE_KIND = 'conduitwatch.rule';
/** The rule format version this code reads and writes. */
export const RULE_SCHEMA = 1;

const ms = z.number().int().min(0);

/** Why an entry or op is allowed or held: what the stored baseline showed. */
export const Evidence = z.object({
  cycles: z.number().int().min(0).describe('Production cycles (site.productionCycle, aligned to the epoch) in which it was seen at least once.'),
  firstSeen: ms.describe('Event time of the first flow that carried it, epoch ms.'),
  lastSeen: ms.describe('Event time of the last flow that carried it, epoch ms.'),
  flows: z.number().int().min(0).describe('Stored flows that carried it.'),
  firstSeenInAlert: z.string().describe('Id of an alert on the conduit that was open when it was first seen; empty when none was.'),
}).strict();
export type Evidence = z.output<typeof Evidence>;

export const Status = z.enum(['allow', 'hold']).describe('allow: passes once enforced; hold: held for review, blocked until a person allows it.');
export type Status = z.output<typeof Status>;

export const OpEntry = z.object({
  op: z.string().min(1).describe('Operation name as the dissector names it (FlowRecord.l7Ops), e.g. "read_holding_registers".'),
  status: Status,
  held: z.array(z.string()).default([]).describe('Why it is held, in words; empty when allowed.'),
  evidence: Evidence.optional().describe('What the baseline showed; absent for an op added by hand.'),
}).strict();
export type OpEntry = z.output<typeof OpEntry>;

export const RuleEntry = z.object({
  src: z.string().min(1).describe('Initiator: an address, or "zone:<name>" for any address of a site.yaml zone.'),
  dst: z.string().min(1).describe('Responder address.'),
  proto: z.number().int().min(0).max(255).describe('IP protocol number: 6 TCP, 17 UDP, 1 ICMP.'),
  dstPort: z.number().int().min(0).max(65535).describe('Responder port (0 for protocols without ports).'),
  l7: z.string().default('').describe('Application protocol the dissectors saw (modbus, dnp3, …); empty when none.'),
  status: Status,
  held: z.array(z.string()).default([]).describe('Why it is held, in words; empty when allowed.'),
  evidence: Evidence.optional().describe('What the baseline showed; absent for an entry added by hand.'),
  ops: z.array(OpEntry).default([]).describe('With l7 set: the operations allowed or held on this edge (anything unlisted is blocked). With l7 empty: must be empty.'),
}).strict();
export type RuleEntry = z.output<typeof RuleEntry>;

export const Waiver = z.object({
  src: z.string().min(1).describe('Blocked flows this waiver covers: their initiator address.'),
  dst: z.string().min(1).describe('Their responder address.'),
  proto: z.number().int().min(0).max(255),
  dstPort: z.number().int().min(0).max(65535),
  op: z.string().default('').describe('Only flows blocked for this op; empty = every blocked flow of the edge.'),
  by: z.string().min(1).describe('The named person who accepts that these flows will be blocked.'),
  reason: z.string().min(10, 'give a reason a reviewer can check (at least 10 characters)').describe('Why blocking them is acceptable.'),
  at: ms.describe('When the waiver was given, epoch ms.'),
}).strict();
export type Waiver = z.output<typeof Waiver>;

export const LearnedFrom = z.object({
  runs: z.array(z.string()).describe('run_id values of the stored flows the rule was learned from.'),
  from: ms.describe('Event time of the first stored flow of the conduit, epoch ms.'),
  to: ms.describe('Event time of the end of the last stored flow, epoch ms.'),
  flows: z.number().int().min(0),
  fullCycles: z.number().int().min(0).describe('Production cycles fully covered by scored windows of the conduit.'),
  phasesSeen: z.array(z.number().int().min(1)).describe('Cycle phases (1..phases) that held flows of the conduit.'),
  phases: z.number().int().min(1).describe('Phases per cycle.'),
}).strict();
export type LearnedFrom = z.output<typeof LearnedFrom>;

export const Rule = z.object({
  kind: z.literal(RULE_KIND),
  schema: z.literal(RULE_SCHEMA),
  site: z.string().min(1).describe('site.yaml `site` it was learned for.'),
  conduit: z.string().regex(/^[^>]+->[^>]+$/, 'write the conduit as FROM->TO, e.g. "control->field"').describe('Conduit id, FROM->TO.'),
  productionCycleMs: z.number().int().positive(),
  minCycles: z.number().int().min(1).describe('enforce.minCycles when it was learned.'),
  parent: z.string().default('').describe('Hash of the version this one was derived from; empty for a proposal.'),
  learnedFrom: LearnedFrom,
  entries: z.array(RuleEntry),
  waivers: z.array(Waiver).default([]),
  hash: z.string().optional().describe('Content hash as written; recomputed on read (informative only).'),
}).strict();
export type Rule = z.output<typeof Rule>;

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Entry order: src, dst, proto, dstPort, l7 (what every writer and the hash rely on). */
export const entryOrder = (a: { src: string; dst: string; proto: number; dstPort: number; l7?: string }, b: typeof a): number =>
  cmp(a.src, b.src) || cmp(a.dst, b.dst) || a.proto - b.proto || a.dstPort - b.dstPort || cmp(a.l7 ?? '', b.l7 ?? '');

/** A rule with entries, ops and waivers in their canonical order and no `hash` member. */
export const normalizeRule = (r: Rule): Rule => {
  const { hash: _h, ...rest } = r;
  return {
    ...rest,
    entries: [...r.entries].sort(entryOrder).map((e) => ({ ...e, ops: [...e.ops].sort((a, b) => cmp(a.op, b.op)) })),
    waivers: [...r.waivers].sort((a, b) => entryOrder(a, b) || cmp(a.op, b.op) || a.at - b.at || cmp(a.by, b.by)),
  };
};

/** Content hash of a rule: `sha256:<hex>` over the canonical JSON of {@link normalizeRule}. */
export const ruleHash = (r: Rule): string => contentHash(normalizeRule(r));

/** The rule as canonical JSON, with its hash as the last member — the form `rules propose` writes. */
export const ruleJson = (r: Rule): string => {
  const n = normalizeRule(r);
  const body = canonicalJson(n);
  return `${body.slice(0, -1)},"hash":${JSON.stringify(ruleHash(n))}}`;
};

/** Edge key of an entry or waiver: 'src>dst/proto/port'. */
export const edgeKeyOf = (e: { src: string; dst: string; proto: number; dstPort: number }): string => `${e.src}>${e.dst}/${e.proto}/${e.dstPort}`;

const locate = (root: Node | null, path: (string | number)[], lc: LineCounter): number | undefined => {
  let node: unknown = root;
  let line: number | undefined;
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (p.key as { value?: unknown } | null)?.value === key);
      if (!pair) break;
      const kn = pair.key as Node;
      if (kn.range) line = lc.linePos(kn.range[0]).line;
      node = pair.value;
    } else if (isSeq(node) && typeof key === 'number') {
      node = node.items[key];
    } else break;
    const n = node as Node | null;
    if (n?.range) line = lc.linePos(n.range[0]).line;
  }
  return line;
};

const isAddress = (s: string): boolean => ipToBig(s) !== undefined;

/**
 * Checks a parsed rule against the site: the conduit is declared, every `zone:` names a zone, every
 * address is an address of the conduit's zones, every op is one the protocol has. Returns issues as
 * [path, message] pairs (empty = valid).
 */
export const checkRule = (r: Rule, site: Site): [(string | number)[], string][] => {
  const issues: [(string | number)[], string][] = [];
  const map = new SiteMap(site);
  const [from, to] = r.conduit.split('->') as [string, string];
  const declared = site.conduits.map((c) => conduitId(c.from, c.to));
  if (!map.isDeclared(r.conduit) || !site.zones.some((z) => z.name === from) || !site.zones.some((z) => z.name === to)) {
    issues.push([['conduit'], `conduit "${r.conduit}" is not declared in site.yaml; declared conduits: ${declared.join(', ') || '(none)'} (traffic inside one zone is a conduit too, e.g. "${site.zones[0]?.name}->${site.zones[0]?.name}")`]);
    return issues;
  }
  if (r.site !== site.site) issues.push([['site'], `the rule was learned for site "${r.site}", not "${site.site}"; pass the site.yaml it was learned with`]);
  r.entries.forEach((e, i) => {
    if (e.src.startsWith('zone:')) {
      const z = e.src.slice(5);
      if (z !== from) issues.push([['entries', i, 'src'], `zone "${z}" is not the conduit's initiating zone "${from}"; write "zone:${from}" or an address of it`]);
    } else if (!isAddress(e.src)) {
      issues.push([['entries', i, 'src'], `"${e.src}" is not an address; write an IPv4/IPv6 address or "zone:${from}"`]);
    } else if (map.zoneOf(e.src) !== from) {
      issues.push([['entries', i, 'src'], `${e.src} is in zone "${map.zoneOf(e.src)}", not in the conduit's initiating zone "${from}"`]);
    }
    if (!isAddress(e.dst)) issues.push([['entries', i, 'dst'], `"${e.dst}" is not an address; write the responder's IPv4/IPv6 address`]);
    else if (map.zoneOf(e.dst) !== to) issues.push([['entries', i, 'dst'], `${e.dst} is in zone "${map.zoneOf(e.dst)}", not in the conduit's answering zone "${to}"`]);
    if (e.l7 !== '' && !knownProtocol(e.l7)) {
      issues.push([['entries', i, 'l7'], `"${e.l7}" is not a protocol a rule can list ops for; known: ${RULE_PROTOCOLS.join(', ')} (or leave l7 empty to allow the edge whatever it carries)`]);
    }
    if (e.l7 === '' && e.ops.length > 0) issues.push([['entries', i, 'ops'], 'ops are listed but l7 is empty: name the protocol (e.g. l7: modbus) or remove the ops']);
    e.ops.forEach((o, j) => {
      if (knownProtocol(e.l7) && !isOpOf(e.l7, o.op)) issues.push([['entries', i, 'ops', j, 'op'], `"${o.op}" is not a ${e.l7} operation; ${opHint(e.l7, o.op)}`]);
    });
    if (e.status === 'hold' && e.held.length === 0) issues.push([['entries', i, 'held'], 'a held entry needs at least one reason in "held"']);
  });
  const seen = new Set<string>();
  r.entries.forEach((e, i) => {
    const k = edgeKeyOf(e);
    if (seen.has(k)) issues.push([['entries', i], `entry ${k} is listed twice; merge the two`]);
    seen.add(k);
  });
  return issues;
};

/**
 * Parses a rule file (JSON or YAML) and checks it against the site. Errors are `config_invalid`
 * and name the file, the line, the field and a fix (STYLE.md §3), one line per issue.
 */
export const parseRule = (text: string, file: string, site: Site): { rule: Rule; hash: string; statedHash?: string } => {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const line = e.linePos?.[0]?.line ?? lc.linePos(e.pos[0]).line;
    throw new PipelineError('config_invalid', `${file}:${line}: the rule file does not parse: ${e.message.split('\n')[0]}. Check quoting and indentation on that line (rules are JSON or YAML).`, { file, line });
  }
  const at = (path: (string | number)[]) => `${file}:${locate(doc.contents, path, lc) ?? 1}`;
  const res = Rule.safeParse(doc.toJS());
  if (!res.success) {
    const lines = res.error.issues.map((iss) => {
      const field = iss.path.length ? iss.path.join('.') : '(top level)';
      let msg = iss.message;
      if (iss.code === 'unrecognized_keys') msg = `unknown key(s) ${iss.keys.map((k) => `"${k}"`).join(', ')}: a typo? The rule format is in enforce/README.md`;
      if (iss.code === 'invalid_type' && iss.received === 'undefined') msg = `required field is missing (expected ${iss.expected})`;
      if (iss.code === 'invalid_literal' && iss.path[0] === 'kind') msg = `not a conduitwatch rule (kind must be "${RULE_KIND}"); write one with 'conduitwatch rules propose'`;
      return `${at(iss.path)}: ${field}: ${msg}`;
    });
    throw new PipelineError('config_invalid', `Invalid rule file:\n  ${lines.join('\n  ')}`, { file, issues: res.error.issues });
  }
  const issues = checkRule(res.data, site);
  if (issues.length) {
    throw new PipelineError('config_invalid', `Invalid rule file:\n  ${issues.map(([p, m]) => `${at(p)}: ${p.join('.')}: ${m}`).join('\n  ')}`, { file });
  }
  const rule = normalizeRule(res.data);
  return { rule, hash: ruleHash(rule), ...(res.data.hash ? { statedHash: res.data.hash } : {}) };
};
