-- audit: the promote-to-block audit trail (enforce/audit.ts), one row per line of the data
-- directory's audit.jsonl: hash-chained entries (kind 'entry') and Ed25519-signed checkpoints
-- (kind 'checkpoint', seq = the last entry it covers). `line` is the exact canonical JSON line, so
-- `conduitwatch audit verify` compares the table with the file byte for byte; the other columns
-- are copies for queries and panels. Append-only: the app user needs INSERT and SELECT only.
CREATE TABLE IF NOT EXISTS audit
(
    seq          UInt64,
    kind         LowCardinality(String)   COMMENT 'entry | checkpoint',
    ts           DateTime64(3, 'UTC')     COMMENT 'Processing time the entry was written',
    actor        String                   COMMENT 'Who: a named user or service',
    action       LowCardinality(String)   COMMENT 'propose, whatif, waive, approve, apply, rollback, …',
    target       String                   COMMENT 'What: a conduit id or a rule hash',
    result       LowCardinality(String)   COMMENT 'ok | refused | failed | requested',
    rule_hash    String,
    whatif_hash  String,
    hash         String                   COMMENT 'Chain hash of the entry (checkpoint: the hash it signs)',
    line         String                   COMMENT 'The canonical JSON line as written to audit.jsonl'
)
ENGINE = MergeTree
ORDER BY (seq, kind)
SETTINGS non_replicated_deduplication_window = 1000;
