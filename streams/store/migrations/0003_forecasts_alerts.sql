-- What the worker's alerting task writes every TURNOUT_ALERT_INTERVAL (docs/alerts.md), for
-- Grafana: the projection is Python, so its panels and alert rules read these snapshots.
-- Appended, never rewritten: one snapshot per election per refresh (same computed_at for all
-- its rows); a reader takes the newest snapshot whose as_of is not after its instant.

-- The projection by ward (GET /v1/elections/{id}/projection?by=ward) at `as_of`, with the
-- election's polling hours and our_party (so an alert rule can judge every election at once).
CREATE TABLE IF NOT EXISTS projections
(
    election_id String,
    computed_at DateTime64(6, 'UTC'),
    as_of DateTime64(6, 'UTC'),
    our_party String,
    polls_open DateTime64(6, 'UTC'),
    polls_close DateTime64(6, 'UTC'),
    ward String,
    electorate Int64,
    supporters Int64,
    opponents Int64,
    voted Int64,
    supporters_voted Int64,
    knockup_remaining Int64,
    turnout Nullable(Float64),
    gap_pts Nullable(Float64),
    projected_turnout Nullable(Float64),
    projected_gap_pts Nullable(Float64),
    projected_gap_pts_low Nullable(Float64),
    projected_gap_pts_high Nullable(Float64)
)
ENGINE = MergeTree
ORDER BY (election_id, as_of, computed_at, ward);

-- The priorities (GET /v1/elections/{id}/priorities) at `as_of`.
CREATE TABLE IF NOT EXISTS priorities
(
    election_id String,
    computed_at DateTime64(6, 'UTC'),
    as_of DateTime64(6, 'UTC'),
    rank UInt32,
    polling_district String,
    ward String,
    knockup_remaining Int64,
    extra_votes_per_volunteer_hour Float64,
    closeness Nullable(Float64),
    score Float64,
    reason String
)
ENGINE = MergeTree
ORDER BY (election_id, as_of, computed_at, rank);

-- Each alert's changes: a row when its condition starts holding (firing) and one when it stops
-- (resolved), keyed by (rule, election_id, ward); '' = the whole pipeline or election. The
-- newest row of a key says whether it is active; the worker reloads them after a restart, so
-- an alert is never announced twice.
CREATE TABLE IF NOT EXISTS alerts
(
    election_id String,
    rule LowCardinality(String),
    ward String,
    state LowCardinality(String),
    at DateTime64(6, 'UTC'),
    as_of Nullable(DateTime64(6, 'UTC')),
    value Float64,
    summary String
)
ENGINE = MergeTree
ORDER BY (election_id, rule, ward, at);
