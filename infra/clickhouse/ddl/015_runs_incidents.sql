-- Severity and incidents (incidents/): every alert carries its severity, the risk behind it, the
-- reason in words and the incident it belongs to; incidents hold related alerts as one case.
-- Alerts stored before this migration keep '' / 0.
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS severity LowCardinality(String) DEFAULT '' COMMENT 'info | low | medium | high | critical';
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS risk Float64 DEFAULT 0 COMMENT 'points at stake x score, 0-10; the ranking key';
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS severity_reason String DEFAULT '' COMMENT 'why that severity, in words';
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS incident String DEFAULT '' COMMENT 'incidents.id';

-- incidents: one row per version of an incident (each alert that joins it writes the incident
-- as it then stands); ReplacingMergeTree(alerts) keeps the version with the most alerts per
-- (run_id, id). Read with FINAL or argMax(…, alerts).
CREATE TABLE IF NOT EXISTS incidents
(
    run_id      String,
    id          String,
    severity    LowCardinality(String)  COMMENT 'the level of the highest risk among its alerts',
    risk        Float64,
    first_seen  DateTime64(3, 'UTC')    COMMENT 'window start of its first alert (event time)',
    last_seen   DateTime64(3, 'UTC')    COMMENT 'window end of its last alert (event time)',
    alerts      UInt32                  COMMENT 'alerts it holds; the version column',
    alert_ids   Array(String),
    conduits    Array(LowCardinality(String)),
    sources     Array(String),
    targets     Array(String),
    detectors   Array(LowCardinality(String)),
    top_alert   String                  COMMENT 'id of its most severe alert',
    summary     String
)
ENGINE = ReplacingMergeTree(alerts)
ORDER BY (run_id, id);

-- runs: one row per run and state change (started, then complete | interrupted | failed);
-- ReplacingMergeTree(version) keeps the newest. `conduitwatch runs` lists and deletes runs, and
-- `conduitwatch sql` reads the newest run unless told otherwise.
CREATE TABLE IF NOT EXISTS runs
(
    run_id       String,
    command      LowCardinality(String)  COMMENT 'replay | demo | serve',
    site         String,
    inputs       Array(String),
    started_at   DateTime64(3, 'UTC'),
    finished_at  DateTime64(3, 'UTC')    COMMENT '1970 while running',
    status       LowCardinality(String)  COMMENT 'running | complete | interrupted | failed',
    flows        UInt64,
    alerts       UInt64,
    incidents    UInt64,
    first_ts     DateTime64(3, 'UTC')    COMMENT 'event time of the first flow',
    last_ts      DateTime64(3, 'UTC')    COMMENT 'event time of the last flow',
    note         String,
    version      UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY run_id;
