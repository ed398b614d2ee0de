"""Agents: thin. Decode a batch of records -> fold -> sink; the rules live in fold.py."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from streams import metrics
from streams.ingest import SOURCE_HEADER
from streams.projector import Record
from streams.settings import EVENTS_TOPIC, Settings

if TYPE_CHECKING:
    from streams.app import TurnoutApp

log = logging.getLogger(__name__)


def record_of(message: Any) -> Record:
    source = "kafka"
    for name, value in message.headers or ():
        if name == SOURCE_HEADER:
            source = value.decode("utf-8", "replace")
    return Record(message.partition, message.offset, message.value, source)


def accepted_at(batch: list[Any]) -> dict[int, float]:
    """Per partition, the Kafka timestamp (when ingest produced it) of the newest record."""
    newest: dict[int, float] = {}
    for event in batch:
        message = event.message
        newest[message.partition] = max(
            message.timestamp or 0.0, newest.get(message.partition, 0.0)
        )
    return newest


def register_agents(app: TurnoutApp, settings: Settings) -> None:
    topic = app.topic(
        EVENTS_TOPIC,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=settings.partitions,
    )

    @app.agent(topic, name="fold_elector_events")
    async def fold_elector_events(stream: Any) -> None:
        """Batches of records -> projector; records are acked only after the sink wrote them."""
        async for batch in stream.take_events(settings.batch_max, within=settings.batch_within):
            started = time.perf_counter()
            records = [record_of(event.message) for event in batch]
            async with app.runtime.batch_lock:  # a replay takes the lock to swap projectors
                result = await app.runtime.projector.process(records)
            metrics.SINK_SECONDS.observe(time.perf_counter() - started)
            metrics.SINK_BATCH.observe(result.accepted)
            for type_, n in result.by_type.items():
                metrics.PROCESSED.labels(type=type_).inc(n)
            metrics.DUPLICATES.inc(result.duplicates)
            if result.rejected:
                metrics.REJECTED.labels(stage="agent").inc(result.rejected)
            app.runtime.last_write = time.time()
            handled = result.accepted + result.duplicates + result.rejected
            metrics.PROCESSING.add(handled)
            app.runtime.freshness.applied(
                accepted_at(batch), result.newest_event_us, app.runtime.last_write
            )

    del fold_elector_events
