-- Who looked at what: every read of personal data (knock-up lists, SQL, subject export) and
-- every erasure or purge, appended by the worker before it answers. Never rewritten.
CREATE TABLE IF NOT EXISTS audit
(
    at DateTime64(6, 'UTC'),
    token_name String,
    action LowCardinality(String),
    endpoint String,
    election_id String,
    parameters String,
    row_count UInt64
)
ENGINE = MergeTree
ORDER BY (at, token_name);
