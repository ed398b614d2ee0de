"""Fuzz load: push N mixed valid / invalid items through HTTP ingest and see where each went.

Starts a real local broker and a worker with embedded chDB (fresh, under a temporary
TURNOUT_HOME, on free loopback ports: as bench/pipeline.py does), then posts --items items
(default 1,000,000) built fast from a simulated election: each pass over the simulation is a
new election, and about a third of the items are broken in one of a dozen ways (a missing or
unknown field, a wrong type, nested junk, a huge string, an odd or out-of-window timestamp, a
non-object, an unknown type, a lone duplicate); one request in ten is NDJSON with lines that
are not JSON (NaN, Infinity, cut off, nested deeper than any parser reads). It prints what was
sent, accepted, rejected, refused whole, dead-lettered and projected, and items/s.
Not a test: nothing asserts.

    .venv/bin/python bench/fuzz.py [--items 1000000] [--electors 20000]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
from kafka import KafkaConsumer, TopicPartition
from prometheus_client.parser import text_string_to_metric_families

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from streams.cli.client import ApiClient
from streams.cli.local import LocalKafka, LocalWorker, create_topics
from streams.settings import DLQ_TOPIC, Settings
from streams.sim import SimulationConfig, simulate
from tests.conftest import free_port

BATCH = 5000
BREAK_RATE = 0.33
RAW_LINES = (b'{"event_id": NaN}', b"Infinity", b'{"type": "canvass', b"[" * 3000 + b"]" * 3000)

Breaker = Callable[[random.Random, dict[str, Any]], Any]


def _without(rng: random.Random, e: dict[str, Any]) -> Any:
    return {k: v for k, v in e.items() if k != rng.choice(list(e))}


BREAKERS: dict[str, Breaker] = {
    "missing_field": _without,
    "unknown_field": lambda rng, e: e | {"notes": "lovely dog"},
    "wrong_type": lambda rng, e: e | {"schema_version": "1"},
    "nested_junk": lambda rng, e: e | {rng.choice(list(e)): {"a": [1, {"b": [None, 2.5]}]}},
    "huge_string": lambda rng, e: e | {"event_id": "é" * rng.randint(65, 20_000)},
    "clock_reset": lambda rng, e: e | {"occurred_at": "1970-01-01T00:00:00+01:00"},
    "year_typo": lambda rng, e: e | {"occurred_at": "2999-05-07T10:00:00Z"},
    "naive_time": lambda rng, e: e | {"occurred_at": e["occurred_at"][:19]},
    "not_a_time": lambda rng, e: e | {"occurred_at": "07/05/2026 18:31"},
    "unknown_type": lambda rng, e: e | {"type": "canvass.deleted"},
    "not_an_object": lambda rng, e: rng.choice(["garbage", [1, 2, 3], None, 42, 1.5e300]),
    "unicode_junk": lambda rng, e: e | {"ward": "\u202e\U0001f5f3\x00" * rng.randint(1, 30)},
}


def fuzzed(events: list[dict[str, Any]], n: int, seed: int = 1) -> Iterator[Any]:
    """`n` items: the events again and again (each pass a new election), a third broken."""
    rng = random.Random(seed)
    names = list(BREAKERS)
    for i in range(n):
        event = events[i % len(events)]
        if not isinstance(event, dict):  # the simulation's own malformed items
            yield event
            continue
        event = event | {"election_id": f"fuzz-{i // len(events)}"}
        yield BREAKERS[rng.choice(names)](rng, event) if rng.random() < BREAK_RATE else event


def bodies(items: Iterator[Any], rng: random.Random) -> Iterator[tuple[bytes, str, int]]:
    """(body, content type, items in it): JSON arrays, and one NDJSON body in ten."""
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == BATCH:
            yield _body(batch, rng)
            batch = []
    if batch:
        yield _body(batch, rng)


def _body(batch: list[Any], rng: random.Random) -> tuple[bytes, str, int]:
    if rng.random() >= 0.1:
        return msgspec.json.encode(batch), "application/json", len(batch)
    lines = [msgspec.json.encode(item) for item in batch]
    lines += [rng.choice(RAW_LINES) for _ in range(len(batch) // 100)]
    return b"\n".join(lines), "application/x-ndjson", len(lines)


def dead_letters(settings: Settings) -> int:
    """Records in the dead-letter topic (one per rejected item)."""
    consumer = KafkaConsumer(bootstrap_servers=settings.bootstrap_servers)
    try:
        parts = [TopicPartition(DLQ_TOPIC, p) for p in consumer.partitions_for_topic(DLQ_TOPIC)]
        return sum(consumer.end_offsets(parts).values())
    finally:
        consumer.close()


def counter(settings: Settings, name: str) -> int:
    """The sum over labels of a Prometheus counter of the worker's /metrics."""
    text = httpx.get(f"{settings.api}/metrics", timeout=30).text
    return int(sum(s.value for family in text_string_to_metric_families(text)
                   if family.name == name for s in family.samples
                   if s.name.endswith("_total")))  # fmt: skip


def push(settings: Settings, token: str, n: int, electors: int) -> dict[str, float]:
    print(f"simulating {electors} electors…", flush=True)
    sim = simulate(SimulationConfig(seed=9, electors=electors, wards=20, election_id="fuzz"))
    print(f"posting {n} fuzzed items built from {len(sim.events)} events…", flush=True)
    http = httpx.Client(timeout=120)
    headers = {"Authorization": f"Bearer {token}"}
    counts: Counter[str] = Counter()
    started = time.perf_counter()
    for body, content_type, size in bodies(fuzzed(sim.events, n), random.Random(2)):
        answer = http.post(f"{settings.api}/v1/events", content=body,
                           headers=headers | {"Content-Type": content_type})  # fmt: skip
        counts["sent"] += size
        if answer.status_code != 200:
            counts[f"refused whole ({answer.status_code})"] += size
            continue
        result = answer.json()
        counts["accepted"] += result["accepted"]
        counts["rejected"] += len(result["rejected"])
    posted = time.perf_counter() - started
    ApiClient(settings, token=token).wait_caught_up(timeout=3600)
    done = time.perf_counter() - started
    return {**counts, "http_seconds": posted, "caught_up_seconds": done}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--electors", type=int, default=20_000, help="size of the base election")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="turnout-fuzz-"))
    token = "fuzz-bench-token-0123456789"
    settings = Settings(home=home, kafka_port=free_port(pair=True),
                        api=f"http://127.0.0.1:{free_port()}", tokens=f"bench:{token}")  # fmt: skip
    kafka, worker = LocalKafka(settings), LocalWorker(settings)
    kafka.start()
    create_topics(settings)
    worker.start()
    try:
        result = push(settings, token, args.items, args.electors)
        result["dead-lettered"] = dead_letters(settings)
        result["projected"] = counter(settings, "turnout_events_processed")
        result["duplicates ignored"] = counter(settings, "turnout_events_duplicate")
    finally:
        worker.stop()
        kafka.stop()
    print("\nfuzzed items through HTTP ingest; 2 cores; local Kafka, embedded chDB")
    for name in ("sent", "accepted", "rejected", *sorted(k for k in result if "refused" in k),
                 "dead-lettered", "projected", "duplicates ignored"):  # fmt: skip
        print(f"{name:<28} {int(result.get(name, 0)):>12,}")
    print(f"{'HTTP ingest (items/s)':<28} {result['sent'] / result['http_seconds']:>12,.0f}")
    print(f"{'end to end (items/s)':<28} {result['sent'] / result['caught_up_seconds']:>12,.0f}"
          f"   (until the worker caught up: {result['caught_up_seconds']:.1f} s)")  # fmt: skip


if __name__ == "__main__":
    main()
