"""/v1/health and /metrics are polled often: they must reuse the worker's Kafka connections."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from streams.cli.client import ApiClient
from streams.settings import Settings
from tests import factories as f

pytestmark = pytest.mark.integration

POLLS = 25


def broker_client_ports(broker_port: int) -> set[int]:
    """Local ports of every TCP socket to the broker the kernel knows, closed ones (TIME_WAIT)
    included: a client opened and closed between two looks still shows up (Linux /proc)."""
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not Path(table).exists():
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            local, remote = line.split()[1:3]
            if int(remote.rsplit(":", 1)[1], 16) == broker_port:
                ports.add(int(local.rsplit(":", 1)[1], 16))
    return ports


def test_health_and_metrics_open_no_new_broker_connections(
    services: Settings, api: ApiClient, election_id: str
):
    api.post_events([f.registered(election_id, "p1")])
    deadline = time.monotonic() + 60
    while api.health()["consumer_lag"] is None:  # lag (and the admin client) need partitions
        assert time.monotonic() < deadline, "the worker was assigned no partition within 60s"
        time.sleep(0.3)
    broker_port = int(services.bootstrap_servers.rsplit(":", 1)[1])
    before = broker_client_ports(broker_port)
    for _ in range(POLLS):
        assert api.health()["consumer_lag"] is not None
        assert httpx.get(services.api + "/metrics", timeout=10).status_code == 200
    new = broker_client_ports(broker_port) - before
    # One admin client per call would leave 2+ new sockets per poll (bootstrap, coordinator).
    assert len(new) <= 2, f"{len(new)} new broker connections for {2 * POLLS} polls"
