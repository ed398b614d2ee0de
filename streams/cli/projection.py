"""`turnout projection` and `turnout priorities`: the projected end of polling day, and where
the next volunteers win the most votes (clients of the HTTP API, like the other queries)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from streams.cli.output import DIMENSIONS, FORMATS, Rows, emit, fmt_cell, fmt_time, plain
from streams.read.queries import BY_CHOICES
from streams.settings import Settings


def add_projection_commands(sub: Any, settings: Callable[[], Settings], console: Console) -> None:
    """Register `turnout projection` and `turnout priorities` on the CLI's subparsers."""

    def command(name: str, doc: str, fn: Callable[[argparse.Namespace], None]) -> Any:
        parser = sub.add_parser(name, help=doc, description=doc)
        parser.add_argument("--election", required=True, help="election id (slug)")
        parser.add_argument("--as-of", dest="as_of", help="RFC 3339 instant (default: now)")
        parser.add_argument("--format", choices=FORMATS, default="table")
        parser.set_defaults(fn=fn)
        return parser

    projection = command(
        "projection", "projected end-of-day turnout and gap, with 80% intervals",
        lambda args: show_projection(args, settings(), console),
    )  # fmt: skip
    projection.add_argument("--by", choices=BY_CHOICES, default="ward")
    priorities = command(
        "priorities", "polling districts where a volunteer-hour wins the most votes now",
        lambda args: show_priorities(args, settings(), console),
    )  # fmt: skip
    priorities.add_argument("--ward", help="only this ward's districts")


def _query(settings: Settings, args: argparse.Namespace, endpoint: str, **params: Any) -> Any:
    from streams.cli.client import ApiClient

    return ApiClient(settings).election(args.election, endpoint, **params)


def show_projection(args: argparse.Namespace, settings: Settings, console: Console) -> None:
    answer = _query(settings, args, "projection", by=args.by, as_of=args.as_of)
    title = f"Projected end of polling day — {args.election} at {fmt_time(answer['as_of'])}"
    emit(console, answer["rows"], args.format, lambda: projection_table(answer, title))


def show_priorities(args: argparse.Namespace, settings: Settings, console: Console) -> None:
    answer = _query(settings, args, "priorities", as_of=args.as_of, ward=args.ward)
    title = f"Where to send volunteers — {args.election} at {fmt_time(answer['as_of'])}"
    emit(console, answer["rows"], args.format, lambda: priorities_table(answer, title))


def interval(row: dict[str, Any], name: str) -> str:
    """A projected value and its 80% interval, e.g. "34.1% (31.0–37.5)"."""
    mid, low, high = (row.get(f"projected_{name}{end}") for end in ("", "_low", "_high"))
    if mid is None or low is None or high is None:
        return "–"
    if name == "gap_pts":
        return f"{mid:+.1f} ({low:+.1f} to {high:+.1f})"
    return f"{100 * mid:.1f}% ({100 * low:.1f}–{100 * high:.1f})"


def projection_table(answer: dict[str, Any], title: str) -> Table:
    """Now beside projected, worst projected gap first; red where the gap ends negative."""
    rows: Rows = answer["rows"]
    dims = [d for d in DIMENSIONS if rows and d in rows[0]]
    names = [*dims, "voted", "turnout now", "projected turnout", "supp now", "projected supp",
             "opp now", "projected opp", "gap now", "projected gap"]  # fmt: skip
    table = Table(title=Text(title), header_style="bold")
    for i, name in enumerate(names):
        table.add_column(name, justify="left" if i < len(dims) else "right")
    ordered = sorted(rows, key=lambda r: (r["projected_gap_pts"] is None,
                                          r["projected_gap_pts"] or 0.0))  # fmt: skip
    for row in [*ordered, answer["total"]]:
        gap = row.get("projected_gap_pts")
        cells = [plain(row.get(d, "all")) for d in dims] + [
            fmt_cell("voted", row["voted"]), fmt_cell("turnout", row["turnout"]),
            interval(row, "turnout"), fmt_cell("supporter_turnout", row["supporter_turnout"]),
            interval(row, "supporter_turnout"),
            fmt_cell("opponent_turnout", row["opponent_turnout"]),
            interval(row, "opponent_turnout"), fmt_cell("gap_pts", row["gap_pts"]),
            interval(row, "gap_pts"),
        ]  # fmt: skip
        table.add_row(*cells, style="red" if gap is not None and gap < 0 else None)
    share = answer["prior_share"]
    table.caption = (
        f"{100 * share:.0f}% of a usual day's in-person votes are cast by now (published "
        "curve); 80% intervals in brackets; docs/projection.md explains the model"
    )
    return table


def priorities_table(answer: dict[str, Any], title: str) -> Table:
    table = Table(title=Text(title), header_style="bold")
    numbers = ("#", "not yet voted", "votes / vol-hour")
    for name in ("#", "district", "ward", "not yet voted", "votes / vol-hour", "why"):
        table.add_column(name, justify="right" if name in numbers else "left")
    for row in answer["rows"]:
        table.add_row(
            str(row["rank"]), plain(row["polling_district"]), plain(row["ward"]),
            fmt_cell("knockup_remaining", row["knockup_remaining"]),
            f"{row['score']:.2f}", Text(row["reason"]),
        )  # fmt: skip
    effect, doors = answer["knock_effect"], answer["doors_per_volunteer_hour"]
    table.caption = (
        f"a door knocked adds ~{100 * effect['extra_votes_per_door']:.1f} votes per 100; "
        f"{doors['value']:.0f} doors per volunteer-hour; {answer['hours_left']:.1f} h to the "
        "close; votes / vol-hour weighs close wards up"
    )
    return table
