"""What the agent, the HTTP handlers and replay share: ClickHouse clients, the producer, the
projector, and the batch lock. Built once by `streams.app`."""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import msgspec
from aiokafka.admin import AIOKafkaAdminClient
from faust.types import TP, AppT

from streams import metrics
from streams.auth import Tokens, server_tokens
from streams.event_producer import EventProducer
from streams.events import JSON_ERRORS, encode_dead_letter, rejected_type, scrub_dead_letter
from streams.kafka_config import aiokafka_kwargs
from streams.read import Reader
from streams.settings import CONSUMER_GROUP, DLQ_TOPIC, EVENTS_TOPIC, Settings
from streams.store import (
    AuditLog,
    Keyring,
    Sink,
    Snapshots,
    connect,
    connect_parser,
    connect_sql,
    master_key,
    migrate,
)
from streams.worker.projector import Projector

log = logging.getLogger(__name__)

# Reads (the query endpoints, /v1/sql) run on threads of their own, at most READ_THREADS at a
# time with at most READ_QUEUE admitted, so slow queries can never starve the fold and the
# sink of the default thread pool; past that a read is refused (503) rather than queued.
READ_THREADS = 4
READ_QUEUE = 32


class Runtime:
    """The worker's shared parts; `app` is the Faust app whose consumer owns the partitions."""

    def __init__(self, settings: Settings, app: AppT) -> None:
        self.settings = settings
        self.app = app
        writer = connect(settings)
        applied = migrate(writer)
        if applied:
            log.info("ClickHouse migrations applied: %s", ", ".join(applied))
        self.sink = Sink(writer)
        self.audit = AuditLog(connect(settings), self.sink.insert_settings)
        self.snapshots = Snapshots(connect(settings), self.sink.insert_settings)
        parser = None if settings.embedded_clickhouse else connect_parser
        self.reader = Reader(connect(settings), lambda: connect_sql(settings), parser)
        self.tokens = Tokens(server_tokens(settings))
        self.pseudonym_key = settings.pseudonym_key.encode() if settings.pseudonym_key else None
        # The data keys: ingest seals with them, the agent opens with them (one process).
        self.keyring = Keyring(connect(settings), master_key(settings), self.sink.insert_settings)
        self.projector = Projector(self.sink, self.dead_letter, EVENTS_TOPIC, self.pseudonym_key,
                                   self.keyring, settings.encryption)  # fmt: skip
        self._producer = EventProducer(settings)
        self._admin: AIOKafkaAdminClient | None = None
        self._admin_lock = asyncio.Lock()
        self.batch_lock = asyncio.Lock()
        self.reads = ThreadPoolExecutor(READ_THREADS, thread_name_prefix="turnout-read")
        self.read_slots = asyncio.Semaphore(READ_QUEUE)
        self.last_write = time.time()
        self.freshness = metrics.Freshness()

    async def producer(self) -> EventProducer:
        """The idempotent acks=all producer, started on first use (it needs the running loop)."""
        await self._producer.start()
        return self._producer

    async def dead_letter(self, raw: bytes, reasons: list[str], where: dict[str, Any]) -> None:
        """Dead-letter an event the agent refused (it was produced straight to Kafka, or
        ClickHouse refused its values), without its personal fields."""
        try:
            item = msgspec.json.decode(raw)
        except JSON_ERRORS:
            text = raw.decode("utf-8", "replace")  # not JSON: nothing to tell apart; kept
        else:
            item, reasons = scrub_dead_letter(item, reasons)
            text = msgspec.json.encode(item).decode() if isinstance(item, dict) else raw.decode()
        value = {"raw": text, "errors": reasons, **where}
        metrics.count_rejected("agent", [rejected_type(reasons)])
        # Kafka away: the batch waits, as for ClickHouse, instead of halting the worker
        await self._producer.send_until_taken(
            DLQ_TOPIC, encode_dead_letter(value), lambda: self.sink.stopping
        )

    async def purge(self, election_id: str) -> None:
        """Delete an election's keys and rows, between two batches; the partitions' state is
        dropped so that it is reloaded without them."""
        async with self.batch_lock:
            await self.sink.purge(election_id)
            self.projector.drop(list(self.projector.partitions))
            self.keyring.forget_election(election_id)

    def assigned(self) -> list[TP]:
        """This worker's partitions of turnout.events, in order."""
        return sorted(tp for tp in self.app.consumer.assignment() if tp.topic == EVENTS_TOPIC)

    async def consumer_lag(self) -> dict[int, int] | None:
        """Records not yet processed per assigned partition; None before any assignment."""
        tps = self.assigned()
        if not tps:
            return None
        ends = await self.app.consumer.highwaters(*tps)
        committed = await self._committed(tps)
        lag = {}
        for tp in tps:
            done = max(self.projector.positions.get(tp.partition, 0), committed.get(tp, 0))
            lag[tp.partition] = max(0, (ends.get(tp) or 0) - done)
        return lag

    async def admin(self) -> AIOKafkaAdminClient:
        """One admin client for the worker's life, started on first use: health and metrics
        are polled often, and a client per call would open new broker connections each time."""
        async with self._admin_lock:
            if self._admin is None:
                admin = AIOKafkaAdminClient(**aiokafka_kwargs(self.settings))
                try:
                    await admin.start()
                except BaseException:  # a failed or timed-out start leaves no open socket
                    await admin.close()
                    raise
                self._admin = admin
        return self._admin

    async def _committed(self, tps: list[TP]) -> dict[TP, int]:
        admin = await self.admin()
        offsets = await admin.list_consumer_group_offsets(CONSUMER_GROUP)
        return {tp: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}

    def stopping(self) -> None:
        """Shutdown has begun: a sink retry loop gives up instead of holding the agent."""
        self.sink.stopping = True

    async def stop(self) -> None:
        """Close what the runtime opened (producer, admin client); called when the worker stops."""
        self.stopping()
        self.reads.shutdown(wait=False, cancel_futures=True)
        await self._producer.stop()
        if self._admin is not None:
            await self._admin.close()
            self._admin = None
