"""Shared fixtures: real services started once per session, fresh ids per test.

The local path (a Kafka broker from Maven Central jars, the worker with embedded chDB) is the
one CI runs. With TURNOUT_TEST_INFRA=containers and a Docker engine answering, Kafka and a
ClickHouse server come from testcontainers instead.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from streams.cli.client import ApiClient
from streams.cli.local import LocalKafka, LocalWorker, create_topics
from streams.settings import Settings
from tests.receiver import Receiver, receiver

logging.getLogger("kafka").setLevel(logging.CRITICAL)


def free_port(pair: bool = False) -> int:
    """A free loopback port (and the next one too, when `pair`)."""
    for _ in range(100):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if not pair:
            return port
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 1))
                return port
            except OSError:
                continue
    raise RuntimeError("no free port pair on 127.0.0.1")


# name -> (scopes, elections) of the tokens the test worker accepts; None: the old name:token
# form, which still means every scope. "organiser" is bound to elections named scoped-*.
TOKEN_GRANTS: dict[str, tuple[str, str | None] | None] = {
    "tests": ("all", None),
    "tellers": ("ingest", None),
    "reader": ("read", None),
    "analyst": ("sql", None),
    "operator": ("admin", None),
    "organiser": ("ingest+read", "scoped-*"),
    "legacy": None,
}
TOKENS = {name: f"{name}-{uuid.uuid4().hex}" for name in TOKEN_GRANTS}


def tokens_setting() -> str:
    """TURNOUT_TOKENS for TOKENS and TOKEN_GRANTS."""
    entries = []
    for name, grant in TOKEN_GRANTS.items():
        entry = f"{name}:{TOKENS[name]}"
        if grant is not None:
            scopes, elections = grant
            entry += f":{scopes}" + (f":{elections}" if elections else "")
        entries.append(entry)
    return ",".join(entries)


def settings_for_tests(home: Path, **overrides: object) -> Settings:
    settings = Settings(
        home=home,
        kafka_port=free_port(pair=True),
        api=f"http://127.0.0.1:{free_port()}",
        batch_within=0.05,
        tokens=tokens_setting(),
        test_hooks=True,
        retention_days=36_500.0,  # the worker's hourly purge must not take other tests' data
    )
    return replace(settings, **overrides)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def chdb_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """TURNOUT_HOME of the one chDB engine this pytest process may open (one path per process)."""
    return tmp_path_factory.mktemp("chdb")


@pytest.fixture(scope="session")
def infra() -> Iterator[dict[str, str]]:
    """Kafka (and, with containers, a ClickHouse server): {'kafka': ..., 'clickhouse_url': ...}."""
    if os.environ.get("TURNOUT_TEST_INFRA") == "containers":
        yield from _containers()
    else:
        yield {}


def _containers() -> Iterator[dict[str, str]]:
    from testcontainers.clickhouse import ClickHouseContainer
    from testcontainers.kafka import KafkaContainer

    with (
        KafkaContainer("confluentinc/cp-kafka:7.6.0").with_kraft() as kafka,
        # the LTS nearest the embedded engine, as infra/docker-compose.yml pins it
        ClickHouseContainer("clickhouse/clickhouse-server:26.8") as ch,
    ):
        url = (
            f"http://{ch.username}:{ch.password}@{ch.get_container_host_ip()}:"
            f"{ch.get_exposed_port(8123)}/turnout"
        )
        yield {"kafka": kafka.get_bootstrap_server(), "clickhouse_url": url}


@pytest.fixture(scope="session")
def alert_receiver() -> Iterator[Receiver]:
    """The loopback webhook the session's worker posts its alerts to (TURNOUT_ALERT_WEBHOOK)."""
    with receiver() as found:
        yield found


# The session's worker evaluates alerts every second (the default is every minute).
ALERT_INTERVAL = 1.0


@pytest.fixture(scope="session")
def services(
    tmp_path_factory: pytest.TempPathFactory, infra: dict[str, str], alert_receiver: Receiver
) -> Iterator[Settings]:
    """The real broker and one worker for the whole session; stopped at the end."""
    settings = settings_for_tests(
        tmp_path_factory.mktemp("turnout"), alert_webhook=alert_receiver.url,
        alert_interval=ALERT_INTERVAL, **infra,
    )  # fmt: skip
    with running(settings):
        yield settings


@contextlib.contextmanager
def running(settings: Settings) -> Iterator[Settings]:
    """The local broker (unless TURNOUT_KAFKA points elsewhere), the topics and a worker for
    `settings`, stopped when the block ends."""
    kafka = LocalKafka(settings)
    worker = LocalWorker(settings)
    try:
        if settings.local_kafka:
            kafka.start()
        create_topics(settings)
        worker.start()
        yield settings
    finally:
        worker.stop()
        kafka.stop()


@pytest.fixture
def api(services: Settings) -> ApiClient:
    return ApiClient(services)


@pytest.fixture
def election_id() -> str:
    """A fresh election per test keeps tests independent on the shared services."""
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def new_election_id() -> Callable[[], str]:
    return lambda: f"test-{uuid.uuid4().hex[:12]}"
