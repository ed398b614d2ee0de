-- The incremental fold (docs/incremental-fold.md). Each elector's history moves out of the
-- electors row, where it was rewritten whole at every batch that touched them, into `facts`:
-- one row per accepted event, appended once, read back only for the slow path (a late event,
-- a retraction, a duplicate, an erasure) and for a full reload. The electors row carries the
-- compact record instead: the fold's frame, the newest instant and the event ids' hashes.
-- `commits` says which batch of each partition was written whole: the worker trusts the
-- stored aggregates on restart only when nothing newer than its partition's commit is stored.
-- Histories written before this migration stay in electors.facts until the partition's first
-- rebuild moves them here (store/history.py, `legacy_histories`).
CREATE TABLE IF NOT EXISTS facts
(
    election_id String,
    elector_id String,
    event_id String,
    partition UInt16,
    offset UInt64,
    type LowCardinality(String),
    at Int64,
    ward String,
    polling_district String,
    age_band LowCardinality(String),
    outcome LowCardinality(String),
    intention LowCardinality(String),
    likelihood Int8,
    target String,
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (election_id, elector_id, event_id);

ALTER TABLE electors ADD COLUMN IF NOT EXISTS frame String DEFAULT '';
ALTER TABLE electors ADD COLUMN IF NOT EXISTS newest Nullable(Int64);
ALTER TABLE electors ADD COLUMN IF NOT EXISTS ids String DEFAULT '';
ALTER TABLE electors ADD COLUMN IF NOT EXISTS awaited String DEFAULT '';

CREATE TABLE IF NOT EXISTS commits
(
    partition UInt16,
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY partition;
