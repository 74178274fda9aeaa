-- sink_batches: the Kafka sink's intent log (store/sink-log.ts). Before the sink inserts the rows of
-- offsets [first, last] of one partition with the dedup token group:topic:partition:first-last, it
-- records the range here; after a crash the next owner re-cuts its first batch at exactly that
-- range, so the retried insert carries the same token and ClickHouse skips it if it had landed.
CREATE TABLE IF NOT EXISTS sink_batches
(
    consumer_group String,
    topic          String,
    partition      UInt32,
    first          UInt64,
    last           UInt64,
    written_at     DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY (consumer_group, topic, partition, first)
SETTINGS non_replicated_deduplication_window = 1000;
