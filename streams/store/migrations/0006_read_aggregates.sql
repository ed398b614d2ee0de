-- Rows the read side reads instead of scanning (issue 11, docs/performance.md).

-- The payload fields the campaign analytics group by (activity, effect), extracted once when
-- the event is inserted instead of from its JSON on every request. Columns of `events` itself,
-- so every row, version, erasure and purge of the log applies to them as it is: exact by
-- construction. Rows stored before this migration compute them when read. LowCardinality:
-- an election has tens of wards and thousands of canvassers and sessions, and uniqExact over
-- a dictionary-encoded column costs a third of it over plain strings.
ALTER TABLE events
    ADD COLUMN IF NOT EXISTS ward LowCardinality(String) MATERIALIZED simpleJSONExtractString(payload, 'ward'),
    ADD COLUMN IF NOT EXISTS session_id LowCardinality(String) MATERIALIZED simpleJSONExtractString(payload, 'session_id'),
    ADD COLUMN IF NOT EXISTS canvasser_id LowCardinality(String) MATERIALIZED simpleJSONExtractString(payload, 'canvasser_id'),
    ADD COLUMN IF NOT EXISTS outcome LowCardinality(String) MATERIALIZED simpleJSONExtractString(payload, 'outcome'),
    ADD COLUMN IF NOT EXISTS kind LowCardinality(String) MATERIALIZED simpleJSONExtractString(payload, 'kind'),
    ADD COLUMN IF NOT EXISTS volunteers Int64 MATERIALIZED simpleJSONExtractInt(payload, 'volunteers');

-- The deltas rows of voters (voted = 1): what the timeline sums. The sink writes each such
-- row here too, right after its deltas insert, with the same key, value and version, so FINAL
-- keeps the same newest version in both tables (a mirror, not a sum: a rewritten row replaces
-- its old version here as in deltas). A store from before this migration fills it at the
-- worker's next start, which rewrites every deltas key of its partitions.
CREATE TABLE IF NOT EXISTS vote_deltas
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
ORDER BY (election_id, ward, at, polling_district, age_band, intention, contacted, voted, registered, partition);
