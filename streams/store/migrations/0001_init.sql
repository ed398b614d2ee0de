-- Turnout's tables. Projections are *rewritten*, never incremented: each row carries the
-- absolute value for its key and a version, and ReplacingMergeTree keeps the newest version.
-- Replaying a batch after a crash rewrites the same values, so nothing counts twice
-- (docs/sink-protocol.md). Read them with FINAL.

-- The raw event log: every accepted event once (a re-inserted event collapses on its key).
CREATE TABLE IF NOT EXISTS events
(
    election_id String,
    event_id String,
    type LowCardinality(String),
    elector_id String,
    occurred_at DateTime64(6, 'UTC'),
    source LowCardinality(String),
    partition UInt16,
    offset UInt64,
    payload String
)
ENGINE = ReplacingMergeTree
ORDER BY (election_id, type, event_id);

-- One row per elector (and one per election with elector_id = '' for election-level events):
-- current state for knock-up lists, and the facts the worker reloads its state from.
CREATE TABLE IF NOT EXISTS electors
(
    election_id String,
    elector_id String,
    partition UInt16,
    counted UInt8,
    ward String,
    polling_district String,
    age_band LowCardinality(String),
    intention LowCardinality(String),
    likelihood Int8,
    contacted UInt8,
    voted UInt8,
    registered UInt8,
    facts String,
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (election_id, elector_id);

-- Electors per cell now, one row per (cell, partition): each partition's worker owns its rows.
CREATE TABLE IF NOT EXISTS cells
(
    election_id String,
    ward String,
    polling_district String,
    age_band LowCardinality(String),
    intention LowCardinality(String),
    contacted UInt8,
    voted UInt8,
    registered UInt8,
    partition UInt16,
    electors Int64,
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (election_id, ward, polling_district, age_band, intention, contacted, voted, registered, partition);

-- Net moves of electors into (+) and out of (-) each cell at each instant: the sum over
-- at <= T is the cell's count as of T (as_of, timeline).
CREATE TABLE IF NOT EXISTS deltas
(
    election_id String,
    at DateTime64(6, 'UTC'),
    ward String,
    polling_district String,
    age_band LowCardinality(String),
    intention LowCardinality(String),
    contacted UInt8,
    voted UInt8,
    registered UInt8,
    partition UInt16,
    change Int64,
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (election_id, at, ward, polling_district, age_band, intention, contacted, voted, registered, partition);
