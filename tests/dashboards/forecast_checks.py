"""Checks of the projection, priorities and alert panels: each equals the read API's answer
(GET /projection?by=ward, /priorities, /alerts) at the snapshot the panel shows."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from streams.grafana.forecast_sql import PRIORITY_COLUMNS, PROJECTION_COLUMNS
from streams.read import forecast
from tests.dashboards import reference as ref
from tests.dashboards.conftest import Forecasts

Check = Callable[[list[dict[str, Any]], Any], None]


def _in_wards(ward: str | None, wards: set[str] | None) -> bool:
    return wards is None or ward in wards


def check_projection(forecasts: Forecasts) -> Check:
    def check(rows: list[dict[str, Any]], case: Any) -> None:
        at = forecasts.newest_by(case.end)
        assert at is not None, "no snapshot in the range: the check would prove nothing"
        api = forecast.project(case.reader, case.election, ("ward",), at)["rows"]
        left = {r["ward"]: r["knockup_remaining"]
                for r in case.reader.turnout_gap(case.election, ("ward",), None, at)}  # fmt: skip
        expected = {
            (r["ward"],): {"ward": r["ward"], **{c: r.get(c) for c in PROJECTION_COLUMNS},
                           "knockup_remaining": left[r["ward"]]}
            for r in api if _in_wards(r["ward"], case.wards)
        }  # fmt: skip
        assert expected
        assert [r["ward"] for r in rows] == sorted(w for (w,) in expected)
        ref.compare(rows, expected, ("ward",), f"projection at {at}")

    return check


def check_priorities(forecasts: Forecasts) -> Check:
    def check(rows: list[dict[str, Any]], case: Any) -> None:
        at = forecasts.newest_by(case.end)
        assert at is not None
        api = forecast.rank(case.reader, case.election, at, None)["rows"]
        expected = [{c: r[c] for c in PRIORITY_COLUMNS} for r in api
                    if _in_wards(r["ward"], case.wards)]  # fmt: skip
        assert expected and [r["rank"] for r in rows] == [r["rank"] for r in expected]
        ref.compare(rows, {(r["rank"],): r for r in expected}, ("rank",), f"priorities at {at}")

    return check


def check_alerts(rows: list[dict[str, Any]], case: Any) -> None:
    api = forecast.active_alerts(case.reader, case.election)["rows"]
    expected = [r for r in api if r["ward"] is None or _in_wards(r["ward"], case.wards)]
    assert any(r["ward"] is None for r in expected), "the pipeline alert should be active"
    got = [(r["alert"], r["ward"] or None, r["summary"]) for r in rows]
    assert got == [(r["title"], r["ward"], r["summary"]) for r in expected]
    for row, want in zip(rows, expected, strict=True):
        assert ref.utc(row["since"]) == ref.utc(datetime.fromisoformat(want["since"]))


TITLES = ("Projected gap per ward (80% interval)", "Where to send volunteers", "Active alerts")


def forecast_checks(forecasts: Forecasts) -> dict[str, Check]:
    checks = (check_projection(forecasts), check_priorities(forecasts), check_alerts)
    return dict(zip(TITLES, checks, strict=True))
