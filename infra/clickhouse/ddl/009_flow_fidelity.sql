-- flows.fidelity: what in a record is inferred rather than seen (FlowRecord.fidelity, core/records.ts):
-- direction notes (direction_port, direction_lower_port, direction_flipped, direction_group) when no
-- TCP handshake fixed the client side, and the NetFlow/IPFIX export notes (sampled, start_after_end …).
-- Additive: rows written before this version read as [].
ALTER TABLE flows ADD COLUMN IF NOT EXISTS fidelity Array(LowCardinality(String)) DEFAULT [] COMMENT 'Inferred, not seen: direction_* and export notes; [] when all seen';
