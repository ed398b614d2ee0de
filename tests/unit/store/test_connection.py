"""A ClickHouse server that is still starting is waited for, within a bound; one that answers
and refuses is not retried. Embedded chDB needs neither."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError

from streams.errors import SinkError
from streams.settings import Settings
from streams.store import connection

URL = "http://turnout:s3cret@clickhouse:8123/turnout"


class Clock:
    """`sleep` and `clock` for `connect`: sleeping moves the clock, nothing waits."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


class Server:
    """Stands in for clickhouse_connect.get_client: fails `failures` times, then answers."""

    def __init__(self, failures: int, error: Exception) -> None:
        self.failures, self.error, self.calls = failures, error, 0

    def get_client(self, **kwargs: Any) -> Any:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return self

    def command(self, sql: str) -> None:
        pass


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path, clickhouse_url=URL)


def connect_to(server: Server, clock: Clock, monkeypatch: pytest.MonkeyPatch, s: Settings) -> Any:
    monkeypatch.setattr(connection.clickhouse_connect, "get_client", server.get_client)
    return connection.connect(s, wait=60, sleep=clock.sleep, clock=clock.clock)


def test_a_server_that_is_starting_is_retried_with_growing_pauses(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
):
    server, clock = Server(5, OperationalError("Connection refused")), Clock()
    assert connect_to(server, clock, monkeypatch, settings) is server
    assert clock.sleeps == [0.5, 1.0, 2.0, 4.0, 8.0]


def test_waiting_gives_up_after_the_bound_with_an_error_that_says_what_to_check(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
):
    server, clock = Server(10_000, OperationalError("Connection refused")), Clock()
    with pytest.raises(SinkError) as raised:
        connect_to(server, clock, monkeypatch, settings)
    message = str(raised.value)
    assert "no answer from clickhouse:8123 after 60 s" in message
    assert "TURNOUT_CLICKHOUSE_URL" in message and "s3cret" not in message
    assert clock.now == pytest.approx(60) and max(clock.sleeps) == 8.0


def test_a_server_that_answers_and_refuses_is_not_retried(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
):
    refused = DatabaseError("516: Authentication failed for user turnout")
    refused.code = 516  # type: ignore[attr-defined]  # as clickhouse-connect sets it
    server, clock = Server(1, refused), Clock()
    with pytest.raises(SinkError, match=r"cannot connect \(DatabaseError code 516") as err:
        connect_to(server, clock, monkeypatch, settings)
    assert server.calls == 1 and clock.sleeps == []
    assert "turnout" not in str(err.value).replace("TURNOUT", "")  # the driver's text stays out
