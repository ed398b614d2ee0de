"""`turnout watch`: a live terminal dashboard of the turnout gap, refreshed every second.

Per ward: supporter and opponent turnout, the gap with a small bar, knock-up remaining; the
election total; the active alerts (GET /alerts: projected gap negative, knock-up stalled, the
pipeline behind); and how fresh the numbers are (from /v1/health), red when the pipeline falls
behind. A frame is a pure function of a `Snapshot`, so `render_text` draws one to a string
(tests, `turnout demo`); `watch` polls the API and redraws until Ctrl-C.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from rich import box
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from streams.cli.client import ApiClient, ApiError
from streams.cli.output import fmt_cell, worst_gap_first
from streams.read.queries import COUNTS, total_row

WIDTH, HEIGHT = 80, 24
FRESH_SECONDS = 5.0  # green below this
BEHIND_SECONDS = 10.0  # red from this (yellow in between)
BAR_HALF = 10  # characters each side of zero
BAR_POINTS = 5.0  # gap points per bar character: the bar spans -50..+50
_FIXED_LINES = 6  # title, table header and its rule, total's rule, total, status line
ALERT_LINES = 3  # at most this many alerts are listed (then "… N more")


@dataclass(frozen=True)
class Snapshot:
    """What one frame shows: the ward rows and health, or why they are missing."""

    election_id: str
    rows: list[dict[str, Any]] | None = None
    health: dict[str, Any] | None = None
    problem: str | None = None
    alerts: list[dict[str, Any]] | None = None  # None: the worker could not say
    taken_at: datetime = field(default_factory=lambda: datetime.now(UTC))


def fetch(client: ApiClient, election_id: str) -> Snapshot:
    """One poll of the worker: turnout-gap by ward and /v1/health (never raises ApiError)."""
    try:
        health: dict[str, Any] | None = client.health()
    except ApiError:
        health = None
    try:
        rows = client.turnout_gap(election_id, by="ward")["rows"]
    except ApiError as err:
        return Snapshot(election_id, None, health, _problem(err, election_id))
    try:
        alerts: list[dict[str, Any]] | None = client.election(election_id, "alerts")["rows"]
    except ApiError:
        alerts = None
    return Snapshot(election_id, rows, health, alerts=alerts)


def _problem(err: ApiError, election_id: str) -> str:
    if err.status == 404:
        return f"no events for {election_id} yet; waiting…"
    return str(err)


def gap_bar(gap: float | None) -> Text:
    """A bar centred on zero: red to the left when supporters trail, green to the right."""
    if gap is None:
        return Text(" " * BAR_HALF + "┆", style="dim")
    n = min(BAR_HALF, round(abs(gap) / BAR_POINTS))
    bar = Text()
    if gap < 0:
        bar.append(" " * (BAR_HALF - n))
        bar.append("█" * n, style="red")
        bar.append("│")
    else:
        bar.append(" " * BAR_HALF + "│")
        bar.append("█" * n, style="green")
    return bar


def freshness(health: dict[str, Any] | None) -> Text:
    """The indicator: green when fresh, yellow when slipping, red when behind or unknown."""
    if health is None:
        return Text("● worker unreachable", style="bold red")
    if health.get("status") != "ok":
        down = [s for s in ("kafka", "clickhouse") if not health.get(s, {}).get("ok")]
        return Text(f"● degraded: {', '.join(down) or 'unknown'} down", style="bold red")
    seconds = (health.get("freshness") or {}).get("seconds")
    if seconds is None:
        return Text("● freshness unknown", style="bold red")
    if seconds < FRESH_SECONDS:
        return Text("● live", style="bold green")
    style = "bold yellow" if seconds < BEHIND_SECONDS else "bold red"
    return Text(f"● behind {seconds:,.0f}s", style=style)


def _lag(health: dict[str, Any] | None) -> str:
    lag = (health or {}).get("consumer_lag")
    return "lag –" if lag is None else f"lag {sum(lag.values()):,}"


def render(snapshot: Snapshot, height: int = HEIGHT) -> RenderableType:
    """One frame, at most `height` lines and 80 columns."""
    title = Table.grid(expand=True)
    title.add_column()
    title.add_column(justify="right")
    title.add_row(Text(f"Turnout gap · {snapshot.election_id}", style="bold"),
                  freshness(snapshot.health))  # fmt: skip
    status = Text(
        f"{snapshot.taken_at.astimezone():%H:%M:%S} · {_lag(snapshot.health)} · "
        f"{_alert_count(snapshot.alerts)} · Ctrl-C quits",
        style="dim",
    )
    if snapshot.rows is None:
        return Group(title, Text(snapshot.problem or "waiting…", style="yellow"), status)
    alerts = alert_lines(snapshot.alerts)
    table = _ward_table(snapshot.rows, height - _FIXED_LINES - len(alerts))
    return Group(title, table, *alerts, status)


def _alert_count(alerts: list[dict[str, Any]] | None) -> str:
    if alerts is None:
        return "alerts –"
    return f"{len(alerts)} alert{'' if len(alerts) == 1 else 's'}"


def alert_lines(alerts: list[dict[str, Any]] | None) -> list[Text]:
    """One line per active alert (at most ALERT_LINES), pipeline first, in red."""
    ordered = sorted(
        alerts or [], key=lambda a: (a["ward"] is not None, a["rule"], a["ward"] or "")
    )
    shown = ordered if len(ordered) <= ALERT_LINES else ordered[: ALERT_LINES - 1]
    lines = [
        Text(f"▲ {a['summary']}", style="bold red", no_wrap=True, overflow="ellipsis")
        for a in shown
    ]
    if len(shown) < len(ordered):
        lines.append(Text(f"▲ … {len(ordered) - len(shown)} more alerts", style="red"))
    return lines


def _ward_table(rows: list[dict[str, Any]], room: int) -> Table:
    table = Table(box=box.HORIZONTALS, show_edge=False, pad_edge=False, header_style="bold")
    table.add_column("ward", max_width=14, no_wrap=True, overflow="ellipsis")
    for name in ("supp t/o", "opp t/o", "gap pts", "knock-up"):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("gap (−50 … +50)", no_wrap=True)
    ordered = worst_gap_first(rows)
    shown = ordered if len(ordered) <= room else ordered[: max(room - 1, 0)]
    for row in shown:
        table.add_row(Text(str(row["ward"])), *_cells(row), gap_bar(row["gap_pts"]))
    if len(shown) < len(ordered):
        more = len(ordered) - len(shown)
        table.add_row(Text(f"… {more} more", style="dim"), "", "", "", "", "")
    total = total_row([{name: row[name] for name in COUNTS} for row in rows])
    table.add_section()
    table.add_row(Text("election", style="bold"), *_cells(total), gap_bar(total["gap_pts"]),
                  style="bold")  # fmt: skip
    return table


def _cells(row: dict[str, Any]) -> list[Text]:
    gap = row["gap_pts"]
    return [
        Text(fmt_cell("supporter_turnout", row["supporter_turnout"])),
        Text(fmt_cell("opponent_turnout", row["opponent_turnout"])),
        Text(fmt_cell("gap_pts", gap), style="red" if gap is not None and gap < 0 else ""),
        Text(fmt_cell("knockup_remaining", row["knockup_remaining"])),
    ]


def render_text(
    snapshot: Snapshot, width: int = WIDTH, height: int = HEIGHT, color: bool = False
) -> str:
    """One frame as text, e.g. for tests: what an 80x24 terminal would show."""
    console = Console(width=width, height=height, record=True, file=io.StringIO(),
                      color_system="truecolor" if color else None)  # fmt: skip
    console.print(render(snapshot, height))
    return console.export_text(styles=color)


def watch(client: ApiClient, election_id: str, console: Console, interval: float = 1.0) -> None:
    """Poll and redraw every `interval` seconds until Ctrl-C; leaves the terminal clean."""
    height = min(console.size.height, 60) if console.is_terminal else HEIGHT
    with Live(console=console, auto_refresh=False, screen=console.is_terminal) as live:
        try:
            while True:
                started = time.monotonic()
                live.update(render(fetch(client, election_id), height), refresh=True)
                time.sleep(max(0.0, interval - (time.monotonic() - started)))
        except KeyboardInterrupt:
            pass
