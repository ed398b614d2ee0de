"""The fold of turnout.events: thin. A batch of records -> projector (fold + sink) -> ack ->
metrics; the rules live in `streams.fold`, the batches come from `worker.intake`."""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from typing import Any

from faust.types import AppT

from streams import metrics
from streams.errors import TurnoutError
from streams.events import record_of
from streams.settings import EVENTS_TOPIC
from streams.store import describe
from streams.worker.intake import BatchConsumer
from streams.worker.projector import BatchResult
from streams.worker.runtime import Runtime

log = logging.getLogger(__name__)


def accepted_at(batch: list[Any]) -> dict[int, float]:
    """Per partition, the Kafka timestamp (when ingest produced it) of the newest record."""
    newest: dict[int, float] = {}
    for message in batch:
        newest[message.partition] = max(
            message.timestamp or 0.0, newest.get(message.partition, 0.0)
        )
    return newest


def register_agents(app: AppT, runtime: Runtime) -> None:
    """Subscribe `app` to turnout.events and fold its records in batches taken from Faust's
    consumer (`worker.intake`: below Faust's per-record dispatch); the app's transport must be
    `intake.batch_transport`."""
    settings = runtime.settings
    topic = app.topic(
        EVENTS_TOPIC,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=settings.partitions,
    )
    app.topics.add(topic)  # subscribed, acks enabled: Faust commits what `ack_all` acked
    consumer = app.consumer
    if not isinstance(consumer, BatchConsumer):
        raise TypeError("the worker's Faust app must use intake.batch_transport")
    consumer.batch_topic = EVENTS_TOPIC
    consumer.max_records, consumer.within = settings.batch_max, settings.batch_within

    async def fold_elector_events(batch: list[Any]) -> None:
        """A batch of records -> projector; acked only after the sink wrote it. A batch that
        fails, or is cancelled (the worker stopping), is never acked: its offsets are not
        committed and the next worker reads it again."""
        try:
            await project(runtime, batch)
        except asyncio.CancelledError:
            raise
        except Exception as err:
            failure = halted(err, batch)
        else:
            consumer.ack_all(batch)
            return
        await halt(app, failure)  # outside the except: no driver text in Faust's crash log

    consumer.on_batch = fold_elector_events


async def project(runtime: Runtime, batch: list[Any]) -> None:
    """Project one batch of Faust messages and record its metrics."""
    started = time.perf_counter()
    now = time.time()  # a producer's clock may run ahead of the broker's: never trust it past now
    records = [record_of(m, min(m.timestamp or now, now)) for m in batch]
    async with runtime.batch_lock:  # a replay takes the lock to swap projectors
        result = await runtime.projector.process(records)
    metrics.SINK_SECONDS.observe(time.perf_counter() - started)
    record_batch(runtime, result, accepted_at(batch))


class WorkerHalted(TurnoutError):
    """A batch could not be projected even after retries; the worker stops unacknowledged."""


def halted(err: Exception, batch: list[Any]) -> WorkerHalted:
    """Log why the worker stops, with the code's frames but no error text (a driver's or a
    decoder's message may quote an event); returns the error to crash the worker with."""
    spans: dict[int, list[int]] = {}
    for message in batch:
        p, offset = message.partition, message.offset
        span = spans.setdefault(p, [offset, offset])
        span[0], span[1] = min(span[0], offset), max(span[1], offset)
    where = ", ".join(f"p{p}@{a}..{b}" for p, (a, b) in sorted(spans.items()))
    frames = "".join(traceback.format_tb(err.__traceback__))
    log.critical(
        "batch %s %s failed: %s; stopping the worker without acknowledging it: a restart "
        "reads it again from the committed offset\n%s",
        EVENTS_TOPIC, where, describe(err), frames,
    )  # fmt: skip
    return WorkerHalted(f"a batch of {EVENTS_TOPIC} failed ({describe(err)}); see the log")


async def halt(app: AppT, failure: WorkerHalted) -> None:
    """Crash the Faust app (the worker exits non-zero) and wait here: returning would let the
    fetch loop take (and ack) the records after the failed batch."""
    await app.crash(failure)
    await asyncio.Event().wait()  # cancelled when the worker stops


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
