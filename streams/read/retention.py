"""Retention: each election's polling day, how long its data is kept, and when it is purged.

An election is kept `retention_days` after polling day (its `election.opened` may set it; else
TURNOUT_RETENTION_DAYS) and purged from the start of the next day, UTC. An election with no
`election.opened` has no polling day, so it is never purged by date: `turnout status` says so.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from clickhouse_connect.driver.client import Client

from streams.read.queries import Query

_OPENED = (
    "type = 'election.opened' AND event_id NOT IN (SELECT JSONExtractString(payload, "
    "'target_event_id') FROM events WHERE type = 'event.retracted')"
)
ELECTIONS = Query(
    "SELECT election_id, "
    f"argMaxIf(JSONExtractString(payload, 'polling_date'), (occurred_at, event_id), {_OPENED}) "
    "AS polling_date, "
    "argMaxIf(JSONExtract(payload, 'retention_days', 'Nullable(Int64)'), (occurred_at, event_id), "
    f"{_OPENED}) AS retention_days "
    "FROM events GROUP BY election_id ORDER BY election_id",
    {},
)


def purge_after(polling_date: date, days: float) -> datetime:
    """When an election kept `days` after `polling_date` is due to be purged."""
    return datetime.combine(polling_date + timedelta(days=days + 1), time(0), UTC)


def elections(
    client: Client, default_days: float, now: datetime, settings: dict[str, Any]
) -> list[dict[str, Any]]:
    """Every election with events: its polling day, retention and purge date, and `due`."""
    result = client.query(ELECTIONS.sql, parameters=ELECTIONS.parameters, settings=settings)
    return [_shaped(e, polling, days, default_days, now) for e, polling, days in result.result_rows]


def _shaped(
    election_id: str, polling: str, days: int | None, default_days: float, now: datetime
) -> dict[str, Any]:
    try:
        polling_date: date | None = date.fromisoformat(polling)
    except ValueError:
        polling_date = None  # no election.opened
    kept = float(days) if days is not None else default_days
    after = purge_after(polling_date, kept) if polling_date else None
    return {
        "election_id": election_id,
        "polling_date": polling_date.isoformat() if polling_date else None,
        "retention_days": kept,
        "retention_from": "election.opened" if days is not None else "TURNOUT_RETENTION_DAYS",
        "purge_after": after.isoformat() if after else None,
        "due": after is not None and now >= after,
    }
