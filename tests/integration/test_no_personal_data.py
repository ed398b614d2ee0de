"""No personal data in logs or error bodies, and TURNOUT_HOME readable by its user only.

The failure scenarios run with data that is easy to find: unique elector ids, a rare party
code as the intention, a unique ward whose rows ClickHouse is made to refuse. Afterwards no
log file under TURNOUT_HOME and no error body may hold any of them, nor a token.
"""

from __future__ import annotations

import stat
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from kafka import KafkaProducer

from streams.cli.client import ApiClient
from streams.cli.local import LocalWorker
from streams.settings import EVENTS_TOPIC, Settings
from tests import factories as f
from tests.conftest import TOKENS
from tests.integration.dlq import DeadLetters
from tests.integration.test_failures import inject_sink_failures, kill_worker
from tests.integration.test_never_acknowledged import inject

pytestmark = pytest.mark.integration

INTENTION = "QQZX"  # a party code no other test uses


def post(settings: Settings, items: list[Any], bodies: list[str]) -> None:
    """POST events until the worker takes them, keeping every body that is not a plain 200
    (rejection reasons included) to scan."""
    deadline = time.monotonic() + 120
    while True:
        try:
            answer = httpx.post(
                f"{settings.api}/v1/events", content=msgspec.json.encode(items), timeout=30,
                headers={"Authorization": f"Bearer {TOKENS['tests']}",
                         "Content-Type": "application/json"},
            )  # fmt: skip
        except httpx.HTTPError:
            answer = None
        if answer is not None:
            if answer.status_code != 200 or answer.json().get("rejected"):
                bodies.append(answer.text)
            if answer.status_code == 200:
                return
        assert time.monotonic() < deadline, "the worker did not take the events"
        time.sleep(0.3)


def log_files(home: Path) -> list[Path]:
    """Every log under TURNOUT_HOME (not Kafka's data, whose segments are named *.log)."""
    data = home / "kafka" / "data"
    return [
        p for p in home.rglob("*")
        if p.is_file() and data not in p.parents
        and (p.suffix in {".log", ".out"} or "log" in p.parent.name)
    ]  # fmt: skip


def assert_private(root: Path) -> None:
    """Folders 0700 and files 0600 (or stricter) from `root` down."""
    loose = [
        f"{p} {stat.filemode(p.stat().st_mode)}"
        for p in [root, *root.rglob("*")]
        if not p.is_symlink() and p.stat().st_mode & 0o077
    ]
    assert not loose, loose[:10]


def test_failures_leave_no_elector_id_intention_or_token_in_logs_or_error_bodies(
    services: Settings, api: ApiClient, election_id: str
):
    secret = uuid.uuid4().hex[:12]
    ids = [f"el-{secret}-{i}" for i in range(40)]
    refused_ward = f"WX{secret}"
    electors = [f.registered(election_id, e, ward=f"W{i % 3}") for i, e in enumerate(ids)]
    canvass = [f.canvass(election_id, e, intention=INTENTION, ward=f"W{i % 3}")
               for i, e in enumerate(ids)]  # fmt: skip
    refused = [f.registered(election_id, f"el-{secret}-r{i}", ward=refused_ward) for i in (1, 2)]
    bodies: list[str] = []
    letters = DeadLetters(services)

    inject_sink_failures(services, 3)  # ClickHouse failing mid-batch
    post(services, [f.opened(election_id), *electors[:20], *canvass[:20]], bodies)
    inject(services, "sink-poison", {"table": "deltas", "marker": refused_ward})
    post(services, refused, bodies)
    assert len(letters.since(2, match=lambda x: refused_ward in x["raw"])) == 2
    time.sleep(3)  # the batch that refused them is acked; let its offset be committed (1 s)
    late = f.canvass(election_id, ids[0], intention=INTENTION, at="1970-01-01T00:00:00+01:00")
    post(services, [late], bodies)  # a clock reset: rejected with a reason
    producer = KafkaProducer(bootstrap_servers=services.bootstrap_servers, acks="all")
    for raw in (msgspec.json.encode(late), f'{{"elector_id": "{ids[1]}", '.encode()):
        producer.send(EVENTS_TOPIC, raw, key=ids[1].encode()).get(timeout=30)
    producer.close()
    kill_worker(services)  # SIGKILL, then a fresh worker whose reloads fail for a while
    LocalWorker(services).start()
    inject(services, "sink-read-failures", {"count": 3})
    post(services, [*electors[20:], *canvass[20:]], bodies)
    api.wait_caught_up(180)

    rows = api.turnout_gap(election_id, by="ward")["rows"]
    assert sum(r["electorate"] for r in rows) == len(ids)
    dead = letters.since(4, match=lambda x: secret in x["raw"])
    letters.close()
    reasons = [x["errors"][0] for x in dead]
    assert (
        sum(r.startswith("clickhouse: ClickHouse refused rows of the deltas") for r in reasons) == 2
    )
    assert bodies, "the rejected clock reset should have answered with a reason"

    markers = [*ids, secret, INTENTION, *TOKENS.values()]
    for path in log_files(services.home):
        text = path.read_text(errors="replace")
        assert not [m for m in markers if m in text], f"{path} holds personal data or a token"
    for body in bodies:
        assert not [m for m in markers if m in body], body
    kafka = services.home / "kafka"
    for root in (services.home / "logs", services.chdb_path, kafka / "data", kafka / "logs"):
        if root.exists():
            assert_private(root)
