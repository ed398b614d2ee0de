"""Settings from the environment: defaults, each TURNOUT_* variable, and errors that name it."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from streams.errors import ConfigError
from streams.settings import Settings

MASTER_KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="  # base64 of 32 bytes
PARSED = [  # (variable, value in the environment, field, value in Settings)
    ("TURNOUT_KAFKA", "broker-1:9092,broker-2:9092", "kafka", "broker-1:9092,broker-2:9092"),
    ("TURNOUT_CLICKHOUSE_URL", "https://u:p@ch:8443/turnout", "clickhouse_url",
     "https://u:p@ch:8443/turnout"),
    ("TURNOUT_CLICKHOUSE_SQL_URL", "https://analyst:p@ch:8443", "clickhouse_sql_url",
     "https://analyst:p@ch:8443"),
    ("TURNOUT_API", "http://0.0.0.0:7000", "api", "http://0.0.0.0:7000"),
    ("TURNOUT_TOKENS", "app:abcdefgh,tellers:12345678", "tokens", "app:abcdefgh,tellers:12345678"),
    ("TURNOUT_HOME", "/var/lib/turnout", "home", Path("/var/lib/turnout")),
    ("TURNOUT_PARTITIONS", "12", "partitions", 12),
    ("TURNOUT_KAFKA_PORT", "19092", "kafka_port", 19092),
    ("TURNOUT_BATCH_MAX", "500", "batch_max", 500),
    ("TURNOUT_BATCH_WITHIN", "0.5", "batch_within", 0.5),
    ("TURNOUT_SESSION_TIMEOUT", "30", "session_timeout", 30.0),
    ("TURNOUT_WORKER_ID", "worker-1", "worker_id", "worker-1"),
    ("TURNOUT_GRAFANA_TOKEN", "glsa_secret", "grafana_token", "glsa_secret"),
    ("TURNOUT_GRAFANA_USER", "admin", "grafana_user", "admin"),
    ("TURNOUT_GRAFANA_PASSWORD", "hunter22", "grafana_password", "hunter22"),
    ("TURNOUT_GRAFANA_CLICKHOUSE_URL", "http://reader:pw@clickhouse:8123/turnout",
     "grafana_clickhouse_url", "http://reader:pw@clickhouse:8123/turnout"),
    ("TURNOUT_PROMETHEUS_URL", "http://prometheus:9090", "prometheus_url",
     "http://prometheus:9090"),
    ("TURNOUT_TEST_HOOKS", "true", "test_hooks", True),
    ("TURNOUT_KAFKA_SECURITY_PROTOCOL", "SASL_SSL", "kafka_security_protocol", "SASL_SSL"),
    ("TURNOUT_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512", "kafka_sasl_mechanism", "SCRAM-SHA-512"),
    ("TURNOUT_KAFKA_SASL_USERNAME", "turnout", "kafka_sasl_username", "turnout"),
    ("TURNOUT_KAFKA_SASL_PASSWORD", "s3cret-pw", "kafka_sasl_password", "s3cret-pw"),
    ("TURNOUT_KAFKA_SSL_CAFILE", __file__, "kafka_ssl_cafile", Path(__file__)),
    ("TURNOUT_KAFKA_SSL_CERTFILE", __file__, "kafka_ssl_certfile", Path(__file__)),
    ("TURNOUT_KAFKA_SSL_KEYFILE", __file__, "kafka_ssl_keyfile", Path(__file__)),
    ("TURNOUT_KAFKA_REPLICATION_FACTOR", "3", "kafka_replication_factor", 3),
    ("TURNOUT_KAFKA_MIN_INSYNC_REPLICAS", "1", "kafka_min_insync_replicas", 1),
    ("TURNOUT_DLQ_RETENTION_DAYS", "7.5", "dlq_retention_days", 7.5),
    ("TURNOUT_PSEUDONYM_KEY", "k3y-k3y", "pseudonym_key", "k3y-k3y"),
    ("TURNOUT_MASTER_KEY", MASTER_KEY, "master_key", MASTER_KEY),
    ("TURNOUT_ENCRYPTION", "0", "encryption", False),
    ("TURNOUT_INGEST_PROCESS", "0", "ingest_process", False),
    ("TURNOUT_RETENTION_DAYS", "30", "retention_days", 30.0),
    ("TURNOUT_ALERT_WEBHOOK", "https://hooks.example.org/t/abc", "alert_webhook",
     "https://hooks.example.org/t/abc"),
    ("TURNOUT_ALERT_INTERVAL", "15", "alert_interval", 15.0),
]  # fmt: skip
# Variables that only make sense with others: the rest of a working combination.
SASL = {
    "TURNOUT_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
    "TURNOUT_KAFKA_SASL_MECHANISM": "PLAIN",
    "TURNOUT_KAFKA_SASL_USERNAME": "turnout",
    "TURNOUT_KAFKA_SASL_PASSWORD": "pw-123456",
}
TLS = {
    "TURNOUT_KAFKA_SECURITY_PROTOCOL": "SSL",
    "TURNOUT_KAFKA_SSL_CERTFILE": __file__,
    "TURNOUT_KAFKA_SSL_KEYFILE": __file__,
}
TOGETHER = {env: SASL for env in SASL} | {
    "TURNOUT_KAFKA_SSL_CAFILE": TLS, "TURNOUT_KAFKA_SSL_CERTFILE": TLS,
    "TURNOUT_KAFKA_SSL_KEYFILE": TLS,
}  # fmt: skip


def test_empty_environment_gives_the_defaults():
    settings = Settings.from_env({})
    assert settings == Settings()
    assert settings.kafka is None and settings.local_kafka
    assert settings.clickhouse_url is None and settings.embedded_clickhouse
    assert settings.api == "http://127.0.0.1:6066"
    assert settings.api_host_port == ("127.0.0.1", 6066)
    assert settings.home == Path(".turnout")
    assert (settings.partitions, settings.kafka_port) == (4, 9092)
    assert (settings.batch_max, settings.batch_within) == (2000, 0.2)
    assert settings.bootstrap_servers == "127.0.0.1:9092"
    assert settings.test_hooks is False


def test_empty_variable_counts_as_unset():
    assert Settings.from_env({"TURNOUT_PARTITIONS": "", "TURNOUT_KAFKA": ""}) == Settings()


def test_every_setting_is_covered_here():
    assert {env for env, *_ in PARSED} == {f.metadata["env"] for f in fields(Settings)}


@pytest.mark.parametrize(("env", "raw", "name", "value"), PARSED)
def test_each_variable_sets_its_field(env: str, raw: str, name: str, value: object):
    settings = Settings.from_env({**TOGETHER.get(env, {}), env: raw})
    assert getattr(settings, name) == value
    assert type(getattr(settings, name)) is type(value)


@pytest.mark.parametrize(("raw", "on"), [
    ("1", True), ("true", True), ("TRUE", True), ("yes", True),
    ("0", False), ("false", False), ("no", False),
])  # fmt: skip
def test_test_hooks_are_on_for_1_true_or_yes(raw: str, on: bool):
    assert Settings.from_env({"TURNOUT_TEST_HOOKS": raw}).test_hooks is on


def test_kafka_and_clickhouse_urls_choose_external_services():
    settings = Settings.from_env(
        {"TURNOUT_KAFKA": "broker:9092", "TURNOUT_CLICKHOUSE_URL": "http://u:p@ch:8123/db"}
    )
    assert not settings.local_kafka and settings.bootstrap_servers == "broker:9092"
    assert not settings.embedded_clickhouse
    assert Settings.from_env({"TURNOUT_CLICKHOUSE_URL": "chdb:/tmp/x"}).embedded_clickhouse


def test_settings_survive_to_env_and_back():
    settings = Settings.from_env({env: raw for env, raw, *_ in PARSED})
    assert Settings.from_env(settings.to_env()) == settings


@pytest.mark.parametrize(("env", "raw", "message"), [
    ("TURNOUT_PARTITIONS", "four", "TURNOUT_PARTITIONS: 'four' is not an integer"),
    ("TURNOUT_KAFKA_PORT", "9092.5", "TURNOUT_KAFKA_PORT: '9092.5' is not an integer"),
    ("TURNOUT_BATCH_MAX", "lots", "TURNOUT_BATCH_MAX: 'lots' is not an integer"),
    ("TURNOUT_BATCH_WITHIN", "soon", "TURNOUT_BATCH_WITHIN: 'soon' is not a number"),
    ("TURNOUT_PARTITIONS", "0", "TURNOUT_PARTITIONS: must be a positive integer"),
    ("TURNOUT_CLICKHOUSE_URL", "ftp://ch/turnout",
     "TURNOUT_CLICKHOUSE_URL: scheme 'ftp' is not supported; use "
     "http(s)://user:password@host:port/database, or unset it for embedded chDB"),
    ("TURNOUT_CLICKHOUSE_SQL_URL", "chdb:/tmp/x",
     "TURNOUT_CLICKHOUSE_SQL_URL: use http(s)://analyst:password@host:port, the read-only user "
     "of infra/clickhouse/analyst-readonly.sql"),
    ("TURNOUT_MASTER_KEY", "c2hvcnQ=",
     "TURNOUT_MASTER_KEY: not the base64 of 32 bytes; make one with `openssl rand -base64 32`"),
    ("TURNOUT_RETENTION_DAYS", "-1", "TURNOUT_RETENTION_DAYS: must be 0 or a positive number "
     "of days"),
    ("TURNOUT_ALERT_WEBHOOK", "hooks.example.org/t",
     "TURNOUT_ALERT_WEBHOOK: use an http(s):// URL, e.g. https://hooks.example.org/turnout"),
    ("TURNOUT_ALERT_INTERVAL", "0", "TURNOUT_ALERT_INTERVAL: must be a positive number of seconds"),
    ("TURNOUT_SESSION_TIMEOUT", "3", "TURNOUT_SESSION_TIMEOUT: must be between 6 (the broker's "
     "smallest by default) and 90 seconds (the worker's request timeout)"),
    ("TURNOUT_WORKER_ID", "worker 1", "TURNOUT_WORKER_ID: use 1 to 64 letters, digits, '.', '_' or "
     "'-', e.g. worker-1"),
])  # fmt: skip
def test_bad_value_raises_config_error_naming_the_variable(env: str, raw: str, message: str):
    with pytest.raises(ConfigError) as refused:
        Settings.from_env({env: raw})
    assert str(refused.value) == message


def test_the_master_key_is_never_in_a_repr():
    assert MASTER_KEY not in repr(Settings.from_env({"TURNOUT_MASTER_KEY": MASTER_KEY}))


def test_the_alert_webhook_is_never_in_a_repr():
    settings = Settings.from_env({"TURNOUT_ALERT_WEBHOOK": "https://hooks.example.org/s3cret"})
    assert "s3cret" not in repr(settings)


def test_the_local_worker_is_a_static_member_and_a_shared_brokers_is_dynamic_unless_named():
    assert Settings().group_instance_id == "local"
    assert Settings(kafka="broker:9092").group_instance_id is None
    assert Settings(kafka="broker:9092", worker_id="worker-3").group_instance_id == "worker-3"
