"""The SQL of the projection, priorities and alert panels, and of the ClickHouse alert rules.

The projection model is Python (`streams.read.projection`), so Grafana does not compute it: the
worker's alerting task appends a snapshot of the projection by ward and of the priorities every
TURNOUT_ALERT_INTERVAL (tables `projections`, `priorities`), and records each alert's changes
(`alerts`); these queries read them. A panel shows the newest snapshot whose `as_of` (the
election's clock: its newest vote) is not after the end of the time range, so the time picker
replays a past day as the other panels do. tests/dashboards proves each against the read API.
"""

from __future__ import annotations

from collections.abc import Sequence

from streams.grafana.sql import ELECTION, WARD_FILTER
from streams.read import alerts

PROJECTION_COLUMNS = (
    "gap_pts", "projected_gap_pts", "projected_gap_pts_low", "projected_gap_pts_high",
    "turnout", "projected_turnout", "knockup_remaining",
)  # fmt: skip
PRIORITY_COLUMNS = (
    "rank", "polling_district", "ward", "knockup_remaining", "extra_votes_per_volunteer_hour",
    "score", "reason",
)  # fmt: skip


def _newest_snapshot(table: str) -> str:
    """computed_at of the election's newest snapshot in `table` as of the range's end."""
    return f"""(
      SELECT argMax(computed_at, (as_of, computed_at))
      FROM {table}
      WHERE election_id = {ELECTION} AND as_of <= ($__toTime)
  )"""


def projection_sql() -> str:
    """Per ward: the gap now and projected for the close, with its 80% interval."""
    return _newest_snapshot_rows("projections", ["ward", *PROJECTION_COLUMNS], "ward")


def priorities_sql() -> str:
    """Polling districts in the chosen wards, best place for the next volunteer first."""
    return _newest_snapshot_rows("priorities", PRIORITY_COLUMNS, "rank")


def _newest_snapshot_rows(table: str, columns: Sequence[str], order: str) -> str:
    """`columns` of the newest snapshot's rows in `table`, in the chosen wards, by `order`."""
    return f"""SELECT {", ".join(columns)}
FROM {table}
WHERE election_id = {ELECTION}
  AND computed_at = {_newest_snapshot(table)}
  AND {WARD_FILTER}
ORDER BY {order}"""


def _literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _titles() -> str:
    rules = ", ".join(_literal(rule) for rule in alerts.RULES)
    titles = ", ".join(_literal(title) for title in alerts.RULES.values())
    return f"transform(rule, [{rules}], [{titles}], rule)"


def active_alerts_sql() -> str:
    """The election's and the pipeline's active alerts now (whatever the time range), in the
    chosen wards: the newest change of each (rule, election, ward) is a firing."""
    return f"""SELECT {_titles()} AS alert, ward, since, summary
FROM (
    SELECT election_id, rule, ward, argMax(state, at) AS state, max(at) AS since,
        argMax(summary, at) AS summary
    FROM alerts
    WHERE election_id IN ({ELECTION}, '')
    GROUP BY election_id, rule, ward
    HAVING state = 'firing'
)
WHERE (ward = '' OR {WARD_FILTER})
ORDER BY election_id, rule, ward"""


# -- alert rules: every election at once, at the rule's evaluation time ($__toTime) ----------
def projected_gap_rule_sql() -> str:
    """Per (election, ward) in polling hours: the projected gap of the newest snapshot."""
    return """SELECT election_id, ward, assumeNotNull(projected_gap_pts) AS projected_gap
FROM projections
WHERE (election_id, computed_at) IN (
    SELECT election_id, argMax(computed_at, (as_of, computed_at))
    FROM projections
    WHERE as_of <= ($__toTime)
    GROUP BY election_id
)
  AND polls_open <= ($__toTime) AND ($__toTime) <= polls_close
  AND projected_gap_pts IS NOT NULL
ORDER BY election_id, ward"""


def knockup_rule_sql() -> str:
    """Per (election, ward) with supporters still to vote, from 30 minutes after the polls open
    to their close: how far knock-up remaining fell from $__fromTime (the rule's range: 30
    minutes) to $__toTime. Polling hours and our_party come from the newest snapshot."""
    left = "sumIf(change, {cond}) - sumIf(change, {cond} AND voted = 1)"
    now, before = left.format(cond="is_ours"), left.format(cond="is_ours AND at <= ($__fromTime)")
    return f"""WITH live AS (
    SELECT election_id, argMax(our_party, computed_at) AS our,
        argMax(polls_open, computed_at) AS opens, argMax(polls_close, computed_at) AS closes
    FROM projections
    GROUP BY election_id
    HAVING our != '' AND opens <= ($__fromTime) AND ($__toTime) <= closes
)
SELECT election_id, ward, ({before}) - ({now}) AS fall
FROM (
    SELECT d.election_id AS election_id, d.ward AS ward, d.change AS change, d.voted AS voted,
        d.at AS at, d.intention = live.our AS is_ours
    FROM (
        SELECT election_id, ward, intention, voted, at, change
        FROM deltas FINAL
        WHERE election_id IN (SELECT election_id FROM live) AND at <= ($__toTime)
    ) AS d
    INNER JOIN live ON d.election_id = live.election_id
)
GROUP BY election_id, ward
HAVING {now} > 0
ORDER BY election_id, ward"""
