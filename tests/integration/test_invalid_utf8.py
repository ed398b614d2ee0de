"""Bytes that are not UTF-8 inside a JSON string (b'"\\x80"'): msgspec raises
UnicodeDecodeError for them, not a DecodeError. Over HTTP that was a 500; produced straight to
Kafka it crashed the agent's batch. Now: a 400, and a dead letter while the pipeline moves on."""

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


@pytest.mark.parametrize(
    ("body", "content_type"),
    [(b'[{"type": "\x80"}]', "application/json"), (b'{"a": "\x80"}', "application/json")],
)
def test_a_body_with_invalid_utf8_is_400(services: Settings, body: bytes, content_type: str):
    answer = httpx.post(f"{services.api}/v1/events", content=body, timeout=30,
                        headers={"Authorization": f"Bearer {TOKENS['tests']}",
                                 "Content-Type": content_type})  # fmt: skip
    assert answer.status_code == 400 and "not valid JSON" in answer.json()["error"]


def test_an_ndjson_line_with_invalid_utf8_is_rejected_alone(services: Settings, election_id: str):
    good = msgspec.json.encode(f.registered(election_id, "u1"))
    answer = httpx.post(f"{services.api}/v1/events", content=good + b'\n{"x": "\x80"}\n',
                        timeout=30, headers={"Authorization": f"Bearer {TOKENS['tests']}",
                                             "Content-Type": "application/x-ndjson"})  # fmt: skip
    assert answer.status_code == 200
    assert answer.json()["accepted"] == 1 and answer.json()["rejected"][0]["index"] == 1


def test_a_record_with_invalid_utf8_is_dead_lettered_and_the_pipeline_moves_on(
    services: Settings, api: ApiClient, election_id: str
):
    letters = DeadLetters(services)
    producer = KafkaProducer(bootstrap_servers=services.bootstrap_servers, acks="all")
    bad = b'{"election_id": "' + election_id.encode() + b'", "ward": "\x80"}'
    producer.send(EVENTS_TOPIC, bad, key=election_id.encode())
    for item in [f.opened(election_id), f.registered(election_id, "u1")]:
        producer.send(EVENTS_TOPIC, msgspec.json.encode(item), key=ev.partition_key_of_raw(item))
    producer.flush()
    producer.close()
    assert settled(api, election_id)[0]["electorate"] == 1
    [letter] = letters.since(1, match=lambda x: election_id in x["raw"])
    assert letter["errors"][0].startswith("record: not valid JSON")
