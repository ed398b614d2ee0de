"""Sending a simulated election live: what comes before the paced part is sent at once, the
rest in batches paced by `occurred_at`; and the NDJSON and truth files.

Watching a polling day live is what a new user tries first (`turnout simulate --speed 600`,
`turnout demo`); four weeks of canvassing paced at the same speed would keep them waiting an
hour for the first vote. So the events before a chosen instant on polling day (midnight, or
`--start HH:MM`) go out at once, and only the rest is paced.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime, tzinfo
from datetime import time as time_of_day
from pathlib import Path
from typing import Any

from streams.errors import ConfigError
from streams.sim.election import Simulation
from streams.sim.truth import parse_instant

_HH_MM = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")


def parse_start(text: str) -> time_of_day:
    """`--start HH:MM` (24-hour, the election's local time) as a time of day."""
    match = _HH_MM.fullmatch(text.strip())
    if match is None:
        raise ConfigError(
            f"--start: {text!r} is not a time of day; give HH:MM on the 24-hour clock in the "
            "election's local time, e.g. 07:00 or 18:30"
        )
    return time_of_day(int(match[1]), int(match[2]))


def pacing_starts(polling_date: date, zone: tzinfo, start: time_of_day | None = None) -> datetime:
    """The instant the paced part begins: `start` on polling day in the election's local time
    (`zone`), or polling day's midnight."""
    return datetime.combine(polling_date, start or time_of_day(0), tzinfo=zone)


def _instant_seconds(item: Any) -> float | None:
    instant = parse_instant(item.get("occurred_at")) if type(item) is dict else None
    return None if instant is None else instant.timestamp()


def clocks(events: Sequence[Any]) -> list[float | None]:
    """The simulated clock (epoch seconds) once each event is sent; None before any stamp.

    The clock is the latest `occurred_at` so far that the next stamped event does not
    contradict. Events sent late (phones offline for hours) never move it back; a lone stamp
    ahead of the stream (a resent duplicate whose time was altered) does not jump it forward,
    because the event after it is earlier. A real gap (the night before polling day) moves it,
    because the events after the gap are later still.
    """
    stamps = [_instant_seconds(item) for item in events]
    following: list[float | None] = [None] * len(stamps)
    upcoming: float | None = None
    for i in range(len(stamps) - 1, -1, -1):
        following[i] = upcoming
        upcoming = stamps[i] if stamps[i] is not None else upcoming
    out: list[float | None] = []
    clock: float | None = None
    for at, after in zip(stamps, following, strict=True):
        if at is not None and (after is None or after >= at):
            clock = at if clock is None else max(clock, at)
        out.append(clock)
    return out


def split_at(events: list[Any], at: datetime) -> tuple[list[Any], list[Any]]:
    """The events sent before the clock (`clocks`) reaches `at`, and the rest, to pace."""
    limit = at.timestamp()
    for i, clock in enumerate(clocks(events)):
        if clock is not None and clock >= limit:
            return events[:i], events[i:]
    return events, []


def clock_span(events: Sequence[Any]) -> float:
    """Seconds of simulated clock the events cover (1.0 if they cover none): what pacing
    them takes at speed 1."""
    stamps = [c for c in clocks(events) if c is not None]
    return max(stamps[-1] - stamps[0], 1.0) if stamps else 1.0


def _windows(ticks: list[float | None], max_batch: int, span: float) -> Iterator[tuple[int, int]]:
    """[lo, hi) index ranges of at most `max_batch` events whose clocks span at most `span`."""
    lo, end = 0, math.inf
    for i, clock in enumerate(ticks):
        if i > lo and (i - lo >= max_batch or (clock is not None and clock > end)):
            yield lo, i
            lo = i
        if i == lo:
            end = math.inf if clock is None else clock + span
    if lo < len(ticks):
        yield lo, len(ticks)


def paced_timed(
    events: list[Any],
    speed: float,
    *,
    max_batch: int = 1000,
    tick: float = 0.25,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> Iterator[tuple[float | None, list[Any]]]:
    """(clock, batch) pairs of `events`, sleeping so that `speed` seconds of simulated clock
    pass per second (600: polling day's 15 hours in 90 s); 0 sends as fast as possible in
    chunks of `max_batch`. `clock` is the simulated clock once the batch is sent (`clocks`).

    A batch spans at most `tick` seconds of wall time and `max_batch` events; events that
    happened before the clock (sent late) go out at once with the batch they are in.
    """
    if speed < 0:
        raise ConfigError("speed: must be >= 0 (0 = as fast as possible)")
    ticks = clocks(events)
    first = next((c for c in ticks if c is not None), None)
    wall0 = monotonic()
    for lo, hi in _windows(ticks, max_batch, tick * speed if speed else math.inf):
        clock = ticks[hi - 1]
        if speed and first is not None and clock is not None:
            sleep(max(0.0, wall0 + (clock - first) / speed - monotonic()))
        yield clock, events[lo:hi]


def paced(
    events: list[Any], speed: float, *, max_batch: int = 1000, tick: float = 0.25
) -> Iterator[list[Any]]:
    """The batches of `paced_timed`, without their clocks."""
    for _, batch in paced_timed(events, speed, max_batch=max_batch, tick=tick):
        yield batch


def write_ndjson(events: Iterable[Any], path: str | Path) -> int:
    """Write events one JSON value per line; returns how many."""
    n = 0
    with Path(path).open("w", encoding="utf-8") as out:
        for item in events:
            out.write(json.dumps(item, separators=(",", ":"), ensure_ascii=False) + "\n")
            n += 1
    return n


def write_truth(sim: Simulation, path: str | Path) -> None:
    """Write the ground truth as {"election_id", "our_party", "rows"}."""
    body = {
        "election_id": sim.config.election_id,
        "our_party": sim.config.our_party,
        "rows": sim.truth,
    }
    Path(path).write_text(json.dumps(body, indent=1) + "\n", encoding="utf-8")
