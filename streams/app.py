"""The composition root: builds the worker's Faust app and hands each part what it needs.

`create_app(settings)` wires the runtime (ClickHouse, producer, projector) to the agent, the
HTTP views, the operator endpoints and replay; `turnout worker` runs it. Nothing imports this
module but the CLI's `worker` command. In the embedded default the worker is the only process
that opens ClickHouse (chDB allows one engine per process and one process per data folder), so
every read goes through its HTTP API.
"""

from __future__ import annotations

import logging
from typing import Any

import faust
from faust.types import TP

from streams import metrics
from streams.api import MAX_BYTES, Admin, IngestProcess, PersonalData, Views
from streams.api.keys import KEYS_PATH, serve_keys
from streams.errors import ConfigError
from streams.kafka_config import check_connection, faust_credentials
from streams.settings import CONSUMER_GROUP, EVENTS_TOPIC, Settings
from streams.worker import (
    PURGE_EVERY,
    Replay,
    Runtime,
    batch_transport,
    purge_due,
    register_agents,
    register_alerting,
)

log = logging.getLogger(__name__)


class TurnoutApp(faust.App):
    """faust.App that mounts Turnout's HTTP API on Faust's aiohttp server and closes the
    runtime when the worker stops."""

    runtime: Runtime
    ingest_process: IngestProcess | None = None

    def _new_transport(self) -> Any:
        """Faust's aiokafka transport whose consumer hands turnout.events on in batches."""
        return batch_transport(self)

    def on_webserver_init(self, web_driver: Any) -> None:
        router = web_driver.web_app.router
        views = Views(self.runtime)
        views.mount(router)
        PersonalData(self.runtime, views.guard, views.ingest).mount(router)
        Admin(self.runtime, Replay(self.runtime)).mount(router)
        if self.ingest_process is not None:  # the ingest process asks for its data keys here
            keys = serve_keys(self.runtime.keyring, self.ingest_process.secret)
            router.add_post(KEYS_PATH, keys)

    async def on_stop(self) -> None:
        self.runtime.stopping()  # a sink retrying a write gives up, so the agent can stop
        if self.ingest_process is not None:
            await self.ingest_process.stop()
        await super().on_stop()
        await self.runtime.stop()


def broker_urls(bootstrap: str) -> str:
    return ";".join(f"kafka://{server.strip()}" for server in bootstrap.split(","))


def create_app(settings: Settings) -> TurnoutApp:
    host, port = settings.api_host_port
    ingest_process = IngestProcess(settings) if settings.ingest_process else None
    # With an ingest process, it holds the public port and Faust's web server the private
    # socket it passes the other requests to (docs/ingest-process.md).
    transport = f"unix://{ingest_process.socket}" if ingest_process else f"tcp://{host}:{port}"
    app = TurnoutApp(
        CONSUMER_GROUP,
        broker=broker_urls(settings.bootstrap_servers),
        broker_credentials=faust_credentials(settings),  # TLS/SASL for its consumer and producer
        store="memory://",
        datadir=str(settings.home / "faust"),
        autodiscover=False,
        web_enabled=True,
        # Faust's own pages (/router, /table, /graph, stats) would bypass the tokens: off.
        web_router_enabled=False,
        web_tables_enabled=False,
        web_graph_enabled=False,
        web_stats_enabled=False,
        web_bind=host,
        web_host=host,
        web_port=port,
        web_application_options={"client_max_size": MAX_BYTES + 64 * 1024},
        topic_partitions=settings.partitions,
        topic_disable_leader=True,
        consumer_auto_offset_reset="earliest",
        broker_commit_every=1000,
        broker_commit_interval=1.0,
        # A static member restarted after SIGKILL gets its partitions back at once; a dynamic
        # one's wait out the session (docs/worker-restart.md).
        broker_session_timeout=settings.session_timeout,
        broker_heartbeat_interval=min(3.0, settings.session_timeout / 3),
        consumer_group_instance_id=settings.group_instance_id,
        producer_acks=-1,
        web_transport=transport,
    )
    app.ingest_process = ingest_process
    runtime = app.runtime = Runtime(settings, app)
    register_agents(app, runtime)
    register_alerting(app, runtime)

    @app.on_partitions_revoked.connect  # type: ignore[misc,arg-type]
    async def _revoked(sender: Any, revoked: set[TP], **kwargs: Any) -> None:
        runtime.projector.drop(tp.partition for tp in revoked if tp.topic == EVENTS_TOPIC)

    @app.timer(PURGE_EVERY)  # type: ignore[misc]
    async def _purge_due() -> None:
        try:
            await purge_due(runtime)  # every election past its retention (docs/personal-data.md)
        except Exception:
            log.exception("the scheduled purge failed; it runs again in %.0fs", PURGE_EVERY)

    if ingest_process is not None:

        @app.task  # type: ignore[misc]
        async def _ingest_process() -> None:
            try:
                await ingest_process.run()
            except ConfigError as err:
                log.error("%s", err)
                await app.crash(err)

        del _ingest_process

    del _revoked, _purge_due
    metrics.FRESHNESS.set(0)
    return app


def run_worker(settings: Settings, loglevel: str = "warning") -> None:
    """Run the worker in the foreground until SIGINT/SIGTERM."""
    check_connection(settings)  # refused credentials or an untrusted CA: say which setting
    app = create_app(settings)
    worker = faust.Worker(app, loglevel=loglevel, quiet=True)
    worker.execute_from_commandline()
