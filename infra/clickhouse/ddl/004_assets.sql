-- assets: what each address did, as partial summaries that the engine merges.
-- AggregatingMergeTree with SimpleAggregateFunction columns: any writer (one per worker or
-- per batch) inserts plain partial rows and background merges fold rows with the same
-- (zone, ip, run_id) into one: min first_seen, max last_seen, summed flows/bytes, union of l7.
-- Merges are eventual, so read with GROUP BY and the same functions (see store/README.md).
CREATE TABLE IF NOT EXISTS assets
(
    zone        LowCardinality(String),
    ip          String,
    run_id      String,
    first_seen  SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    last_seen   SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
    flows       SimpleAggregateFunction(sum, UInt64),
    bytes       SimpleAggregateFunction(sum, UInt64),
    l7          SimpleAggregateFunction(groupUniqArrayArray, Array(String)),
    observed_at SimpleAggregateFunction(max, DateTime64(3, 'UTC')) COMMENT 'Processing time of the newest partial'
)
ENGINE = AggregatingMergeTree
ORDER BY (zone, ip, run_id);
