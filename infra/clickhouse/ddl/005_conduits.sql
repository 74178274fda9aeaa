-- conduits: the current state of each conduit (zone pair). The detector stage owns this
-- state (it tracks the baseline per conduit), so it writes the whole row on every change and
-- ReplacingMergeTree keeps the row with the greatest updated_at per (conduit, run_id).
-- Read with FINAL or argMax(…, updated_at).
CREATE TABLE IF NOT EXISTS conduits
(
    conduit         LowCardinality(String)  COMMENT 'from->to',
    run_id          String,
    from_zone       LowCardinality(String),
    to_zone         LowCardinality(String),
    declared        UInt8                   COMMENT '1 when site.yaml declares the conduit (or same zone)',
    first_seen      DateTime64(3, 'UTC'),
    last_seen       DateTime64(3, 'UTC'),
    flows           UInt64,
    bytes           UInt64,
    status          LowCardinality(String)  COMMENT 'learning | baselined | undeclared',
    baseline_until  DateTime64(3, 'UTC')    COMMENT 'Event time the baseline is complete',
    updated_at      DateTime64(3, 'UTC')    COMMENT 'Version column: the newest row wins'
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (conduit, run_id);
