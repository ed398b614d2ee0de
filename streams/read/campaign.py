"""Campaign analytics: who the canvassing reached, how the sessions went, and whether the
campaign days moved turnout. Pure SQL builders and row arithmetic, like queries.py.

Coverage comes from the aggregate cells; activity and effect read the raw `events` log
(sessions, canvass attempts and results are not folded per elector), leaving out every event
an `event.retracted` withdrew (rule 3).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from streams.read.queries import OUR_PARTY_SQL, RETRACTED_SQL, Query, cell_source

ACTIVITY_BY = ("session", "hour")

# PREWHERE before FINAL is safe: election_id, type and event_id are the table's sort key.
# ward, session_id, canvasser_id, outcome, kind and volunteers are the payload's fields,
# extracted when the event was inserted (MATERIALIZED columns of `events`, migration 0006):
# reading them costs a fraction of parsing millions of payloads on every request.
_LIVE_EVENTS = (
    "FROM events FINAL PREWHERE election_id = {election:String} AND type IN ({types}) "
    f"AND event_id NOT IN ({RETRACTED_SQL})"
)


def _ward_filter(
    clause: str, election_id: str, ward: str | None, **extra: Any
) -> tuple[str, dict[str, Any]]:
    """(`WHERE`/`HAVING ward = …` or "", the query parameters)."""
    params: dict[str, Any] = {"election": election_id, **extra}
    if ward is None:
        return "", params
    params["ward"] = ward
    return f"{clause} ward = {{ward:String}}", params


def _live(*types: str) -> str:
    """FROM … WHERE for the election's unretracted events of `types`."""
    return _LIVE_EVENTS.replace("{types}", ", ".join(f"'{t}'" for t in types))


def coverage_query(
    election_id: str, ward: str | None = None, as_of: datetime | None = None
) -> Query:
    """Registered electors and how many of them a canvasser reached, per ward x age band."""
    source, params = cell_source(election_id, ward, as_of)
    sql = f"""
SELECT ward, age_band,
    sumIf(n, registered = 1) AS electorate,
    sumIf(n, registered = 1 AND contacted = 1) AS electorate_contacted
FROM ({source})
GROUP BY ward, age_band
HAVING electorate > 0
ORDER BY ward, age_band
"""
    return Query(sql, params)


def activity_by_session_query(election_id: str, ward: str | None = None) -> Query:
    """Per session: what session.started/ended said, and the canvass attempts made in it.

    Canvass attempts without a session_id form one row with session_id ''. A session's ward
    is that of its session.started, else that of its canvasses.
    """
    having, params = _ward_filter("HAVING", election_id, ward)
    sql = f"""
SELECT session_id,
    if(anyIf(w, src = 's') != '', anyIf(w, src = 's'), anyIf(w, src = 'c')) AS ward,
    anyIf(k, src = 's') AS kind,
    if(countIf(src = 's') > 0, maxIf(v, src = 's'), NULL) AS volunteers,
    if(countIf(src = 's') > 0, minIf(at, src = 's'), NULL) AS started_ms,
    if(countIf(src = 'e') > 0, maxIf(at, src = 'e'), NULL) AS ended_ms,
    countIf(src = 'c') AS attempts,
    countIf(src = 'c' AND outcome = 'contacted') AS contacts,
    uniqExactIf(canvasser, src = 'c') AS canvassers
FROM (
    SELECT multiIf(type = 'session.started', 's', type = 'session.ended', 'e', 'c') AS src,
        session_id,
        ward AS w,
        kind AS k,
        volunteers AS v,
        toUnixTimestamp64Milli(occurred_at) AS at,
        outcome,
        canvasser_id AS canvasser
    {_live("session.started", "session.ended", "canvass.recorded")}
)
GROUP BY session_id
{having}
ORDER BY started_ms IS NULL, started_ms, session_id
"""
    return Query(sql, params)


def activity_by_hour_query(election_id: str, timezone: str, ward: str | None = None) -> Query:
    """Canvass attempts and contacts per hour of the election's local time."""
    where, params = _ward_filter("WHERE", election_id, ward, tz=timezone)
    sql = f"""
SELECT toUnixTimestamp(toStartOfHour(occurred_at, {{tz:String}})) AS hour,
    count() AS attempts,
    countIf(outcome = 'contacted') AS contacts,
    uniqExact(canvasser) AS canvassers,
    uniqExactIf(session_id, session_id != '') AS sessions
FROM (
    SELECT occurred_at,
        ward,
        outcome,
        canvasser_id AS canvasser,
        session_id
    {_live("canvass.recorded")}
)
{where}
GROUP BY hour
ORDER BY hour
"""
    return Query(sql, params)


def intensity_query(election_id: str, ward: str | None = None) -> Query:
    """Per ward: contacted canvasses, and campaign-day sessions with their volunteers."""
    where, params = _ward_filter("WHERE", election_id, ward)
    sql = f"""
SELECT ward,
    countIf(type = 'canvass.recorded' AND outcome = 'contacted') AS contacts,
    countIf(type = 'session.started' AND kind = 'campaign_day') AS campaign_day_sessions,
    sumIf(volunteers, type = 'session.started' AND kind = 'campaign_day')
        AS campaign_day_volunteers
FROM (
    SELECT type,
        ward,
        outcome,
        kind,
        volunteers
    {_live("canvass.recorded", "session.started")}
)
{where}
GROUP BY ward
ORDER BY ward
"""
    return Query(sql, params)


def results_query(election_id: str, ward: str | None = None) -> Query:
    """Our votes and all votes cast per ward, from its latest unretracted result.declared."""
    where, params = _ward_filter("WHERE", election_id, ward)
    sql = f"""
WITH ({OUR_PARTY_SQL}) AS our
SELECT ward,
    JSONExtract(result, 'votes', 'Map(String, Int64)') AS votes,
    votes[our] AS our_votes,
    arraySum(mapValues(votes)) AS votes_cast
FROM (
    SELECT ward,
        argMax(payload, (occurred_at, event_id)) AS result
    {_live("result.declared")}
    GROUP BY ward
)
{where}
ORDER BY ward
"""
    return Query(sql, params)


def effect_rows(
    gap_rows: Sequence[dict[str, Any]],
    intensity: Sequence[dict[str, Any]],
    results: Sequence[dict[str, Any]],
) -> list[dict[str, Any]]:
    """One row per ward: campaign intensity beside supporter turnout, the gap and the result."""
    gaps = {r["ward"]: r for r in gap_rows}
    work = {r["ward"]: r for r in intensity}
    declared = {r["ward"]: r for r in results}
    rows = []
    for ward in sorted(set(gaps) | set(work) | set(declared)):
        gap, done, result = gaps.get(ward, {}), work.get(ward, {}), declared.get(ward)
        electorate = int(gap.get("electorate", 0))
        contacts = int(done.get("contacts", 0))
        cast = int(result["votes_cast"]) if result else 0
        rows.append({
            "ward": ward,
            "electorate": electorate,
            "contacts": contacts,
            "contacts_per_1000": 1000 * contacts / electorate if electorate else None,
            "campaign_day_sessions": int(done.get("campaign_day_sessions", 0)),
            "campaign_day_volunteers": int(done.get("campaign_day_volunteers", 0)),
            "supporters": int(gap.get("supporters", 0)),
            "supporters_voted": int(gap.get("supporters_voted", 0)),
            "opponents": int(gap.get("opponents", 0)),
            "opponents_voted": int(gap.get("opponents_voted", 0)),
            "supporter_turnout": gap.get("supporter_turnout"),
            "opponent_turnout": gap.get("opponent_turnout"),
            "gap_pts": gap.get("gap_pts"),
            "our_vote_share": int(result["our_votes"]) / cast if result and cast else None,
        })  # fmt: skip
    return rows


def effect_summary(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Wards with campaign days against wards without: pooled supporter turnout and gap."""
    return {
        "with_campaign_days": _pooled([r for r in rows if r["campaign_day_sessions"] > 0]),
        "without_campaign_days": _pooled([r for r in rows if r["campaign_day_sessions"] == 0]),
    }


def _pooled(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    supporters = sum(r["supporters"] for r in rows)
    opponents = sum(r["opponents"] for r in rows)
    sup = sum(r["supporters_voted"] for r in rows) / supporters if supporters else None
    opp = sum(r["opponents_voted"] for r in rows) / opponents if opponents else None
    return {
        "wards": len(rows),
        "supporter_turnout": sup,
        "opponent_turnout": opp,
        "gap_pts": None if sup is None or opp is None else 100 * (sup - opp),
    }
