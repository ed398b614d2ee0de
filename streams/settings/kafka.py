"""The Kafka settings that cannot work together, checked with an error that names the fix.

Typed against a Protocol, not `Settings`, so that `streams.settings` can import this module
without a cycle.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from streams.errors import ConfigError

SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


class KafkaSettings(Protocol):
    """What the checks read of `Settings`."""

    @property
    def kafka_security_protocol(self) -> str: ...
    @property
    def kafka_sasl_mechanism(self) -> str | None: ...
    @property
    def kafka_sasl_username(self) -> str | None: ...
    @property
    def kafka_sasl_password(self) -> str | None: ...
    @property
    def kafka_ssl_cafile(self) -> Path | None: ...
    @property
    def kafka_ssl_certfile(self) -> Path | None: ...
    @property
    def kafka_ssl_keyfile(self) -> Path | None: ...
    @property
    def kafka_sasl(self) -> bool: ...
    @property
    def kafka_tls(self) -> bool: ...
    @property
    def replication_factor(self) -> int: ...
    @property
    def min_insync_replicas(self) -> int: ...


def validate_kafka(settings: KafkaSettings) -> None:
    """Kafka security and topic settings that cannot work together; the error names the fix."""
    protocol, mechanism = settings.kafka_security_protocol, settings.kafka_sasl_mechanism
    if protocol not in SECURITY_PROTOCOLS:
        raise ConfigError(
            f"TURNOUT_KAFKA_SECURITY_PROTOCOL: {protocol!r} is not one of "
            f"{', '.join(SECURITY_PROTOCOLS)}"
        )
    if settings.kafka_sasl:
        if mechanism not in SASL_MECHANISMS:
            raise ConfigError(
                f"TURNOUT_KAFKA_SASL_MECHANISM: {protocol} needs one of "
                f"{', '.join(SASL_MECHANISMS)} (got {mechanism!r}); your Kafka provider names it"
            )
        if not settings.kafka_sasl_username or not settings.kafka_sasl_password:
            raise ConfigError(
                f"TURNOUT_KAFKA_SASL_USERNAME and TURNOUT_KAFKA_SASL_PASSWORD: both are "
                f"required with TURNOUT_KAFKA_SECURITY_PROTOCOL={protocol}"
            )
    elif mechanism or settings.kafka_sasl_username or settings.kafka_sasl_password:
        raise ConfigError(
            "TURNOUT_KAFKA_SASL_*: set but TURNOUT_KAFKA_SECURITY_PROTOCOL is "
            f"{protocol}; set it to SASL_SSL (or SASL_PLAINTEXT), or unset the SASL variables"
        )
    _validate_tls_files(settings)
    _validate_replicas(settings)


def _validate_tls_files(settings: KafkaSettings) -> None:
    files = {
        "TURNOUT_KAFKA_SSL_CAFILE": settings.kafka_ssl_cafile,
        "TURNOUT_KAFKA_SSL_CERTFILE": settings.kafka_ssl_certfile,
        "TURNOUT_KAFKA_SSL_KEYFILE": settings.kafka_ssl_keyfile,
    }
    given = {env: path for env, path in files.items() if path is not None}
    if given and not settings.kafka_tls:
        raise ConfigError(
            f"{', '.join(given)}: TLS files are set but TURNOUT_KAFKA_SECURITY_PROTOCOL is "
            f"{settings.kafka_security_protocol}; set it to SSL or SASL_SSL, or unset them"
        )
    if (settings.kafka_ssl_certfile is None) != (settings.kafka_ssl_keyfile is None):
        raise ConfigError(
            "TURNOUT_KAFKA_SSL_CERTFILE and TURNOUT_KAFKA_SSL_KEYFILE: a client certificate "
            "needs both; set both or neither"
        )
    for env, path in given.items():
        if not path.is_file():
            raise ConfigError(f"{env}: {path} is not a readable file; fix the path")


def _validate_replicas(settings: KafkaSettings) -> None:
    rf, isr = settings.replication_factor, settings.min_insync_replicas
    if rf < 1:
        raise ConfigError("TURNOUT_KAFKA_REPLICATION_FACTOR: must be a positive integer")
    if not 1 <= isr <= rf:
        raise ConfigError(
            f"TURNOUT_KAFKA_MIN_INSYNC_REPLICAS: {isr} must be between 1 and the replication "
            f"factor ({rf}); lower it or raise TURNOUT_KAFKA_REPLICATION_FACTOR"
        )
