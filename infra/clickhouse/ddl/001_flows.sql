-- flows: one row per FlowRecord (core/records.ts), enriched with its conduit and zones.
-- Dashboards read "one conduit over a time range", so the sort key starts with the conduit
-- and then event time; monthly partitions let old data be dropped by partition.
-- Identical retried blocks are skipped (non_replicated_deduplication_window), so a writer
-- that retries a batch whose first attempt actually landed does not double-count.
CREATE TABLE IF NOT EXISTS flows
(
    run_id              String                      COMMENT 'Replay or serve run that wrote the row',
    observed_at         DateTime64(3, 'UTC')        COMMENT 'Processing time the pipeline saw the flow',
    conduit             LowCardinality(String)      COMMENT 'Conduit id, from->to zone names',
    src_zone            LowCardinality(String),
    dst_zone            LowCardinality(String),
    ts_start            DateTime64(3, 'UTC')        COMMENT 'Event time of the first packet',
    ts_end              DateTime64(3, 'UTC')        COMMENT 'Event time of the last packet',
    src_ip              String,
    src_port            UInt16,
    dst_ip              String,
    dst_port            UInt16,
    proto               UInt8,
    packets             UInt64,
    bytes               UInt64,
    packets_rev         UInt64,
    bytes_rev           UInt64,
    tcp_flags           UInt16,
    exporter            LowCardinality(String),
    observation_domain  UInt32,
    source              LowCardinality(String)      COMMENT 'pcap | netflow5 | netflow9 | ipfix | file | sim',
    l7                  LowCardinality(String)      COMMENT 'Application protocol, empty when none',
    l7_ops              Map(String, UInt64),
    l7_ops_rev          Map(String, UInt64),
    l7_errors           Map(String, UInt64),
    l7_units            Array(UInt32),
    l7_violations       Map(String, UInt64),
    req_count           UInt64                      COMMENT 'requestIntervalsMs.count; 0 when absent',
    req_mean            Float64,
    req_m2              Float64,
    req_min             Float64,
    req_max             Float64
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(ts_start)
ORDER BY (conduit, ts_start, src_ip, dst_ip)
SETTINGS non_replicated_deduplication_window = 1000;
