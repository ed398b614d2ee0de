"""Connection settings for every Kafka client Turnout runs, built in one place.

Each client library spells security differently: aiokafka wants an `ssl.SSLContext`,
kafka-python file paths, Faust a credentials object. One function per library turns the same
`Settings` into its form, so the worker, replay, the CLI and the admin tools cannot drift
apart. The libraries are imported inside the functions: the CLI loads only the one it uses.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

from streams.errors import ConfigError
from streams.settings import DLQ_TOPIC, EVENTS_TOPIC, Settings

DAY_MS = 24 * 3600 * 1000


def ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """A verifying TLS context (CA file or the system CAs, optional client cert), or None."""
    if not settings.kafka_tls:
        return None
    from aiokafka.helpers import create_ssl_context

    return create_ssl_context(
        cafile=_str(settings.kafka_ssl_cafile),
        certfile=_str(settings.kafka_ssl_certfile),
        keyfile=_str(settings.kafka_ssl_keyfile),
    )


def aiokafka_kwargs(settings: Settings) -> dict[str, Any]:
    """bootstrap_servers and security keywords for AIOKafkaProducer/Consumer/AdminClient."""
    kwargs: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers,
        "security_protocol": settings.kafka_security_protocol,
        "ssl_context": ssl_context(settings),
    }
    kwargs.update(_sasl(settings))
    return kwargs


def event_producer_kwargs(settings: Settings) -> dict[str, Any]:
    """AIOKafkaProducer keywords of whatever writes events (ingest, the worker's dead letters
    and erasures): acks=all, idempotent, records of up to 4 MiB (batches of events)."""
    return {**aiokafka_kwargs(settings), "acks": "all", "enable_idempotence": True,
            "linger_ms": 2, "max_request_size": 4 * 1024 * 1024}  # fmt: skip


def _sasl(settings: Settings) -> dict[str, Any]:
    """The SASL keywords, named alike by aiokafka and kafka-python; none without SASL."""
    if not settings.kafka_sasl:
        return {}
    return {
        "sasl_mechanism": settings.kafka_sasl_mechanism,
        "sasl_plain_username": settings.kafka_sasl_username,
        "sasl_plain_password": settings.kafka_sasl_password,
    }


def kafka_python_kwargs(settings: Settings) -> dict[str, Any]:
    """bootstrap_servers and security keywords for kafka-python's producer and admin client."""
    kwargs: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers,
        "security_protocol": settings.kafka_security_protocol,
    }
    if settings.kafka_tls:
        kwargs.update(
            ssl_check_hostname=True,
            ssl_cafile=_str(settings.kafka_ssl_cafile),
            ssl_certfile=_str(settings.kafka_ssl_certfile),
            ssl_keyfile=_str(settings.kafka_ssl_keyfile),
        )
    kwargs.update(_sasl(settings))
    return kwargs


def faust_credentials(settings: Settings) -> Any:
    """Faust's `broker_credentials` (its consumer and producer): None for PLAINTEXT."""
    import faust

    context = ssl_context(settings)
    if settings.kafka_sasl:
        return faust.SASLCredentials(
            username=settings.kafka_sasl_username,
            password=settings.kafka_sasl_password,
            ssl_context=context,  # with a context Faust uses SASL_SSL, without SASL_PLAINTEXT
            mechanism=settings.kafka_sasl_mechanism,
        )
    if context is not None:
        return faust.SSLCredentials(context)
    return None


def topic_configs(settings: Settings) -> dict[str, dict[str, str]]:
    """Topic-level configs Turnout creates its topics with. turnout.events is the source of
    truth and keeps every record (replay rebuilds from offset 0); dead letters expire. The
    broker stamps each event record with the time it appended it, so the agent judges a
    direct producer's occurred_at against the broker's clock, not the producer's."""
    isr = str(settings.min_insync_replicas)
    return {
        EVENTS_TOPIC: {
            "retention.ms": "-1",
            "retention.bytes": "-1",
            "min.insync.replicas": isr,
            "message.timestamp.type": "LogAppendTime",
        },
        DLQ_TOPIC: {
            "retention.ms": str(round(settings.dlq_retention_days * DAY_MS)),
            "min.insync.replicas": isr,
        },
    }


def check_connection(settings: Settings, timeout: float = 15.0) -> None:
    """Connect and authenticate to a bootstrap server once; raise a ConfigError naming the
    setting to fix. The client libraries only say "unable to bootstrap" (kafka-python after
    30 s), so the CLI and the worker call this first."""
    loop = asyncio.new_event_loop()  # not set as current: Faust's worker makes its own later
    try:
        loop.run_until_complete(asyncio.wait_for(_handshake(settings), timeout))
    except TimeoutError:
        raise ConfigError(
            f"TURNOUT_KAFKA: no answer from {describe(settings)} within {timeout:.0f}s; "
            "check the address, the port and TURNOUT_KAFKA_SECURITY_PROTOCOL"
        ) from None
    finally:
        loop.close()


async def _handshake(settings: Settings) -> None:
    from aiokafka.conn import create_conn
    from aiokafka.errors import KafkaError

    kwargs = aiokafka_kwargs(settings)
    kwargs.pop("bootstrap_servers")
    errors: list[Exception] = []
    for server in settings.bootstrap_servers.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            conn = await create_conn(host, int(port), request_timeout_ms=10_000, **kwargs)
        except (OSError, KafkaError) as err:
            errors.append(err)
            continue
        conn.close()
        return
    raise _explain(settings, errors)


def _explain(settings: Settings, errors: list[Exception]) -> ConfigError:
    from aiokafka.errors import IllegalSaslStateError, SaslAuthenticationFailed

    where = describe(settings)
    for err in errors:
        if isinstance(err, SaslAuthenticationFailed | IllegalSaslStateError):
            return ConfigError(
                f"TURNOUT_KAFKA_SASL_USERNAME / TURNOUT_KAFKA_SASL_PASSWORD: {where} refused "
                f"the credentials ({err}); check the user, the password and "
                "TURNOUT_KAFKA_SASL_MECHANISM"
            )
        if isinstance(err, ssl.SSLCertVerificationError):
            return ConfigError(
                f"TURNOUT_KAFKA_SSL_CAFILE: the certificate of {where} is not trusted "
                f"({err.verify_message}); point TURNOUT_KAFKA_SSL_CAFILE at the CA that signed it"
            )
        if isinstance(err, ssl.SSLError):
            return ConfigError(
                f"TURNOUT_KAFKA_SECURITY_PROTOCOL: the TLS handshake with {where} failed "
                f"({err}); check that this listener speaks "
                f"{settings.kafka_security_protocol}"
            )
    return ConfigError(
        f"TURNOUT_KAFKA: could not connect to {where} ({'; '.join(map(str, errors))}); "
        "check the address, that the broker runs, and that TURNOUT_KAFKA_SECURITY_PROTOCOL "
        "is what its listener speaks"
    )


def describe(settings: Settings) -> str:
    """How Turnout connects, for messages: servers, protocol, mechanism and user; no secret."""
    text = f"{settings.bootstrap_servers} over {settings.kafka_security_protocol}"
    if settings.kafka_sasl:
        text += f" ({settings.kafka_sasl_mechanism}, user {settings.kafka_sasl_username!r})"
    return text


def _str(path: object) -> str | None:
    return None if path is None else str(path)
