"""Sending a simulated election: batches paced by `occurred_at`, and NDJSON and truth files."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from streams.errors import ConfigError
from streams.sim.election import Simulation
from streams.sim.truth import parse_instant


def _instant_seconds(item: Any) -> float | None:
    instant = parse_instant(item.get("occurred_at")) if type(item) is dict else None
    return None if instant is None else instant.timestamp()


def paced(
    events: list[Any], speed: float, *, max_batch: int = 1000, tick: float = 0.25
) -> Iterator[list[Any]]:
    """Send-batches of `events`, sleeping so that `speed` seconds of `occurred_at` pass per
    second (3600: an hour a second); 0 sends as fast as possible in chunks of `max_batch`.

    The clock is the latest `occurred_at` sent so far, so events that arrive late (offline
    phones) go out at once with the batch they are in. A batch spans at most `tick` seconds
    of wall time and `max_batch` events.
    """
    if speed < 0:
        raise ConfigError("speed: must be >= 0 (0 = as fast as possible)")
    if speed == 0:
        for i in range(0, len(events), max_batch):
            yield events[i : i + max_batch]
        return
    wall0, first, clock = time.monotonic(), None, None
    batch: list[Any] = []
    window_end = math.inf
    for item in events:
        at = _instant_seconds(item)
        now = at if clock is None else clock if at is None else max(clock, at)
        if batch and (len(batch) >= max_batch or (now is not None and now > window_end)):
            _sleep_until(wall0, first, clock, speed)
            yield batch
            batch = []
        clock = now
        first = clock if first is None else first
        if not batch:
            window_end = math.inf if clock is None else clock + tick * speed
        batch.append(item)
    if batch:
        _sleep_until(wall0, first, clock, speed)
        yield batch


def _sleep_until(wall0: float, first: float | None, clock: float | None, speed: float) -> None:
    if first is not None and clock is not None:
        time.sleep(max(0.0, wall0 + (clock - first) / speed - time.monotonic()))


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
