"""The read side: SQL for every metric, shared by the HTTP API, the CLI and the dashboards.

Builders are pure (they return SQL text and parameters); `Reader` runs them. Groups depend on
the election's `our_party`, so aggregates are kept per intention and the supporter/opponent
split happens here, at query time: a late `election.opened` never needs a re-fold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from clickhouse_connect.driver.client import Client

from streams.errors import QueryError

DIMENSIONS = {"ward": "ward", "age_band": "age_band", "polling_district": "polling_district"}
BY_CHOICES = ("ward", "age_band", "ward,age_band", "polling_district")
COUNTS = (
    "electorate", "contacted", "supporters", "opponents", "undecided",
    "voted", "supporters_voted", "opponents_voted",
)  # fmt: skip
METRICS = (
    *COUNTS, "supporter_turnout", "opponent_turnout", "turnout", "gap_pts", "knockup_remaining",
)  # fmt: skip

_CELL_DIMS = "ward, polling_district, age_band, intention, contacted, voted, registered"
OUR_PARTY_SQL = (
    "SELECT argMax(JSONExtractString(payload, 'our_party'), (occurred_at, event_id)) "
    "FROM events FINAL WHERE election_id = {election:String} AND type = 'election.opened'"
)


@dataclass(frozen=True)
class Query:
    sql: str
    parameters: dict[str, Any]


def parse_by(by: str) -> tuple[str, ...]:
    if by not in BY_CHOICES:
        raise QueryError(f"by: {by!r} is not allowed; use one of {', '.join(BY_CHOICES)}")
    return tuple(by.split(","))


def turnout_gap_query(
    election_id: str, by: Sequence[str], ward: str | None = None, as_of: datetime | None = None
) -> Query:
    """Counts per group of `by`, from `cells` (now) or from `deltas` summed up to `as_of`."""
    params: dict[str, Any] = {"election": election_id}
    where = "election_id = {election:String}"
    if ward is not None:
        where += " AND ward = {ward:String}"
        params["ward"] = ward
    if as_of is None:
        source = f"SELECT {_CELL_DIMS}, sum(electors) AS n FROM cells FINAL WHERE {where}"
    else:
        where += " AND at <= {as_of:DateTime64(3, 'UTC')}"
        params["as_of"] = as_of
        source = f"SELECT {_CELL_DIMS}, sum(change) AS n FROM deltas FINAL WHERE {where}"
    dims = ", ".join(DIMENSIONS[d] for d in by)
    sql = f"""
WITH ({OUR_PARTY_SQL}) AS our
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
        intention = our AS is_ours,
        match(intention, '^[A-Z]{{2,6}}$') AND intention != our AS is_theirs
    FROM ({source} GROUP BY {_CELL_DIMS})
)
GROUP BY {dims}
HAVING sum(n) > 0
ORDER BY {dims}
"""
    return Query(sql, params)


def election_exists_query(election_id: str) -> Query:
    return Query(
        "SELECT count() FROM events WHERE election_id = {election:String}",
        {"election": election_id},
    )


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


class ElectionNotFound(QueryError):
    """No event of this election has been accepted."""


class Reader:
    """Runs read-side queries on a ClickHouse client (blocking; call from a thread)."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def rows(self, query: Query) -> list[dict[str, Any]]:
        result = self.client.query(query.sql, parameters=query.parameters)
        names = result.column_names
        return [dict(zip(names, row, strict=True)) for row in result.result_rows]

    def require_election(self, election_id: str) -> None:
        found = self.client.query(
            election_exists_query(election_id).sql, parameters={"election": election_id}
        ).result_rows[0][0]
        if not found:
            raise ElectionNotFound(f"election {election_id!r}: no events accepted for it")

    def turnout_gap(
        self, election_id: str, by: Sequence[str], ward: str | None, as_of: datetime | None
    ) -> list[dict[str, Any]]:
        self.require_election(election_id)
        rows = self.rows(turnout_gap_query(election_id, by, ward, as_of))
        for row in rows:
            for name in COUNTS:
                row[name] = int(row[name])
            with_rates(row)
        return rows
