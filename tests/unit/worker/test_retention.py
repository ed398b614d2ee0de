"""The worker's scheduled purge (`purge_due` without an election, as its timer calls it), on
stand-ins for ClickHouse: exactly the elections whose retention is over are purged, each one
recorded in the audit trail before it is purged, under the timer's own name."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, cast

import pytest

from streams.errors import SinkError
from streams.read.retention import purge_after
from streams.settings import Settings
from streams.worker import Runtime, purge_due
from streams.worker.retention import SCHEDULE


def election(election_id: str, days: float, polling: str = "2026-05-07") -> dict[str, Any]:
    after = purge_after(datetime.fromisoformat(polling).date(), days)
    return {"election_id": election_id, "polling_date": polling, "retention_days": days,
            "retention_from": "election.opened", "purge_after": after.isoformat(),
            "due": datetime.now(UTC) >= after}  # fmt: skip


class FakeRuntime:
    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.settings = Settings(retention_days=90)
        self.reader = SimpleNamespace(elections=lambda days, now: rows)
        self.done: list[tuple[str, str]] = []  # ("audit" | "purge", election_id), in order
        self.entries: list[Any] = []
        self.audit = SimpleNamespace(append=self.append)

    def append(self, entry: Any) -> None:
        self.entries.append(entry)
        self.done.append(("audit", entry.election_id))

    async def purge(self, election_id: str) -> None:
        self.done.append(("purge", election_id))


def test_the_timer_purges_exactly_the_expired_elections_each_audited_first():
    rows = [election("old", 1), election("kept", 36_500), election("also-old", 0)]
    runtime = FakeRuntime(rows)
    answer = asyncio.run(purge_due(cast(Runtime, runtime)))
    assert [r["election_id"] for r in answer["purged"]] == ["old", "also-old"]
    assert [r["election_id"] for r in answer["kept"]] == ["kept"]
    assert runtime.done == [("audit", "old"), ("purge", "old"),
                            ("audit", "also-old"), ("purge", "also-old")]  # fmt: skip
    assert {(e.token_name, e.endpoint, e.action) for e in runtime.entries} == {
        (SCHEDULE, "timer", "purge")
    }


def test_an_audit_entry_that_cannot_be_written_purges_nothing():
    runtime = FakeRuntime([election("old", 1)])

    def refuse(entry: Any) -> None:
        raise SinkError("audit: not written")

    runtime.audit = SimpleNamespace(append=refuse)
    with pytest.raises(SinkError):
        asyncio.run(purge_due(cast(Runtime, runtime)))
    assert runtime.done == []
