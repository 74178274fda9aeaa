-- rules: allow-list rules proposed for a conduit (enforce/rules.ts), one row per rule version.
-- `hash` is the rule's content hash (sha256 of its canonical JSON); `json` is that canonical JSON,
-- so a rule read back hashes to the same value. Proposals are never updated: a waiver or an edit
-- is a new version whose `parent` names the one it came from.
CREATE TABLE IF NOT EXISTS rules
(
    hash        String,
    conduit     LowCardinality(String),
    parent      String                  COMMENT 'Hash of the version this one was derived from; empty for a proposal',
    created_at  DateTime64(3, 'UTC')    COMMENT 'Processing time the version was stored',
    created_by  String,
    json        String                  COMMENT 'The rule as canonical JSON'
)
ENGINE = MergeTree
ORDER BY (conduit, created_at, hash)
SETTINGS non_replicated_deduplication_window = 1000;
