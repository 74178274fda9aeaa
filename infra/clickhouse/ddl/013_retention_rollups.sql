-- Retention (TTL) per table, and the rollups the dashboards read over long ranges.
--
-- Retention counts from the time the engine stored a row (stored_at DEFAULT now(), whatever the writer
-- passed), never from event time: a replay of a capture recorded years ago must not be deleted at
-- its first merge (expired rows are dropped as soon as a part is written). Change a
-- period with ALTER TABLE t MODIFY TTL …; remove it with ALTER TABLE t REMOVE TTL.
--   flows 35 days · series 90 days · windows 400 days · alerts 730 days · rollups 730 days ·
--   sink_batches 7 days (the deduplication window is at most that long anyway) · assets, conduits:
--   current state, kept.
ALTER TABLE flows ADD COLUMN IF NOT EXISTS stored_at DateTime DEFAULT now() COMMENT 'Processing time; retention counts from it';
ALTER TABLE windows ADD COLUMN IF NOT EXISTS stored_at DateTime DEFAULT now() COMMENT 'Processing time; retention counts from it';
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS stored_at DateTime DEFAULT now() COMMENT 'Processing time; retention counts from it';
ALTER TABLE flows MODIFY TTL stored_at + INTERVAL 35 DAY;
ALTER TABLE series MODIFY TTL stored_at + INTERVAL 90 DAY;
ALTER TABLE windows MODIFY TTL stored_at + INTERVAL 400 DAY;
ALTER TABLE alerts MODIFY TTL stored_at + INTERVAL 730 DAY;
ALTER TABLE sink_batches ADD COLUMN IF NOT EXISTS stored_at DateTime DEFAULT now();
ALTER TABLE sink_batches MODIFY TTL stored_at + INTERVAL 7 DAY;

-- The serve sink writes asset partials and conduit states with a deduplication token per Kafka
-- batch: a redelivered batch must not add its partials twice (assets sums flows and bytes).
ALTER TABLE assets MODIFY SETTING non_replicated_deduplication_window = 1000;
ALTER TABLE conduits MODIFY SETTING non_replicated_deduplication_window = 1000;

-- flows_minute: flows, packets, bytes and L7 operations per conduit, application protocol and
-- minute (event time), for rate and "operations by protocol" panels over days. Filled by the
-- materialized view from every insert into flows from now on (not backfilled); read with GROUP BY
-- (or FINAL) and sum()/sumMap().
CREATE TABLE IF NOT EXISTS flows_minute
(
    run_id   LowCardinality(String),
    conduit  LowCardinality(String),
    l7       LowCardinality(String),
    minute   DateTime('UTC'),
    flows    SimpleAggregateFunction(sum, UInt64),
    packets  SimpleAggregateFunction(sum, UInt64),
    bytes    SimpleAggregateFunction(sum, UInt64),
    l7_ops   SimpleAggregateFunction(sumMap, Map(String, UInt64)),
    stored_at SimpleAggregateFunction(max, DateTime) DEFAULT now()
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY (conduit, minute, l7, run_id)
TTL stored_at + INTERVAL 730 DAY;

CREATE MATERIALIZED VIEW IF NOT EXISTS flows_minute_mv TO flows_minute AS
SELECT run_id, conduit, l7, toStartOfMinute(ts_start) AS minute, count() AS flows,
       sum(packets + packets_rev) AS packets, sum(bytes + bytes_rev) AS bytes, sumMap(l7_ops) AS l7_ops
FROM flows
GROUP BY run_id, conduit, l7, minute;

-- conduit_hour: per conduit and hour (event time), the highest score, the edge-windows scored
-- above 0 and the observed vs expected totals: "top conduits by score" and a conduit's band over
-- weeks. From series (edge rows) and from the conduits' activity rows in windows (their score is
-- the conduit's highest, conduit-level findings included); read with GROUP BY and max()/sum().
CREATE TABLE IF NOT EXISTS conduit_hour
(
    run_id        LowCardinality(String),
    conduit       LowCardinality(String),
    hour          DateTime('UTC'),
    max_score     SimpleAggregateFunction(max, Float64),
    scored        SimpleAggregateFunction(sum, UInt64)    COMMENT 'Edge-windows with score > 0',
    edge_windows  SimpleAggregateFunction(sum, UInt64),
    observed      SimpleAggregateFunction(sum, Float64),
    expected      SimpleAggregateFunction(sum, Float64),
    stored_at     SimpleAggregateFunction(max, DateTime) DEFAULT now()
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (conduit, hour, run_id)
TTL stored_at + INTERVAL 730 DAY;

CREATE MATERIALIZED VIEW IF NOT EXISTS conduit_hour_mv TO conduit_hour AS
SELECT run_id, conduit, toStartOfHour(window_start) AS hour, max(score) AS max_score, countIf(score > 0) AS scored,
       count() AS edge_windows, sum(ifNull(observed, 0)) AS observed, sum(ifNull(expected, 0)) AS expected
FROM series
GROUP BY run_id, conduit, hour;

CREATE MATERIALIZED VIEW IF NOT EXISTS conduit_hour_activity_mv TO conduit_hour AS
SELECT run_id, conduit, toStartOfHour(window_start) AS hour, max(score) AS max_score, toUInt64(0) AS scored,
       toUInt64(0) AS edge_windows, toFloat64(0) AS observed, toFloat64(0) AS expected
FROM windows
WHERE detector = 'activity'
GROUP BY run_id, conduit, hour;
