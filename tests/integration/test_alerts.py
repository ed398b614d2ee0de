"""Alerts on the real worker: crafted votes, one at a time, make the conditions start and stop
holding; each change is posted to the webhook exactly once (after the receiver refused the
first tries), GET /alerts lists what holds, and nothing is posted while nothing changes."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import httpx
import pytest

from streams.cli.client import ApiClient
from streams.read import alerts as al
from streams.settings import Settings
from tests import factories as f
from tests.conftest import ALERT_INTERVAL, TOKENS
from tests.integration.test_read_api import Http, contract  # noqa: F401 (a fixture)
from tests.receiver import Receiver

pytestmark = pytest.mark.integration

ALERTS = "/v1/elections/{election_id}/alerts"
GAP, STALL = al.PROJECTED_GAP_NEGATIVE, al.KNOCKUP_STALLED
# W1: three supporters and an opponent; W2: two supporters and an opponent. Polls 07:00-22:00.
ELECTORS = {"s1": ("W1", "LAB"), "s2": ("W1", "LAB"), "s3": ("W1", "LAB"), "o1": ("W1", "CON"),
            "t1": ("W2", "LAB"), "t2": ("W2", "LAB"), "p1": ("W2", "CON")}  # fmt: skip
# (who votes, when) -> the changes that vote must cause, as (state, rule, ward).
STEPS: list[tuple[str, str, set[tuple[str, str, str]]]] = [
    # 09:00: nobody in W1 or W2 has voted for two hours (both stalled); W2's opponent votes.
    ("p1", "09:00", {("firing", STALL, "W1"), ("firing", STALL, "W2"), ("firing", GAP, "W2")}),
    # 09:10: W1's remaining falls (3 -> 2); W2 holds as it was: nothing said about it.
    ("s1", "09:10", {("resolved", STALL, "W1")}),
    # 09:30: W1's opponent votes: 1/3 supporters vs 1/1 opponents.
    ("o1", "09:30", {("firing", GAP, "W1")}),
    # 09:45: W2's remaining falls; W1's has not since 09:10, so it is stalled again.
    ("t1", "09:45", {("resolved", STALL, "W2"), ("firing", STALL, "W1")}),
    # 09:50: W2's supporters all voted, like its opponent: gap 0, no longer negative.
    ("t2", "09:50", {("resolved", GAP, "W2")}),
]


@pytest.fixture(scope="module")
def http(services: Settings, contract: dict[str, Any]) -> Http:  # noqa: F811
    return Http(services, ApiClient(services).token, contract)


def at(hh_mm: str) -> str:
    return f"2026-05-07T{hh_mm}:00+01:00"


def active(http: Http, election: str, vote_at: str, timeout: float = 60) -> dict[str, Any]:
    """GET /alerts once the worker has evaluated the election at `vote_at` (its newest vote)."""
    deadline = time.monotonic() + timeout
    while True:
        response = http.get(ALERTS, election=election)
        assert response.status_code in (200, 404), response.text
        body = response.json()
        seen = body.get("as_of") if response.status_code == 200 else None
        if seen is not None and datetime.fromisoformat(seen) == datetime.fromisoformat(vote_at):
            return body  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, f"{election} not evaluated at {vote_at}: {body}"
        time.sleep(0.2)


def received(receiver: Receiver, election: str, n: int, timeout: float = 60) -> None:
    """Wait until the receiver has taken `n` bodies about `election`."""
    deadline = time.monotonic() + timeout
    while len(receiver.of(election)) < n:
        assert time.monotonic() < deadline, changes(receiver.of(election))
        time.sleep(0.1)


def changes(bodies: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(b["state"], b["rule"], b["ward"]) for b in bodies]


def test_alerts_fire_and_resolve_exactly_when_their_conditions_do(
    http: Http, api: ApiClient, alert_receiver: Receiver, new_election_id: Any
):
    e = new_election_id()
    alert_receiver.refuse_for[e] = [503, 503]  # the first change is delivered at the 3rd try
    setup = [f.opened(e)]
    for elector, (ward, party) in ELECTORS.items():
        setup += [f.registered(e, elector, ward, f"{ward}A", "35-44"),
                  f.canvass(e, elector, party, ward)]  # fmt: skip
    assert api.post_events(setup)["rejected"] == []
    api.wait_caught_up(60)
    time.sleep(3 * ALERT_INTERVAL)
    assert alert_receiver.of(e) == [], "nobody has voted: nothing holds"

    expected: list[set[tuple[str, str, str]]] = []
    for who, hh_mm, caused in STEPS:
        ward = ELECTORS[who][0]
        assert api.post_events([f.voted(e, who, ward, at=at(hh_mm))])["rejected"] == []
        active(http, e, at(hh_mm))
        expected.append(caused)
        total = sum(len(step) for step in expected)
        received(alert_receiver, e, total)
        time.sleep(3 * ALERT_INTERVAL)  # nothing more may come while nothing changes
        sent = changes(alert_receiver.of(e))
        assert len(sent) == total, sent
        start = total - len(caused)
        assert set(sent[start:]) == caused, (hh_mm, sent)
        holding = {(r, w) for s, r, w in _fold(sent)}
        answer = active(http, e, at(hh_mm))
        assert {(r["rule"], r["ward"]) for r in answer["rows"] if r["ward"]} == holding, hh_mm

    attempts = [b for b in alert_receiver.attempts if b.get("election_id") == e]
    assert changes(attempts[:3]) == [changes(alert_receiver.of(e))[0]] * 3
    for body in alert_receiver.of(e):
        assert body["key"] == f"{body['rule']}/{e}/{body['ward']}"
        assert body["title"] == al.RULES[body["rule"]] and body["summary"].startswith("ward W")


def _fold(sent: list[tuple[str, str, str]]) -> set[tuple[str, str, str]]:
    """The alerts active after a sequence of changes."""
    on: set[tuple[str, str, str]] = set()
    for state, rule, ward in sent:
        if state == "firing":
            on.add(("firing", rule, ward))
        else:
            on.discard(("firing", rule, ward))
    return on


def test_alerts_need_the_read_scope(http: Http, services: Settings, new_election_id: Any):
    url = services.api + ALERTS.replace("{election_id}", new_election_id())
    tellers = httpx.get(url, headers={"Authorization": f"Bearer {TOKENS['tellers']}"})
    assert tellers.status_code == 403 and "read" in tellers.json()["error"]
    assert http.get(ALERTS, election="no-such-election").status_code == 404
    bad = http.get(ALERTS, election="no-such-election", ward="W1")
    assert bad.status_code == 400 and "unknown parameter" in bad.json()["error"]
