"""The producer of events and dead letters, renewed when aiokafka's idempotent sequence breaks.

aiokafka's idempotent producer numbers each partition's batches. When the broker refuses one
(a record over the topic's size limit, a producer id it no longer knows), aiokafka goes on
numbering after it, and the broker answers every later batch of that partition with
`OutOfOrderSequenceNumber` until the process restarts (tests/integration/test_ingest_limits.py
shows it). The Java client bumps its producer epoch; aiokafka does not. `EventProducer`
therefore replaces its producer after such an error: the send that failed still fails (ingest
answers 503, the agent retries), and the next send goes through a new producer id.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    InvalidProducerEpoch,
    KafkaError,
    MessageSizeTooLargeError,
    OutOfOrderSequenceNumber,
    UnknownProducerId,
)

from streams.kafka_config import event_producer_kwargs
from streams.settings import Settings

log = logging.getLogger(__name__)

# What the broker answers when a partition's sequence no longer continues; a refused record
# size leaves the sequence broken behind it.
BROKEN_SEQUENCE = (
    OutOfOrderSequenceNumber, UnknownProducerId, InvalidProducerEpoch, MessageSizeTooLargeError,
)  # fmt: skip


class EventProducer:
    """acks=all, idempotent (`kafka_config.event_producer_kwargs`), started on first use and
    renewed after a broken sequence."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()
        self._retiring: set[asyncio.Task[None]] = set()
        self.renewals = 0

    async def start(self) -> None:
        await self._current()

    async def send(self, topic: str, value: bytes, **kwargs: Any) -> asyncio.Future[Any]:
        """aiokafka's `send`: the future of the record's acknowledgement."""
        producer = await self._current()
        future: asyncio.Future[Any] = await producer.send(topic, value, **kwargs)
        future.add_done_callback(partial(self._settled, producer))
        return future

    async def send_and_wait(self, topic: str, value: bytes, **kwargs: Any) -> Any:
        return await (await self.send(topic, value, **kwargs))

    async def send_until_taken(
        self, topic: str, value: bytes, stopping: Callable[[], bool], max_backoff: float = 5.0
    ) -> None:
        """`send_and_wait`, retried with backoff (0.1 s -> `max_backoff`) while Kafka is away
        or refuses, as the sink retries ClickHouse: the agent's batch waits and nothing is
        acked. Raises the last KafkaError once `stopping()`."""
        delay = 0.1
        while True:
            try:
                await self.send_and_wait(topic, value)
                return
            except KafkaError as err:
                if stopping():
                    raise
                log.warning("Kafka did not take a record for %s (%s); retrying in %.1fs",
                            topic, type(err).__name__, delay)  # fmt: skip
                await asyncio.sleep(delay)
                delay = min(delay * 2, max_backoff)

    async def partitions_for(self, topic: str) -> set[int]:
        producer = await self._current()
        return await producer.partitions_for(topic)  # type: ignore[no-any-return]

    async def refresh_metadata(self) -> None:
        """Ask the broker for fresh metadata: whether Kafka answers (health)."""
        producer = await self._current()
        await producer.client.force_metadata_update()

    async def stop(self) -> None:
        async with self._lock:
            producer, self._producer = self._producer, None
        if producer is not None:
            await producer.stop()
        await asyncio.gather(*self._retiring, return_exceptions=True)

    async def _current(self) -> AIOKafkaProducer:
        async with self._lock:
            if self._producer is None:
                producer = AIOKafkaProducer(**event_producer_kwargs(self.settings))
                try:
                    await producer.start()
                except BaseException:  # a failed or timed-out start leaves no open socket
                    await producer.stop()
                    raise
                self._producer = producer
            return self._producer

    def _settled(self, producer: AIOKafkaProducer, future: asyncio.Future[Any]) -> None:
        broken = not future.cancelled() and isinstance(future.exception(), BROKEN_SEQUENCE)
        if broken and self._producer is producer:  # not renewed already
            log.warning(
                "Kafka refused a record with %s: a new producer takes over (aiokafka cannot "
                "mend its idempotent sequence)", type(future.exception()).__name__,
            )  # fmt: skip
            self._retire(producer)

    def _retire(self, producer: AIOKafkaProducer) -> None:
        self._producer = None
        self.renewals += 1
        task = asyncio.ensure_future(producer.stop())
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)
