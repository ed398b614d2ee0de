"""Data that looks like Rich markup ("[/x]", "[bold]") is printed as it is, never parsed:
`turnout watch` crashed on a ward called "[/x]"."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from rich.console import Console

from streams.cli import output, watch
from streams.read.queries import COUNTS, with_rates

NAMES = ["[/x]", "[bold]W1", "[link=http://evil]W2[/link]", "W[3]", "\\[x"]


def render(renderable) -> str:
    console = Console(width=200, file=io.StringIO(), color_system=None)
    console.print(renderable)
    return console.file.getvalue()  # type: ignore[attr-defined]


def gap_row(name: str) -> dict:
    row = dict.fromkeys(COUNTS, 0)
    row.update(ward=name, supporters=10, opponents=10, electorate=20, supporters_voted=2,
               opponents_voted=5, voted=7, age_band="18-24", polling_district=name)  # fmt: skip
    return with_rates(row)


@pytest.mark.parametrize("name", NAMES)
def test_watch_frame_prints_a_markup_like_ward_as_it_is(name: str):
    snapshot = watch.Snapshot(name, [gap_row(name)], {"status": "ok"}, taken_at=datetime.now(UTC))
    text = watch.render_text(snapshot, width=120)
    assert name[:12] in text


@pytest.mark.parametrize("name", NAMES)
def test_query_tables_print_markup_like_values_as_they_are(name: str):
    tables = [
        output.gap_table([gap_row(name)], name),
        output.knockup_table(
            [
                {
                    "elector_id": name,
                    "ward": name,
                    "polling_district": name,
                    "age_band": "65+",
                    "likelihood": 3,
                }
            ],
            name,
        ),
        output.timeline_table(
            [
                {
                    "ward": name,
                    "bucket_end": "2026-05-07T08:15:00+01:00",
                    "voted": 1,
                    "supporters_voted": 1,
                    "opponents_voted": 0,
                }
            ],
            "",
        ),
        output.coverage_table(
            [
                {
                    "ward": name,
                    "age_band": "65+",
                    "electorate": 4,
                    "electorate_contacted": 0,
                    "coverage": 0.0,
                }
            ],
            "",
        ),
        output.activity_table(
            [
                {
                    "session_id": name,
                    "ward": name,
                    "kind": "canvass",
                    "started_at": "2026-05-07T08:15:00+01:00",
                    "volunteers": 1,
                    "attempts": 1,
                    "contacts": 1,
                    "contact_rate": 1.0,
                }
            ],
            "",
        ),
        output.sql_table([{"a": name}], "", ["a"]),
    ]
    for table in tables:
        assert name in render(table)
