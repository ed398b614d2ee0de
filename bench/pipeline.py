"""End-to-end pipeline benchmark: HTTP accepted -> Kafka -> Faust agent -> ClickHouse -> visible.

In one run against a real local broker and a worker with embedded chDB (fresh, under a
temporary TURNOUT_HOME, on free loopback ports), it prints:
  1. sustained events/s end to end: a simulated election of >= 1,000,000 events posted as fast
     as the API takes them, timed from the first POST to every event being reflected,
  2. freshness at a steady 5,000 events/s: time from a POST being accepted to its probe event
     being counted by turnout-gap (p50/p95/p99),
  3. the baseline, measured in the same run: a plain aiokafka consumer reading and decoding the
     same topic (the ceiling for any Python consumer), and the ratios to it.
Not a test: nothing asserts. `make bench` runs it;  --electors scales the election;
--encryption off measures what sealing personal fields costs (docs/personal-data.md).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.records import plain_consumer
from streams.cli.client import ApiClient
from streams.cli.local import LocalKafka, LocalWorker, create_topics
from streams.settings import EVENTS_TOPIC, Settings
from streams.sim import SimulationConfig, simulate
from tests.conftest import free_port

BATCH = 5000


def post(http: httpx.Client, settings: Settings, token: str, body: bytes) -> dict[str, Any]:
    answer = http.post(
        f"{settings.api}/v1/events", content=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )  # fmt: skip
    answer.raise_for_status()
    return answer.json()  # type: ignore[no-any-return]


def sustained(settings: Settings, token: str, electors: int) -> tuple[int, float, float]:
    """(events, seconds to accept them all, seconds until all were reflected)."""
    print(f"simulating {electors} electors…", flush=True)
    sim = simulate(
        SimulationConfig(seed=3, electors=electors, wards=40, election_id="bench-sustained")
    )
    bodies = [
        msgspec.json.encode(sim.events[i : i + BATCH]) for i in range(0, len(sim.events), BATCH)
    ]
    print(f"posting {len(sim.events)} events in {len(bodies)} requests…", flush=True)
    http = httpx.Client(timeout=120)
    started = time.perf_counter()
    for body in bodies:
        post(http, settings, token, body)
    accepted = time.perf_counter() - started
    ApiClient(settings, token=token).wait_caught_up(timeout=3600)
    visible = time.perf_counter() - started
    return len(sim.events), accepted, visible


def freshness(settings: Settings, token: str, rate: int, seconds: int) -> list[float]:
    """Latencies (s) from a request accepted to its probe being counted, at `rate` events/s."""
    sim = simulate(SimulationConfig(seed=4, electors=rate * seconds // 3 + 1000, wards=20,
                                    election_id="bench-steady", noise=False))  # fmt: skip
    per_tick, tick = rate // 10, 0.1
    accepted_at: dict[int, float] = {}
    seen_at: dict[int, float] = {}
    client = ApiClient(settings, token=token, timeout=30)
    stop = threading.Event()

    def probe() -> None:
        while not stop.is_set():
            try:
                rows = client.turnout_gap("bench-probe", by="ward")["rows"]
            except Exception:
                rows = []
            count = rows[0]["electorate"] if rows else 0
            now = time.perf_counter()
            for k in range(1, count + 1):
                seen_at.setdefault(k, now)
            time.sleep(0.02)

    watcher = threading.Thread(target=probe, daemon=True)
    watcher.start()
    http = httpx.Client(timeout=60)
    ticks = min(seconds * 10, len(sim.events) // per_tick)
    next_at = time.perf_counter()
    for k in range(1, ticks + 1):
        chunk = sim.events[(k - 1) * per_tick : k * per_tick]
        marker = {"event_id": f"probe-{k}", "type": "elector.registered", "schema_version": 1,
                  "election_id": "bench-probe", "occurred_at": "2026-05-07T09:00:00+01:00",
                  "elector_id": f"probe-{k}", "ward": "P", "polling_district": "P1",
                  "age_band": "unknown"}  # fmt: skip
        post(http, settings, token, msgspec.json.encode([*chunk, marker]))
        accepted_at[k] = time.perf_counter()
        next_at += tick
        time.sleep(max(0.0, next_at - time.perf_counter()))
    deadline = time.perf_counter() + 120
    while len(seen_at) < ticks and time.perf_counter() < deadline:
        time.sleep(0.05)
    stop.set()
    return [seen_at[k] - accepted_at[k] for k in accepted_at if k in seen_at]


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--electors", type=int, default=300_000, help="300k electors ~ 1M events")
    parser.add_argument("--rate", type=int, default=5000)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument(
        "--encryption", choices=("on", "off"), default="on",
        help="seal personal fields (TURNOUT_ENCRYPTION); off: to measure their cost",
    )  # fmt: skip
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="turnout-bench-"))
    token = "bench-token-0123456789"
    settings = Settings(home=home, kafka_port=free_port(pair=True),
                        api=f"http://127.0.0.1:{free_port()}", tokens=f"bench:{token}",
                        encryption=args.encryption == "on")  # fmt: skip
    kafka, worker = LocalKafka(settings), LocalWorker(settings)
    kafka.start()
    create_topics(settings)
    worker.start()
    try:
        n, accepted, visible = sustained(settings, token, args.electors)
        lat = freshness(settings, token, args.rate, args.seconds)
        ceiling = asyncio.run(plain_consumer(settings.bootstrap_servers, EVENTS_TOPIC, n))
    finally:
        worker.stop()
        kafka.stop()
    e2e = n / visible
    print(f"\nevents: {n}; 2 cores; local Kafka, embedded chDB; encryption {args.encryption}")
    print(f"{'measure':<58} {'value':>12} {'vs ceiling':>10}")
    for name, rate in (
        ("HTTP ingest, accepted (events/s)", n / accepted),
        ("end to end, accepted -> visible in turnout-gap (events/s)", e2e),
        ("plain aiokafka getmany + decode, same topic (events/s)", ceiling),
    ):
        print(f"{name:<58} {rate:>12,.0f} {rate / ceiling:>9.2f}x")
    if lat:
        print(f"freshness at {args.rate} events/s over {args.seconds}s ({len(lat)} probes): "
              f"p50 {pct(lat, 50) * 1000:.0f} ms, p95 {pct(lat, 95) * 1000:.0f} ms, "
              f"p99 {pct(lat, 99) * 1000:.0f} ms, max {max(lat) * 1000:.0f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
