"""Terminal rendering: display rounding, worst gap first, json/csv exactly as the API gave."""

from __future__ import annotations

import io
import json

from rich.console import Console

from streams.cli import output
from streams.read.queries import COUNTS, with_rates


def render(renderable) -> str:
    console = Console(width=160, file=io.StringIO(), color_system=None)
    console.print(renderable)
    return console.file.getvalue()  # type: ignore[attr-defined]


def gap_row(ward: str, sup: int, sup_voted: int, opp: int, opp_voted: int) -> dict:
    row = dict.fromkeys(COUNTS, 0)
    row.update(ward=ward, supporters=sup, opponents=opp, electorate=sup + opp)
    row.update(supporters_voted=sup_voted, opponents_voted=opp_voted, voted=sup_voted + opp_voted)
    return with_rates(row)


def test_fmt_cell_rounds_for_display_only():
    assert output.fmt_cell("supporter_turnout", 0.12345) == "12.3%"
    assert output.fmt_cell("gap_pts", -4.25) == "-4.2"
    assert output.fmt_cell("gap_pts", 3.0) == "+3.0"
    assert output.fmt_cell("electorate", 12345) == "12,345"
    assert output.fmt_cell("contacts_per_1000", 875.04) == "875.0"
    assert output.fmt_cell("gap_pts", None) == "–"


def test_gap_table_puts_the_worst_gap_first_and_no_gap_last():
    rows = [gap_row("A", 10, 5, 0, 0), gap_row("B", 10, 5, 10, 6), gap_row("C", 10, 1, 10, 9)]
    text = render(output.gap_table(rows, "t"))
    assert text.index("C") < text.index("B") < text.index(" A ")
    assert "10.0%" in text and "-80.0" in text


def test_json_and_csv_keep_the_rows_unrounded():
    rows = [{"ward": "W1", "supporter_turnout": 1 / 3, "gap_pts": None}]
    assert json.loads(output.to_json(rows)) == rows
    assert output.to_csv(rows).splitlines() == [
        "ward,supporter_turnout,gap_pts", f"W1,{1 / 3!r},"]  # fmt: skip
    assert output.to_csv([]) == ""


def test_emit_prints_json_and_csv_to_the_console_file():
    out = io.StringIO()
    console = Console(file=out)
    output.emit(console, [{"a": 1}], "json", lambda: "unused")
    output.emit(console, [{"a": 1}], "csv", lambda: "unused")
    assert out.getvalue() == '[\n  {\n    "a": 1\n  }\n]\na\n1\n'


def test_coverage_table_is_a_ward_by_age_band_matrix():
    rows = [
        {"ward": "W1", "age_band": "65+", "electorate": 4, "electorate_contacted": 3,
         "coverage": 0.75},
        {"ward": "W1", "age_band": "18-24", "electorate": 10, "electorate_contacted": 0,
         "coverage": 0.0},
    ]  # fmt: skip
    text = render(output.coverage_table(rows, "t"))
    header = next(line for line in text.splitlines() if "18-24" in line)
    assert header.index("18-24") < header.index("65+") < header.index("all")
    assert "75.0%" in text and "0.0%" in text and "21.4%" in text  # 3 of 14 in the ward


def test_knockup_and_timeline_tables_show_missing_likelihood_and_local_times():
    knock = render(output.knockup_table([{"elector_id": "e1", "ward": "W1",
                                           "polling_district": "D1", "age_band": "65+",
                                           "likelihood": None}], "t"))  # fmt: skip
    assert "e1" in knock and "–" in knock
    bucket = {"ward": "W1", "bucket_start": "2026-05-07T08:00:00+01:00", "voted": 1,
              "bucket_end": "2026-05-07T08:15:00+01:00", "supporters_voted": 1,
              "opponents_voted": 0}  # fmt: skip
    line = render(output.timeline_table([bucket], "t"))
    assert "2026-05-07 08:15" in line


def test_sql_table_prints_nulls_and_nested_values():
    text = render(output.sql_table([{"a": None, "b": [1, 2], "c": {"k": 1}}], "", ["a", "b", "c"]))
    assert "NULL" in text and "[1, 2]" in text and '{"k": 1}' in text
