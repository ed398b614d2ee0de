"""Bounded ingest: records split by bytes under the broker's message limit, events counted
before they are decoded, field sizes limited by the schemas, dead letters cut under the
broker's limit, and a producer that outlives a refused record."""

from __future__ import annotations

import asyncio
import itertools
import string
import time
from dataclasses import replace

import httpx
import msgspec
import pytest
from aiokafka.errors import KafkaError
from kafka import KafkaProducer

from streams import events as ev
from streams.cli.client import ApiClient
from streams.event_producer import EventProducer
from streams.settings import DLQ_TOPIC, EVENTS_TOPIC, Settings
from tests import factories as f
from tests.conftest import TOKENS, free_port
from tests.integration.dlq import DeadLetters
from tests.integration.helpers import settled

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


def huge_item(election_id: str, i: int) -> dict:
    """An invalid canvass with a 3 MB ward: its dead letter is over the broker's 1 MiB."""
    event = f.canvass(election_id, f"h{i}", event_id=f"{election_id}-huge-{i}")
    return event | {"ward": "\x01" * 500_000}  # 3 MB once JSON-escaped


def test_a_huge_invalid_item_is_dead_lettered_cut_and_ingest_goes_on(
    services: Settings, api: ApiClient, election_id: str
):
    """Found by the stateful fuzz: a rejected item of 200,000 characters made a dead letter
    over the broker's record limit, so the request answered 503; and aiokafka's idempotent
    producer then failed every later send to that DLQ partition (OutOfOrderSequenceNumber):
    each request with a rejected item answered 503 until the worker restarted."""
    letters = DeadLetters(services)
    for i in range(2):
        body = msgspec.json.encode([f.opened(election_id), huge_item(election_id, i)])
        answer = post(services, body)
        assert answer.status_code == 200, answer.text
        assert [r["index"] for r in answer.json()["rejected"]] == [1]
    found = letters.since(2, match=lambda x: f"{election_id}-huge" in str(x["raw"]))
    assert len(found) == 2
    for letter in found:
        assert len(msgspec.json.encode(letter)) < 1024 * 1024
        assert letter["raw_cut"]["bytes"] > 3_000_000 and len(letter["raw_cut"]["sha256"]) == 64
        assert letter["raw"].startswith("{") and any("ward" in r for r in letter["errors"])
    assert settled(api, election_id) == []  # the election exists; the opened counts no one


def test_the_worker_dead_letters_a_huge_record_cut_and_goes_on(
    services: Settings, api: ApiClient, election_id: str
):
    """A record produced straight to Kafka, under the broker's limit, whose dead letter is
    over it (control characters are escaped 6 bytes each): the agent had to stop on it."""
    letters = DeadLetters(services)
    producer = KafkaProducer(bootstrap_servers=services.bootstrap_servers, acks="all")
    raw = b"not json " + election_id.encode() + b" " + b"\x01" * 800_000
    producer.send(EVENTS_TOPIC, raw, key=election_id.encode()).get(timeout=30)
    for item in [f.opened(election_id), f.registered(election_id, "a")]:
        producer.send(EVENTS_TOPIC, msgspec.json.encode(item), key=ev.partition_key_of_raw(item))
    producer.flush()
    producer.close()
    [letter] = letters.since(1, match=lambda x: election_id in str(x["raw"]))
    assert letter["raw_cut"]["bytes"] > 800_000 and letter["raw"].startswith("not json")
    assert settled(api, election_id)[0]["electorate"] == 1


def test_a_refused_record_does_not_break_later_sends(services: Settings):
    """aiokafka alone: after the broker refuses a record, every later send to that partition
    fails with OutOfOrderSequenceNumber. EventProducer takes a new producer instead."""

    async def sends() -> list[str]:
        producer = EventProducer(services)
        outcomes = []
        try:
            for size in (100, 2_000_000, 100, 100):
                try:
                    await producer.send_and_wait(DLQ_TOPIC, b"x" * size, partition=0)
                    outcomes.append("ok")
                except KafkaError as err:
                    outcomes.append(type(err).__name__)
        finally:
            await producer.stop()
        assert producer.renewals == 1
        return outcomes

    assert asyncio.run(sends()) == ["ok", "MessageSizeTooLargeError", "ok", "ok"]


def test_a_dead_letter_waits_while_kafka_is_away(
    services: Settings, caplog: pytest.LogCaptureFixture
):
    """The agent's dead letters are retried while Kafka is away, as ClickHouse writes are: a
    send that failed once had halted the worker. Nothing listens on `away`: the send retries
    until the worker stops; on the broker it goes through."""
    away = replace(services, kafka=f"127.0.0.1:{free_port()}")

    async def send(settings: Settings, stop_after: float) -> None:
        producer, started = EventProducer(settings), time.monotonic()
        try:
            await producer.send_until_taken(
                DLQ_TOPIC, b'{"raw": "test", "errors": []}',
                lambda: time.monotonic() - started > stop_after, max_backoff=0.2,
            )  # fmt: skip
        finally:
            await producer.stop()

    with pytest.raises(KafkaError):
        asyncio.run(send(away, stop_after=1.5))
    retries = [r for r in caplog.records if "retrying" in r.getMessage()]
    assert len(retries) >= 2 and "turnout.events.dlq" in retries[0].getMessage()
    asyncio.run(send(services, stop_after=0.0))  # taken at once: no retry, no raise
