/**
 * Renders one conduit's rule as one nftables table (family inet), deny by default for that
 * conduit's traffic (IEC 62443-3-3 SR 5.2 RE1) and untouched for everything else.
 *
 *   table inet cw_<from>_<to>_<hash6> {
 *     comment "conduitwatch rule <16 hex of the rule hash> ruleset <sha256 of the body>"
 *     set from4/to4 (from6/to6)      the zones' addresses (site.yaml cidrs + assets)
 *     counter …                      one per entry, plus dropped_edge
 *     chain forward  hook forward, priority filter, policy accept:
 *        to-zone → from-zone, ct state established,related → accept   (answers)
 *        from-zone → to-zone → jump conduit                             (every request packet)
 *     chain conduit  one rule per allowed entry (held entries are simply absent), then
 *        counter dropped_edge drop                                      (deny by default)
 *     chain e<N>     per Modbus/TCP entry with ops: the function-code allow-list
 *   }
 *
 * Modbus/TCP function codes are matched on the payload (`@ih`, the bytes after the TCP header):
 * MBAP transaction (2), protocol id (2, must be 0), length (2), unit (1), then the function code at
 * byte 7 (Modbus Messaging on TCP/IP §3.1.3). In chain e<N>:
 *   @ih,16,16 != 0            → drop   (not Modbus/TCP: protocol id ≠ 0)
 *   @ih,56,8 { allowed fcs }  → accept
 *   @ih,56,8 0-255            → drop   (any other function code)
 *   otherwise                 → accept (no payload: SYN, ACK, FIN; or fewer than 8 payload bytes)
 * What payload matching cannot see (enforce/README.md): a segment is matched alone, so (1) an ADU
 * split across segments is judged by whatever byte 7 of each segment holds, and a segment shorter
 * than 8 bytes passes; (2) when one segment carries several ADUs only the first function code is
 * checked; (3) the match is per packet, not per stream — there is no TCP reassembly in the kernel.
 * A Modbus client sends one request per segment in practice, which is what the match relies on.
 * Ops of other protocols are not matched: their edges are allowed whole, and `limits` says so.
 */
import { parseCidr } from '../../core/net.ts';
import type { Site } from '../../core/config.ts';
import { PipelineError } from '../../core/errors.ts';
import { protoName } from '../../core/records.ts';
import { sha256Hex } from '../canonical.ts';
import type { GeneratedRuleset } from '../backend.ts';
import { modbusFunctionCode } from '../ops.ts';
import { edgeKeyOf, type Rule } from '../rules.ts';

/** Table family: inet covers IPv4 and IPv6 in one table. */
export const NFT_FAMILY = 'inet';

/** nftables table name of a conduit: `cw_` + its zones (identifier characters only) + 6 hex of its id. */
export const tableName = (conduit: string): string => {
  const base = conduit.replace('->', '__').replace(/[^A-Za-z0-9_]/g, '_').slice(0, 40);
  return `cw_${base}_${sha256Hex(conduit).slice(0, 6)}`;
};

const quote = (s: string): string => `"${s.replace(/["\\]/g, '_').slice(0, 120)}"`;
const isV6 = (addr: string): boolean => addr.includes(':');

/** Address sets of a zone, split by family. */
const zoneSets = (site: Site, zone: string): { v4: string[]; v6: string[] } => {
  const z = site.zones.find((x) => x.name === zone);
  if (!z) throw new PipelineError('config_invalid', `zone "${zone}" is not declared in site.yaml`);
  const v4: string[] = [];
  const v6: string[] = [];
  for (const c of [...z.cidrs, ...z.assets]) {
    const p = parseCidr(c);
    (p.family === 4 ? v4 : v6).push(c);
  }
  return { v4, v6 };
};

const l4Match = (proto: number, port: number): string => {
  if (proto === 6) return `tcp dport ${port}`;
  if (proto === 17) return `udp dport ${port}`;
  if (proto === 132) return `sctp dport ${port}`;
  return `meta l4proto ${proto}`;
};

/**
 * The nftables ruleset of a rule (see the module comment). Deterministic: entries in rule order,
 * numbers in ascending order, no timestamps.
 */
export const generateNftables = (rule: Rule, site: Site, ruleHash: string): GeneratedRuleset => {
  const [from, to] = rule.conduit.split('->') as [string, string];
  const table = tableName(rule.conduit);
  const src = zoneSets(site, from);
  const dst = zoneSets(site, to);
  const limits: string[] = [];
  const counters: string[] = ['dropped_edge'];
  const conduitRules: string[] = [];
  const edgeChains: string[] = [];
  rule.entries.forEach((e, i) => {
    const edge = `${e.src} → ${e.dst} ${protoName(e.proto)}/${e.dstPort}${e.l7 ? ` ${e.l7}` : ''}`;
    if (e.status !== 'allow') return;
    const fam6 = e.src.startsWith('zone:') ? undefined : isV6(e.src);
    const dst6 = isV6(e.dst);
    if (fam6 !== undefined && fam6 !== dst6) {
      throw new PipelineError('config_invalid', `rule entry ${edgeKeyOf(e)} mixes an IPv4 and an IPv6 address; write one entry per address family`);
    }
    const ip = dst6 ? 'ip6' : 'ip';
    const saddr = e.src.startsWith('zone:') ? `${ip} saddr @from${dst6 ? 6 : 4}` : `${ip} saddr ${e.src}`;
    const match = `${saddr} ${ip} daddr ${e.dst} ${l4Match(e.proto, e.dstPort)}`;
    const name = `e${i}`;
    counters.push(name);
    if (e.proto !== 6 && e.proto !== 17 && e.proto !== 132) limits.push(`${edge}: protocol ${e.proto} has no ports; the entry allows all of it between these hosts`);
    const allowedOps = e.ops.filter((o) => o.status === 'allow');
    if (e.l7 === 'modbus' && e.proto === 6) {
      const fcs = [...new Set(allowedOps.map((o) => modbusFunctionCode(o.op)).filter((c): c is number => c !== undefined))].sort((a, b) => a - b);
      counters.push(`${name}_op_drop`);
      conduitRules.push(`    ${match} counter name ${quote(name)} jump ${name} comment ${quote(edge)}`);
      const body = [
        `  chain ${name} {`,
        `    @ih,16,16 != 0 counter name ${quote(`${name}_op_drop`)} drop comment "not Modbus/TCP: MBAP protocol id is not 0"`,
      ];
      if (fcs.length) body.push(`    @ih,56,8 { ${fcs.join(', ')} } accept comment ${quote(`allowed: ${allowedOps.map((o) => o.op).sort().join(', ')}`)}`);
      body.push(`    @ih,56,8 0-255 counter name ${quote(`${name}_op_drop`)} drop comment "function code not in the allow-list"`);
      body.push('    accept comment "no Modbus payload (handshake, ACK, FIN)"', '  }');
      edgeChains.push(body.join('\n'));
    } else {
      if (e.l7 !== '') {
        limits.push(`${edge}: ${e.l7 || 'its'} ops are not matched by nftables; the edge is allowed whole (${e.ops.filter((o) => o.status === 'hold').length} held ops not enforced)`);
      }
      conduitRules.push(`    ${match} counter name ${quote(name)} accept comment ${quote(edge)}`);
    }
  });

  const set = (name: string, type: string, elems: string[]) => (elems.length
    ? [`  set ${name} {`, `    type ${type}`, '    flags interval', `    elements = { ${elems.join(', ')} }`, '  }']
    : []);
  const forward: string[] = [];
  for (const [fam, ip, s, d] of [['4', 'ip', src.v4, dst.v4], ['6', 'ip6', src.v6, dst.v6]] as const) {
    if (!s.length || !d.length) continue;
    forward.push(`    ${ip} saddr @to${fam} ${ip} daddr @from${fam} ct state established,related accept comment "answers on the conduit"`);
    forward.push(`    ${ip} saddr @from${fam} ${ip} daddr @to${fam} jump conduit comment ${quote(`requests on ${rule.conduit}`)}`);
  }
  const body = [
    ...set('from4', 'ipv4_addr', src.v4), ...set('to4', 'ipv4_addr', dst.v4),
    ...set('from6', 'ipv6_addr', src.v6), ...set('to6', 'ipv6_addr', dst.v6),
    ...counters.map((c) => `  counter ${c} {\n  }`),
    '  chain forward {',
    '    type filter hook forward priority filter; policy accept;',
    ...forward,
    '  }',
    '  chain conduit {',
    ...conduitRules,
    `    counter name "dropped_edge" drop comment "deny by default: not in the allow-list of ${rule.conduit.replace(/"/g, '')}"`,
    '  }',
    ...edgeChains,
  ].join('\n');
  const hash = `sha256:${sha256Hex(body)}`;
  const text = [
    `table ${NFT_FAMILY} ${table} {`,
    // nft keeps at most 128 characters of a comment: the rule hash is shortened, the ruleset hash is whole.
    `  comment ${quote(`conduitwatch rule ${ruleHash.replace('sha256:', '').slice(0, 16)} ruleset ${hash}`)}`,
    body,
    '}',
    '',
  ].join('\n');
  return { backend: 'nftables', conduit: rule.conduit, ruleHash, target: `${NFT_FAMILY} ${table}`, text, hash, limits };
};

/** The ruleset hash recorded in a table's comment ('' when the table is not ours). */
export const hashFromComment = (comment: string | undefined): string => /ruleset (sha256:[0-9a-f]{64})/.exec(comment ?? '')?.[1] ?? '';
