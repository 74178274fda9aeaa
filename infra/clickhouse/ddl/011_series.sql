-- series: the numbers behind each edge's rate and cadence, one row per edge and window, for the
-- dashboards' per-edge "expected vs observed" panels (the baseline band and the live line) and the
-- edge's score timeline. The detection engine emits them (ScoredBatch.series); `windows` holds the
-- findings at or above the floor and each conduit's activity row (store/README.md, "What windows and
-- series hold"): together they replace one row per detector per edge-window.
-- A row exists for an edge-window when the edge had traffic, or its baseline expected traffic
-- (expected >= 0.5 per window), or a detector scored it above 0. No row: nothing seen, nothing
-- expected, score 0.
-- AggregatingMergeTree with max() columns: a row that arrives twice (redelivery past the
-- deduplication window) or in parts folds into one per (conduit, window_start, edge, run_id) on
-- merge, and max() of Nullable ignores nulls. Read with FINAL (or GROUP BY with max()).
CREATE TABLE IF NOT EXISTS series
(
    run_id              LowCardinality(String),
    conduit             LowCardinality(String),
    edge                String                                                 COMMENT 'Edge id (core/records.ts edgeId)',
    window_start        DateTime64(3, 'UTC'),
    window_end          SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
    learning            SimpleAggregateFunction(max, UInt8)                    COMMENT '1 while the conduit learns its baseline',
    unit                SimpleAggregateFunction(max, LowCardinality(String))   COMMENT 'requests | flows: what observed/expected count',
    observed            SimpleAggregateFunction(max, Nullable(Float64))        COMMENT 'Requests (or flows) in the window',
    expected            SimpleAggregateFunction(max, Nullable(Float64))        COMMENT 'Baseline rate for this point of the cycle; null until learned',
    expected_std        SimpleAggregateFunction(max, Nullable(Float64))        COMMENT 'Standard deviation of the baseline rate: band = expected +- k * expected_std',
    period_ms           SimpleAggregateFunction(max, Nullable(Float64))        COMMENT 'Mean interval between requests (or connections) seen in the window',
    jitter_ms           SimpleAggregateFunction(max, Nullable(Float64))        COMMENT 'Std of those intervals',
    expected_period_ms  SimpleAggregateFunction(max, Nullable(Float64))        COMMENT 'Baseline interval; null until learned',
    expected_jitter_ms  SimpleAggregateFunction(max, Nullable(Float64)),
    intervals           SimpleAggregateFunction(max, UInt32)                   COMMENT 'Intervals behind period_ms',
    score               SimpleAggregateFunction(max, Float64)                  COMMENT 'Highest score of the edge in the window, any detector (the ensemble summary aside)',
    stored_at           SimpleAggregateFunction(max, DateTime) DEFAULT now()   COMMENT 'Processing time; retention (TTL) counts from it'
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(window_start)
ORDER BY (conduit, window_start, edge, run_id)
SETTINGS non_replicated_deduplication_window = 1000;
