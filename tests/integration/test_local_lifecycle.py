"""`turnout up`, `status` and `down` can be repeated without leaking processes or ports."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from streams.cli.local import LocalKafka, LocalWorker, port_open
from tests.conftest import settings_for_tests

pytestmark = pytest.mark.integration


def turnout(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", *args],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_up_status_down_are_idempotent_and_leave_nothing_running(tmp_path: Path):
    settings = settings_for_tests(tmp_path / "home", tokens=None)
    env = {**os.environ, **settings.to_env()}
    env.pop("TURNOUT_KAFKA", None)
    env.pop("TURNOUT_TOKENS", None)  # `up` then makes the local token
    host, api_port = settings.api_host_port

    first = turnout(env, "up")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "kafka   started" in first.stdout and "worker  started" in first.stdout
    kafka_pid = LocalKafka(settings).process.pid()
    worker_pid = LocalWorker(settings).process.pid()
    assert kafka_pid and worker_pid
    token = (settings.home / "token").stat()
    assert oct(token.st_mode & 0o777) == "0o600"

    second = turnout(env, "up")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "already running" in second.stdout
    assert LocalKafka(settings).process.pid() == kafka_pid  # reused, not restarted
    assert LocalWorker(settings).process.pid() == worker_pid

    status = turnout(env, "status")
    assert "kafka   running" in status.stdout and "health  ok" in status.stdout

    assert turnout(env, "down").returncode == 0
    again = turnout(env, "down")
    assert again.returncode == 0 and "not running" in again.stdout
    for pid in (kafka_pid, worker_pid):
        assert not Path(f"/proc/{pid}").exists() or _zombie(pid)
    assert not port_open(host, api_port)
    assert not port_open("127.0.0.1", settings.kafka_port)
    assert "not running" in turnout(env, "status").stdout


def _zombie(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.split(") ", 1)[1].startswith("Z")
