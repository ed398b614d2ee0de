"""Every Kafka client of Turnout over TLS with SASL (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512).

The module starts its own single-node broker whose only client listener is SASL_SSL: a CA and a
broker certificate made by openssl for this run, SCRAM users written by the broker's storage
tool at format time, PLAIN users in its JAAS config. Turnout reaches it as it would a managed
service: TURNOUT_KAFKA plus the TURNOUT_KAFKA_SECURITY_* settings, nothing else.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from kafka import KafkaAdminClient, KafkaProducer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType

from streams.cli.client import ApiClient
from streams.cli.local import BrokerTls, LocalKafka, LocalWorker, create_topics
from streams.errors import ConfigError, LocalServiceError
from streams.kafka_config import kafka_python_kwargs
from streams.settings import DLQ_TOPIC, EVENTS_TOPIC, Settings
from tests import factories as f
from tests.conftest import TOKENS, free_port, settings_for_tests
from tests.integration.helpers import settled
from tests.integration.tls import make_ca

pytestmark = pytest.mark.integration

MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
PASSWORD = f"pw-{uuid.uuid4().hex}"


@pytest.fixture(scope="module")
def secure_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """A SASL_SSL-only broker; yields client settings (SCRAM-SHA-512, replication factor 1)."""
    folder = tmp_path_factory.mktemp("kafka-sasl-ssl")
    ca = make_ca(folder / "ca")
    port = free_port(pair=True)
    base = settings_for_tests(folder / "broker", kafka_port=port)
    settings = replace(
        base,
        kafka=f"127.0.0.1:{port}",
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="SCRAM-SHA-512",
        kafka_sasl_username="turnout",
        kafka_sasl_password=PASSWORD,
        kafka_ssl_cafile=ca.ca,
        kafka_replication_factor=1,
    )
    kafka = LocalKafka(settings, BrokerTls(ca.keystore, ca.ca, {"turnout": PASSWORD}))
    try:
        kafka.start()
        yield settings
    finally:
        kafka.stop()


def client_settings(broker: Settings, home: Path, **overrides: object) -> Settings:
    """Settings of a Turnout deployment (its own worker home and API port) on the broker."""
    return replace(broker, home=home, api=f"http://127.0.0.1:{free_port()}", **overrides)  # type: ignore[arg-type]


def run_cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **settings.to_env()}
    return subprocess.run([sys.executable, "-m", "streams.cli", *args], env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip


def flat(text: str) -> str:
    """Terminal output with Rich's line wrapping undone."""
    return " ".join(text.split())


def admin(settings: Settings) -> KafkaAdminClient:
    return KafkaAdminClient(**kafka_python_kwargs(settings))


def recreate_topics(settings: Settings) -> None:
    """Delete Turnout's topics (if there) and wait until the broker no longer lists them."""
    client = admin(settings)
    try:
        present = [t for t in (EVENTS_TOPIC, DLQ_TOPIC) if t in client.list_topics()]
        if present:
            client.delete_topics(present)
        deadline = time.monotonic() + 60
        while set(present) & set(client.list_topics()):
            assert time.monotonic() < deadline, "topics were not deleted within 60s"
            time.sleep(0.3)
    finally:
        client.close()


def test_topics_refuse_a_replication_factor_the_cluster_cannot_meet(secure_broker: Settings):
    recreate_topics(secure_broker)
    with pytest.raises(ConfigError, match="TURNOUT_KAFKA_REPLICATION_FACTOR: 3 replicas") as err:
        create_topics(replace(secure_broker, kafka_replication_factor=3))
    assert "has 1 broker" in str(err.value)
    client = admin(secure_broker)
    try:
        assert EVENTS_TOPIC not in client.list_topics()  # refused before anything was created
    finally:
        client.close()


def test_the_event_log_keeps_everything_and_dead_letters_expire(secure_broker: Settings):
    recreate_topics(secure_broker)
    assert create_topics(secure_broker) == [EVENTS_TOPIC, DLQ_TOPIC]
    client = admin(secure_broker)
    try:
        described = client.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, t) for t in (EVENTS_TOPIC, DLQ_TOPIC)]
        )["topic"]
    finally:
        client.close()
    events, dlq = described[EVENTS_TOPIC], described[DLQ_TOPIC]
    assert events["retention.ms"]["value"] == "-1"
    assert events["retention.bytes"]["value"] == "-1"
    assert events["message.timestamp.type"]["value"] == "LogAppendTime"  # the broker's clock
    assert dlq["retention.ms"]["value"] == str(30 * 24 * 3600 * 1000)
    assert events["min.insync.replicas"]["value"] == dlq["min.insync.replicas"]["value"] == "1"


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_every_client_works_over_sasl_ssl(secure_broker: Settings, mechanism: str, tmp_path: Path):
    """Admin topic creation, the ingest producer, `turnout send --kafka`, the Faust agent in a
    real worker process, the dead-letter producer, replay's consumer and the health admin."""
    settings = client_settings(secure_broker, tmp_path / "home", kafka_sasl_mechanism=mechanism)
    create_topics(settings)
    election_id = f"sasl-{uuid.uuid4().hex[:10]}"
    worker = LocalWorker(settings)
    try:
        worker.start()
        api = ApiClient(settings, token=TOKENS["tests"])
        http = [f.opened(election_id), f.registered(election_id, "h1"),
                f.canvass(election_id, "h1", intention="LAB")]  # fmt: skip
        assert api.post_events(http)["accepted"] == 3
        direct = [
            f.registered(election_id, "k1"),
            f.canvass(election_id, "k1", intention="LAB"),
            f.canvass(election_id, "k1", intention=None),
        ]  # the last one is dead-lettered
        path = tmp_path / "direct.ndjson"
        path.write_text("\n".join(json.dumps(e) for e in direct) + "\n")
        sent = run_cli(settings, "send", "--kafka", str(path))
        assert sent.returncode == 0, sent.stdout + sent.stderr

        rows = settled(api, election_id)
        assert (rows[0]["electorate"], rows[0]["supporters"]) == (2, 2)
        replayed = run_cli(settings, "replay")
        assert replayed.returncode == 0, replayed.stdout + replayed.stderr
        assert "replayed" in replayed.stdout
        assert api.turnout_gap(election_id)["rows"] == rows
        health = api.health()
        assert health["status"] == "ok" and health["consumer_lag"] is not None
        assert httpx.get(settings.api + "/metrics", timeout=10).status_code == 200
        assert PASSWORD not in worker.process.log_file.read_text()
    finally:
        worker.stop()


def test_a_wrong_password_fails_with_an_error_naming_the_setting(
    secure_broker: Settings, tmp_path: Path
):
    wrong = f"wrong-{uuid.uuid4().hex}"
    settings = client_settings(secure_broker, tmp_path / "home", kafka_sasl_password=wrong)
    with pytest.raises(ConfigError, match=r"TURNOUT_KAFKA_SASL_PASSWORD: .* refused"):
        create_topics(settings)

    path = tmp_path / "one.ndjson"
    path.write_text(json.dumps(f.registered("sasl-wrong", "x1")) + "\n")
    sent = run_cli(settings, "send", "--kafka", str(path))
    assert sent.returncode == 1
    assert "TURNOUT_KAFKA_SASL_PASSWORD" in flat(sent.stderr) and "refused" in flat(sent.stderr)
    assert wrong not in sent.stdout + sent.stderr

    worker = LocalWorker(settings)
    try:
        with pytest.raises(LocalServiceError, match="exited during start-up"):
            worker.start(timeout=60)
        log = worker.process.log_file.read_text()
        assert "TURNOUT_KAFKA_SASL_PASSWORD" in log and "SCRAM-SHA-512" in log
        assert wrong not in log
    finally:
        worker.stop()


def test_replay_refuses_when_the_log_no_longer_starts_at_offset_zero(
    secure_broker: Settings, tmp_path: Path
):
    settings = client_settings(secure_broker, tmp_path / "home")
    create_topics(settings)
    producer = KafkaProducer(**kafka_python_kwargs(settings), acks="all")
    for i in range(3):
        producer.send(EVENTS_TOPIC, b"[]", partition=0, key=f"k{i}".encode())
    producer.flush()
    producer.close()
    client = admin(settings)
    try:
        client.delete_records({TopicPartition(EVENTS_TOPIC, 0): 2})  # as retention would
    finally:
        client.close()
    worker = LocalWorker(settings)
    try:
        worker.start()
        replayed = run_cli(settings, "replay")
        assert replayed.returncode == 1
        assert "partition 0 starts at offset 2" in flat(replayed.stderr), replayed.stderr
        assert "retention.ms=-1" in flat(replayed.stderr)
    finally:
        worker.stop()
        recreate_topics(settings)  # later tests replay from a whole log again
