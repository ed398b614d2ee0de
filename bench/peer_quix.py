"""A peer a user might pick instead of Turnout: a quix-streams application counting events.

It reads turnout.events from the start (its own consumer group), splits each record's JSON
array into events, re-keys them by election x ward x age band x intention (`group_by`: a
repartition topic, as quix-streams does it) and counts each key in its RocksDB state store,
with the library's default at-least-once guarantee (checkpoints commit state and offsets
together; a changelog topic backs the store). No dedup of event ids, no per-elector order, no
retraction, no "current intention": each event counts once where its own fields put it (a
canvass has no age band, a registration no intention). That is what a simpler tool gives;
the figure is events/s from its first message until every event of the topic was counted.

Run by bench/pipeline.py as a child process, or alone against any broker:

    .venv/bin/python bench/peer_quix.py BOOTSTRAP --expected N [--topic turnout.events]

prints `PEER <events counted> <keys> <seconds first message -> last count> <seconds with the
final commit>`. Needs the `bench` extra (pip install -e '.[bench]').
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from typing import Any

CELL_FIELDS = ("election_id", "ward", "age_band", "intention")


def cell_of(event: dict[str, Any]) -> str:
    return "|".join(str(event.get(name) or "") for name in CELL_FIELDS)


def events_of(value: Any) -> list[dict[str, Any]]:
    """A record's events: ingest writes JSON arrays, a plain producer single objects."""
    items = value if isinstance(value, list) else [value]
    return [item for item in items if isinstance(item, dict)]


def run(bootstrap: str, topic: str, expected: int) -> None:
    from quixstreams import Application, State

    state_dir = tempfile.mkdtemp(prefix="bench-quix-")
    app = Application(
        broker_address=bootstrap, consumer_group=f"bench-quix-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest", processing_guarantee="at-least-once",
        state_dir=state_dir, loglevel="WARNING",
    )  # fmt: skip
    clock = {"first": 0.0, "last": 0.0}
    counted = {"events": 0}
    keys: set[str] = set()

    def split(value: Any) -> list[dict[str, Any]]:
        if not clock["first"]:
            clock["first"] = time.perf_counter()
        return events_of(value)

    def count(event: dict[str, Any], state: State) -> None:
        state.set("n", state.get("n", 0) + 1)
        counted["events"] += 1
        keys.add(cell_of(event))
        if counted["events"] >= expected:
            clock["last"] = time.perf_counter()
            app.stop()

    sdf = app.dataframe(app.topic(topic, value_deserializer="json"))
    sdf = sdf.apply(split, expand=True)
    sdf = sdf.group_by(cell_of, name="cell")
    sdf.update(count, stateful=True)
    try:
        app.run()
        committed = time.perf_counter()
    finally:
        shutil.rmtree(state_dir, ignore_errors=True)
    took = clock["last"] - clock["first"]
    print(f"PEER {counted['events']} {len(keys)} {took:.3f} {committed - clock['first']:.3f}",
          flush=True)  # fmt: skip


@dataclass(frozen=True)
class Peer:
    events: int
    keys: int
    seconds: float  # first message -> last event counted
    committed_s: float  # first message -> the app stopped after its final checkpoint

    @property
    def rate(self) -> float:
        return self.events / self.seconds


def peer(bootstrap: str, topic: str, expected: int, timeout: float = 1800) -> Peer | str:
    """Run the peer as a child process; a Peer, or why it could not run."""
    try:
        import quixstreams  # noqa: F401
    except ImportError as err:
        return f"quixstreams is not installed ({err}); pip install -e '.[bench]'"
    argv = [sys.executable, __file__, bootstrap, "--topic", topic, "--expected", str(expected)]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return f"the quix-streams peer did not count {expected:,} events within {timeout:.0f}s"
    found = re.search(r"^PEER (\d+) (\d+) ([\d.]+) ([\d.]+)$", done.stdout, re.MULTILINE)
    if found is None:
        return f"the quix-streams peer failed:\n{done.stdout[-1500:]}\n{done.stderr[-1500:]}"
    events, keys, seconds, committed = found.groups()
    return Peer(int(events), int(keys), float(seconds), float(committed))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bootstrap")
    parser.add_argument("--topic", default="turnout.events")
    parser.add_argument("--expected", type=int, required=True, help="JSON objects in the topic")
    args = parser.parse_args()
    run(args.bootstrap, args.topic, args.expected)


if __name__ == "__main__":
    main()
