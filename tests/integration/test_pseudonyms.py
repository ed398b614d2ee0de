"""TURNOUT_PSEUDONYM_KEY: elector ids are replaced by keyed pseudonyms at ingest and in the
agent, on a broker and worker of their own (the key is the worker's, for its whole life)."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import replace

import msgspec
import pytest
from kafka import KafkaProducer

from streams import events as ev
from streams.cli.client import ApiClient
from streams.settings import EVENTS_TOPIC, Settings
from tests import factories as f
from tests.conftest import running, settings_for_tests
from tests.integration.helpers import settled

pytestmark = pytest.mark.integration

KEY = "test-pseudonym-key-" + uuid.uuid4().hex
RAW = "E-RAW-" + uuid.uuid4().hex[:8]  # an id as the app knows it: never stored


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    settings = replace(settings_for_tests(tmp_path_factory.mktemp("keyed")), pseudonym_key=KEY)
    with running(settings):
        yield settings


def test_http_and_direct_events_of_one_id_fold_into_one_pseudonymous_elector(keyed: Settings):
    api = ApiClient(keyed)
    election_id = f"test-{uuid.uuid4().hex[:8]}"
    api.post_events([f.opened(election_id), f.registered(election_id, RAW)])
    producer = KafkaProducer(bootstrap_servers=keyed.bootstrap_servers, acks="all")
    canvass = f.canvass(election_id, RAW, intention="LAB")  # keyed by the raw id, as apps do
    producer.send(EVENTS_TOPIC, msgspec.json.encode(canvass), key=ev.partition_key_of_raw(canvass))
    producer.flush()
    producer.close()

    [row] = settled(api, election_id)
    assert row["electorate"] == 1 and row["supporters"] == 1  # one elector, not two
    [listed] = api.election(election_id, "knockup")["rows"]
    assert listed["elector_id"] == ev.pseudonym(KEY.encode(), RAW)
    stored = api.sql(f"SELECT count() AS n FROM events WHERE position(payload, '{RAW}') > 0 "
                     f"OR elector_id = '{RAW}'")["rows"]  # fmt: skip
    assert stored == [{"n": 0}]


def test_turnout_pseudonyms_maps_a_register_to_the_same_pseudonyms(keyed: Settings):
    done = subprocess.run(
        [sys.executable, "-m", "streams.cli", "pseudonyms", RAW], capture_output=True,
        text=True, timeout=60, env={**keyed.to_env(), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "elector_id,pseudonym",
        f"{RAW},{ev.pseudonym(KEY.encode(), RAW)}",
    ]
