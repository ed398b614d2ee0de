"""Records of turnout.events taken from Faust's consumer in batches, below Faust's dispatch.

Faust hands every record on by itself: `Consumer._drain_messages` awaits
`wait_first(callback(message), …)` per record (two tasks and an `asyncio.wait` each), then the
conductor, the channel's queue and the stream's processors. With one event per record (what a
plain Kafka producer sends) that costs more than folding the event (docs/performance.md).
`BatchConsumer` keeps Faust's consumer — its group membership, rebalances, offset bookkeeping
and commits — and replaces only that loop: it takes what `getmany` fetched, up to `max_records`
records or `within` seconds, and awaits `on_batch` with the whole batch. A record is tracked
when taken and acked by `on_batch` only after the sink wrote it (`BatchConsumer.ack_all`), so
Faust commits no offset past what ClickHouse holds (docs/sink-protocol.md).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, cast

from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP, Message
from mode import Service, ServiceT

OnBatch = Callable[[list[Message]], Awaitable[None]]


class BatchConsumer(faust_aiokafka.Consumer):
    """Faust's aiokafka consumer, delivering records in batches to `on_batch`.

    Set `on_batch` (and the batch bounds) before the worker starts; until then, and for records
    of other topics, records go through Faust's per-record callback as usual."""

    on_batch: OnBatch | None = None
    batch_topic: str = ""
    max_records: int = 2000
    within: float = 0.2

    async def _drain_messages(self, fetcher: ServiceT) -> None:  # pragma: no cover
        """Faust's fetch loop (`Consumer._drain_messages`), batch by batch."""
        consumer_stopped = cast(Service, self)._stopped.is_set
        fetcher_stopped = cast(Service, fetcher)._stopped.is_set
        try:
            while not (consumer_stopped() or fetcher_stopped()):
                await self.sleep(0)
                if self.should_stop:
                    break
                batch = await self._take(fetcher_stopped)
                if batch:
                    assert self.on_batch is not None
                    await self.on_batch(batch)
        except self.consumer_stopped_errors:
            if self.transport.app.should_stop:
                self.log.info("Broker stopped consumer, shutting down...")
                return
            raise
        except asyncio.CancelledError:
            if self.transport.app.should_stop:
                self.log.info("Consumer shutting down for user cancel.")
                return
            raise

    async def _take(self, fetcher_stopped: Callable[[], bool]) -> list[Message]:
        """Records fetched until `max_records` are taken (plus the rest of the fetch that
        passed it: a fetch is never cut, its records would be skipped) or `within` seconds
        passed since the first; each is tracked as unacked, as Faust's conductor tracks a
        record it delivers."""
        batch: list[Message] = []
        deadline = None
        while not fetcher_stopped() and not self.should_stop:
            if batch and not self.flow_active:
                # A rebalance stopped the flow: it waits for the taken records to be acked,
                # and getmany would wait for the flow to resume. Deliver what was taken.
                break
            timeout = 1.0 if deadline is None else max(0.0, deadline - time.monotonic())
            async for tp, message in self.getmany(timeout=timeout):
                if await self._taken(tp, message):
                    batch.append(message)
                    if deadline is None:
                        deadline = time.monotonic() + self.within
            if len(batch) >= self.max_records or (
                deadline is not None and time.monotonic() >= deadline
            ):
                break
            await self.sleep(0)  # getmany may return at once, empty: let the loop breathe
        return batch

    async def _taken(self, tp: TP, message: Message) -> bool:
        """Faust's per-record bookkeeping (read offsets, gaps, commit_every); True when the
        record is ours to batch, after handing any other topic's record to Faust's callback."""
        offset = message.offset
        read = self._read_offset[tp]
        if read is not None and offset < read:
            return False  # delivered already (Faust drops these too)
        if read is not None and offset - read > 1 and self.app.topics.acks_enabled_for(tp.topic):
            await self._add_gap(tp, read + 1, offset)
        commit_every = self._commit_every
        if commit_every is not None and self._n_acked >= commit_every:
            self._n_acked = 0
            await self.commit()
        self._read_offset[tp] = offset
        if self.on_batch is None or tp.topic != self.batch_topic:
            await self.wait_first(self.callback(message), self.suspend_flow.wait())
            return False
        # `track_message` without its sensor call: Turnout reads no Faust monitor, and that call
        # per record took 7% of the worker's GIL-held time with one event per record.
        self._unacked_messages.add(message)
        return True

    def ack_all(self, batch: list[Message]) -> None:
        """Acknowledge a batch the sink wrote: Faust commits its offsets from now on."""
        for message in batch:
            self.ack(message)


class BatchTransport(faust_aiokafka.Transport):
    """Faust's aiokafka transport, with `BatchConsumer` as its consumer."""

    Consumer = BatchConsumer


def batch_transport(app: Any) -> BatchTransport:
    """The transport for `app` (Faust's `App._new_transport`, with the batch consumer)."""
    return BatchTransport(app.conf.broker_consumer, app)
