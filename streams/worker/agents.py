"""Agents: thin. Take a batch of records -> projector (fold + sink) -> metrics; the rules live
in `streams.fold`."""

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
            failure: WorkerHalted | None = None
            try:
                await project(runtime, batch)
            except asyncio.CancelledError:  # the worker is stopping mid-batch
                hold(batch)
                raise
            except Exception as err:
                hold(batch)
                failure = halted(err, batch)
            if failure is not None:  # outside the except: no driver text in Faust's crash log
                await halt(app, failure)

    del fold_elector_events


async def project(runtime: Runtime, batch: list[Any]) -> None:
    """Project one batch of Faust events and record its metrics."""
    started = time.perf_counter()
    now = time.time()  # a producer's clock may run ahead of the broker's: never trust it past now
    records = [record_of(e.message, min(e.message.timestamp or now, now)) for e in batch]
    async with runtime.batch_lock:  # a replay takes the lock to swap projectors
        result = await runtime.projector.process(records)
    metrics.SINK_SECONDS.observe(time.perf_counter() - started)
    record_batch(runtime, result, accepted_at(batch))


def hold(batch: list[Any]) -> None:
    """Keep one more reference on each record of a batch that was not written.

    Faust's `take_events` acks a batch in a `finally` when its generator is closed, also after
    an exception or a cancellation; an acked record's offset is committed and never read again.
    A record is acked only when its last reference goes, so the extra one keeps it unacked: the
    committed offset stays before it and the next worker reads it again.
    """
    for event in batch:
        event.message.incref()


class WorkerHalted(TurnoutError):
    """A batch could not be projected even after retries; the worker stops unacknowledged."""


def halted(err: Exception, batch: list[Any]) -> WorkerHalted:
    """Log why the worker stops, with the code's frames but no error text (a driver's or a
    decoder's message may quote an event); returns the error to crash the worker with."""
    spans: dict[int, list[int]] = {}
    for event in batch:
        p, offset = event.message.partition, event.message.offset
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
    """Crash the Faust app (the worker exits non-zero) and wait here: leaving the loop would let
    the agent's supervisor restart it and take (and ack) the records after the failed batch."""
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
