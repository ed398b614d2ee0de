"""`turnout watch` frames: one rendered to a string per situation, checked for size and content."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from streams.cli import watch
from streams.read.queries import COUNTS, with_rates

AT = datetime(2026, 5, 7, 17, 0, tzinfo=UTC)
FRESH = {"status": "ok", "consumer_lag": {"0": 0, "1": 0}, "freshness": {"seconds": 0.0},
         "kafka": {"ok": True}, "clickhouse": {"ok": True}}  # fmt: skip


def ward(name: str, sup: int, sup_voted: int, opp: int, opp_voted: int) -> dict:
    row = dict.fromkeys(COUNTS, 0)
    row.update(ward=name, supporters=sup, opponents=opp, electorate=sup + opp)
    row.update(supporters_voted=sup_voted, opponents_voted=opp_voted, voted=sup_voted + opp_voted)
    return with_rates(row)


def frame(rows, health=FRESH, **kwargs) -> list[str]:
    text = watch.render_text(watch.Snapshot("e-1", rows, health, taken_at=AT), **kwargs)
    return text.splitlines()


def test_frame_shows_wards_worst_gap_first_and_the_election_total():
    lines = frame([ward("North", 100, 40, 100, 60), ward("South", 100, 30, 100, 70)])
    assert len(lines) <= 24 and max(map(len, lines)) <= 80
    assert "Turnout gap · e-1" in lines[0] and "● live" in lines[0]
    south = next(i for i, x in enumerate(lines) if x.startswith("South"))
    north = next(i for i, x in enumerate(lines) if x.startswith("North"))
    assert south < north
    assert "30.0%" in lines[south] and "70.0%" in lines[south] and "-40.0" in lines[south]
    assert "70" in lines[south]  # knock-up remaining
    total = next(x for x in lines if x.startswith("election"))
    assert "35.0%" in total and "65.0%" in total and "-30.0" in total and "130" in total


def test_many_wards_still_fit_24_lines_showing_the_worst():
    rows = [ward(f"Ward {i:02d}", 100, i, 100, 50) for i in range(40)]
    lines = frame(rows)
    assert len(lines) <= 24 and max(map(len, lines)) <= 80
    assert any(x.startswith("Ward 00") for x in lines)  # the worst gap is shown
    assert not any(x.startswith("Ward 39") for x in lines)
    assert any("more" in x for x in lines) and any(x.startswith("election") for x in lines)


@pytest.mark.parametrize(("gap", "bar"), [
    (-50.0, "██████████│"), (-12.0, "        ██│"), (0.0, "          │"),
    (23.0, "          │█████"), (-300.0, "██████████│"),
])  # fmt: skip
def test_gap_bar_is_centred_on_zero(gap, bar):
    assert watch.gap_bar(gap).plain.rstrip() == bar.rstrip()


def test_gap_bar_colours_trailing_red_and_leading_green():
    assert any(span.style == "red" for span in watch.gap_bar(-20).spans)
    assert any(span.style == "green" for span in watch.gap_bar(20).spans)


@pytest.mark.parametrize(("health", "text", "style"), [
    (FRESH, "● live", "bold green"),
    ({**FRESH, "freshness": {"seconds": 6.0}}, "● behind 6s", "bold yellow"),
    ({**FRESH, "freshness": {"seconds": 42.0}}, "● behind 42s", "bold red"),
    ({**FRESH, "freshness": {"seconds": None}}, "● freshness unknown", "bold red"),
    ({**FRESH, "status": "degraded", "kafka": {"ok": False}}, "● degraded: kafka down", "bold red"),
    (None, "● worker unreachable", "bold red"),
])  # fmt: skip
def test_freshness_indicator_turns_red_when_behind(health, text, style):
    indicator = watch.freshness(health)
    assert indicator.plain == text and str(indicator.style) == style


def test_red_indicator_is_in_the_coloured_frame():
    behind = {**FRESH, "freshness": {"seconds": 120.0}}
    coloured = watch.render_text(watch.Snapshot("e", [ward("A", 1, 0, 1, 1)], behind, taken_at=AT),
                                 color=True)  # fmt: skip
    assert re.search(r"\x1b\[1;31m *● behind 120s", coloured)


def test_frame_without_rows_says_why():
    snapshot = watch.Snapshot("e-2", None, FRESH, "no events for e-2 yet; waiting…", taken_at=AT)
    text = watch.render_text(snapshot)
    assert "no events for e-2 yet" in text and "lag 0" in text


def alert(rule: str, ward: str | None, summary: str) -> dict:
    return {"rule": rule, "title": rule, "ward": ward, "since": "2026-05-07T17:00:00+01:00",
            "as_of": None, "value": -1.0, "summary": summary}  # fmt: skip


def alert_frame(rows, alerts) -> list[str]:
    text = watch.render_text(watch.Snapshot("e-1", rows, FRESH, alerts=alerts, taken_at=AT))
    return text.splitlines()


def test_active_alerts_are_listed_under_the_table_pipeline_first():
    rows = [ward("North", 100, 40, 100, 60), ward("South", 100, 30, 100, 70)]
    alerts = [
        alert("projected_gap_negative", "South", "ward South: projected gap -3.0 pts"),
        alert("pipeline_behind", None, "the aggregates trail accepted events by 75 s"),
    ]
    text = watch.render_text(watch.Snapshot("e-1", rows, FRESH, alerts=alerts, taken_at=AT))
    lines = text.splitlines()
    assert len(lines) <= 24 and max(map(len, lines)) <= 80
    marked = [x for x in lines if x.startswith("▲")]
    assert marked == ["▲ the aggregates trail accepted events by 75 s",
                      "▲ ward South: projected gap -3.0 pts"]  # fmt: skip
    total = next(i for i, x in enumerate(lines) if x.startswith("election"))
    assert lines.index(marked[0]) > total and "2 alerts" in lines[-1]


def test_many_alerts_and_wards_still_fit_24_lines():
    rows = [ward(f"Ward {i:02d}", 100, i, 100, 50) for i in range(40)]
    alerts = [alert("knockup_stalled", f"Ward {i:02d}", f"ward Ward {i:02d}: knock-up not "
                    "falling, 80 supporters still to vote (80 half an hour earlier) " + "x" * 40)
              for i in range(7)]  # fmt: skip
    lines = alert_frame(rows, alerts)
    assert len(lines) <= 24 and max(map(len, lines)) <= 80
    assert sum(x.startswith("▲") for x in lines) == watch.ALERT_LINES
    assert "▲ … 5 more alerts" in lines and "7 alerts" in lines[-1]


def test_no_alerts_and_unknown_alerts_say_so_in_the_status_line():
    rows = [ward("North", 100, 40, 100, 60)]
    assert "0 alerts" in alert_frame(rows, [])[-1]
    assert "alerts –" in alert_frame(rows, None)[-1]
    assert not any(x.startswith("▲") for x in alert_frame(rows, []))
