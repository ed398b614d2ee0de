"""The alerting task's bookkeeping, on stand-ins for ClickHouse: a change is recorded before it
is announced, announced once, kept across a restart, and an unknown freshness changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from streams.errors import SinkError
from streams.read import alerts as al
from streams.worker.alerting import Alerting


class Reader:
    def __init__(self, firing: list[dict[str, Any]] | None = None) -> None:
        self.firing = firing or []

    def rows(self, query: Any) -> list[dict[str, Any]]:
        assert query.sql == al.firing_query().sql
        return self.firing


class Snapshots:
    def __init__(self) -> None:
        self.rows: dict[str, list[dict[str, Any]]] = {"alerts": []}
        self.fail = False

    def append(self, table: str, rows: list[dict[str, Any]]) -> None:
        if self.fail and rows:
            raise SinkError(f"{table}: not written")
        self.rows.setdefault(table, []).extend(rows)


def run(alerting: Alerting, behind: float | None) -> list[tuple[str, str]]:
    payloads = alerting.evaluate(behind, now=1_778_140_800.0, elections=[])
    return [(p["state"], p["key"]) for p in payloads]


PIPELINE = f"{al.PIPELINE_BEHIND}//"


def test_the_pipeline_alert_fires_once_resolves_once_and_ignores_unknown_freshness():
    store = Snapshots()
    alerting = Alerting(Reader(), store)  # type: ignore[arg-type]
    assert run(alerting, 10.0) == []
    assert run(alerting, 120.0) == [("firing", PIPELINE)]
    assert run(alerting, 300.0) == []
    assert run(alerting, None) == []  # the lag is unknown: the alert stays as it was
    assert run(alerting, 5.0) == [("resolved", PIPELINE)]
    assert [(r["rule"], r["state"]) for r in store.rows["alerts"]] == [
        (al.PIPELINE_BEHIND, "firing"), (al.PIPELINE_BEHIND, "resolved"),
    ]  # fmt: skip


def test_a_restarted_worker_does_not_announce_an_active_alert_again():
    row = {"election_id": "", "rule": al.PIPELINE_BEHIND, "ward": "", "value": 90.0,
           "summary": "behind"}  # fmt: skip
    alerting = Alerting(Reader([row]), Snapshots())  # type: ignore[arg-type]
    assert run(alerting, 120.0) == []
    assert run(alerting, 1.0) == [("resolved", PIPELINE)]


def test_a_change_that_cannot_be_recorded_is_not_announced_and_comes_again():
    store = Snapshots()
    alerting = Alerting(Reader(), store)  # type: ignore[arg-type]
    store.fail = True
    with pytest.raises(SinkError):
        run(alerting, 120.0)
    store.fail = False
    assert run(alerting, 120.0) == [("firing", PIPELINE)]


class Sink:
    """The sink's removals count and lock, with an erasure landing while a snapshot is
    computed (after `counts` were taken, before the snapshot is written)."""

    def __init__(self) -> None:
        self.removals = 0

    def unless_removed(self, removals: int, write: Any) -> bool:
        if self.removals != removals:
            return False
        write()
        return True


class Projecting(Alerting):
    """One election whose projection yields one snapshot row, erased mid-computation when
    `erase` is set."""

    def __init__(self, store: Snapshots, sink: Sink, erase: bool) -> None:
        super().__init__(Reader(), store, sink)  # type: ignore[arg-type]
        self.sink, self.erase = sink, erase

    def refresh(self, election_id: str, now: float, as_of: Any = None) -> Any:
        if self.erase:
            self.sink.removals += 1
        return [], as_of, [("projections", [{"election_id": election_id, "opponents": 5}])]


@pytest.mark.parametrize("erased", [False, True])
def test_a_snapshot_computed_across_an_erasure_is_dropped(erased: bool):
    store, sink = Snapshots(), Sink()
    alerting = Projecting(store, sink, erased)
    alerting.evaluate(None, now=1_778_140_800.0, counts={"e1": 3}, removed=sink.removals)
    assert len(store.rows.get("projections", [])) == (0 if erased else 1)
