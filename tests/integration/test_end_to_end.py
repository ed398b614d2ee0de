"""One real path end to end: HTTP -> Kafka -> Faust agent -> ClickHouse -> turnout-gap."""

from __future__ import annotations

import httpx
import msgspec
import pytest
from kafka import KafkaConsumer, TopicPartition

from streams.cli.client import ApiClient, ApiError
from streams.settings import DLQ_TOPIC, Settings
from tests import factories as f
from tests.integration.helpers import settled, wait_for_rows

pytestmark = pytest.mark.integration


def small_election(e: str) -> list[dict]:
    return [
        f.opened(e, our_party="LAB"),
        f.registered(e, "a1", ward="W1", age_band="18-24"),
        f.registered(e, "a2", ward="W1", age_band="18-24"),
        f.registered(e, "a3", ward="W1", age_band="65+"),
        f.registered(e, "a4", ward="W2", age_band="65+"),
        f.canvass(e, "a1", intention="LAB"),
        f.canvass(e, "a2", intention="LAB"),
        f.canvass(e, "a3", intention="CON"),
        f.canvass(e, "a4", intention="UNDECIDED", ward="W2"),
        f.voted(e, "a1"),
        f.voted(e, "a3"),
    ]


def test_posted_events_reach_turnout_gap_with_exact_metrics(api: ApiClient, election_id: str):
    answer = api.post_events(small_election(election_id))
    assert answer == {"accepted": 11, "rejected": []}

    rows = wait_for_rows(api, election_id, lambda rows: len(rows) == 3, by="ward,age_band")

    by_cell = {(r["ward"], r["age_band"]): r for r in rows}
    young = by_cell[("W1", "18-24")]
    assert young["electorate"] == 2
    assert young["supporters"] == 2 and young["supporters_voted"] == 1
    assert young["supporter_turnout"] == 0.5 and young["opponent_turnout"] is None
    assert young["gap_pts"] is None and young["knockup_remaining"] == 1
    old = by_cell[("W1", "65+")]
    assert (old["opponents"], old["opponents_voted"], old["opponent_turnout"]) == (1, 1, 1.0)
    assert old["turnout"] == 1.0
    undecided = by_cell[("W2", "65+")]
    assert undecided["undecided"] == 1 and undecided["voted"] == 0


def test_ward_rollup_gives_gap_in_points(api: ApiClient, election_id: str):
    api.post_events(small_election(election_id))
    rows = wait_for_rows(api, election_id, lambda rows: len(rows) == 2, by="ward")
    w1 = next(r for r in rows if r["ward"] == "W1")
    # supporters 1/2 voted, opponents 1/1 voted: our supporters trail by 50 points.
    assert w1["gap_pts"] == pytest.approx(-50.0)
    assert w1["electorate"] == 3 and w1["voted"] == 2 and w1["contacted"] == 3


def test_request_without_token_gets_401(services: Settings, election_id: str):
    base = services.api
    post = httpx.post(f"{base}/v1/events", json=[f.opened(election_id)])
    assert post.status_code == 401
    get = httpx.get(f"{base}/v1/elections/{election_id}/turnout-gap")
    assert get.status_code == 401
    wrong = httpx.get(
        f"{base}/v1/elections/{election_id}/turnout-gap",
        headers={"Authorization": "Bearer not-the-token"},
    )
    assert wrong.status_code == 401


def test_health_needs_no_token_and_reports_services(services: Settings):
    health = httpx.get(f"{services.api}/v1/health").json()
    assert health["status"] == "ok"
    assert health["kafka"]["ok"] and health["clickhouse"]["ok"]


def test_invalid_event_is_rejected_and_dead_lettered(
    api: ApiClient, services: Settings, election_id: str
):
    bad = f.voted(election_id, "a1", method="walk")
    good = f.registered(election_id, "a1")
    answer = api.post_events([good, bad])

    assert answer["accepted"] == 1
    [rejected] = answer["rejected"]
    assert rejected["index"] == 1 and rejected["event_id"] == bad["event_id"]
    assert any("turnout.voted.method" in reason for reason in rejected["errors"])
    letters = dead_letters(services, lambda v: v["raw"].get("event_id") == bad["event_id"])
    assert letters[0]["raw"] == bad
    assert letters[0]["source"] == "tests" and letters[0]["errors"] == rejected["errors"]
    rows = settled(api, election_id)
    assert [r["electorate"] for r in rows] == [1]


def test_unknown_election_is_404(api: ApiClient):
    with pytest.raises(ApiError) as err:
        api.turnout_gap("no-such-election")
    assert err.value.status == 404


def dead_letters(settings: Settings, match, timeout_ms: int = 10_000) -> list[dict]:
    consumer = KafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers, consumer_timeout_ms=timeout_ms
    )
    partitions = [TopicPartition(DLQ_TOPIC, p) for p in consumer.partitions_for_topic(DLQ_TOPIC)]
    consumer.assign(partitions)
    consumer.seek_to_beginning()
    found = []
    try:
        for message in consumer:
            value = msgspec.json.decode(message.value)
            if isinstance(value.get("raw"), dict) and match(value):
                found.append(value)
                break
    finally:
        consumer.close()
    return found
