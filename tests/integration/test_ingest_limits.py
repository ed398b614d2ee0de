"""Bounded ingest: records split by bytes under the broker's message limit, events counted
before they are decoded, and field sizes limited by the schemas."""

from __future__ import annotations

import itertools
import string

import httpx
import msgspec
import pytest

from streams.settings import Settings
from tests.conftest import TOKENS

pytestmark = pytest.mark.integration

PARTIES = ["".join(p) for p in itertools.product(string.ascii_uppercase, repeat=3)][:100]


def declared(election_id: str, i: int) -> dict:
    """A result.declared near the size limits: 100 parties (~3 KB of JSON)."""
    return {
        "event_id": f"result-{i}", "type": "result.declared", "schema_version": 1,
        "election_id": election_id, "occurred_at": "2026-05-08T02:00:00+01:00",
        "ward": f"W{i}", "electorate": 4_000_000_000, "ballots": 4_000_000_000,
        "votes": {p: 4_000_000_000 for p in PARTIES}, "elected": PARTIES,
    }  # fmt: skip


def post(settings: Settings, body: bytes) -> httpx.Response:
    return httpx.post(f"{settings.api}/v1/events", content=body, timeout=120,
                      headers={"Authorization": f"Bearer {TOKENS['tests']}"})  # fmt: skip


def test_large_events_of_one_partition_fit_records_under_the_broker_limit(
    services: Settings, election_id: str
):
    """1,000 events of ~3 KB share one key: 500 of them made a 1.5 MB record, which the
    broker refused (1 MiB), so every retry answered 503."""
    events = [declared(election_id, i) for i in range(1000)]
    assert len(msgspec.json.encode(events[:500])) > 1024 * 1024
    answer = post(services, msgspec.json.encode(events))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"accepted": 1000, "rejected": []}


def test_more_parties_than_a_ballot_holds_is_rejected_with_a_reason(
    services: Settings, election_id: str
):
    event = declared(election_id, 0)
    event["votes"] = {f"P{a}{b}": 1 for a in string.ascii_uppercase for b in "ABCDE"}  # 130
    [rejected] = post(services, msgspec.json.encode([event])).json()["rejected"]
    assert any(r.startswith("result.declared.votes") for r in rejected["errors"])
