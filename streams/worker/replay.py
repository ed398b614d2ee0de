"""Replay: rebuild this worker's projections from the Kafka log, from the first offset.

A fresh projector (no state loaded from ClickHouse) reads every record of the partitions this
worker owns up to their current end, with a plain consumer outside the Faust group, and writes
as the live agent does; stale aggregate rows are then zeroed. Meanwhile the live agent waits
on the batch lock; afterwards it goes on with the new projector, and records it had already
fetched are duplicates it ignores (rule 1).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from faust.types import TP

from streams.errors import TurnoutError
from streams.events import record_of
from streams.fold import IncrementalState
from streams.kafka_config import aiokafka_kwargs
from streams.settings import EVENTS_TOPIC
from streams.worker.projector import Projector
from streams.worker.runtime import Runtime

log = logging.getLogger(__name__)

ASSIGNMENT_WAIT = 60.0  # seconds a replay waits for the worker to own partitions


class ReplayError(TurnoutError):
    """A replay could not run; the message says why and what to do."""


@dataclass
class ReplayProgress:
    state: str = "idle"  # idle | running | done | failed
    done: int = 0
    total: int = 0
    started_at: float = 0.0
    finished_at: float = 0.0
    error: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "records_done": self.done,
            "records_total": self.total,
            "seconds": round((self.finished_at or time.time()) - self.started_at, 3)
            if self.started_at
            else 0.0,
            "error": self.error,
        }


class Replay:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.progress = ReplayProgress()

    async def run(self) -> None:
        self.progress = ReplayProgress(state="running", started_at=time.time())
        try:
            await self._run()
            self.progress.state = "done"
        except asyncio.CancelledError:
            self.progress.state, self.progress.error = "failed", "cancelled (worker stopping?)"
            raise
        except Exception as err:
            log.exception("replay failed")
            self.progress.state, self.progress.error = "failed", f"{type(err).__name__}: {err}"
        finally:
            self.progress.finished_at = time.time()

    async def _run(self) -> None:
        runtime = self.runtime
        consumer = runtime.app.consumer
        tps = await self._assigned()
        async with runtime.batch_lock:
            ends = dict(await consumer.highwaters(*tps))
            starts = dict(await consumer.earliest_offsets(*tps))
            refuse_truncated_log(starts)
            self.progress.total = sum(max(0, ends[tp] - starts[tp]) for tp in tps)
            projector = Projector(runtime.sink, _count_only, EVENTS_TOPIC, runtime.pseudonym_key,
                                  runtime.keyring, runtime.settings.encryption)  # fmt: skip
            for tp in tps:  # their slow path reads only what came before each batch
                projector.partitions[tp.partition] = IncrementalState(tp.partition)
                projector.replaying.add(tp.partition)
            await self._read(projector, {tp.partition: (starts[tp], ends[tp]) for tp in tps})
            for state in projector.partitions.values():
                await projector.rewrite_aggregates(state, "replay")
            projector.replaying.clear()
            for tp in tps:
                projector.positions[tp.partition] = ends[tp]
            projector.dead_letter = runtime.dead_letter  # live again: new junk is dead-lettered
            runtime.projector = projector
        log.info("replay rebuilt %d partitions from %d records", len(tps), self.progress.done)

    async def _assigned(self, timeout: float = ASSIGNMENT_WAIT) -> list[TP]:
        """This worker's partitions of turnout.events, waiting while a rebalance settles."""
        deadline = time.monotonic() + timeout
        while True:
            tps = self.runtime.assigned()
            if tps:
                return tps
            if time.monotonic() > deadline:
                raise ReplayError(
                    f"no partition of {EVENTS_TOPIC} is assigned to this worker after "
                    f"{timeout:.0f}s; check `turnout status` and retry"
                )
            await asyncio.sleep(0.5)

    async def _read(self, projector: Projector, spans: dict[int, tuple[int, int]]) -> None:
        parts = {p: TopicPartition(EVENTS_TOPIC, p) for p, (a, b) in spans.items() if b > a}
        if not parts:
            return
        consumer = AIOKafkaConsumer(
            **aiokafka_kwargs(self.runtime.settings),
            group_id=None,
            enable_auto_commit=False,
            max_partition_fetch_bytes=8 << 20,
            fetch_max_bytes=32 << 20,
        )
        await consumer.start()
        try:
            consumer.assign(list(parts.values()))
            for p, tp in parts.items():
                consumer.seek(tp, spans[p][0])
            while parts:
                fetched = await consumer.getmany(timeout_ms=1000, max_records=2000)
                records = [  # aiokafka timestamps are milliseconds
                    record_of(m, (m.timestamp or 0) / 1000)
                    for tp, ms in fetched.items() for m in ms
                    if m.offset < spans[tp.partition][1]
                ]  # fmt: skip
                if records:
                    await projector.process(records)
                    self.progress.done += len(records)
                for p, tp in list(parts.items()):
                    if await consumer.position(tp) >= spans[p][1]:
                        del parts[p]
        finally:
            await _stop(consumer)


def refuse_truncated_log(starts: dict[TP, int]) -> None:
    """A replay rebuilds from the whole log: if a partition no longer starts at offset 0, records
    were deleted (retention, deleteRecords) and the rebuilt numbers would silently be too low."""
    truncated = {tp.partition: start for tp, start in sorted(starts.items()) if start > 0}
    if truncated:
        where = ", ".join(f"partition {p} starts at offset {o}" for p, o in truncated.items())
        raise ReplayError(
            f"{EVENTS_TOPIC} no longer starts at offset 0 ({where}): records were deleted, so a "
            f"replay would rebuild from part of the log; nothing was changed. Set retention.ms=-1 "
            f"on {EVENTS_TOPIC} and restore the missing records (or keep today's projections)"
        )


async def _stop(consumer: AIOKafkaConsumer) -> None:
    """Stop a group-less consumer. aiokafka's stop() can re-raise the CancelledError of a task
    it cancelled itself; swallow that one, never a cancellation of this task."""
    try:
        await consumer.stop()
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise


async def _count_only(raw: bytes, reasons: list[str], where: dict[str, Any]) -> None:
    """Replay does not dead-letter again: the live pass already did."""
