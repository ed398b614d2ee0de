"""Erasure, retention and sealing on the real broker and engine.

After an elector's erasure no Kafka segment, ClickHouse table, dead letter or log holds their
intention (a party code nobody else has), the aggregates equal the ground truth without them,
a replay gives the same, their subject export is 404, and the trail records it. Retention
purges exactly the election that is due. `turnout encrypt`'s output, produced straight to
Kafka, is counted and never holds the plaintext.
"""

from __future__ import annotations

import random
import re
import string
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from kafka import KafkaProducer

from streams import events as ev
from streams.cli.client import ApiClient, ApiError
from streams.settings import EVENTS_TOPIC, Settings
from streams.sim import ground_truth
from streams.store import migrations
from tests import factories as f
from tests.conftest import TOKENS
from tests.integration.dlq import DeadLetters
from tests.integration.helpers import assert_rows_equal_truth, settled

pytestmark = pytest.mark.integration
# Every table the migrations create, so that a new table is scanned without editing this test.
TABLES = sorted(
    {name for _, _, statements in migrations() for statement in statements
     for name in re.findall(r"CREATE TABLE IF NOT EXISTS (\w+)", statement)}
)  # fmt: skip
UNSCOPED = {"audit", "commits"}  # no election_id column: scanned whole
AS_OF = "2026-04-25T00:00:00+00:00"  # after every canvass, before any vote


def marker() -> str:
    """A party code no other test sends: the victim's intention."""
    return "Q" + "".join(random.choices(string.ascii_uppercase, k=5))


def files_holding(root: Path, needle: str) -> list[str]:
    """Every file under `root` whose bytes contain `needle` (Kafka segments, indexes, logs)."""
    data = needle.encode()
    return [str(p) for p in root.rglob("*") if p.is_file() and data in p.read_bytes()]


def tables_holding(services: Settings, election_id: str, needle: str) -> dict[str, int]:
    """Rows of each table, as `/v1/sql` sees them, that contain `needle` anywhere."""
    analyst = ApiClient(services, token=TOKENS["analyst"])
    found = {}
    for table in TABLES:
        where = "" if table in UNSCOPED else f" WHERE election_id = '{election_id}'"
        rows = analyst.sql(f"SELECT * FROM {table}{where}")["rows"]
        n = sum(needle in msgspec.json.encode(row).decode() for row in rows)
        if n:
            found[table] = n
    return found


def snapshot_opponents(
    services: Settings, election_id: str, after: float, want: dict[str, int]
) -> dict[str, int]:
    """Opponents per ward in the newest projection snapshot the worker's alerting task wrote
    after `after` (epoch seconds), waiting up to 30 s for one that shows `want`."""
    analyst = ApiClient(services, token=TOKENS["analyst"])
    where = (f"election_id = '{election_id}' "
             f"AND toUnixTimestamp64Milli(computed_at) > {round(after * 1000)}")  # fmt: skip
    deadline, got = time.monotonic() + 30, {}
    while time.monotonic() < deadline and got != want:
        time.sleep(0.5)
        rows = analyst.sql(f"SELECT ward, opponents FROM projections WHERE {where} AND "
                           f"computed_at = (SELECT max(computed_at) FROM projections "
                           f"WHERE {where})")["rows"]  # fmt: skip
        got = {r["ward"]: int(r["opponents"]) for r in rows}
    return got


def snapshots_before(services: Settings, election_id: str, instant: float) -> int:
    analyst = ApiClient(services, token=TOKENS["analyst"])
    sql = (f"SELECT count() AS n FROM projections WHERE election_id = '{election_id}' "
           f"AND toUnixTimestamp64Milli(computed_at) <= {round(instant * 1000)}")  # fmt: skip
    return int(analyst.sql(sql)["rows"][0]["n"])


def opponents_by_ward(truth: list[dict[str, Any]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for row in truth:
        out[row["ward"]] = out.get(row["ward"], 0) + row["opponents"]
    return out


def replay(services: Settings) -> None:
    operator = ApiClient(services, token=TOKENS["operator"])
    operator.start_replay()
    deadline = time.monotonic() + 180
    while (status := operator.replay_status())["state"] == "running":
        assert time.monotonic() < deadline, status
        time.sleep(0.5)
    assert status["state"] == "done", status


def trail(services: Settings, election_id: str) -> list[dict[str, Any]]:
    return ApiClient(services, token=TOKENS["operator"]).audit(election_id)["rows"]


def test_after_erasure_nothing_holds_the_elector_and_counts_equal_truth_without_them(
    services: Settings, api: ApiClient, election_id: str
):
    secret = marker()
    others = [f.opened(election_id)]
    for i in range(30):
        ward = f"W{i % 3}"
        others += [
            f.registered(election_id, f"o{i}", ward=ward, age_band="35-44"),
            f.canvass(election_id, f"o{i}", intention=("LAB", "CON")[i % 2], ward=ward),
        ]
        if i % 2:
            others.append(f.voted(election_id, f"o{i}", ward=ward))  # fmt: skip
    victim = [f.registered(election_id, "victim", ward="W0", age_band="35-44"),
              f.canvass(election_id, "victim", intention=secret, likelihood=9, ward="W0"),
              f.voted(election_id, "victim", ward="W0")]  # fmt: skip
    refused = f.canvass(election_id, "victim", intention=secret, likelihood=11)  # dead-lettered
    letters = DeadLetters(services)
    api.post_events([*others, *victim, refused])
    assert letters.since(1, match=lambda x: x["raw"].get("event_id") == refused["event_id"])
    letters.close()
    settled(api, election_id)
    held = {"electors", "facts", "cells", "deltas", "vote_deltas"}  # plaintext; events sealed
    assert tables_holding(services, election_id, secret).keys() == held
    assert files_holding(services.home / "kafka", secret) == []  # sealed in the log
    with_victim = ground_truth([*others, *victim])
    assert_rows_equal_truth(settled(api, election_id), with_victim)
    counted = opponents_by_ward(with_victim)  # the alerting task's snapshots count the victim
    assert snapshot_opponents(services, election_id, 0, counted) == counted

    operator = ApiClient(services, token=TOKENS["operator"])
    asked = time.time()
    done = operator.erase(election_id, "victim")
    assert done["erased"] and done["elector_id"] == "victim"

    assert tables_holding(services, election_id, secret) == {}
    assert tables_holding(services, election_id, "victim").keys() <= {"elector_keys", "audit"}
    # Kafka's segments (turnout.events and the DLQ) and every log; chDB's own files may keep
    # deleted rows until their parts merge (docs/personal-data.md), so they are read by SQL.
    assert files_holding(services.home / "kafka", secret) == []
    assert files_holding(services.home / "logs", secret) == []
    truth = ground_truth(others)
    assert_rows_equal_truth(settled(api, election_id), truth)
    as_of = datetime.fromisoformat(AS_OF)  # counted nowhere before the erasure either
    assert_rows_equal_truth(settled(api, election_id, as_of=AS_OF),
                            ground_truth(others, as_of=as_of))  # fmt: skip
    assert snapshots_before(services, election_id, asked) == 0  # they counted the victim
    without = opponents_by_ward(truth)  # and a fresh snapshot does not
    assert without != counted
    assert snapshot_opponents(services, election_id, asked, without) == without
    with pytest.raises(ApiError) as gone:
        operator.export_subject(election_id, "victim")
    assert gone.value.status == 404

    api.post_events([f.voted(election_id, "victim", ward="W0")])  # refused: erased
    replay(services)
    assert_rows_equal_truth(settled(api, election_id), truth)
    assert_rows_equal_truth(settled(api, election_id, as_of=AS_OF),
                            ground_truth(others, as_of=as_of))  # fmt: skip
    assert tables_holding(services, election_id, secret) == {}
    actions = [
        (e["action"], e["parameters"].get("elector_id")) for e in trail(services, election_id)
    ]
    assert ("erase", "victim") in actions and ("export", "victim") in actions


def test_erasure_is_admin_only_and_404_when_nothing_is_held(
    services: Settings, api: ApiClient, election_id: str
):
    api.post_events([f.opened(election_id), f.registered(election_id, "s1")])
    settled(api, election_id)
    url = f"{services.api}/v1/elections/{election_id}/electors/s1"
    denied = httpx.delete(url, headers={"Authorization": f"Bearer {TOKENS['reader']}"})
    assert denied.status_code == 403
    with pytest.raises(ApiError) as unknown:
        ApiClient(services, token=TOKENS["operator"]).erase(election_id, "nobody")
    assert unknown.value.status == 404
    assert [e["action"] for e in trail(services, election_id)] == ["erase"]


def test_retention_purges_exactly_the_election_that_is_due(
    services: Settings, api: ApiClient, new_election_id: Any
):
    due, kept = new_election_id(), new_election_id()
    for election_id, days in ((due, 1), (kept, 36_500)):
        api.post_events([f.opened(election_id) | {"retention_days": days},
                         f.registered(election_id, "r1"),
                         f.canvass(election_id, "r1", intention="LAB")])  # fmt: skip
        settled(api, election_id)
    operator = ApiClient(services, token=TOKENS["operator"])
    listed = {r["election_id"]: r for r in api.elections()["rows"]}
    assert listed[due]["due"] and listed[due]["purge_after"] == "2026-05-09T00:00:00+00:00"
    assert not listed[kept]["due"] and listed[kept]["retention_from"] == "election.opened"

    assert operator.purge(kept)["purged"] == []
    assert [r["election_id"] for r in operator.purge(due)["purged"]] == [due]
    with pytest.raises(ApiError) as purged:
        api.turnout_gap(due)
    assert purged.value.status == 404
    held = tables_holding(services, due, due)  # the audit trail names it: it keeps who did what
    assert held["elector_keys"] == 1 and held.keys() == {"elector_keys", "audit"}  # a tombstone
    assert [r["supporters"] for r in settled(api, kept)] == [1]
    assert api.post_events([f.registered(due, "r2")])["accepted"] == 0  # purged: refused
    assert [(e["action"], e["token_name"]) for e in trail(services, due)] == [("purge", "operator")]


def test_events_sealed_by_turnout_encrypt_and_produced_straight_to_kafka_are_counted(
    services: Settings, api: ApiClient, election_id: str
):
    secret = marker()
    events = [f.opened(election_id, our_party=secret), f.registered(election_id, "k1"),
              f.canvass(election_id, "k1", intention=secret)]  # fmt: skip
    sealed = ApiClient(services, token=TOKENS["tellers"]).seal(events)
    assert sealed["rejected"] == [] and ev.SEALED in sealed["events"][2]
    assert secret not in msgspec.json.encode(sealed["events"][1:]).decode()
    producer = KafkaProducer(bootstrap_servers=services.bootstrap_servers, acks="all")
    for item in sealed["events"]:
        producer.send(EVENTS_TOPIC, msgspec.json.encode(item), key=ev.partition_key_of_raw(item))
    producer.close()
    assert [r["supporters"] for r in settled(api, election_id)] == [1]
    export = ApiClient(services, token=TOKENS["operator"]).export_subject(election_id, "k1")
    assert [e["event"].get("intention") for e in export["events"]] == [None, secret]


def test_turnout_status_erase_and_purge_from_the_command_line(
    services: Settings, api: ApiClient, election_id: str, capsys: pytest.CaptureFixture[str]
):
    from streams.cli.commands import main

    api.post_events([f.opened(election_id) | {"retention_days": 10},
                     f.registered(election_id, "c1"), f.registered(election_id, "c2")])  # fmt: skip
    settled(api, election_id)
    with pytest.MonkeyPatch.context() as patch:
        for name, value in services.to_env().items():
            patch.setenv(name, value)
        said = []
        for command in (["status"], ["erase", "--election", election_id, "--elector", "c1"],
                        ["purge", "--election", election_id]):  # fmt: skip
            assert main(command) == 0, command
            said.append(" ".join(capsys.readouterr().out.split()))  # rich wraps long lines
    status, erased, purged = said
    assert (f"election {election_id} polling day 2026-05-07 kept 10 days purged from "
            "2026-05-18T00:00:00+00:00 due now") in status  # fmt: skip
    assert f"c1 in {election_id}: erased" in erased
    assert f"purged {election_id}" in purged
    with pytest.raises(ApiError) as gone:
        api.turnout_gap(election_id)
    assert gone.value.status == 404
