"""Rendering query rows for the terminal: rich tables, JSON and CSV (display rounding only).

JSON and CSV print the rows exactly as the HTTP API returns them; tables round for reading:
percentages with one decimal, the gap in points with a sign, worst gap first.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

from streams.events import AGE_BANDS

Rows = Sequence[dict[str, Any]]

GAP_COLUMNS = (
    ("electorate", "electorate"), ("supporters", "supp"), ("opponents", "opp"),
    ("voted", "voted"), ("turnout", "turnout"), ("supporter_turnout", "supp t/o"),
    ("opponent_turnout", "opp t/o"), ("gap_pts", "gap pts"), ("knockup_remaining", "knock-up"),
)  # fmt: skip
DIMENSIONS = ("ward", "age_band", "polling_district")
RATES = frozenset({
    "turnout", "supporter_turnout", "opponent_turnout", "coverage", "contact_rate",
    "our_vote_share",
})  # fmt: skip
FORMATS = ("table", "json", "csv")


def fmt_cell(name: str, value: Any) -> str:
    if value is None:
        return "–"
    if name in RATES:
        return f"{100 * value:.1f}%"
    if name == "gap_pts":
        return f"{value:+.1f}"
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def fmt_time(value: str | None, with_date: bool = False) -> str:
    """An RFC 3339 instant from the API as local wall time (the API gives the election's zone)."""
    if not value:
        return "–"
    at = datetime.fromisoformat(value)
    return at.strftime("%Y-%m-%d %H:%M" if with_date else "%H:%M")


def worst_gap_first(rows: Rows) -> list[dict[str, Any]]:
    """Most negative gap first; rows without a gap last."""
    return sorted(rows, key=lambda r: (r.get("gap_pts") is None, r.get("gap_pts") or 0.0))


def plain(value: Any) -> Text:
    """A data value as a table cell: shown as it is, never read as Rich markup (a ward may be
    called "[/x]")."""
    return Text(str(value))


def _table(title: str, columns: Sequence[str], right_from: int = 1) -> Table:
    table = Table(title=Text(title), header_style="bold")
    for i, name in enumerate(columns):
        table.add_column(name, justify="right" if i >= right_from else "left")
    return table


def gap_table(rows: Rows, title: str) -> Table:
    dims = [d for d in DIMENSIONS if rows and d in rows[0]]
    table = _table(title, [*dims, *(label for _, label in GAP_COLUMNS)], right_from=len(dims))
    for row in worst_gap_first(rows):
        gap = row.get("gap_pts")
        style = "red" if gap is not None and gap < 0 else None
        cells = [plain(row[d]) for d in dims] + [fmt_cell(n, row.get(n)) for n, _ in GAP_COLUMNS]
        table.add_row(*cells, style=style)
    return table


def knockup_table(rows: Rows, title: str) -> Table:
    table = _table(title, ["polling district", "ward", "elector", "age band", "likelihood"], 4)
    for row in rows:
        table.add_row(plain(row["polling_district"]), plain(row["ward"]), plain(row["elector_id"]),
                      row["age_band"], fmt_cell("likelihood", row["likelihood"]))  # fmt: skip
    return table


def timeline_table(rows: Rows, title: str) -> Table:
    table = _table(title, ["ward", "until", "voted", "supp voted", "opp voted"], 2)
    table.columns[1].justify = "left"
    for row in rows:
        table.add_row(plain(row["ward"]), fmt_time(row["bucket_end"], with_date=True),
                      *(fmt_cell(n, row[n]) for n in ("voted", "supporters_voted",
                                                       "opponents_voted")))  # fmt: skip
    return table


def coverage_table(rows: Rows, title: str) -> Table:
    """Wards down, age bands across: the share of each cell's register that was contacted."""
    bands = [b for b in AGE_BANDS if any(r["age_band"] == b for r in rows)]
    by_cell = {(r["ward"], r["age_band"]): r for r in rows}
    table = _table(title, ["ward", *bands, "all"])
    for ward in sorted({r["ward"] for r in rows}):
        cells = []
        for band in bands:
            row = by_cell.get((ward, band))
            cells.append(_coverage_cell(row["coverage"]) if row else Text(""))
        ward_rows = [r for r in rows if r["ward"] == ward]
        electorate = sum(r["electorate"] for r in ward_rows)
        contacted = sum(r["electorate_contacted"] for r in ward_rows)
        cells.append(_coverage_cell(contacted / electorate if electorate else None))
        table.add_row(plain(ward), *cells)
    table.caption = "share of registered electors contacted at least once"
    return table


def _coverage_cell(share: float | None) -> Text:
    return Text(
        fmt_cell("coverage", share), style="red" if share is not None and share < 0.1 else ""
    )


HOUR_COUNTS = ("attempts", "contacts", "contact_rate", "canvassers")
SESSION_COUNTS = ("volunteers", "attempts", "contacts", "contact_rate")


def activity_table(rows: Rows, title: str) -> Table:
    if rows and "hour" in rows[0]:
        table = _table(title, ["hour", "attempts", "contacts", "contact rate", "canvassers"])
        for row in rows:
            counts = [fmt_cell(n, row[n]) for n in HOUR_COUNTS]
            table.add_row(fmt_time(row["hour"], with_date=True), *counts)
        return table
    names = ["session", "ward", "kind", "started", *(n.replace("_", " ") for n in SESSION_COUNTS)]
    table = _table(title, names, right_from=4)
    for row in rows:
        session = [
            plain(row["session_id"] or "(none)"),
            plain(row["ward"] or "–"),
            row["kind"] or "–",
        ]
        counts = [fmt_cell(n, row[n]) for n in SESSION_COUNTS]
        table.add_row(*session, fmt_time(row["started_at"], with_date=True), *counts)
    return table


EFFECT_COLUMNS = (
    ("contacts_per_1000", "contacts/1k"), ("campaign_day_sessions", "camp. days"),
    ("campaign_day_volunteers", "volunteers"), ("supporter_turnout", "supp t/o"),
    ("gap_pts", "gap pts"), ("our_vote_share", "our share"),
)  # fmt: skip


def effect_table(rows: Rows, title: str, summary: dict[str, Any] | None = None) -> Table:
    """Wards by campaign intensity, most campaigned first, with the gap beside it."""
    table = _table(title, ["ward", *(label for _, label in EFFECT_COLUMNS)])
    ordered = sorted(rows, key=lambda r: (-(r["contacts_per_1000"] or 0.0), r["ward"]))
    for row in ordered:
        table.add_row(plain(row["ward"]), *(fmt_cell(n, row[n]) for n, _ in EFFECT_COLUMNS))
    if summary:
        table.caption = "\n".join(
            f"{label}: {group['wards']} wards, supporter turnout "
            f"{fmt_cell('supporter_turnout', group['supporter_turnout'])}, gap "
            f"{fmt_cell('gap_pts', group['gap_pts'])}"
            for label, group in (("with campaign days", summary["with_campaign_days"]),
                                 ("without", summary["without_campaign_days"]))
        )  # fmt: skip
    return table


def sql_table(rows: Rows, title: str, columns: Sequence[str] = ()) -> Table:
    names = list(columns) or (list(rows[0]) if rows else [])
    table = _table(title, names, right_from=len(names))
    for row in rows:
        table.add_row(*(Text("NULL") if row[n] is None else plain(_plain(row[n])) for n in names))
    return table


def _plain(value: Any) -> str:
    return json.dumps(value) if isinstance(value, dict | list) else str(value)


def to_json(rows: Rows) -> str:
    return json.dumps(list(rows), indent=2)


def to_csv(rows: Rows) -> str:
    if not rows:
        return ""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: _plain(v) if isinstance(v, dict | list) else v for k, v in r.items()}
                     for r in rows)  # fmt: skip
    return out.getvalue()


def emit(console: Console, rows: Rows, fmt: str, table: Callable[[], RenderableType]) -> None:
    """Print rows as `fmt`: json and csv exactly as the API gave them, or the rich table."""
    if fmt == "json":
        console.file.write(to_json(rows) + "\n")
    elif fmt == "csv":
        console.file.write(to_csv(rows))
    else:
        console.print(table())
