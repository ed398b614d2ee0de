"""Kafka security and topic settings: validation, and the form each client library gets."""

from __future__ import annotations

import ssl
from pathlib import Path

import faust
import pytest
from faust.types import TP

from streams.errors import ConfigError
from streams.kafka_config import (
    aiokafka_kwargs,
    describe,
    faust_credentials,
    kafka_python_kwargs,
    topic_configs,
)
from streams.settings import DLQ_TOPIC, EVENTS_TOPIC, Settings
from streams.worker.replay import ReplayError, refuse_truncated_log

SASL = {
    "TURNOUT_KAFKA": "broker-1.example:9093",
    "TURNOUT_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
    "TURNOUT_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
    "TURNOUT_KAFKA_SASL_USERNAME": "turnout",
    "TURNOUT_KAFKA_SASL_PASSWORD": "pa55-word-never-shown",
}


def refused(env: dict[str, str], *names: str) -> str:
    with pytest.raises(ConfigError) as err:
        Settings.from_env(env)
    message = str(err.value)
    for name in names:
        assert name in message, message
    assert "pa55-word-never-shown" not in message
    return message


def test_plaintext_is_the_default_and_needs_no_credentials():
    settings = Settings.from_env({})
    assert settings.kafka_security_protocol == "PLAINTEXT"
    assert faust_credentials(settings) is None
    assert aiokafka_kwargs(settings)["ssl_context"] is None
    assert "sasl_mechanism" not in kafka_python_kwargs(settings)


def test_an_unknown_protocol_or_mechanism_is_refused_naming_the_variable():
    refused({"TURNOUT_KAFKA_SECURITY_PROTOCOL": "TLS"}, "TURNOUT_KAFKA_SECURITY_PROTOCOL", "SSL")
    refused({**SASL, "TURNOUT_KAFKA_SASL_MECHANISM": "GSSAPI"}, "TURNOUT_KAFKA_SASL_MECHANISM")
    refused({**SASL, "TURNOUT_KAFKA_SASL_MECHANISM": ""}, "TURNOUT_KAFKA_SASL_MECHANISM")


def test_sasl_needs_both_user_and_password():
    env = {k: v for k, v in SASL.items() if k != "TURNOUT_KAFKA_SASL_PASSWORD"}
    refused(env, "TURNOUT_KAFKA_SASL_PASSWORD", "SASL_SSL")


def test_sasl_credentials_without_a_sasl_protocol_are_refused():
    env = {**SASL, "TURNOUT_KAFKA_SECURITY_PROTOCOL": "SSL"}
    refused(env, "TURNOUT_KAFKA_SASL_", "SASL_SSL")


def test_tls_files_need_a_tls_protocol_and_must_exist(tmp_path: Path):
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    refused({"TURNOUT_KAFKA_SSL_CAFILE": str(ca)}, "TURNOUT_KAFKA_SSL_CAFILE", "SSL")
    refused({**SASL, "TURNOUT_KAFKA_SSL_CAFILE": str(tmp_path / "missing.pem")}, "missing.pem")
    refused({**SASL, "TURNOUT_KAFKA_SSL_CERTFILE": str(ca)}, "TURNOUT_KAFKA_SSL_KEYFILE")


def test_the_password_is_never_in_the_settings_repr_or_descriptions():
    settings = Settings.from_env(SASL)
    assert "pa55-word-never-shown" not in repr(settings)
    assert "pa55-word-never-shown" not in describe(settings)
    assert "SCRAM-SHA-512" in describe(settings) and "'turnout'" in describe(settings)


def test_each_client_library_gets_the_same_sasl_ssl_settings():
    settings = Settings.from_env(SASL)
    aio, kp = aiokafka_kwargs(settings), kafka_python_kwargs(settings)
    for kwargs in (aio, kp):
        assert kwargs["bootstrap_servers"] == "broker-1.example:9093"
        assert kwargs["security_protocol"] == "SASL_SSL"
        assert kwargs["sasl_mechanism"] == "SCRAM-SHA-512"
        assert kwargs["sasl_plain_username"] == "turnout"
        assert kwargs["sasl_plain_password"] == "pa55-word-never-shown"
    context = aio["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.check_hostname and context.verify_mode == ssl.CERT_REQUIRED
    assert kp["ssl_check_hostname"] is True
    credentials = faust_credentials(settings)
    assert isinstance(credentials, faust.SASLCredentials)
    assert credentials.protocol.value == "SASL_SSL"
    assert credentials.mechanism.value == "SCRAM-SHA-512"
    assert "pa55-word-never-shown" not in repr(credentials)


def test_sasl_plaintext_has_no_tls_and_ssl_alone_has_no_sasl():
    plain = Settings.from_env({**SASL, "TURNOUT_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT"})
    assert aiokafka_kwargs(plain)["ssl_context"] is None
    assert faust_credentials(plain).protocol.value == "SASL_PLAINTEXT"
    assert "ssl_cafile" not in kafka_python_kwargs(plain)
    tls = Settings.from_env({"TURNOUT_KAFKA_SECURITY_PROTOCOL": "SSL"})
    assert isinstance(faust_credentials(tls), faust.SSLCredentials)
    assert "sasl_mechanism" not in aiokafka_kwargs(tls)


def test_replication_defaults_to_one_locally_and_three_with_two_in_sync_elsewhere():
    local = Settings.from_env({})
    assert (local.replication_factor, local.min_insync_replicas) == (1, 1)
    remote = Settings.from_env({"TURNOUT_KAFKA": "b1:9092,b2:9092,b3:9092"})
    assert (remote.replication_factor, remote.min_insync_replicas) == (3, 2)
    one = Settings.from_env({"TURNOUT_KAFKA": "b1:9092", "TURNOUT_KAFKA_REPLICATION_FACTOR": "1"})
    assert (one.replication_factor, one.min_insync_replicas) == (1, 1)


def test_min_insync_above_the_replication_factor_is_refused():
    env = {"TURNOUT_KAFKA_REPLICATION_FACTOR": "2", "TURNOUT_KAFKA_MIN_INSYNC_REPLICAS": "3"}
    refused(env, "TURNOUT_KAFKA_MIN_INSYNC_REPLICAS", "TURNOUT_KAFKA_REPLICATION_FACTOR")
    refused({"TURNOUT_KAFKA_REPLICATION_FACTOR": "x"}, "TURNOUT_KAFKA_REPLICATION_FACTOR")


def test_the_event_log_keeps_everything_and_dead_letters_expire():
    configs = topic_configs(Settings.from_env({"TURNOUT_DLQ_RETENTION_DAYS": "7"}))
    assert configs[EVENTS_TOPIC]["retention.ms"] == "-1"
    assert configs[EVENTS_TOPIC]["retention.bytes"] == "-1"
    assert configs[EVENTS_TOPIC]["message.timestamp.type"] == "LogAppendTime"
    assert configs[DLQ_TOPIC]["retention.ms"] == str(7 * 24 * 3600 * 1000)
    refused({"TURNOUT_DLQ_RETENTION_DAYS": "0"}, "TURNOUT_DLQ_RETENTION_DAYS")


def test_replay_refuses_a_log_that_no_longer_starts_at_offset_zero():
    refuse_truncated_log({TP(EVENTS_TOPIC, 0): 0, TP(EVENTS_TOPIC, 1): 0})
    with pytest.raises(ReplayError, match=r"partition 1 starts at offset 42.*retention\.ms=-1"):
        refuse_truncated_log({TP(EVENTS_TOPIC, 0): 0, TP(EVENTS_TOPIC, 1): 42})
