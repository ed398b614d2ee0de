"""Rendering query rows for the terminal: rich tables, JSON and CSV (display rounding only)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from rich.table import Table

GAP_COLUMNS = (
    ("electorate", "electorate"), ("supporters", "supp"), ("opponents", "opp"),
    ("voted", "voted"), ("turnout", "turnout"), ("supporter_turnout", "supp t/o"),
    ("opponent_turnout", "opp t/o"), ("gap_pts", "gap pts"), ("knockup_remaining", "knock-up"),
)  # fmt: skip
DIMENSIONS = ("ward", "age_band", "polling_district")
RATES = frozenset({"turnout", "supporter_turnout", "opponent_turnout"})


def fmt_cell(name: str, value: Any) -> str:
    if value is None:
        return "–"
    if name in RATES:
        return f"{100 * value:.1f}%"
    if name == "gap_pts":
        return f"{value:+.1f}"
    return str(value)


def worst_gap_first(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Most negative gap first; rows without a gap last."""
    return sorted(rows, key=lambda r: (r.get("gap_pts") is None, r.get("gap_pts") or 0.0))


def gap_table(rows: Sequence[dict[str, Any]], title: str) -> Table:
    dims = [d for d in DIMENSIONS if rows and d in rows[0]]
    table = Table(title=title, header_style="bold")
    for d in dims:
        table.add_column(d)
    for _, label in GAP_COLUMNS:
        table.add_column(label, justify="right")
    for row in worst_gap_first(rows):
        gap = row.get("gap_pts")
        style = "red" if gap is not None and gap < 0 else None
        cells = [str(row[d]) for d in dims] + [fmt_cell(n, row.get(n)) for n, _ in GAP_COLUMNS]
        table.add_row(*cells, style=style)
    return table


def to_json(rows: Sequence[dict[str, Any]]) -> str:
    return json.dumps(list(rows), indent=2)


def to_csv(rows: Sequence[dict[str, Any]]) -> str:
    if not rows:
        return ""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
