-- flows get the record's deterministic id (FlowRecord.id, core/records.ts; issue 9 item 2) and
-- deduplicate on it: a flow published or delivered twice (a producer retry after a broker kill, a
-- collector re-publishing its spool, a replayed file) is stored once. ReplacingMergeTree collapses
-- rows with the same sort key; the key ends in (run_id, id), and conduit, zones and times before
-- them are functions of the record, so two copies of one record always share the whole key.
-- Doubles collapse on merge; read exact counts with FINAL (as windows and alerts already are).
--
-- ClickHouse cannot change a table's engine in place: the rows are copied into a new table, the two
-- are exchanged, and the old one is dropped. Rows written before this migration get an id computed
-- from their content (the sink and the replay writer do the same for a record without one).
-- Not restartable between the EXCHANGE and its record in schema_migrations (milliseconds): if a
-- rerun fails with "no column id in flows_dedup", the exchange happened: DROP TABLE flows_dedup and
-- insert version 10 into schema_migrations by hand.
CREATE TABLE IF NOT EXISTS flows_dedup
(
    run_id              String                      COMMENT 'Replay or serve run that wrote the row',
    id                  String                      COMMENT 'FlowRecord.id: deterministic from the source; the dedup key with run_id',
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
    req_max             Float64,
    fidelity            Array(LowCardinality(String)) DEFAULT [] COMMENT 'Inferred, not seen: direction_* and export notes; [] when all seen'
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts_start)
ORDER BY (conduit, ts_start, src_ip, dst_ip, run_id, id)
SETTINGS non_replicated_deduplication_window = 1000;

INSERT INTO flows_dedup (id, run_id, observed_at, conduit, src_zone, dst_zone, ts_start, ts_end, src_ip, src_port,
    dst_ip, dst_port, proto, packets, bytes, packets_rev, bytes_rev, tcp_flags, exporter, observation_domain, source,
    l7, l7_ops, l7_ops_rev, l7_errors, l7_units, l7_violations, req_count, req_mean, req_m2, req_min, req_max, fidelity)
SELECT lower(hex(substring(SHA256(concat('content', '\0', exporter, '\0', toString(observation_domain), '\0', source,
        '\0', toString(toUnixTimestamp64Milli(ts_start)), '\0', toString(toUnixTimestamp64Milli(ts_end)), '\0', src_ip,
        '\0', toString(src_port), '\0', dst_ip, '\0', toString(dst_port), '\0', toString(proto), '\0', toString(packets),
        '\0', toString(bytes), '\0', toString(packets_rev), '\0', toString(bytes_rev), '\0', toString(tcp_flags), '\0', l7)), 1, 12))),
    run_id, observed_at, conduit, src_zone, dst_zone, ts_start, ts_end, src_ip, src_port,
    dst_ip, dst_port, proto, packets, bytes, packets_rev, bytes_rev, tcp_flags, exporter, observation_domain, source,
    l7, l7_ops, l7_ops_rev, l7_errors, l7_units, l7_violations, req_count, req_mean, req_m2, req_min, req_max, fidelity
FROM flows;

EXCHANGE TABLES flows AND flows_dedup;

DROP TABLE IF EXISTS flows_dedup;
