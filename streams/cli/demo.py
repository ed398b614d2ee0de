"""`turnout demo`: a council's polling day through the real pipeline, compared to its truth,
then the projection and the priorities as the committee room saw them that afternoon."""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Callable
from datetime import date, datetime
from datetime import time as time_of_day
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from streams.cli import watch
from streams.cli.client import ApiClient
from streams.cli.output import fmt_cell, fmt_time, plain
from streams.cli.projection import interval
from streams.cli.sender import post_batches
from streams.settings import Settings
from streams.sim import ZONE, SimulationConfig, clock_span, paced, pacing_starts, simulate, split_at

Step = Callable[[argparse.Namespace | None], None]
PROJECTED_AT = time_of_day(16, 0)  # mid-afternoon: six hours of polling still to come
TOP_PRIORITIES = 5
COMPARED = ("electorate", "supporters", "opponents", "voted", "supporters_voted",
            "opponents_voted", "gap_pts")  # fmt: skip


def run_demo(settings: Settings, console: Console, electors: int, wards: int, seconds: float,
             up: Step, down: Step) -> None:  # fmt: skip
    up(None)
    try:
        _demo(settings, console, electors, wards, seconds)
    finally:
        down(None)


def _demo(settings: Settings, console: Console, electors: int, wards: int, seconds: float) -> None:
    config = SimulationConfig(electors=electors, wards=wards)
    with console.status(f"simulating {electors} electors in {wards} wards…"):
        sim = simulate(config)
    election_id = config.election_id
    before, polling_day = split_at(sim.events, pacing_starts(config.polling_date, ZONE))
    client = ApiClient(settings)
    console.print(f"sending {len(before)} events from the weeks before polling day…")
    summary = post_batches(client, [before], len(before), console)
    speed = max(clock_span(polling_day) / seconds, 1.0)
    console.print(f"polling day: {len(polling_day)} events, {speed:.0f}x real time")
    sender = threading.Thread(
        target=post_batches, args=(client, paced(polling_day, speed), len(polling_day)),
        kwargs={"summary": summary}, daemon=True,
    )  # fmt: skip
    sender.start()
    with Live(console=console, refresh_per_second=2) as live:
        while sender.is_alive():
            live.update(_live_view(client, election_id))
            time.sleep(1)
        client.wait_caught_up(timeout=300)
        live.update(_live_view(client, election_id))
    console.print()  # the live frame's status line ends without a newline
    summary.print(console)
    rows = client.turnout_gap(election_id, by="ward,age_band")["rows"]
    console.print(comparison(rows, sim.truth))
    for table in forecast_tables(client, election_id, config.polling_date):
        console.print(table)


def forecast_tables(client: ApiClient, election_id: str, day: date) -> list[Table | Text]:
    """The projection by ward (now vs projected, the gap with its 80% interval) and the top
    priorities with their reasons, as the API answered them at PROJECTED_AT on polling day
    (compact: they fit 80 columns)."""
    as_of = datetime.combine(day, PROJECTED_AT, tzinfo=ZONE).isoformat()
    projection = client.election(election_id, "projection", by="ward", as_of=as_of)
    priorities = client.election(election_id, "priorities", as_of=as_of)
    when = fmt_time(projection["as_of"])
    lines = Text(f"Where to send volunteers at {when} (top {TOP_PRIORITIES}):\n", style="bold")
    for row in priorities["rows"][:TOP_PRIORITIES]:
        lines.append(f"{row['rank']}. {row['polling_district']} ({row['ward']}): ", style="bold")
        lines.append(f"{row['reason']}\n", style="")
    return [projection_summary(projection, f"Projected end of polling day, as seen at {when}"),
            lines]  # fmt: skip


def projection_summary(answer: dict[str, Any], title: str) -> Table:
    """Per ward, worst projected gap first, and the election: turnout and gap now and
    projected for the close (80% intervals); red where the gap is projected negative."""
    table = Table(title=title, header_style="bold")
    for name in ("ward", "turnout", "projected (80%)", "gap", "projected gap (80%)"):
        table.add_column(name, justify="left" if name == "ward" else "right", no_wrap=True)
    ordered = sorted(answer["rows"], key=lambda r: (r["projected_gap_pts"] is None,
                                                    r["projected_gap_pts"] or 0.0))  # fmt: skip
    for row in [*ordered, answer["total"]]:
        gap = row["projected_gap_pts"]
        table.add_row(
            plain(row.get("ward", "election")), fmt_cell("turnout", row["turnout"]),
            interval(row, "turnout"), fmt_cell("gap_pts", row["gap_pts"]), interval(row, "gap_pts"),
            style="red" if gap is not None and gap < 0 else None,
        )  # fmt: skip
    table.caption = f"{100 * answer['prior_share']:.0f}% of a usual day's votes cast by then"
    return table


def _live_view(client: ApiClient, election_id: str) -> Any:
    """The `turnout watch` frame (streams/watch.py)."""
    return watch.render(watch.fetch(client, election_id))


def comparison(rows: list[dict[str, Any]], truth: list[dict[str, Any]]) -> Table:
    """The pipeline's rows beside the simulator's ground truth, cell by cell."""
    expected = {(t["ward"], t["age_band"]): t for t in truth}
    got = {(r["ward"], r["age_band"]): r for r in rows}
    table = Table(title="Final turnout gap: pipeline vs simulator ground truth")
    for name in ("ward", "age band", "gap pts", "truth", "supp voted", "truth", "match"):
        table.add_column(name, justify="left" if name in ("ward", "age band") else "right")
    matched = 0
    for key in sorted(set(expected) | set(got)):
        row, want = got.get(key, {}), expected.get(key, {})
        same = all(_same(row.get(n), want.get(n)) for n in COMPARED) and bool(row)
        matched += same
        table.add_row(
            Text(str(key[0])), key[1], fmt_cell("gap_pts", row.get("gap_pts")),
            fmt_cell("gap_pts", want.get("gap_pts")), str(row.get("supporters_voted", "–")),
            str(want.get("supporters_voted", "–")), "✓" if same else "✗",
            style=None if same else "red",
        )  # fmt: skip
    table.caption = f"{matched} of {len(set(expected) | set(got))} cells equal the ground truth"
    return table


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) < 1e-9
    return bool(a == b)
