"""The ingest process (docs/ingest-process.md): it holds the public port and ingests, the
worker folds and answers the rest; either may die and nothing is lost or counted twice."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from streams.cli.client import ApiClient
from streams.cli.local import LocalWorker, port_open
from streams.settings import Settings
from tests.conftest import TOKENS
from tests.integration.test_failures import RetryingSender, election, finish

pytestmark = pytest.mark.integration


def ingest_process(worker_pid: int) -> int | None:
    """The pid of the worker's ingest process, if it has one running."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == worker_pid and b"streams.api.front" in cmdline:
            return int(entry.name)
    return None


def wait_for(what: str, check: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"{what}: not within {timeout:.0f}s"
        time.sleep(0.1)


def test_the_ingest_process_serves_the_port_and_keeps_the_workers_endpoints_private(
    services: Settings, api: ApiClient, election_id: str
):
    worker = LocalWorker(services).process.pid()
    assert worker is not None and ingest_process(worker) is not None
    before = accepted_total(services)
    answer = api.post_events(election(election_id, seed=31, electors=50).events[:40])
    assert answer["accepted"] == 40 - len(answer["rejected"]) > 0
    assert accepted_total(services) == before + answer["accepted"]  # counted in the other process
    private = httpx.post(f"{services.api}/_internal/keys", json={"pairs": [], "sealing": []},
                         headers={"X-Turnout-Internal": "guess"})  # fmt: skip
    assert private.status_code == 404


def accepted_total(settings: Settings) -> float:
    text = httpx.get(f"{settings.api}/metrics", timeout=10).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("turnout_events_accepted_total"))  # fmt: skip


def test_ingest_process_killed_three_times_mid_stream_ends_at_ground_truth(
    services: Settings, api: ApiClient, election_id: str
):
    worker = LocalWorker(services).process.pid()
    assert worker is not None
    sim = election(election_id, seed=32)
    sender = RetryingSender(services, sim.events)
    sender.start()
    for fraction in (0.2, 0.5, 0.8):
        sender.wait_for(fraction)
        killed = ingest_process(worker)
        assert killed is not None
        os.kill(killed, signal.SIGKILL)
        wait_for("another ingest process", lambda k=killed: ingest_process(worker) not in (None, k))
        wait_for("the API back", lambda: _health(services) == 200)
    finish(sender, api, sim, election_id)
    assert LocalWorker(services).process.pid() == worker  # the worker never stopped


def test_a_killed_worker_takes_its_ingest_process_with_it(services: Settings, api: ApiClient):
    local = LocalWorker(services)
    worker = local.process.pid()
    assert worker is not None
    front = ingest_process(worker)
    assert front is not None
    os.kill(worker, signal.SIGKILL)  # the worker alone, not its process group
    wait_for("the ingest process to exit", lambda: not Path(f"/proc/{front}/cmdline").exists()
             or not Path(f"/proc/{front}/cmdline").read_bytes(), timeout=10)  # fmt: skip
    host, port = services.api_host_port
    wait_for("the public port to close", lambda: not port_open(host, port), timeout=10)
    wait_for("the worker to be gone", lambda: local.process.pid() is None)
    local.start()
    wait_for("the API back", lambda: _health(services) == 200, timeout=60)
    assert ingest_process(local.process.pid() or 0) is not None


def _health(settings: Settings) -> int:
    try:
        headers = {"Authorization": f"Bearer {TOKENS['tests']}"}
        return httpx.get(f"{settings.api}/v1/health", timeout=5, headers=headers).status_code
    except httpx.HTTPError:
        return 0
