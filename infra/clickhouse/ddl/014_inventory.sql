-- inventory: the passive asset inventory (inventory/), one row per address, run and writer, holding
-- the full state that writer knows (core/records.ts Asset): role with confidence and evidence, MACs,
-- device identity (the latest value per field; every report with its times in `identities`, JSON),
-- protocols, services, peers, first/last seen. Each writer (`replay`, or one `serve` sink process)
-- rewrites its row as it learns more; ReplacingMergeTree keeps the newest per (run_id, ip, writer).
-- Read with FINAL or argMax(…, updated_at); serve's sinks see disjoint conduits, so flows/bytes add
-- up across writers of one run.
CREATE TABLE IF NOT EXISTS inventory
(
    run_id        String,
    ip            String,
    writer        String                  COMMENT 'replay, or the serve sink process that wrote the row',
    mac           String                  COMMENT 'latest own MAC ('''' without a link layer or behind a router)',
    mac_vendor    String                  COMMENT 'IEEE OUI registry vendor of mac',
    macs          Array(String)           COMMENT 'every MAC seen for this address, oldest first',
    role          LowCardinality(String)  COMMENT 'plc_rtu | hmi_scada | historian | engineering | unknown',
    confidence    Float64,
    evidence      Array(String),
    flags         Array(String)           COMMENT 'behaviour contradicting the role, changes over time',
    vendor        String,
    vendor_id     String,
    model         String,
    product_code  String,
    firmware      String,
    software      String,
    serial        String,
    name          String,
    device_type   String,
    uri           String,
    product_uri   String,
    address       String                  COMMENT 'DNP3 link address, BACnet device instance',
    identities    String                  COMMENT 'JSON array of identity reports with first/last seen',
    protocols     Array(String),
    services      Array(String),
    peers         Array(String),
    first_seen    DateTime64(3, 'UTC'),
    last_seen     DateTime64(3, 'UTC'),
    flows         UInt64,
    bytes         UInt64,
    updated_at    DateTime64(3, 'UTC')    COMMENT 'Version column: the newest row wins'
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (run_id, ip, writer);

-- inventory_changes: the inventory's change alerts (inventory/inventory.ts InventoryChange): a new MAC on a
-- known IP, an identity change, new behaviour, a first engineering operation, with the flow that showed
-- it. Kept beside `alerts` (the detectors' windows), not in it; ReplacingMergeTree on the deterministic id
-- so a change reported again (a redelivered batch, a second writer) is stored once.
CREATE TABLE IF NOT EXISTS inventory_changes
(
    run_id       String,
    id           String                  COMMENT 'Deterministic: same input, same id',
    kind         LowCardinality(String)  COMMENT 'new_mac | identity_change | new_behaviour | engineering_ops',
    ip           String                  COMMENT 'The asset that changed',
    conduit      LowCardinality(String),
    src          String,
    dst          String,
    proto        UInt8,
    dst_port     UInt16,
    l7           LowCardinality(String),
    ts_start     DateTime64(3, 'UTC'),
    ts_end       DateTime64(3, 'UTC'),
    explanation  String
)
ENGINE = ReplacingMergeTree
ORDER BY (run_id, ip, id);
