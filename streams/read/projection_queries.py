"""The SQL behind the projection and the priorities: pure builders, like queries.py.

Counts per cell as of an instant come from `deltas` (docs/read-api.md); the campaign's knocks
on polling day and its knock-up sessions come from the raw `events` log, leaving out every
event an `event.retracted` withdrew (rule 3).
"""

from __future__ import annotations

from datetime import datetime

from streams.read.queries import IS_OURS, OUR_PARTY_SQL, RETRACTED_SQL, Query

# Cell counts that stand for "nobody is in this cell" and "never happened" in the knock query.
NO_BUCKET = -1
NOT_VOTED = 10_000

_OPENED = (
    "FROM events WHERE election_id = {election:String} AND type = 'election.opened' "
    f"AND event_id NOT IN ({RETRACTED_SQL})"
)


def polling_day_query(election_id: str) -> Query:
    """The latest unretracted election.opened's polling date, hours and time zone ('' if
    there is none)."""
    fields = ("polling_date", "polls_open", "polls_close", "timezone")
    columns = ", ".join(
        f"argMax(JSONExtractString(payload, '{f}'), (occurred_at, event_id)) AS {f}" for f in fields
    )
    return Query(f"SELECT {columns} {_OPENED}", {"election": election_id})


def latest_vote_query(election_id: str) -> Query:
    """When the newest vote happened (0 when none): "now" for a projection without as_of."""
    sql = (
        "SELECT toUnixTimestamp64Micro(max(at)) AS at FROM deltas "
        "PREWHERE election_id = {election:String} AND voted = 1 AND change > 0"
    )
    return Query(sql, {"election": election_id})


def projection_cells_query(election_id: str, at: datetime, opens_at: datetime) -> Query:
    """Per (ward, polling district, age band, intention) as of `at`: registered and counted
    electors, votes before the polls opened (postal) and votes by `at`."""
    sql = """
SELECT ward, polling_district, age_band, intention,
    sumIf(change, registered = 1) AS electorate,
    sum(change) AS electors,
    sumIf(change, voted = 1 AND at <= {opens:DateTime64(6, 'UTC')}) AS postal,
    sumIf(change, voted = 1) AS voted_by_then
FROM deltas FINAL
PREWHERE election_id = {election:String} AND at <= {at:DateTime64(6, 'UTC')}
GROUP BY ward, polling_district, age_band, intention
HAVING electors != 0 OR voted_by_then != 0
ORDER BY ward, polling_district, age_band, intention
"""
    return Query(sql, {"election": election_id, "at": at, "opens": opens_at})


def likelihood_query(election_id: str) -> Query:
    """Per age band: counted electors who gave a likelihood (0-10), and its sum."""
    sql = """
SELECT age_band, count() AS rated, sum(likelihood) AS likelihood_sum
FROM electors FINAL
WHERE election_id = {election:String} AND elector_id != '' AND counted = 1 AND likelihood >= 0
GROUP BY age_band
ORDER BY age_band
"""
    return Query(sql, {"election": election_id})


def knocks_query(
    election_id: str, opens_at: datetime, at: datetime, our_party: str | None = None
) -> Query:
    """Supporters per ward by their first knock on polling day (its hour after the polls
    opened, NO_BUCKET for none; whether it reached them) and their vote (its hour, negative
    before the polls opened, NOT_VOTED for none by `at`; whether it came after the knock).

    A knock is any canvass.recorded between the polls opening and `at`."""
    params = {"election": election_id, "opens": opens_at, "at": at}
    our = "{our:String}" if our_party is not None else f"({OUR_PARTY_SQL})"
    if our_party is not None:
        params["our"] = our_party
    sql = f"""
WITH {our} AS our
SELECT s.ward AS ward,
    if(k.elector_id = '', {NO_BUCKET}, {_hour("k.first_at")}) AS knock_hour,
    k.elector_id != '' AND k.outcome = 'contacted' AS reached,
    if(v.elector_id = '', {NOT_VOTED}, {_hour("v.first_at")}) AS vote_hour,
    v.elector_id != '' AND k.elector_id != '' AND v.first_at > k.first_at AS after_knock,
    count() AS supporters
FROM (
    SELECT elector_id, ward FROM electors FINAL
    WHERE election_id = {{election:String}} AND elector_id != '' AND counted = 1
        AND {IS_OURS}
) AS s
LEFT JOIN (
    SELECT elector_id, min(occurred_at) AS first_at,
        argMin(simpleJSONExtractString(payload, 'outcome'), occurred_at) AS outcome
    {_live("canvass.recorded")} AND occurred_at >= {{opens:DateTime64(6, 'UTC')}}
    GROUP BY elector_id
) AS k ON k.elector_id = s.elector_id
LEFT JOIN (
    SELECT elector_id, min(occurred_at) AS first_at
    {_live("turnout.voted")}
    GROUP BY elector_id
) AS v ON v.elector_id = s.elector_id
GROUP BY ward, knock_hour, reached, vote_hour, after_knock
ORDER BY ward, knock_hour, vote_hour
"""
    return Query(sql, params)


def _hour(instant: str) -> str:
    """Whole hours from the polls opening to `instant` (negative before)."""
    return (
        f"intDiv(toUnixTimestamp64Milli({instant}) - "
        "toUnixTimestamp64Milli({opens:DateTime64(6, 'UTC')}), 3600000)"
    )


def _live(kind: str) -> str:
    """FROM ... WHERE for the election's unretracted events of `kind` up to {at}."""
    return (
        f"FROM events FINAL PREWHERE election_id = {{election:String}} AND type = '{kind}' "
        f"AND event_id NOT IN ({RETRACTED_SQL}) "
        "WHERE occurred_at <= {at:DateTime64(6, 'UTC')}"
    )
