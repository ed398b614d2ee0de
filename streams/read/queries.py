"""The read side: SQL for every metric, shared by the HTTP API, the CLI and the dashboards.

Builders are pure (they return SQL text and parameters, and import no driver); `reader.Reader`
runs them. Groups depend on the election's `our_party`, so aggregates are kept per intention
and the supporter/opponent split happens here, at query time: a late `election.opened` never
needs a re-fold. Every projection is a ReplacingMergeTree holding one row per partition, so
reads use FINAL and sum over partitions (docs/clickhouse-tables.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from streams.errors import QueryError
from streams.store import CELL_DIMENSIONS

DIMENSIONS = {"ward": "ward", "age_band": "age_band", "polling_district": "polling_district"}
BY_CHOICES = ("ward", "age_band", "ward,age_band", "polling_district")
BUCKETS = {"5m": 300, "15m": 900, "1h": 3600}
DEFAULT_BUCKET = "15m"
KNOCKUP_LIMIT = 1000
KNOCKUP_MAX = 100_000
COUNTS = (
    "electorate", "contacted", "supporters", "opponents", "undecided",
    "voted", "supporters_voted", "opponents_voted",
)  # fmt: skip
METRICS = (
    *COUNTS, "supporter_turnout", "opponent_turnout", "turnout", "gap_pts", "knockup_remaining",
)  # fmt: skip
TIMELINE_COUNTS = ("voted", "supporters_voted", "opponents_voted")

_CELL_DIMS = ", ".join(CELL_DIMENSIONS)
# Event ids withdrawn by an event.retracted of the election (rule 3), for queries on `events`.
# No FINAL in these fragments: a duplicate row of an event changes neither a NOT IN set nor an
# argMax, and FINAL would cost a merge on every request.
RETRACTED_SQL = (
    "SELECT JSONExtractString(payload, 'target_event_id') FROM events "
    "WHERE election_id = {election:String} AND type = 'event.retracted'"
)
_OPENED = (
    "FROM events WHERE election_id = {election:String} AND type = 'election.opened' "
    f"AND event_id NOT IN ({RETRACTED_SQL})"
)
# The election's our_party, as a scalar subquery: self-contained SQL (dashboards, analysts).
# The Reader looks it up once per request instead and passes it as {our:String}.
OUR_PARTY_SQL = (
    f"SELECT argMax(JSONExtractString(payload, 'our_party'), (occurred_at, event_id)) {_OPENED}"
)
# With no election.opened, `our` is '' and nobody is a supporter or an opponent (rule 8).
IS_OURS = "(our != '' AND intention = our)"
IS_THEIRS = "(our != '' AND match(intention, '^[A-Z]{2,6}$') AND intention != our)"


@dataclass(frozen=True)
class Query:
    sql: str
    parameters: dict[str, Any]


class ElectionNotFound(QueryError):
    """No event of this election has been accepted."""


def _choices(values: Sequence[str]) -> str:
    return ", ".join(values)


def parse_by(by: str) -> tuple[str, ...]:
    if by not in BY_CHOICES:
        raise QueryError(f"by: {by!r} is not allowed; use one of {_choices(BY_CHOICES)}")
    return tuple(by.split(","))


def parse_bucket(bucket: str) -> int:
    """Seconds in a timeline bucket."""
    if bucket not in BUCKETS:
        raise QueryError(f"bucket: {bucket!r} is not allowed; use one of {_choices(list(BUCKETS))}")
    return BUCKETS[bucket]


def parse_limit(raw: str | None, default: int = KNOCKUP_LIMIT, most: int = KNOCKUP_MAX) -> int:
    if raw is None or raw == "":
        return default
    try:
        limit = int(raw)
    except ValueError:
        limit = 0
    if not 1 <= limit <= most:
        raise QueryError(f"limit: {raw!r} is not allowed; use an integer from 1 to {most}")
    return limit


def parse_choice(name: str, raw: str | None, choices: Sequence[str], default: str) -> str:
    value = default if raw is None or raw == "" else raw
    if value not in choices:
        raise QueryError(f"{name}: {value!r} is not allowed; use one of {_choices(choices)}")
    return value


def election_query(election_id: str) -> Query:
    """Whether any event of the election was accepted, and the our_party and timezone of its
    latest unretracted election.opened ('' when there is none): one round trip per request."""
    sql = (
        "SELECT (SELECT count() FROM (SELECT 1 FROM events "
        "WHERE election_id = {election:String} LIMIT 1)) AS found, "
        "argMax(JSONExtractString(payload, 'our_party'), (occurred_at, event_id)) AS our_party, "
        "argMax(JSONExtractString(payload, 'timezone'), (occurred_at, event_id)) AS timezone "
        + _OPENED
    )
    return Query(sql, {"election": election_id})


def _our(params: dict[str, Any], our_party: str | None) -> str:
    """The `our` expression: the given party as a parameter, else the subquery."""
    if our_party is None:
        return f"({OUR_PARTY_SQL})"
    params["our"] = our_party
    return "{our:String}"


def cell_source(
    election_id: str, ward: str | None, as_of: datetime | None
) -> tuple[str, dict[str, Any]]:
    """Electors per cell summed over partitions: from `cells` (now) or `deltas` up to as_of."""
    params: dict[str, Any] = {"election": election_id}
    where = "election_id = {election:String}"
    if ward is not None:
        where += " AND ward = {ward:String}"
        params["ward"] = ward
    if as_of is None:
        table, n = "cells", "electors"
    else:
        where += " AND at <= {as_of:DateTime64(6, 'UTC')}"
        params["as_of"] = as_of
        table, n = "deltas", "change"
    # PREWHERE filters before FINAL merges versions: safe because every column it tests is in
    # the table's sort key, so all versions of a row agree on it (and far fewer rows merge).
    sql = (
        f"SELECT {_CELL_DIMS}, sum({n}) AS n FROM {table} FINAL PREWHERE {where} "
        f"GROUP BY {_CELL_DIMS}"
    )
    return sql, params


def turnout_gap_query(
    election_id: str,
    by: Sequence[str],
    ward: str | None = None,
    as_of: datetime | None = None,
    our_party: str | None = None,
) -> Query:
    """Counts per group of `by`, from `cells` (now) or from `deltas` summed up to `as_of`."""
    source, params = cell_source(election_id, ward, as_of)
    dims = ", ".join(DIMENSIONS[d] for d in by)
    sql = f"""
WITH {_our(params, our_party)} AS our
SELECT {dims},
    sumIf(n, is_registered) AS electorate,
    sumIf(n, is_contacted) AS contacted,
    sumIf(n, is_ours) AS supporters,
    sumIf(n, is_theirs) AS opponents,
    sumIf(n, intention = 'UNDECIDED') AS undecided,
    sumIf(n, has_voted) AS voted,
    sumIf(n, has_voted AND is_ours) AS supporters_voted,
    sumIf(n, has_voted AND is_theirs) AS opponents_voted
FROM (
    SELECT ward, polling_district, age_band, intention, n,
        registered = 1 AS is_registered, contacted = 1 AS is_contacted, voted = 1 AS has_voted,
        {IS_OURS} AS is_ours, {IS_THEIRS} AS is_theirs
    FROM ({source})
)
GROUP BY {dims}
HAVING sum(n) > 0
ORDER BY {dims}
"""
    return Query(sql, params)


def knockup_query(
    election_id: str,
    ward: str | None = None,
    polling_district: str | None = None,
    limit: int = KNOCKUP_LIMIT,
    our_party: str | None = None,
) -> Query:
    """Supporters who have not voted, per polling district, most likely to vote first.

    Likelihood -1 (never given) sorts after 0; elector_id breaks ties so pages are stable.
    """
    params: dict[str, Any] = {"election": election_id, "limit": limit}
    where = ""
    if ward is not None:
        where += " AND ward = {ward:String}"
        params["ward"] = ward
    if polling_district is not None:
        where += " AND polling_district = {district:String}"
        params["district"] = polling_district
    sql = f"""
WITH {_our(params, our_party)} AS our
SELECT elector_id, ward, polling_district, age_band, likelihood
FROM electors FINAL
WHERE election_id = {{election:String}} AND elector_id != '' AND counted = 1 AND voted = 0
    AND {IS_OURS}{where}
ORDER BY polling_district, likelihood DESC, elector_id
LIMIT {{limit:UInt32}}
"""
    return Query(sql, params)


def timeline_query(
    election_id: str,
    bucket_seconds: int,
    timezone: str,
    ward: str | None = None,
    our_party: str | None = None,
) -> Query:
    """Cumulative voted, supporters_voted, opponents_voted per ward at the end of each bucket.

    Net moves are summed per (ward, bucket) first; buckets with no net move are left out
    (the running total is unchanged there), then a running sum per ward gives the counts.
    Reads `vote_deltas`, the deltas rows with voted = 1 (migration 0006), not all of `deltas`.
    """
    params: dict[str, Any] = {"election": election_id, "seconds": bucket_seconds, "tz": timezone}
    where = ""
    if ward is not None:
        where = " AND ward = {ward:String}"
        params["ward"] = ward
    sql = f"""
WITH {_our(params, our_party)} AS our
SELECT ward, bucket,
    sum(moved_voted) OVER per_ward AS voted,
    sum(moved_supporters) OVER per_ward AS supporters_voted,
    sum(moved_opponents) OVER per_ward AS opponents_voted
FROM (
    SELECT ward,
        toUnixTimestamp(toStartOfInterval(at, INTERVAL {{seconds:UInt32}} SECOND, {{tz:String}}))
            AS bucket,
        sumIf(change, voted = 1) AS moved_voted,
        sumIf(change, voted = 1 AND {IS_OURS}) AS moved_supporters,
        sumIf(change, voted = 1 AND {IS_THEIRS}) AS moved_opponents
    FROM vote_deltas FINAL
    PREWHERE election_id = {{election:String}}{where}
    GROUP BY ward, bucket
    HAVING moved_voted != 0 OR moved_supporters != 0 OR moved_opponents != 0
)
WINDOW per_ward AS (PARTITION BY ward ORDER BY bucket ROWS UNBOUNDED PRECEDING)
ORDER BY ward, bucket
"""
    return Query(sql, params)


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def with_rates(row: dict[str, Any]) -> dict[str, Any]:
    """Add the SPEC's derived metrics to a row of counts (unrounded; None when undefined)."""
    sup = _ratio(row["supporters_voted"], row["supporters"])
    opp = _ratio(row["opponents_voted"], row["opponents"])
    row["supporter_turnout"] = sup
    row["opponent_turnout"] = opp
    row["turnout"] = _ratio(row["voted"], row["electorate"])
    row["gap_pts"] = None if sup is None or opp is None else 100 * (sup - opp)
    row["knockup_remaining"] = row["supporters"] - row["supporters_voted"]
    return row


def total_row(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The election-wide row: counts summed over rows of disjoint groups, rates recomputed."""
    total: dict[str, Any] = {name: sum(int(r[name]) for r in rows) for name in COUNTS}
    return with_rates(total)
