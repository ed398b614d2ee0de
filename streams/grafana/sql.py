"""The SQL of every ClickHouse panel and variable, as Grafana stores it (macros unexpanded).

The turnout metrics follow `streams.read.queries.turnout_gap_query` (same tables, and the group
and retraction rules are the read API's own SQL fragments), so a panel and the read API give
the same numbers; tests/dashboards runs every query here against a real engine to prove it.
Panels
show the state *as of the end of the dashboard's time range* (`at <= $__toTime`, the API's
`as_of`), so the time picker can also replay a past polling day.

Macro conventions (docs/grafana-macros.md): argument-less macros are written in brackets,
`($__toTime)`, because older plugin builds (sqlds' bracket scan, before sqlutil's parseArgs)
would otherwise take the next bracketed text in the query as their arguments; macro arguments
never contain a comma; `$__conditionalAll(cond, $var)` wraps every multi-value filter so "All"
becomes `1=1`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from streams.read import queries
from streams.store import CELL_DIMENSIONS

ELECTION = "${election:singlequote}"
WARD_FILTER = "$__conditionalAll(ward IN (${ward:singlequote}), $ward)"
AGE_FILTER = "$__conditionalAll(age_band IN (${age_band:singlequote}), $age_band)"
CELL_DIMS = ", ".join(CELL_DIMENSIONS)


def from_read_api(sql: str) -> str:
    """A fragment of queries.py with its `{election:String}` parameter as the variable.

    The group rules (`our_party`, supporter, opponent) and the retraction rule come from the
    read API's own SQL, so a change there reaches the dashboards (the drift test says so).
    """
    for param in re.findall(r"\{\w+:[^}]+\}", sql):
        if param != "{election:String}":
            raise ValueError(f"read-API SQL has a parameter dashboards cannot fill: {param}")
    return sql.replace("{election:String}", ELECTION)


OUR_PARTY = f"({from_read_api(queries.OUR_PARTY_SQL)}) AS our"
IS_OURS = queries.IS_OURS
IS_THEIRS = queries.IS_THEIRS
# Event ids withdrawn by an accepted event.retracted (rule 3), as the read API leaves them out.
RETRACTED = f"({from_read_api(queries.RETRACTED_SQL)})"

# Canvassing panels filter on the canvassed elector's age band, as the turnout gap counts the
# elector now (`electors` rows with counted = 1): an attempt on an elector in no cell (removed)
# counts only under "All".
BANDED_ELECTORS = f"""SELECT elector_id FROM electors FINAL
        WHERE election_id = {ELECTION} AND counted = 1
          AND age_band IN (${{age_band:singlequote}})"""
CANVASSED_AGE_FILTER = f"$__conditionalAll(elector_id IN ({BANDED_ELECTORS}), $age_band)"
# A session is in the selection when one of its live canvasses reached an elector in it.
SESSION_AGE_FILTER = f"""$__conditionalAll(JSONExtractString(payload, 'session_id') IN (
            SELECT JSONExtractString(payload, 'session_id') FROM events FINAL
            WHERE election_id = {ELECTION} AND type = 'canvass.recorded'
              AND event_id NOT IN {RETRACTED}
              AND elector_id IN ({BANDED_ELECTORS})), $age_band)"""

# Group flags per cell, named apart from the columns they test (ClickHouse would otherwise
# resolve `sumIf(n, contacted = 1) AS contacted` against its own alias).
_FLAGS = f"""registered = 1 AS is_registered, contacted = 1 AS is_contacted,
        voted = 1 AS has_voted, {IS_OURS} AS is_ours, {IS_THEIRS} AS is_theirs"""

COUNT_COLUMNS = {
    "electorate": "sumIf(n, is_registered)",
    "contacted": "sumIf(n, is_contacted)",
    "supporters": "sumIf(n, is_ours)",
    "opponents": "sumIf(n, is_theirs)",
    "undecided": "sumIf(n, intention = 'UNDECIDED')",
    "voted": "sumIf(n, has_voted)",
    "supporters_voted": "sumIf(n, has_voted AND is_ours)",
    "opponents_voted": "sumIf(n, has_voted AND is_theirs)",
    "electorate_contacted": "sumIf(n, is_registered AND is_contacted)",
}
RATE_COLUMNS = {
    "supporter_turnout": "if(supporters = 0, NULL, supporters_voted / supporters)",
    "opponent_turnout": "if(opponents = 0, NULL, opponents_voted / opponents)",
    "turnout": "if(electorate = 0, NULL, voted / electorate)",
    "gap_pts": (
        "100 * (if(supporters = 0, NULL, supporters_voted / supporters)"
        " - if(opponents = 0, NULL, opponents_voted / opponents))"
    ),
    "knockup_remaining": "supporters - supporters_voted",
    # Canvassing: the registered electors a canvasser reached (the API's coverage), and
    # contacted electors who gave no party nor UNDECIDED (WONT_SAY, WONT_VOTE).
    "coverage": "if(electorate = 0, NULL, electorate_contacted / electorate)",
    "declined": "contacted - supporters - opponents - undecided",
}


def _indent(text: str, spaces: int) -> str:
    pad = " " * spaces
    return "\n".join(pad + line if line else line for line in text.splitlines())


def cells_as_of() -> str:
    """Electors per cell as of the end of the time range, for the chosen wards/age bands."""
    return f"""SELECT {CELL_DIMS}, sum(change) AS n
FROM deltas FINAL
WHERE election_id = {ELECTION}
  AND at <= ($__toTime)
  AND {WARD_FILTER}
  AND {AGE_FILTER}
GROUP BY {CELL_DIMS}"""


def metrics_sql(dims: Sequence[str], columns: Sequence[str]) -> str:
    """SPEC metrics per `dims` (none = one total row) as of the end of the time range."""
    dim_list = ", ".join(dims)
    lead = f"{dim_list}, " if dims else ""
    counts = ",\n        ".join(f"{expr} AS {name}" for name, expr in COUNT_COLUMNS.items())
    shown = ",\n    ".join(
        RATE_COLUMNS[c] + f" AS {c}" if c in RATE_COLUMNS else c for c in columns
    )
    group = f"\n    GROUP BY {dim_list}" if dims else ""
    order = f"\nORDER BY {dim_list}" if dims else ""
    return f"""WITH {OUR_PARTY}
SELECT {lead}{shown}
FROM (
    SELECT {lead}{counts}
    FROM (
        SELECT {CELL_DIMS}, n,
        {_FLAGS}
        FROM (
{_indent(cells_as_of(), 12)}
        )
    ){group}
    HAVING sum(n) > 0
){order}"""


def turnout_over_day_sql() -> str:
    """Supporter and opponent turnout as of the end of each time bucket.

    Moves before the range start are folded into the first bucket (`greatest`), so every
    point is the cumulative state: the API's turnout-gap with `as_of` = the bucket's end.
    """
    return f"""WITH {OUR_PARTY}
SELECT time,
    if(supporters = 0, NULL, supporters_voted / supporters) AS supporter_turnout,
    if(opponents = 0, NULL, opponents_voted / opponents) AS opponent_turnout
FROM (
    SELECT time,
        sum(d_supporters) OVER running AS supporters,
        sum(d_supporters_voted) OVER running AS supporters_voted,
        sum(d_opponents) OVER running AS opponents,
        sum(d_opponents_voted) OVER running AS opponents_voted
    FROM (
        SELECT $__timeInterval(t) AS time,
            sumIf(change, is_ours) AS d_supporters,
            sumIf(change, is_ours AND voted = 1) AS d_supporters_voted,
            sumIf(change, is_theirs) AS d_opponents,
            sumIf(change, is_theirs AND voted = 1) AS d_opponents_voted
        FROM (
            SELECT greatest(at, ($__fromTime)) AS t, change, voted,
                {IS_OURS} AS is_ours, {IS_THEIRS} AS is_theirs
            FROM deltas FINAL
            WHERE election_id = {ELECTION}
              AND at <= ($__toTime)
              AND {WARD_FILTER}
              AND {AGE_FILTER}
        )
        GROUP BY time
    )
    WINDOW running AS (ORDER BY time ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
)
ORDER BY time"""


def freshness_sql(per_election: bool = True) -> str:
    """The newest stored event and its age in seconds (device clocks: never negative)."""
    where = f"\nWHERE election_id = {ELECTION}" if per_election else ""
    return f"""SELECT max(occurred_at) AS newest_event,
    greatest(0, dateDiff('second', max(occurred_at), now64(3))) AS age_seconds
FROM events{where}"""


def _canvasses(with_time: bool = False) -> str:
    """Unretracted canvass attempts in the time range on electors in the chosen age bands:
    outcome, ward (and occurred_at)."""
    first = "occurred_at,\n        " if with_time else ""
    return f"""
    SELECT {first}JSONExtractString(payload, 'outcome') AS outcome,
        JSONExtractString(payload, 'ward') AS ward
    FROM events FINAL
    WHERE election_id = {ELECTION}
      AND type = 'canvass.recorded'
      AND $__timeFilter(occurred_at)
      AND event_id NOT IN {RETRACTED}
      AND {CANVASSED_AGE_FILTER}
"""


def canvass_activity_sql() -> str:
    """Canvass attempts and contacts per time bucket, as rates per hour, and the contact rate."""
    return f"""SELECT $__timeInterval(occurred_at) AS time,
    countIf(outcome = 'contacted') * 3600 / ($__interval_s) AS contacts_per_hour,
    count() * 3600 / ($__interval_s) AS attempts_per_hour,
    countIf(outcome = 'contacted') / count() AS contact_rate
FROM ({_canvasses(with_time=True)})
WHERE {WARD_FILTER}
GROUP BY time
ORDER BY time"""


def contact_rate_sql() -> str:
    """Contacts, attempts and the contact rate over the whole time range."""
    return f"""SELECT countIf(outcome = 'contacted') AS contacts,
    count() AS attempts,
    if(attempts = 0, NULL, contacts / attempts) AS contact_rate
FROM ({_canvasses()})
WHERE {WARD_FILTER}"""


def _sessions() -> str:
    """One row per session started that canvassed the chosen age bands: its ward, kind,
    volunteers and start (as the API has them)."""
    return f"""SELECT session_id, any(ward) AS ward, any(kind) AS kind,
        max(volunteers) AS volunteers, min(occurred_at) AS started
    FROM (
        SELECT occurred_at,
            JSONExtractString(payload, 'session_id') AS session_id,
            JSONExtractString(payload, 'ward') AS ward,
            JSONExtractString(payload, 'kind') AS kind,
            JSONExtractInt(payload, 'volunteers') AS volunteers
        FROM events FINAL
        WHERE election_id = {ELECTION}
          AND type = 'session.started'
          AND event_id NOT IN {RETRACTED}
          AND {SESSION_AGE_FILTER}
    )
    GROUP BY session_id"""


def sessions_sql() -> str:
    """Sessions started in the time range, and their volunteers, per ward and kind."""
    return f"""SELECT ward, kind, count() AS sessions, sum(volunteers) AS volunteers
FROM (
    {_sessions()}
)
WHERE $__timeFilter(started)
  AND {WARD_FILTER}
GROUP BY ward, kind
ORDER BY ward, kind"""


def volunteers_over_time_sql() -> str:
    """Volunteers in the sessions started per time bucket, by session kind."""
    return f"""SELECT $__timeInterval(started) AS time,
    sumIf(volunteers, kind = 'canvass') AS canvass,
    sumIf(volunteers, kind = 'campaign_day') AS campaign_day,
    sumIf(volunteers, kind = 'knock_up') AS knock_up
FROM (
    {_sessions()}
)
WHERE $__timeFilter(started)
  AND {WARD_FILTER}
GROUP BY time
ORDER BY time"""


def stored_by_type_sql() -> str:
    """Events stored for the election, by type (every accepted event once)."""
    return f"""SELECT type, count() AS events
FROM events FINAL
WHERE election_id = {ELECTION}
GROUP BY type
ORDER BY type"""


def partitions_sql() -> str:
    """Per Kafka partition: events stored and the newest offset projected (all elections)."""
    return """SELECT partition, count() AS events, max(offset) AS newest_offset
FROM events FINAL
GROUP BY partition
ORDER BY partition"""


# Template variables. `ward` and `age_band` list what the election has now.
ELECTIONS_VARIABLE = """SELECT DISTINCT election_id
FROM events
WHERE type = 'election.opened'
ORDER BY election_id DESC"""


def dimension_variable_sql(dim: str) -> str:
    return f"""SELECT {dim}
FROM cells FINAL
WHERE election_id = {ELECTION} AND {dim} != ''
GROUP BY {dim}
HAVING sum(electors) > 0
ORDER BY {dim}"""
