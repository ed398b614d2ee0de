"""Nothing lost, nothing counted twice: SIGKILLed worker, broker restart, ClickHouse failing,
and replay from the log. These tests break the session's services and restore them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any

import httpx
import pytest
from kafka import KafkaAdminClient, KafkaProducer

from streams.cli.client import ApiClient, ApiError
from streams.cli.local import LocalKafka, LocalWorker
from streams.kafka_config import kafka_python_kwargs
from streams.settings import CONSUMER_GROUP, EVENTS_TOPIC, Settings
from streams.sim import Simulation, SimulationConfig, simulate
from tests.conftest import TOKENS
from tests.integration.dlq import DeadLetters
from tests.integration.helpers import assert_rows_equal_truth, settled

pytestmark = pytest.mark.integration


class RetryingSender(threading.Thread):
    """Sends batches like a patient app: on any failure (worker down, 503) it retries the same
    batch after a pause. Retried batches may duplicate accepted events: rule 1 absorbs them."""

    def __init__(self, settings: Settings, events: list[Any], batch: int = 400,
                 pause: float = 0.05) -> None:  # fmt: skip
        super().__init__(daemon=True)
        self.client = ApiClient(settings, timeout=20)
        self.batches = [events[i : i + batch] for i in range(0, len(events), batch)]
        self.pause = pause
        self.sent = 0
        self.failures: list[str] = []

    def run(self) -> None:
        for chunk in self.batches:
            while True:
                try:
                    self.client.post_events(chunk)
                    break
                except ApiError as err:
                    self.failures.append(str(err)[:80])
                    time.sleep(0.3)
            self.sent += 1
            time.sleep(self.pause)

    def wait_for(self, fraction: float, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while self.sent < fraction * len(self.batches):
            assert time.monotonic() < deadline, "sender stalled"
            assert self.is_alive(), "sender died"
            time.sleep(0.05)


def election(election_id: str, seed: int, electors: int = 3000) -> Simulation:
    return simulate(SimulationConfig(seed=seed, electors=electors, wards=4,
                                     election_id=election_id))  # fmt: skip


def kill_worker(settings: Settings) -> None:
    worker = LocalWorker(settings)
    pid = worker.process.pid()
    assert pid is not None, "the session worker is not running"
    os.killpg(pid, signal.SIGKILL)
    while worker.process.pid() is not None:
        time.sleep(0.05)


def finish(sender: RetryingSender, api: ApiClient, sim: Simulation, election_id: str) -> None:
    sender.join(timeout=300)
    assert not sender.is_alive()
    rows = settled(api, election_id, timeout=180, by="ward,age_band")
    assert_rows_equal_truth(rows, sim.truth)


def test_worker_killed_with_sigkill_three_times_ends_at_ground_truth(
    services: Settings, api: ApiClient, election_id: str
):
    sim = election(election_id, seed=21)
    sender = RetryingSender(services, sim.events)
    sender.start()
    for fraction in (0.2, 0.5, 0.8):
        sender.wait_for(fraction)
        kill_worker(services)
        time.sleep(0.5)  # the sender now fails and retries
        LocalWorker(services).start()
    finish(sender, api, sim, election_id)
    assert sender.failures, "the kills should have been felt by the sender"
    # Each restart took the killed worker's place as the same static member
    # (docs/worker-restart.md).
    assert group_members(services) == ["local"]


def group_members(settings: Settings) -> list[str | None]:
    """The static ids (None for a dynamic member) of the workers' consumer group."""
    admin = KafkaAdminClient(**kafka_python_kwargs(settings))
    try:
        group = admin.describe_groups([CONSUMER_GROUP])[CONSUMER_GROUP]
    finally:
        admin.close()
    return [member["group_instance_id"] for member in group["members"]]


def test_broker_stopped_and_restarted_mid_stream_ends_at_ground_truth(
    services: Settings, api: ApiClient, election_id: str
):
    if not services.local_kafka:
        pytest.fail("this test restarts the local broker; run it without TURNOUT_KAFKA")
    sim = election(election_id, seed=22)
    sender = RetryingSender(services, sim.events)
    sender.start()
    sender.wait_for(0.4)
    kafka = LocalKafka(services)
    kafka.stop()
    refused = httpx.post(
        f"{services.api}/v1/events", json=sim.events[:5], timeout=60,
        headers={"Authorization": f"Bearer {TOKENS['tests']}"},
    )  # fmt: skip
    assert refused.status_code == 503 and "retry" in refused.json()["error"]
    time.sleep(2)
    kafka.start()
    finish(sender, api, sim, election_id)
    assert LocalWorker(services).running(), "the worker must survive a broker restart"


def inject_sink_failures(settings: Settings, count: int) -> None:
    answer = httpx.post(
        f"{settings.api}/v1/_test/sink-failures", json={"count": count},
        headers={"Authorization": f"Bearer {TOKENS['tests']}"}, timeout=10,
    )  # fmt: skip
    answer.raise_for_status()


def sink_failures(settings: Settings) -> float:
    text = httpx.get(f"{settings.api}/metrics", timeout=10).text
    for line in text.splitlines():
        if line.startswith("turnout_sink_failures_total "):
            return float(line.split()[1])
    return 0.0


def test_clickhouse_writes_failing_for_a_while_lose_nothing(
    services: Settings, api: ApiClient, election_id: str
):
    sim = election(election_id, seed=23)
    before = sink_failures(services)
    inject_sink_failures(services, 6)
    sender = RetryingSender(services, sim.events)
    sender.start()
    finish(sender, api, sim, election_id)
    assert sink_failures(services) >= before + 6


def test_worker_killed_while_clickhouse_fails_mid_batch_ends_at_ground_truth(
    services: Settings, api: ApiClient, election_id: str
):
    sim = election(election_id, seed=24)
    sender = RetryingSender(services, sim.events)
    sender.start()
    sender.wait_for(0.5)
    inject_sink_failures(services, 1000)  # events and electors land, aggregates do not
    time.sleep(1.5)
    kill_worker(services)
    LocalWorker(services).start()
    finish(sender, api, sim, election_id)


def run_cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **settings.to_env()}
    return subprocess.run([sys.executable, "-m", "streams.cli", *args], env=env,
                          capture_output=True, text=True, timeout=600)  # fmt: skip


def test_replay_rebuilds_exactly_the_live_numbers(
    services: Settings, api: ApiClient, election_id: str
):
    sim = election(election_id, seed=25)
    sender = RetryingSender(services, sim.events, pause=0)
    sender.start()
    finish(sender, api, sim, election_id)

    def live() -> list[dict]:
        return api.turnout_gap(election_id, by="ward,age_band")["rows"]

    before = live()
    as_of_before = api.turnout_gap(election_id, by="ward", as_of="2026-05-07T12:00:00+01:00")

    done = run_cli(services, "replay")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "projections rebuilt" in done.stdout

    assert live() == before
    assert (
        api.turnout_gap(election_id, by="ward", as_of="2026-05-07T12:00:00+01:00") == as_of_before
    )
    assert_rows_equal_truth(live(), sim.truth)


def test_after_a_replay_invalid_records_are_still_dead_lettered(
    services: Settings, api: ApiClient, election_id: str
):
    done = run_cli(services, "replay")
    assert done.returncode == 0, done.stdout + done.stderr
    letters = DeadLetters(services)
    producer = KafkaProducer(bootstrap_servers=services.bootstrap_servers, acks="all")
    producer.send(EVENTS_TOPIC, b"{not json " + election_id.encode(), key=b"x").get(timeout=30)
    producer.close()
    found = letters.since(1, match=lambda x: election_id in x["raw"])
    letters.close()
    assert found and found[0]["errors"][0].startswith("record: not valid JSON")
