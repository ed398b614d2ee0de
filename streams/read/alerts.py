"""Polling-day alerts: the three conditions, which alerts start or stop holding, and the SQL of
the alert log. Pure (rows in, conditions out); the worker's alerting task gathers the rows and
runs it every TURNOUT_ALERT_INTERVAL, Grafana's rules (streams/grafana/alerts.py) state the
same conditions in SQL and PromQL. docs/alerts.md explains them.

An alert is keyed by (rule, election, ward): it fires once when its condition starts holding
and resolves once when it stops; a condition that keeps holding with a new value says nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from streams.read.queries import Query

PROJECTED_GAP_NEGATIVE = "projected_gap_negative"
KNOCKUP_STALLED = "knockup_stalled"
PIPELINE_BEHIND = "pipeline_behind"
RULES = {
    PROJECTED_GAP_NEGATIVE: "A ward's projected gap is negative",
    KNOCKUP_STALLED: "A ward's knock-up remaining has not fallen for 30 minutes",
    PIPELINE_BEHIND: "The pipeline is falling behind",
}
STALL = timedelta(minutes=30)
"""How long knock-up remaining may stay level (or rise) during polling hours."""
BEHIND_SECONDS = 60.0
"""Freshness (turnout_freshness_seconds) past which the pipeline is behind: the dashboards'
amber threshold, a minute in which every panel and list is stale."""

Key = tuple[str, str, str]  # (rule, election_id, ward); '' = the pipeline or the election
State = Literal["firing", "resolved"]


@dataclass(frozen=True)
class Condition:
    """A condition that holds now: which rule, where, its value and a sentence saying so."""

    rule: str
    election_id: str
    ward: str
    value: float
    summary: str

    @property
    def key(self) -> Key:
        return (self.rule, self.election_id, self.ward)


@dataclass(frozen=True)
class Change:
    """An alert starting (firing) or ceasing (resolved) to hold."""

    state: State
    condition: Condition


def projected_gap_negative(election_id: str, wards: Sequence[Mapping[str, Any]]) -> list[Condition]:
    """Wards of a projection by ward whose projected gap (points) is below zero."""
    found = []
    for row in wards:
        gap = row.get("projected_gap_pts")
        if gap is None or gap >= 0:
            continue
        low, high, now = (row.get(k) for k in ("projected_gap_pts_low", "projected_gap_pts_high",
                                                "gap_pts"))  # fmt: skip
        summary = f"ward {row['ward']}: projected gap {gap:+.1f} pts"
        if low is not None and high is not None:
            summary += f" (80%: {low:+.1f} to {high:+.1f})"
        if now is not None:
            summary += f", {now:+.1f} now"
        found.append(Condition(PROJECTED_GAP_NEGATIVE, election_id, row["ward"], gap, summary))
    return found


def in_stall_window(opens_at: datetime, closes_at: datetime, at: datetime) -> bool:
    """Whether `at` is late enough in polling hours for a 30-minute stall to be judged."""
    return opens_at + STALL <= at <= closes_at


def knockup_stalled(
    election_id: str,
    now: Sequence[Mapping[str, Any]],
    before: Sequence[Mapping[str, Any]],
    opens_at: datetime,
    closes_at: datetime,
    at: datetime,
) -> list[Condition]:
    """Wards (turnout-gap rows by ward at `at` and at `at` - STALL) with supporters still to
    vote and no fewer of them than 30 minutes earlier, while the polls are open."""
    if not in_stall_window(opens_at, closes_at, at):
        return []
    earlier = {r["ward"]: int(r["knockup_remaining"]) for r in before}
    found = []
    for row in now:
        left, was = int(row["knockup_remaining"]), earlier.get(row["ward"], 0)
        if left <= 0 or left < was:
            continue
        summary = (f"ward {row['ward']}: knock-up not falling, {left:,} supporters still to "
                   f"vote ({was:,} half an hour earlier)")  # fmt: skip
        found.append(Condition(KNOCKUP_STALLED, election_id, row["ward"], was - left, summary))
    return found


def pipeline_behind(seconds: float | None) -> list[Condition]:
    """The pipeline, when the aggregates trail accepted events by more than BEHIND_SECONDS
    (unknown freshness is not an alert: the worker cannot say)."""
    if seconds is None or seconds <= BEHIND_SECONDS:
        return []
    summary = f"the aggregates trail accepted events by {seconds:,.0f} s"
    return [Condition(PIPELINE_BEHIND, "", "", seconds, summary)]


def changes(
    active: Mapping[Key, Condition],
    holding: Sequence[Condition],
    evaluated: Callable[[Key], bool],
) -> list[Change]:
    """What fires (holds now, was not active) and what resolves (was active, was evaluated
    now and no longer holds); keys not evaluated this time keep their state."""
    now = {c.key: c for c in holding}
    fired = [Change("firing", c) for key, c in sorted(now.items()) if key not in active]
    resolved = [
        Change("resolved", c)
        for key, c in sorted(active.items())
        if key not in now and evaluated(key)
    ]
    return fired + resolved


def payload(change: Change, at: str, as_of: str | None) -> dict[str, Any]:
    """The JSON posted to TURNOUT_ALERT_WEBHOOK for one change (docs/alerts.md)."""
    c = change.condition
    return {
        "key": "/".join(c.key), "rule": c.rule, "title": RULES[c.rule], "state": change.state,
        "election_id": c.election_id or None, "ward": c.ward or None, "value": c.value,
        "summary": c.summary, "at": at, "as_of": as_of,
    }  # fmt: skip


# -- the alert log's SQL ----------------------------------------------------------------------
_LATEST = """SELECT election_id, rule, ward, argMax(state, at) AS state,
    toUnixTimestamp64Micro(max(at)) AS since_us,
    ifNull(toUnixTimestamp64Micro(argMax(as_of, at)), 0) AS as_of_us,
    argMax(value, at) AS value,
    argMax(summary, at) AS summary
FROM alerts
{where}GROUP BY election_id, rule, ward
HAVING state = 'firing'
ORDER BY election_id, rule, ward"""


def firing_query() -> Query:
    """Every active alert of every election (the worker reloads them when it starts)."""
    return Query(_LATEST.format(where=""), {})


def active_query(election_id: str) -> Query:
    """The election's active alerts and the pipeline's, with when each started (`since`)."""
    where = "WHERE election_id IN ({election:String}, '')\n"
    return Query(_LATEST.format(where=where), {"election": election_id})


def evaluated_query(election_id: str) -> Query:
    """When the alerting task last projected the election, and at which instant (0: never)."""
    sql = (
        "SELECT toUnixTimestamp64Micro(max(computed_at)) AS computed_us, "
        "toUnixTimestamp64Micro(argMax(as_of, computed_at)) AS as_of_us "
        "FROM projections WHERE election_id = {election:String}"
    )
    return Query(sql, {"election": election_id})


def elections_query() -> Query:
    """Events stored per election: an election whose count moved needs a new evaluation."""
    return Query("SELECT election_id, count() AS events FROM events GROUP BY election_id", {})
