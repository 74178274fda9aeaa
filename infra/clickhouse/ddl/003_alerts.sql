-- alerts: one row per Alert (core/records.ts). Alert ids are stable for the same input,
-- config and model, so ReplacingMergeTree keyed on (conduit, ts_start, id, run_id) turns a
-- retried write into one row after merge (or with FINAL) while keeping each run's alerts.
CREATE TABLE IF NOT EXISTS alerts
(
    id           String,
    run_id       String,
    conduit      LowCardinality(String),
    src          String,
    dst          String,
    proto        UInt8,
    dst_port     UInt16,
    l7           LowCardinality(String),
    ts_start     DateTime64(3, 'UTC'),
    ts_end       DateTime64(3, 'UTC'),
    score        Float64,
    detector     LowCardinality(String),
    explanation  String
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts_start)
ORDER BY (conduit, ts_start, id, run_id)
SETTINGS non_replicated_deduplication_window = 1000;
