-- conduits: the readiness the dashboards show per conduit (baseline readiness panel, "which
-- conduits are learning / ready / enforcing"), from the detection engine's status
-- (DetectionEngine.status()). Written by replay at its end and by the serve sink as the detectors
-- publish status (store/run-writer.ts); the newest updated_at wins (ReplacingMergeTree).
-- status (existing column) now reads learning | ready | new (new: first seen after the site's
-- baseline, so it has none and alerts from its first window); declared says undeclared.
ALTER TABLE conduits ADD COLUMN IF NOT EXISTS state String COMMENT 'The engine''s words: learning, 45% coverage | ready | new (…)' AFTER status;
ALTER TABLE conduits ADD COLUMN IF NOT EXISTS ready_at Nullable(DateTime64(3, 'UTC')) COMMENT 'Event time the conduit became ready; null while learning' AFTER baseline_until;
ALTER TABLE conduits ADD COLUMN IF NOT EXISTS coverage Float64 COMMENT 'Fraction of the baseline time covered by closed windows, 0..1' AFTER ready_at;
ALTER TABLE conduits ADD COLUMN IF NOT EXISTS cycles_covered Float64 COMMENT 'Production cycles covered by closed windows' AFTER coverage;
ALTER TABLE conduits ADD COLUMN IF NOT EXISTS phase_buckets_seen UInt16 COMMENT 'Calendar cells of the cycle that held a window' AFTER cycles_covered;
ALTER TABLE conduits ADD COLUMN IF NOT EXISTS phase_buckets UInt16 COMMENT 'Cells the cycle is split in' AFTER phase_buckets_seen;
ALTER TABLE conduits ADD COLUMN IF NOT EXISTS novel_first_cycle UInt32 COMMENT 'Novel items in the first cycle' AFTER phase_buckets;
ALTER TABLE conduits ADD COLUMN IF NOT EXISTS novel_last_cycle UInt32 COMMENT 'Novel items in the latest cycle (small = learning is done)' AFTER novel_first_cycle;
ALTER TABLE conduits ADD COLUMN IF NOT EXISTS detected_cycle_ms Nullable(Float64) COMMENT 'Cycle found in the traffic by autocorrelation; null when none' AFTER novel_last_cycle;
ALTER TABLE conduits ADD COLUMN IF NOT EXISTS cycle_note String COMMENT 'Says when the detected cycle disagrees with site.yaml' AFTER detected_cycle_ms;
ALTER TABLE conduits ADD COLUMN IF NOT EXISTS edges UInt32 AFTER cycle_note;
ALTER TABLE conduits ADD COLUMN IF NOT EXISTS windows_scored UInt64 AFTER edges;
ALTER TABLE conduits ADD COLUMN IF NOT EXISTS alerts UInt64 AFTER windows_scored;
