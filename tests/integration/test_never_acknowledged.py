"""A batch that fails is never acknowledged: reads are retried like writes, and what still fails
stops the worker before its records are acked, so a restart projects them. Faust's
`take_events` acks a batch when its generator is closed, after an exception too; these tests
failed (events lost while /v1/health said caught up) before the agent held such batches."""

from __future__ import annotations

import time

import httpx
import pytest

from streams.cli.client import ApiClient
from streams.cli.local import LocalWorker
from streams.settings import Settings
from tests.conftest import TOKENS
from tests.integration.test_failures import (
    RetryingSender,
    election,
    finish,
    kill_worker,
    sink_failures,
)

pytestmark = pytest.mark.integration


def inject(settings: Settings, hook: str, body: dict[str, object]) -> None:
    """Call a test hook of the worker (admin scope)."""
    answer = httpx.post(
        f"{settings.api}/v1/_test/{hook}", json=body, timeout=10,
        headers={"Authorization": f"Bearer {TOKENS['tests']}"},
    )  # fmt: skip
    answer.raise_for_status()


def test_reads_failing_while_partitions_reload_lose_nothing(
    services: Settings, api: ApiClient, election_id: str
):
    kill_worker(services)  # a fresh worker reloads each partition on its first batch
    LocalWorker(services).start()
    before = sink_failures(services)
    inject(services, "sink-read-failures", {"count": 5})
    sim = election(election_id, seed=31)
    sender = RetryingSender(services, sim.events)
    sender.start()
    finish(sender, api, sim, election_id)
    assert sink_failures(services) >= before + 5


def test_a_batch_failing_beyond_retries_stops_the_worker_and_a_restart_projects_it(
    services: Settings, api: ApiClient, election_id: str
):
    worker = LocalWorker(services)
    inject(services, "sink-crashes", {"count": 1})
    sim = election(election_id, seed=32)
    sender = RetryingSender(services, sim.events)
    sender.start()
    deadline = time.monotonic() + 90
    while worker.running():
        assert time.monotonic() < deadline, "the worker went on after a batch failed"
        time.sleep(0.2)
    log = worker.process.log_file.read_text(errors="replace")
    assert "stopping the worker without acknowledging it" in log
    worker.start()
    finish(sender, api, sim, election_id)
