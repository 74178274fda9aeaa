-- windows: one row per WindowScore (core/records.ts): a scored window of a conduit or edge.
-- ReplacingMergeTree on the full identity (conduit, window, detector, edge, run) makes a
-- re-sent score collapse on merge (query with FINAL for exact counts); the sort key serves
-- "this conduit over this time range" panels.
CREATE TABLE IF NOT EXISTS windows
(
    run_id        String,
    conduit       LowCardinality(String),
    edge          String                   COMMENT 'Edge id, empty for a conduit-level score',
    window_start  DateTime64(3, 'UTC'),
    window_end    DateTime64(3, 'UTC'),
    detector      LowCardinality(String),
    score         Float64                  COMMENT 'Deviation in [0, 1]',
    learning      UInt8                    COMMENT '1 while the conduit is still learning its baseline',
    explanation   String,
    features      Map(String, Float64)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(window_start)
ORDER BY (conduit, window_start, detector, edge, run_id)
SETTINGS non_replicated_deduplication_window = 1000;
