"""Retention dates: polling day + retention_days, due from the start of the next day (UTC)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any

from streams.read.retention import elections, purge_after


class Rows:
    """A stand-in client whose query answers fixed rows (election_id, polling_date, days)."""

    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self.rows = rows

    def query(self, *args: Any, **kwargs: Any) -> SimpleNamespace:
        return SimpleNamespace(result_rows=self.rows)


def test_an_election_is_due_the_day_after_its_retention_ends():
    assert purge_after(date(2026, 5, 7), 90) == datetime(2026, 8, 6, tzinfo=UTC)
    assert purge_after(date(2026, 5, 7), 0) == datetime(2026, 5, 8, tzinfo=UTC)


def test_election_opened_overrides_the_setting_and_no_polling_day_is_never_due():
    now = datetime(2026, 8, 6, tzinfo=UTC)
    rows = elections(Rows([("a", "2026-05-07", None), ("b", "2026-05-07", 365), ("c", "", None)]),
                     90, now, {})  # fmt: skip
    assert [(r["election_id"], r["due"], r["retention_from"]) for r in rows] == [
        ("a", True, "TURNOUT_RETENTION_DAYS"), ("b", False, "election.opened"),
        ("c", False, "TURNOUT_RETENTION_DAYS"),
    ]  # fmt: skip
    assert rows[1]["purge_after"] == "2027-05-08T00:00:00+00:00" and rows[2]["purge_after"] is None
