"""Poison events: clocks reset to 1970, typo'd years. They are rejected with a reason and
dead-lettered, on the HTTP path and the Kafka-direct path alike, and the pipeline moves on."""

from __future__ import annotations

import httpx
import msgspec
import pytest
from kafka import KafkaProducer

from streams import events as ev
from streams.cli.client import ApiClient
from streams.settings import EVENTS_TOPIC, Settings
from tests import factories as f
from tests.conftest import TOKENS
from tests.integration.dlq import DeadLetters
from tests.integration.helpers import settled

pytestmark = pytest.mark.integration

POISON_TIMES = ["1970-01-01T00:00:00+01:00", "2999-05-07T18:00:00+01:00", "0001-01-01T00:00:00Z"]


def test_out_of_range_times_over_http_are_rejected_with_reasons(
    services: Settings, api: ApiClient, election_id: str
):
    letters = DeadLetters(services)
    poison = [f.voted(election_id, f"p{i}", at=at) for i, at in enumerate(POISON_TIMES)]
    body = msgspec.json.encode([f.opened(election_id), f.registered(election_id, "ok"), *poison])
    answer = httpx.post(
        f"{services.api}/v1/events", content=body, timeout=30,
        headers={"Authorization": f"Bearer {TOKENS['tests']}"},
    ).json()  # fmt: skip
    assert answer["accepted"] == 2
    assert [r["index"] for r in answer["rejected"]] == [2, 3, 4]
    assert all("turnout.voted.occurred_at" in r["errors"][0] for r in answer["rejected"])
    found = letters.since(3, match=lambda x: election_id in str(x["raw"]))
    assert sorted(x["raw"]["occurred_at"] for x in found) == sorted(POISON_TIMES)
    assert settled(api, election_id)[0]["electorate"] == 1


def test_poison_produced_straight_to_kafka_is_dead_lettered_and_the_pipeline_moves_on(
    services: Settings, api: ApiClient, election_id: str, new_election_id
):
    letters = DeadLetters(services)
    producer = KafkaProducer(bootstrap_servers=services.bootstrap_servers, acks="all")
    events = [f.opened(election_id), f.registered(election_id, "ok"),
              *(f.voted(election_id, "ok", at=at) for at in POISON_TIMES)]  # fmt: skip
    for item in events:
        producer.send(EVENTS_TOPIC, msgspec.json.encode(item), key=ev.partition_key_of_raw(item))
    producer.flush()
    later = new_election_id()  # an election produced after the poison is still processed
    for item in [f.opened(later), f.registered(later, "n1"), f.voted(later, "n1")]:
        producer.send(EVENTS_TOPIC, msgspec.json.encode(item), key=ev.partition_key_of_raw(item))
    producer.flush()
    producer.close()

    [row] = settled(api, election_id)
    assert row["electorate"] == 1 and row["voted"] == 0
    assert settled(api, later)[0]["voted"] == 1
    found = letters.since(3, match=lambda x: election_id in x["raw"])
    reasons = [r for x in found for r in x["errors"]]
    assert len(reasons) == 3 and all("turnout.voted.occurred_at" in r for r in reasons)
