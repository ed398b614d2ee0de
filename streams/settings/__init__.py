"""Settings: the only module that reads the environment (`TURNOUT_*`).

Each setting is declared once: type, default, environment variable and a line of doc.
`Settings.from_env()` builds one frozen object that is passed down everywhere else.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from urllib.parse import urlparse

from streams.errors import ConfigError
from streams.key_format import check_master_key
from streams.settings.kafka import validate_kafka

EVENTS_TOPIC = "turnout.events"
DLQ_TOPIC = "turnout.events.dlq"
CONSUMER_GROUP = "turnout"  # the Faust app id: the workers' consumer group


def _env(name: str, doc: str) -> dict[str, str]:
    return {"env": name, "doc": doc}


_WORKER_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


@dataclass(frozen=True)
class Settings:
    """Turnout's configuration; every field can be set by the environment variable named in it."""

    kafka: str | None = field(
        default=None,
        metadata=_env("TURNOUT_KAFKA", "Kafka bootstrap servers; unset = local broker."),
    )
    clickhouse_url: str | None = field(
        default=None,
        metadata=_env(
            "TURNOUT_CLICKHOUSE_URL",
            "ClickHouse server http(s)://user:password@host:port/database; unset = embedded chDB.",
        ),
    )
    clickhouse_sql_url: str | None = field(
        default=None,
        metadata=_env(
            "TURNOUT_CLICKHOUSE_SQL_URL",
            "Server mode: the read-only user /v1/sql connects as; unset = TURNOUT_CLICKHOUSE_URL.",
        ),
    )
    api: str = field(
        default="http://127.0.0.1:6066",
        metadata=_env("TURNOUT_API", "Base URL of the worker's HTTP API (the worker binds it)."),
    )
    tokens: str | None = field(
        default=None,
        metadata=_env(
            "TURNOUT_TOKENS",
            "API tokens as name:token[:scopes[:elections]],...; unset = one local token.",
        ),
    )
    home: Path = field(
        default=Path(".turnout"),
        metadata=_env("TURNOUT_HOME", "Folder for local state: broker data, chDB, token, logs."),
    )
    partitions: int = field(
        default=4, metadata=_env("TURNOUT_PARTITIONS", "Partitions of turnout.events when created.")
    )
    kafka_port: int = field(
        default=9092,
        metadata=_env("TURNOUT_KAFKA_PORT", "Port of the local broker (its controller: +1)."),
    )
    batch_max: int = field(
        default=2000,
        metadata=_env("TURNOUT_BATCH_MAX", "Most Kafka records one agent batch takes."),
    )
    batch_within: float = field(
        default=0.2,
        metadata=_env("TURNOUT_BATCH_WITHIN", "Seconds an agent waits to fill a batch."),
    )
    session_timeout: float = field(
        default=45.0,  # Kafka's own default since 3.0 (KIP-735): 10 s expelled busy consumers
        metadata=_env(
            "TURNOUT_SESSION_TIMEOUT",
            "Seconds the consumer group waits for a silent worker before moving its partitions.",
        ),
    )
    worker_id: str | None = field(
        default=None,
        metadata=_env(
            "TURNOUT_WORKER_ID",
            "Static group membership: a worker restarted with the same id takes its partitions "
            "back at once; unique per worker. Unset = 'local' on the local broker, else dynamic.",
        ),
    )
    grafana_token: str | None = field(
        default=None,
        metadata=_env(
            "TURNOUT_GRAFANA_TOKEN", "Grafana service-account token for dashboards push."
        ),
    )
    grafana_user: str | None = field(
        default=None, metadata=_env("TURNOUT_GRAFANA_USER", "Grafana user (basic auth) for push.")
    )
    grafana_password: str | None = field(
        default=None, metadata=_env("TURNOUT_GRAFANA_PASSWORD", "Grafana password for push.")
    )
    grafana_clickhouse_url: str | None = field(
        default=None,
        metadata=_env(
            "TURNOUT_GRAFANA_CLICKHOUSE_URL",
            "ClickHouse as Grafana reaches it, with its read-only user (dashboards push).",
        ),
    )
    prometheus_url: str | None = field(
        default=None,
        metadata=_env("TURNOUT_PROMETHEUS_URL", "Prometheus that scrapes the worker (push)."),
    )
    kafka_security_protocol: str = field(
        default="PLAINTEXT",
        metadata=_env(
            "TURNOUT_KAFKA_SECURITY_PROTOCOL",
            "How every Kafka client connects: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL.",
        ),
    )
    kafka_sasl_mechanism: str | None = field(
        default=None,
        metadata=_env(
            "TURNOUT_KAFKA_SASL_MECHANISM",
            "SASL mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (required with SASL_*).",
        ),
    )
    kafka_sasl_username: str | None = field(
        default=None, metadata=_env("TURNOUT_KAFKA_SASL_USERNAME", "SASL user name.")
    )
    kafka_sasl_password: str | None = field(
        default=None,
        repr=False,  # a secret: never in a repr, a log line or an error
        metadata=_env("TURNOUT_KAFKA_SASL_PASSWORD", "SASL password (a secret)."),
    )
    pseudonym_key: str | None = field(
        default=None,
        repr=False,  # a secret: never in a repr, a log line or an error
        metadata=_env(
            "TURNOUT_PSEUDONYM_KEY",
            "Key of the HMAC applied to elector ids at ingest (a secret); unset = ids as sent.",
        ),
    )
    kafka_ssl_cafile: Path | None = field(
        default=None,
        metadata=_env(
            "TURNOUT_KAFKA_SSL_CAFILE",
            "PEM file of the CA(s) that signed the brokers' certificates; unset = system CAs.",
        ),
    )
    kafka_ssl_certfile: Path | None = field(
        default=None,
        metadata=_env(
            "TURNOUT_KAFKA_SSL_CERTFILE", "PEM client certificate, for brokers that require one."
        ),
    )
    kafka_ssl_keyfile: Path | None = field(
        default=None,
        metadata=_env("TURNOUT_KAFKA_SSL_KEYFILE", "PEM private key of the client certificate."),
    )
    kafka_replication_factor: int | None = field(
        default=None,
        metadata=_env(
            "TURNOUT_KAFKA_REPLICATION_FACTOR",
            "Replicas of each Turnout topic when created; unset = 1 locally, 3 with TURNOUT_KAFKA.",
        ),
    )
    kafka_min_insync_replicas: int | None = field(
        default=None,
        metadata=_env(
            "TURNOUT_KAFKA_MIN_INSYNC_REPLICAS",
            "min.insync.replicas of Turnout's topics; unset = 1 locally, 2 with TURNOUT_KAFKA.",
        ),
    )
    dlq_retention_days: float = field(
        default=30.0,
        metadata=_env("TURNOUT_DLQ_RETENTION_DAYS", "Days turnout.events.dlq keeps a dead letter."),
    )
    master_key: str | None = field(
        default=None,
        repr=False,  # a secret: never in a repr, a log line or an error
        metadata=_env(
            "TURNOUT_MASTER_KEY",
            "Base64 of 32 random bytes wrapping the per-elector data keys (a secret); "
            "unset = TURNOUT_HOME/master-key, made on first use.",
        ),
    )
    encryption: bool = field(
        default=True,
        metadata=_env(
            "TURNOUT_ENCRYPTION",
            "Seal personal fields with the elector's data key at ingest; off only to measure.",
        ),
    )
    ingest_process: bool = field(
        default=True,
        metadata=_env(
            "TURNOUT_INGEST_PROCESS",
            "Serve the API and ingest in a process of their own beside the worker (its second "
            "core); 0 = all in the worker's process (docs/ingest-process.md).",
        ),
    )
    retention_days: float = field(
        default=90.0,
        metadata=_env(
            "TURNOUT_RETENTION_DAYS",
            "Days after polling day before an election is purged (unless election.opened says).",
        ),
    )
    alert_webhook: str | None = field(
        default=None,
        repr=False,  # a webhook URL often carries its secret (Slack, Teams): never logged
        metadata=_env(
            "TURNOUT_ALERT_WEBHOOK",
            "URL the worker POSTs alerts to as JSON (docs/alerts.md); unset = none posted.",
        ),
    )
    alert_interval: float = field(
        default=60.0,
        metadata=_env(
            "TURNOUT_ALERT_INTERVAL",
            "Seconds between the worker's projection refreshes and alert evaluations.",
        ),
    )
    test_hooks: bool = field(
        default=False,
        metadata=_env("TURNOUT_TEST_HOOKS", "Serve /v1/_test/* fault injection (tests only)."),
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get(f.metadata["env"])
            if raw is None or raw == "":
                continue
            values[f.name] = _convert(f.metadata["env"], raw, f.default, str(f.type))
        settings = cls(**values)  # type: ignore[arg-type]
        settings.validate()
        return settings

    def to_env(self) -> dict[str, str]:
        """The TURNOUT_* variables that reproduce these settings in a child process."""
        env = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                env[f.metadata["env"]] = str(value.resolve() if isinstance(value, Path) else value)
        return env

    def validate(self) -> None:
        if self.clickhouse_url:
            scheme = urlparse(self.clickhouse_url).scheme
            if scheme not in ("http", "https", "chdb"):
                raise ConfigError(
                    f"TURNOUT_CLICKHOUSE_URL: scheme {scheme!r} is not supported; "
                    "use http(s)://user:password@host:port/database, or unset it for embedded chDB"
                )
        if not _http_or_unset(self.clickhouse_sql_url):
            raise ConfigError(
                "TURNOUT_CLICKHOUSE_SQL_URL: use http(s)://analyst:password@host:port, "
                "the read-only user of infra/clickhouse/analyst-readonly.sql"
            )
        if self.partitions < 1:
            raise ConfigError("TURNOUT_PARTITIONS: must be a positive integer")
        validate_kafka(self)
        if not _http_or_unset(self.alert_webhook):
            raise ConfigError(
                "TURNOUT_ALERT_WEBHOOK: use an http(s):// URL, e.g. https://hooks.example.org/turnout"
            )
        if self.alert_interval <= 0:
            raise ConfigError("TURNOUT_ALERT_INTERVAL: must be a positive number of seconds")
        if self.dlq_retention_days <= 0:
            raise ConfigError("TURNOUT_DLQ_RETENTION_DAYS: must be a positive number of days")
        if not 6 <= self.session_timeout <= 90:
            raise ConfigError(
                "TURNOUT_SESSION_TIMEOUT: must be between 6 (the broker's smallest by default) "
                "and 90 seconds (the worker's request timeout)"
            )
        if self.worker_id is not None and not _WORKER_ID.fullmatch(self.worker_id):
            raise ConfigError(
                "TURNOUT_WORKER_ID: use 1 to 64 letters, digits, '.', '_' or '-', e.g. worker-1"
            )
        if self.retention_days < 0:
            raise ConfigError("TURNOUT_RETENTION_DAYS: must be 0 or a positive number of days")
        if self.master_key is not None:
            check_master_key(self.master_key, "TURNOUT_MASTER_KEY")

    @property
    def bootstrap_servers(self) -> str:
        return self.kafka or f"127.0.0.1:{self.kafka_port}"

    @property
    def local_kafka(self) -> bool:
        """True when Turnout runs its own broker (TURNOUT_KAFKA unset)."""
        return not self.kafka

    @property
    def group_instance_id(self) -> str | None:
        """The worker's static member id: TURNOUT_WORKER_ID, or "local" on the local broker
        (one worker per TURNOUT_HOME, and the broker is that home's), else None (dynamic)."""
        return self.worker_id or ("local" if self.local_kafka else None)

    @property
    def replication_factor(self) -> int:
        """Replicas per partition of Turnout's topics: 1 on the local broker, else 3."""
        if self.kafka_replication_factor is not None:
            return self.kafka_replication_factor
        return 1 if self.local_kafka else 3

    @property
    def min_insync_replicas(self) -> int:
        """Replicas that must have a record before an acks=all write succeeds."""
        if self.kafka_min_insync_replicas is not None:
            return self.kafka_min_insync_replicas
        return 1 if self.local_kafka else min(2, self.replication_factor)

    @property
    def kafka_sasl(self) -> bool:
        return self.kafka_security_protocol.startswith("SASL_")

    @property
    def kafka_tls(self) -> bool:
        return self.kafka_security_protocol in ("SSL", "SASL_SSL")

    @property
    def embedded_clickhouse(self) -> bool:
        return not self.clickhouse_url or self.clickhouse_url.startswith("chdb:")

    @property
    def chdb_path(self) -> Path:
        return (self.home / "clickhouse").resolve()

    @property
    def token_file(self) -> Path:
        return self.home / "token"

    @property
    def master_key_file(self) -> Path:
        return self.home / "master-key"

    @property
    def api_host_port(self) -> tuple[str, int]:
        parsed = urlparse(self.api)
        return parsed.hostname or "127.0.0.1", parsed.port or 6066


def _http_or_unset(url: str | None) -> bool:
    return not url or urlparse(url).scheme in ("http", "https")


def _convert(env: str, raw: str, default: object, type_: str) -> object:
    if isinstance(default, bool):
        return raw.lower() in ("1", "true", "yes")
    if isinstance(default, int) or type_ == "int | None":
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"{env}: {raw!r} is not an integer") from None
    if isinstance(default, float):
        try:
            return float(raw)
        except ValueError:
            raise ConfigError(f"{env}: {raw!r} is not a number") from None
    if isinstance(default, Path) or type_ == "Path | None":
        return Path(raw)
    return raw
