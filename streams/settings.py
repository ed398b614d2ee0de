"""Settings: the only module that reads the environment (`TURNOUT_*`).

Each setting is declared once: type, default, environment variable and a line of doc.
`Settings.from_env()` builds one frozen object that is passed down everywhere else.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from urllib.parse import urlparse

from streams.errors import ConfigError

EVENTS_TOPIC = "turnout.events"
DLQ_TOPIC = "turnout.events.dlq"
CONSUMER_GROUP = "turnout"  # the Faust app id: the workers' consumer group


def _env(name: str, doc: str) -> dict[str, str]:
    return {"env": name, "doc": doc}


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
            values[f.name] = _convert(f.metadata["env"], raw, f.default)
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
        if self.clickhouse_sql_url and urlparse(self.clickhouse_sql_url).scheme not in (
            "http",
            "https",
        ):
            raise ConfigError(
                "TURNOUT_CLICKHOUSE_SQL_URL: use http(s)://analyst:password@host:port, "
                "the read-only user of infra/clickhouse/analyst-readonly.sql"
            )
        if self.partitions < 1:
            raise ConfigError("TURNOUT_PARTITIONS: must be a positive integer")

    @property
    def bootstrap_servers(self) -> str:
        return self.kafka or f"127.0.0.1:{self.kafka_port}"

    @property
    def local_kafka(self) -> bool:
        """True when Turnout runs its own broker (TURNOUT_KAFKA unset)."""
        return not self.kafka

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
    def api_host_port(self) -> tuple[str, int]:
        parsed = urlparse(self.api)
        return parsed.hostname or "127.0.0.1", parsed.port or 6066


def _convert(env: str, raw: str, default: object) -> object:
    if isinstance(default, bool):
        return raw.lower() in ("1", "true", "yes")
    if isinstance(default, int):
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"{env}: {raw!r} is not an integer") from None
    if isinstance(default, float):
        try:
            return float(raw)
        except ValueError:
            raise ConfigError(f"{env}: {raw!r} is not a number") from None
    if isinstance(default, Path):
        return Path(raw)
    return raw


def new_token() -> str:
    return secrets.token_urlsafe(24)


def redact(token: str) -> str:
    """A token as it may appear in output: its first four characters only."""
    return token[:4] + "…"
