/** Audit trail: every enforcement step as written, and whether the hash chain still verifies. */
import { C, stat, T, table, timeseries, UID, type DashboardSpec } from './common.ts';

const a = C.audit;

/**
 * Each entry's chain check, as enforce/audit.ts defines the chain: hash = SHA-256(0x00 ‖ prevHash ‖
 * canonical entry without `hash`), and prevHash = the previous entry's hash (64 zeros for the first).
 * The canonical line sorts its keys, so dropping `"hash":"…",` from it gives the hashed text.
 */
const checked = `SELECT ${a.seq} AS seq, ${a.ts} AS ts, ${a.hash} AS hash,
  lower(hex(SHA256(concat(char(0), unhex(JSONExtractString(${a.line}, 'prevHash')), replaceOne(${a.line}, concat('"hash":"', ${a.hash}, '",'), ''))))) = ${a.hash} AS recomputes,
  JSONExtractString(${a.line}, 'prevHash') = lagInFrame(${a.hash}, 1, repeat('0', 64)) OVER (ORDER BY ${a.seq} ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS links,
  ${a.seq} - lagInFrame(${a.seq}, 1, 0) OVER (ORDER BY ${a.seq} ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS step
FROM ${T.audit} WHERE ${a.kind} = 'entry'`;

export const auditTrail = (): DashboardSpec => ({
  uid: UID.audit,
  file: 'audit-trail',
  title: 'conduitwatch / Audit trail',
  description: 'The promote-to-block audit trail (append-only, hash-chained, signed checkpoints) and its verification status. `conduitwatch audit verify` also checks the Ed25519 signatures and compares the table with audit.jsonl.',
  variables: [],
  from: 'now-30d',
  panels: [
    stat({
      title: 'Chain verification', unit: 'none', w: 8,
      description: 'intact: every entry\'s hash recomputes, links to the previous entry, and seq runs 1, 2, 3 with no gap; otherwise the first bad seq. Signatures and the file copy: conduitwatch audit verify.',
      sql: `SELECT if(countIf(NOT recomputes OR NOT links OR step != 1) = 0 AND min(seq) = 1, 'intact', concat('broken at seq ', toString(minIf(seq, NOT recomputes OR NOT links OR step != 1)))) AS status FROM (${checked})`,
    }),
    stat({
      title: 'Entries', unit: 'short', w: 8,
      description: 'Entries in the trail (all time); each is one step that was taken, refused or failed.',
      sql: `SELECT count() AS entries FROM ${T.audit} WHERE ${a.kind} = 'entry'`,
    }),
    stat({
      title: 'Last signed checkpoint', unit: 'dateTimeAsIso', w: 8,
      description: 'When the newest Ed25519-signed checkpoint was written, and so the newest entry an outside anchor can vouch for.',
      sql: `SELECT toUnixTimestamp64Milli(max(${a.ts})) AS checkpoint FROM ${T.audit} WHERE ${a.kind} = 'checkpoint'`,
    }),
    timeseries({
      title: 'Steps over time by result', unit: 'short', style: 'bars', stacked: true, w: 24, minInterval: '1m',
      description: 'Audit entries per interval by result: ok, refused (a gate said no), failed, requested.',
      sql: `SELECT $__timeInterval(${a.ts}) AS time, ${a.result} AS result, count() AS entries
FROM ${T.audit} WHERE ${a.kind} = 'entry' AND $__timeFilter(${a.ts})
GROUP BY time, result ORDER BY time`,
    }),
    table({
      title: 'Trail', unit: 'short', w: 24, h: 12, units: { ts: 'dateTimeAsIso' },
      description: 'Every entry, newest first, with its chain check: recomputes (its hash is the SHA-256 of its content) and links (it names the previous entry\'s hash).',
      sql: `SELECT e.${a.seq} AS seq, e.${a.ts} AS ts, e.${a.actor} AS actor, e.${a.action} AS action, e.${a.target} AS target, e.${a.result} AS result,
  JSONExtractString(e.${a.line}, 'reason') AS reason, if(c.recomputes AND c.links, 'ok', 'BROKEN') AS chain, e.${a.hash} AS hash
FROM ${T.audit} AS e INNER JOIN (${checked}) AS c ON c.seq = e.${a.seq}
WHERE e.${a.kind} = 'entry'
ORDER BY seq DESC LIMIT 500`,
    }),
  ],
});
