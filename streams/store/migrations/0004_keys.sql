-- Crypto-shredding (docs/personal-data.md): each elector's data keys, wrapped by the master
-- key, and the tombstones (key_id '') of erased electors and (elector_id '' too) of purged
-- elections. Destroying an elector's keys leaves every sealed copy of their personal fields,
-- in Kafka and in events.payload, unreadable.
CREATE TABLE IF NOT EXISTS elector_keys
(
    election_id String,
    elector_id String,
    key_id String,
    wrapped String,
    created_at DateTime64(6, 'UTC')
)
ENGINE = ReplacingMergeTree
ORDER BY (election_id, elector_id, key_id);
