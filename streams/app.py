"""The Faust app: the turnout.events topic, the folding agent and the web views, wired together.

`create_app(settings)` builds everything; `turnout worker` runs it. In the embedded default the
worker is the only process that opens ClickHouse (chDB allows one engine per process and one
process per data folder), so every read goes through its HTTP API.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import faust
import msgspec
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from faust.types import TP

from streams import clickhouse, metrics
from streams.admin import Admin
from streams.agents import register_agents
from streams.auth import Tokens, server_tokens
from streams.ingest import MAX_BYTES, Ingest
from streams.projector import Projector
from streams.reader import Reader
from streams.settings import DLQ_TOPIC, EVENTS_TOPIC, Settings
from streams.sink import Sink
from streams.views import Views

log = logging.getLogger(__name__)

CONSUMER_GROUP = "turnout"  # the Faust app id


class Runtime:
    """What the agent and the views share: ClickHouse clients, the producer, the projector."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        writer = clickhouse.connect(settings)
        applied = clickhouse.migrate(writer)
        if applied:
            log.info("ClickHouse migrations applied: %s", ", ".join(applied))
        self.sink = Sink(writer)
        self.reader = Reader(clickhouse.connect(settings), lambda: clickhouse.connect(settings))
        self.tokens = Tokens(server_tokens(settings))
        self.projector = Projector(self.sink, self.dead_letter, EVENTS_TOPIC)
        self._producer: AIOKafkaProducer | None = None
        self._producer_lock = asyncio.Lock()
        self.batch_lock = asyncio.Lock()
        self.last_write = time.time()
        self.freshness = metrics.Freshness()

    async def producer(self) -> AIOKafkaProducer:
        """The idempotent acks=all producer, started on first use (it needs the running loop)."""
        async with self._producer_lock:
            if self._producer is None:
                producer = AIOKafkaProducer(
                    bootstrap_servers=self.settings.bootstrap_servers,
                    acks="all",
                    enable_idempotence=True,
                    linger_ms=2,
                    max_request_size=4 * 1024 * 1024,
                )
                await producer.start()
                self._producer = producer
        return self._producer

    async def ingest(self) -> Ingest:
        return Ingest(await self.producer(), self.tokens)

    async def dead_letter(self, raw: bytes, reasons: list[str], where: dict[str, Any]) -> None:
        """Dead-letter an event the agent refused (it was produced straight to Kafka)."""
        value = {"raw": raw.decode("utf-8", "replace"), "errors": reasons, **where}
        metrics.count_rejected("agent", [reasons])
        producer = await self.producer()
        await producer.send_and_wait(DLQ_TOPIC, msgspec.json.encode(value))

    async def consumer_lag(self, app: faust.App) -> dict[int, int] | None:
        """Records not yet processed per assigned partition; None before any assignment."""
        tps = [tp for tp in app.consumer.assignment() if tp.topic == EVENTS_TOPIC]
        if not tps:
            return None
        ends = await app.consumer.highwaters(*tps)
        committed = await self._committed(tps)
        lag = {}
        for tp in tps:
            done = max(self.projector.positions.get(tp.partition, 0), committed.get(tp, 0))
            lag[tp.partition] = max(0, (ends.get(tp) or 0) - done)
        return lag

    async def _committed(self, tps: list[TP]) -> dict[TP, int]:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.settings.bootstrap_servers)
        await admin.start()
        try:
            offsets = await admin.list_consumer_group_offsets(CONSUMER_GROUP)
        finally:
            await admin.close()
        return {tp: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}

    async def stop(self) -> None:
        self.sink.stopping = True
        if self._producer is not None:
            await self._producer.stop()


class TurnoutApp(faust.App):
    """faust.App that mounts Turnout's HTTP API on Faust's aiohttp server."""

    runtime: Runtime

    def on_webserver_init(self, web_driver: Any) -> None:
        Views(self).mount(web_driver.web_app.router)
        Admin(self).mount(web_driver.web_app.router)


def broker_urls(bootstrap: str) -> str:
    return ";".join(f"kafka://{server.strip()}" for server in bootstrap.split(","))


def create_app(settings: Settings) -> TurnoutApp:
    host, port = settings.api_host_port
    app = TurnoutApp(
        CONSUMER_GROUP,
        broker=broker_urls(settings.bootstrap_servers),
        store="memory://",
        autodiscover=False,
        web_enabled=True,
        web_bind=host,
        web_host=host,
        web_port=port,
        web_application_options={"client_max_size": MAX_BYTES + 64 * 1024},
        topic_partitions=settings.partitions,
        topic_disable_leader=True,
        consumer_auto_offset_reset="earliest",
        broker_commit_every=1000,
        broker_commit_interval=1.0,
        producer_acks=-1,
        web_transport=f"tcp://{host}:{port}",
    )
    app.runtime = Runtime(settings)
    register_agents(app, settings)

    @app.on_partitions_revoked.connect  # type: ignore[misc,arg-type]
    async def _revoked(sender: Any, revoked: set[TP], **kwargs: Any) -> None:
        app.runtime.projector.drop(tp.partition for tp in revoked if tp.topic == EVENTS_TOPIC)

    del _revoked
    metrics.FRESHNESS.set(0)
    return app


def run_worker(settings: Settings, loglevel: str = "warning") -> None:
    """Run the worker in the foreground until SIGINT/SIGTERM."""
    app = create_app(settings)
    worker = faust.Worker(app, loglevel=loglevel, quiet=True)
    worker.execute_from_commandline()
