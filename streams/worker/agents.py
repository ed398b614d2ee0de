"""Agents: thin. Take a batch of records -> projector (fold + sink) -> metrics; the rules live
in `streams.fold`."""

from __future__ import annotations

import logging
import time
from typing import Any

from faust.types import AppT

from streams import metrics
from streams.events import record_of
from streams.settings import EVENTS_TOPIC
from streams.worker.projector import BatchResult
from streams.worker.runtime import Runtime

log = logging.getLogger(__name__)


def accepted_at(batch: list[Any]) -> dict[int, float]:
    """Per partition, the Kafka timestamp (when ingest produced it) of the newest record."""
    newest: dict[int, float] = {}
    for event in batch:
        message = event.message
        newest[message.partition] = max(
            message.timestamp or 0.0, newest.get(message.partition, 0.0)
        )
    return newest


def register_agents(app: AppT, runtime: Runtime) -> None:
    """Declare the turnout.events topic and the agent that folds it, on `app`."""
    settings = runtime.settings
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
            now = (
                time.time()
            )  # a producer's clock may run ahead of the broker's: never trust it past now
            records = [record_of(e.message, min(e.message.timestamp or now, now)) for e in batch]
            async with runtime.batch_lock:  # a replay takes the lock to swap projectors
                result = await runtime.projector.process(records)
            metrics.SINK_SECONDS.observe(time.perf_counter() - started)
            record_batch(runtime, result, accepted_at(batch))

    del fold_elector_events


def record_batch(runtime: Runtime, result: BatchResult, accepted: dict[int, float]) -> None:
    """Metrics and freshness after a batch was written."""
    metrics.SINK_BATCH.observe(result.accepted)
    for type_, n in result.by_type.items():
        metrics.PROCESSED.labels(type=type_).inc(n)
    metrics.DUPLICATES.inc(result.duplicates)
    if result.rejected:
        metrics.REJECTED.labels(stage="agent").inc(result.rejected)
    runtime.last_write = time.time()
    metrics.PROCESSING.add(result.accepted + result.duplicates + result.rejected)
    runtime.freshness.applied(accepted, result.newest_event_us, runtime.last_write)
