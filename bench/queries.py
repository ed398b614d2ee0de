"""Query speed of the read side on a big election. Not a test: nothing here asserts.

Loads one election of 1,000,000 electors and 10,000,000 events (--electors, --events: by
default 10 per elector) into a fresh embedded chDB engine, then times every read endpoint's
query (`streams.read.Reader` and `streams.read.forecast`, the code the worker runs for each
request, minus HTTP): turnout-gap by each `by`, live and as_of, knock-up, timeline at each
bucket, projection, priorities, an elector's export, coverage, activity by session and by
hour, and effect; it prints p50/p95 latency per query.

The data is synthetic but goes through the real fold: each elector's facts (registration,
canvass attempts with intentions and likelihoods, a vote, some removals and retractions) are
folded by `streams.fold.IncrementalState`, and the `facts`, `electors`, `cells`, `deltas` and
`commits` rows are exactly what the sink would write for them (written with
`Sink.write_sync`, in 500,000-row inserts); `events` holds the same events as JSON payloads.
Without --path the engine's folder is temporary; with it, a second run skips the load.

    .venv/bin/python bench/queries.py [--electors 1000000] [--events N] [--runs 20]
                                      [--path DIR] [--optimize] [--only NAME,NAME]
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.engine import migrated_engine
from streams.fold import IncrementalState
from streams.fold.rules import Fact
from streams.read import campaign, forecast
from streams.read import queries as q
from streams.read.reader import Reader
from streams.store import Sink, SinkBatch, cell_row, delta_row, elector_row, fact_row

ELECTION = "2026-05-07-bench"
OUR_PARTY = "LAB"
PARTITIONS = 4
WARDS = 40
DISTRICTS_PER_WARD = 4
AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+", "unknown")
AGE_WEIGHTS = (10, 16, 16, 17, 16, 22, 3)
# An elector's leaning; canvassers hear it (with some noise) when they make contact.
LEANINGS = ("LAB", "CON", "LD", "GRN", "REF", "UNDECIDED", "WONT_SAY", "WONT_VOTE")
LEANING_WEIGHTS = (34, 26, 10, 6, 6, 10, 4, 4)
# Turnout rises with age; our (younger) supporters turn out less: the gap the product shows.
TURNOUT_BY_AGE = {"18-24": 0.22, "25-34": 0.27, "35-44": 0.33, "45-54": 0.4, "55-64": 0.47,
                  "65+": 0.58, "unknown": 0.3}  # fmt: skip
OUTCOMES = ("not_home", "refused", "moved", "inaccessible")
TABLES = ("events", "facts", "electors", "cells", "deltas", "commits")

# Times are microseconds since the epoch, as in streams.fold.Fact.
HOUR = 3_600_000_000
DAY = 24 * HOUR
REGISTER_FROM = int(datetime(2026, 3, 1, tzinfo=UTC).timestamp()) * 1_000_000
CANVASS_FROM = int(datetime(2026, 4, 1, tzinfo=UTC).timestamp()) * 1_000_000
POLLS_OPEN = int(datetime(2026, 5, 7, 6, tzinfo=UTC).timestamp()) * 1_000_000  # 07:00 BST
POLLS_OPEN_FOR = 15 * HOUR


def iso(us: int) -> str:
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)).isoformat()


class Generator:
    """Facts and event payloads for electors, sized so the events add up to the target."""

    def __init__(self, electors: int, events: int, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.electors = electors
        fixed = electors * (1 + 0.4 + 0.01 + 0.002)  # registrations, votes, removals, retractions
        self.mean_attempts = max(0.0, (events - fixed - 1) / electors)
        self.counter = 0

    def elector(self, i: int) -> tuple[str, list[Fact], list[list[Any]]]:
        """(elector_id, facts, [type, at, payload fields] per event)."""
        rng = self.rng
        elector_id = f"x{i:07d}"
        ward_n = i % WARDS
        ward = f"W{ward_n:02d}"
        district = f"{ward}{'ABCD'[(i // WARDS) % DISTRICTS_PER_WARD]}"
        age = rng.choices(AGE_BANDS, AGE_WEIGHTS)[0]
        leaning = rng.choices(LEANINGS, LEANING_WEIGHTS)[0]
        facts: list[Fact] = []
        events: list[list[Any]] = []

        def add(type_: str, at: int, fields: dict[str, Any], **fact: Any) -> str:
            self.counter += 1
            event_id = f"e{self.counter:09d}"
            facts.append(Fact(event_id, type_, at, **fact))
            events.append([event_id, type_, at, fields])
            return event_id

        at = REGISTER_FROM + rng.randrange(20 * DAY)
        add("elector.registered", at, {"ward": ward, "polling_district": district,
            "age_band": age}, ward=ward, district=district, age_band=age)  # fmt: skip
        attempts = int(rng.random() * (2 * self.mean_attempts + 1))  # mean: mean_attempts
        last_canvass = ""
        for _ in range(attempts):
            at = CANVASS_FROM + rng.randrange(36) * DAY + rng.randrange(9, 20) * HOUR
            at += rng.randrange(HOUR)
            session = f"s{ward}-{(at - CANVASS_FROM) // DAY}"
            fields = {"ward": ward, "canvasser_id": f"c{rng.randrange(400)}",
                      "session_id": session}  # fmt: skip
            if rng.random() < 0.3:
                heard = leaning if rng.random() < 0.9 else rng.choice(LEANINGS)
                likelihood = rng.randrange(11) if rng.random() < 0.7 else -1
                fields.update(outcome="contacted", intention=heard)
                if likelihood >= 0:
                    fields["likelihood"] = likelihood
                last_canvass = add("canvass.recorded", at, fields, ward=ward, outcome="contacted",
                                   intention=heard, likelihood=likelihood)  # fmt: skip
            else:
                outcome = rng.choice(OUTCOMES)
                fields["outcome"] = outcome
                last_canvass = add("canvass.recorded", at, fields, ward=ward, outcome=outcome)
        if last_canvass and rng.random() < 0.002:
            add("event.retracted", at + 60_000_000, {"target_event_id": last_canvass,
                "reason": "wrong door"}, target=last_canvass)  # fmt: skip
        if rng.random() < 0.01:
            add("elector.removed", CANVASS_FROM + rng.randrange(30) * DAY, {})
        chance = TURNOUT_BY_AGE[age] * (0.8 if leaning == OUR_PARTY else 1.1)
        if rng.random() < chance:
            postal = rng.random() < 0.2
            at = POLLS_OPEN - rng.randrange(10 * DAY) if postal else POLLS_OPEN
            at += 0 if postal else rng.randrange(POLLS_OPEN_FOR)
            add("turnout.voted", at, {"ward": ward,
                "method": "postal" if postal else "in_person"}, ward=ward)  # fmt: skip
        return elector_id, facts, events


def event_row(elector_id: str, partition: int, offset: int, event: list[Any]) -> list[Any]:
    event_id, type_, at, fields = event
    payload = {"event_id": event_id, "type": type_, "schema_version": 1,
               "election_id": ELECTION, "occurred_at": iso(at)}  # fmt: skip
    if elector_id:
        payload["elector_id"] = elector_id
    payload.update(fields)
    return [ELECTION, event_id, type_, elector_id, at, "bench", partition, offset,
            msgspec.json.encode(payload).decode()]  # fmt: skip


class Loader:
    """Buffers rows per table and writes them as the worker does (`Sink.write_sync`)."""

    def __init__(self, client: Any, chunk: int = 500_000) -> None:
        self.sink = Sink(client)
        self.chunk = chunk
        self.buffers: dict[str, list[list[Any]]] = {t: [] for t in TABLES}
        self.rows = dict.fromkeys(TABLES, 0)

    def add(self, table: str, row: list[Any]) -> None:
        buffer = self.buffers[table]
        buffer.append(row)
        if len(buffer) >= self.chunk:
            self.flush(table)

    def flush(self, table: str | None = None) -> None:
        for name in [table] if table else list(self.buffers):
            rows = self.buffers[name]
            if rows:
                self.sink.write_sync(SinkBatch(**{name: rows}))
                self.rows[name] += len(rows)
                self.buffers[name] = []


def load(client: Any, electors: int, events: int) -> dict[str, int]:
    gen = Generator(electors, events)
    loader = Loader(client)
    version = time.time_ns()
    opened = {"name": "Bench council", "polling_date": "2026-05-07", "our_party": OUR_PARTY,
              "polls_open": "07:00", "polls_close": "22:00",
              "timezone": "Europe/London"}  # fmt: skip
    loader.add("events", event_row("", 0, 0, ["opened", "election.opened", REGISTER_FROM, opened]))
    for partition in range(PARTITIONS):
        state = IncrementalState(partition)
        offset = 0
        for i in range(partition, electors, PARTITIONS):
            elector_id, facts, evs = gen.elector(i)
            first = offset + 1
            for event in evs:
                offset += 1
                loader.add("events", event_row(elector_id, partition, offset, event))
            key = (ELECTION, elector_id)
            state.load(key, facts)  # the real fold: moves into cells/deltas
            for n, fact in enumerate(facts):
                loader.add("facts", fact_row(ELECTION, elector_id, fact, partition, first + n,
                                             version))  # fmt: skip
            row = elector_row(*key, state.state_of(key), state.stored(key), partition, version)
            loader.add("electors", row)
        for (election, cell), n in state.cells.items():
            if n:
                loader.add("cells", cell_row(election, cell, partition, n, version))
        for (election, cell, at), change in state.deltas.items():
            if change:
                loader.add("deltas", delta_row(election, cell, at, partition, change, version))
        loader.add("commits", [partition, version])  # written whole: a worker may restore it
        loader.flush()
        print(f"  partition {partition}: {sum(loader.rows.values()):,} rows so far", flush=True)
    return loader.rows


def timed(fn: Callable[[], Any], runs: int) -> tuple[float, float, int]:
    fn()  # warm-up
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        seconds.append(time.perf_counter() - started)
    rows = len(result[0] if isinstance(result, tuple) else result)
    p95 = statistics.quantiles(seconds, n=20, method="inclusive")[18] if runs > 1 else seconds[0]
    return statistics.median(seconds), p95, rows


def cases(reader: Reader) -> Iterator[tuple[str, Callable[[], Any]]]:
    """The live endpoints: turnout-gap, knock-up, timeline, projection, priorities, export."""
    as_of = datetime(2026, 5, 7, 15, tzinfo=UTC)
    for by in q.BY_CHOICES:
        yield f"turnout-gap by={by}", lambda by=by: reader.turnout_gap(
            ELECTION, q.parse_by(by), None, None)  # fmt: skip
    yield "turnout-gap by=ward,age_band ward=W07", lambda: reader.turnout_gap(
        ELECTION, ("ward", "age_band"), "W07", None)  # fmt: skip
    for by in q.BY_CHOICES:
        yield f"turnout-gap by={by} as_of=16:00", lambda by=by: reader.turnout_gap(
            ELECTION, q.parse_by(by), None, as_of)  # fmt: skip
    yield "knockup limit=1000", lambda: reader.knockup(ELECTION, None, None, 1000)
    yield "knockup ward=W07 limit=1000", lambda: reader.knockup(ELECTION, "W07", None, 1000)
    yield "knockup district=W07A limit=1000", lambda: reader.knockup(
        ELECTION, "W07", "W07A", 1000)  # fmt: skip
    yield "knockup limit=100000", lambda: reader.knockup(ELECTION, None, None, 100_000)
    for bucket in q.BUCKETS:
        yield f"timeline bucket={bucket}", lambda b=bucket: reader.timeline(
            ELECTION, q.parse_bucket(b), None)  # fmt: skip
    yield "timeline bucket=15m ward=W07", lambda: reader.timeline(
        ELECTION, q.parse_bucket("15m"), "W07")  # fmt: skip
    for by in q.BY_CHOICES:
        yield f"projection by={by}", lambda by=by: forecast.project(
            reader, ELECTION, q.parse_by(by), None)["rows"]  # fmt: skip
    yield "projection by=ward as_of=16:00", lambda: forecast.project(
        reader, ELECTION, ("ward",), as_of)["rows"]  # fmt: skip
    yield "priorities", lambda: forecast.rank(reader, ELECTION, None, None)["rows"]
    yield "priorities ward=W07", lambda: forecast.rank(reader, ELECTION, None, "W07")["rows"]
    yield "export (one elector, admin)", lambda: [reader.subject(ELECTION, ["x0000007"])]


def campaign_cases(reader: Reader) -> Iterator[tuple[str, Callable[[], Any]]]:
    """The campaign analytics read the raw event log: heavier, run after polling day."""
    yield "coverage", lambda: reader.coverage(ELECTION, None, None)
    yield "coverage ward=W07 as_of=16:00", lambda: reader.coverage(
        ELECTION, "W07", datetime(2026, 5, 7, 15, tzinfo=UTC))  # fmt: skip
    for by in campaign.ACTIVITY_BY:
        yield f"activity by={by}", lambda by=by: reader.activity(ELECTION, by, None)
    yield "activity by=session ward=W07", lambda: reader.activity(ELECTION, "session", "W07")
    yield "effect", lambda: reader.effect(ELECTION, None)
    yield "effect ward=W07", lambda: reader.effect(ELECTION, "W07")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--electors", type=int, default=1_000_000,
                        help="electors to load (e.g. 50000 for a quick run)")  # fmt: skip
    parser.add_argument("--events", type=int, help="events to load (default: 10 per elector)")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--path", help="chDB folder to keep (default: a temporary one)")
    parser.add_argument(
        "--optimize", action="store_true", help="also time after OPTIMIZE TABLE … FINAL"
    )
    parser.add_argument(
        "--only", help="time only the queries whose name contains one of these (comma-separated)"
    )
    args = parser.parse_args(argv)
    args.events = args.events or 10 * args.electors
    path = Path(args.path) if args.path else Path(tempfile.mkdtemp(prefix="turnout-bench-"))
    try:
        client = migrated_engine(path)
        if not client.query("SELECT count() FROM events").result_rows[0][0]:
            print(f"loading {args.electors:,} electors, ~{args.events:,} events into {path}")
            started = time.perf_counter()
            rows = load(client, args.electors, args.events)
            took = time.perf_counter() - started
            print(f"loaded in {took:.0f}s: " + ", ".join(f"{n:,} {t}" for t, n in rows.items()))
        report(Reader(client), client, args.runs, "as loaded", args.only)
        if args.optimize:
            for table in (*TABLES, "vote_deltas"):  # vote_deltas: the sink's mirror (0006)
                client.command(f"OPTIMIZE TABLE {table} FINAL")
            report(Reader(client), client, args.runs, "after OPTIMIZE FINAL", args.only)
    finally:
        if not args.path:
            shutil.rmtree(path, ignore_errors=True)
    return 0


def report(reader: Reader, client: Any, runs: int, label: str, only: str | None = None) -> None:
    parts = client.query(
        "SELECT table, count() FROM system.parts WHERE active AND database = currentDatabase() "
        "GROUP BY table ORDER BY table").result_rows  # fmt: skip
    print(f"\n{label} ({', '.join(f'{t}: {n} parts' for t, n in parts)}), {runs} runs each")
    print(f"{'query':<44} {'p50 ms':>8} {'p95 ms':>8} {'rows':>8}")
    for name, fn in cases(reader):
        if only and not any(part in name for part in only.split(",")):
            continue
        p50, p95, rows = timed(fn, runs)
        print(f"{name:<44} {1000 * p50:>8.1f} {1000 * p95:>8.1f} {rows:>8,}", flush=True)
    few = min(runs, 5)
    print(f"campaign analytics, {few} runs each")
    for name, fn in campaign_cases(reader):
        if only and not any(part in name for part in only.split(",")):
            continue
        p50, p95, rows = timed(fn, few)
        print(f"{name:<44} {1000 * p50:>8.1f} {1000 * p95:>8.1f} {rows:>8,}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
