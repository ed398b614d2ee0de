"""Load over HTTP for bench/pipeline.py: a whole election posted as fast as the API takes it,
and a steady rate with probes that time how fresh turnout-gap is."""

from __future__ import annotations

import statistics
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx
import msgspec

from streams.cli.client import ApiClient
from streams.settings import Settings
from streams.sim import SimulationConfig, simulate

BATCH = 5000  # events per POST


RETRIES = 5  # a 503 (Kafka or the worker's key table not answering in time) is retried


def post(http: httpx.Client, settings: Settings, token: str, body: bytes) -> dict[str, Any]:
    """POST a request as a patient app does: a 503 is said and retried (event ids make a
    resend safe), up to RETRIES times."""
    for attempt in range(RETRIES + 1):
        answer = http.post(
            f"{settings.api}/v1/events", content=body,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )  # fmt: skip
        if answer.status_code != 503 or attempt == RETRIES:
            break
        print(f"  503 ({answer.text[:160]}); retrying", flush=True)
        time.sleep(1.0)
    answer.raise_for_status()
    return answer.json()  # type: ignore[no-any-return]


def probe_event(election_id: str, n: int) -> dict[str, Any]:
    """A registration of elector probe-n: turnout-gap's electorate for the election counts it."""
    return {"event_id": f"{election_id}-{n}", "type": "elector.registered", "schema_version": 1,
            "election_id": election_id, "occurred_at": "2026-05-07T09:00:00+01:00",
            "elector_id": f"probe-{n}", "ward": "P", "polling_district": "P1",
            "age_band": "unknown"}  # fmt: skip


def electorate(client: ApiClient, election_id: str) -> int:
    """Electors turnout-gap counts in `election_id` (0 while it knows nothing of it)."""
    try:
        rows = client.turnout_gap(election_id, by="ward")["rows"]
    except Exception:
        return 0
    return sum(int(row["electorate"]) for row in rows)


@dataclass(frozen=True)
class Sustained:
    events: int
    electors: int
    accepted_s: float  # first POST -> last POST answered
    visible_s: float  # first POST -> the worker caught up (every event written and readable)


def sustained(settings: Settings, token: str, electors: int) -> Sustained:
    """A simulated election (noise included) posted in requests of BATCH, back to back."""
    print(f"HTTP: simulating {electors:,} electors…", flush=True)
    sim = simulate(
        SimulationConfig(seed=3, electors=electors, wards=40, election_id="bench-sustained")
    )
    bodies = [
        msgspec.json.encode(sim.events[i : i + BATCH]) for i in range(0, len(sim.events), BATCH)
    ]
    print(f"HTTP: posting {len(sim.events):,} events in {len(bodies)} requests…", flush=True)
    http = httpx.Client(timeout=120)
    started = time.perf_counter()
    for body in bodies:
        post(http, settings, token, body)
    accepted = time.perf_counter() - started
    ApiClient(settings, token=token).wait_caught_up(timeout=3600)
    return Sustained(len(sim.events), electors, accepted, time.perf_counter() - started)


@dataclass(frozen=True)
class Freshness:
    rate: int  # asked, events/s
    achieved: float  # events/s actually posted over the run
    latencies: list[float]  # seconds, POST accepted -> its probe counted by turnout-gap
    probes: int  # probes sent (latencies may hold fewer if some never showed)

    @property
    def sustained(self) -> bool:
        return self.achieved >= 0.95 * self.rate


def freshness(settings: Settings, token: str, rate: int, seconds: int) -> Freshness:
    """Latencies (s) from a request accepted to its probe being counted, at `rate` events/s:
    every 0.1 s one POST of rate/10 events plus a probe registration."""
    print(f"freshness: simulating for {rate:,} events/s over {seconds}s…", flush=True)
    sim = simulate(SimulationConfig(seed=4 + rate, electors=rate * seconds // 3 + 1000, wards=20,
                                    election_id=f"bench-steady-{rate}", noise=False))  # fmt: skip
    per_tick, tick = max(1, rate // 10), 0.1
    probe_election = f"bench-probe-{rate}"
    accepted_at: dict[int, float] = {}
    seen_at: dict[int, float] = {}
    client = ApiClient(settings, token=token, timeout=30)
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            count, now = electorate(client, probe_election), time.perf_counter()
            for k in range(1, count + 1):
                seen_at.setdefault(k, now)
            time.sleep(0.02)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    http = httpx.Client(timeout=60)
    ticks = min(seconds * 10, len(sim.events) // per_tick)
    started = next_at = time.perf_counter()
    for k in range(1, ticks + 1):
        chunk = sim.events[(k - 1) * per_tick : k * per_tick]
        post(http, settings, token, msgspec.json.encode([*chunk, probe_event(probe_election, k)]))
        accepted_at[k] = time.perf_counter()
        next_at += tick
        time.sleep(max(0.0, next_at - time.perf_counter()))
    achieved = ticks * (per_tick + 1) / (time.perf_counter() - started)
    deadline = time.perf_counter() + 120
    while len(seen_at) < ticks and time.perf_counter() < deadline:
        time.sleep(0.05)
    stop.set()
    watcher.join()
    latencies = [seen_at[k] - accepted_at[k] for k in accepted_at if k in seen_at]
    return Freshness(rate, achieved, latencies, ticks)


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]
