"""The ingest process: the public HTTP port, with `POST /v1/events` served here and every other
request passed to the worker over its private socket (docs/ingest-process.md).

Parsing, validating, sealing and producing events is the CPU-heavy half of ingest; in a
process of its own it runs on the second core, beside the worker's fold. The embedded engine
stays owned by the worker (chDB allows one process per data folder), so reads, health and the
operator endpoints are answered there, and data keys are asked of it (`api/keys.py`). The
worker starts this process and restarts it if it dies (`api/supervisor.py`); it exits when
its worker is gone.

Run as `python -m streams.api.front`, with the worker's TURNOUT_* settings and
TURNOUT_WORKER_SOCKET / TURNOUT_INTERNAL_SECRET in its environment.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys

import aiohttp
from aiohttp import web
from aiokafka.errors import KafkaError
from prometheus_client import CONTENT_TYPE_LATEST
from yarl import URL

from streams import metrics
from streams.api.ingest import MAX_BYTES, Ingest
from streams.api.keys import KEYS_PATH, RemoteKeys
from streams.api.responses import error
from streams.api.supervisor import BIND_FAILED, SECRET_ENV, SOCKET_ENV
from streams.auth import Tokens, server_tokens
from streams.event_producer import EventProducer
from streams.settings import Settings
from streams.store import master_key

log = logging.getLogger(__name__)

WORKER_DOWN = "the worker is not answering (starting or restarting); retry in a few seconds"
# Hop-by-hop headers (RFC 9110 §7.6.1) and those aiohttp sets itself: never passed on.
_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
        "proxy-authorization", "proxy-authenticate", "host", "content-length",
        "content-encoding", "accept-encoding"}  # fmt: skip


class Front:
    """The ingest process's aiohttp application and what it holds open."""

    def __init__(self, settings: Settings, socket: str, secret: str) -> None:
        self.settings = settings
        self.socket = socket
        self.secret = secret
        self.app = web.Application(client_max_size=MAX_BYTES + 64 * 1024)
        self.app.router.add_post("/v1/events", self.post_events)
        self.app.router.add_get("/metrics", self.metrics)
        self.app.router.add_route("*", r"/{tail:[\s\S]*}", self.proxy)
        self.app.on_startup.append(self._open)
        self.app.on_cleanup.append(self._close)
        self.tokens = Tokens(server_tokens(settings))
        self.session: aiohttp.ClientSession | None = None
        self._ingest: Ingest | None = None
        self._ingest_lock = asyncio.Lock()

    async def _open(self, _: web.Application) -> None:
        connector = aiohttp.UnixConnector(path=self.socket, limit=64)
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=5, sock_read=600)
        self.session = aiohttp.ClientSession(connector=connector, timeout=timeout)

    async def _close(self, _: web.Application) -> None:
        if self._ingest is not None:
            await self._ingest.producer.stop()
        if self.session is not None:
            await self.session.close()

    async def ingest(self) -> Ingest:
        """The one Ingest, its producer started on the first POST: reads go on being passed to
        the worker while Kafka is away (KafkaError until it answers)."""
        async with self._ingest_lock:
            if self._ingest is None:
                settings = self.settings
                producer = EventProducer(settings)
                await producer.start()
                assert self.session is not None
                keys = RemoteKeys(self.session, master_key(settings), self.secret)
                pseudonym = settings.pseudonym_key.encode() if settings.pseudonym_key else None
                self._ingest = Ingest(producer, self.tokens, pseudonym_key=pseudonym, keys=keys,
                                      encrypt=settings.encryption)  # fmt: skip
        return self._ingest

    async def post_events(self, request: web.Request) -> web.Response:
        try:
            ingest = await self.ingest()
        except KafkaError as err:
            log.warning("Kafka is not reachable: %s", type(err).__name__)
            return error(503, "Kafka is not reachable; nothing was sent, retry")
        return await ingest.post_events(request)

    async def metrics(self, request: web.Request) -> web.Response:
        """The worker's metrics with this process's ingest counters added."""
        answer = await self.proxy(request)
        if answer.status != 200 or not isinstance(answer.body, bytes):
            return answer
        body = metrics.merged(answer.body.decode())
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def proxy(self, request: web.Request) -> web.Response:
        """The worker's answer to the same request, or 503 while it does not answer."""
        if request.path.startswith(KEYS_PATH.rsplit("/", 1)[0] + "/"):
            return error(404, "not found")
        assert self.session is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP}
        try:
            async with self.session.request(
                # the path exactly as it came (an id may carry any escape, %2F included)
                request.method, URL("http://worker" + request.raw_path, encoded=True),
                headers=headers,
                data=await request.read() if request.can_read_body else None,
                allow_redirects=False,
            ) as answer:  # fmt: skip
                body = await answer.read()
                kept = {k: v for k, v in answer.headers.items() if k.lower() not in _HOP}
                return web.Response(status=answer.status, body=body, headers=kept)
        except (TimeoutError, aiohttp.ClientConnectionError):
            response = error(503, WORKER_DOWN)
            response.headers["Retry-After"] = "2"
            return response


async def serve(settings: Settings, socket: str, secret: str) -> None:
    """Bind the public port and serve until SIGTERM/SIGINT or the worker is gone."""
    front = Front(settings, socket, secret)
    runner = web.AppRunner(front.app, access_log=None)
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    parent = os.getppid()

    def running() -> bool:  # the worker gone: so is this process
        return not stop.is_set() and os.getppid() == parent

    # The public port opens when the worker answers, as it did when the worker held it.
    while running() and not await _answers(socket):
        await asyncio.sleep(0.1)
    if running():
        await _bind(runner, *settings.api_host_port)
    while running():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.5)
    await runner.cleanup()


async def _answers(socket: str) -> bool:
    try:
        _, writer = await asyncio.open_unix_connection(socket)
    except OSError:
        return False
    writer.close()
    return True


async def _bind(runner: web.AppRunner, host: str, port: int, tries: int = 20) -> None:
    """Bind the public port, waiting up to 10 s for an ingest process that is going away
    (its worker was killed) to let go of it; exit BIND_FAILED if it stays taken."""
    for attempt in range(tries):
        try:
            await web.TCPSite(runner, host, port).start()
            return
        except OSError as err:
            if attempt == tries - 1:
                await runner.cleanup()
                log.error("cannot serve the API on %s:%s (%s); set TURNOUT_API to a free port",
                          host, port, err.strerror)  # fmt: skip
                raise SystemExit(BIND_FAILED) from None
            await asyncio.sleep(0.5)


def main() -> None:
    logging.basicConfig(
        level=os.environ.get("TURNOUT_LOG_LEVEL", "WARNING").upper(),
        format="[%(asctime)s] ingest process: %(levelname)s %(name)s: %(message)s",
    )
    socket, secret = os.environ.get(SOCKET_ENV), os.environ.get(SECRET_ENV)
    if not socket or not secret:
        sys.exit(f"{SOCKET_ENV} and {SECRET_ENV} are set by `turnout worker`, which runs this")
    asyncio.run(serve(Settings.from_env(), socket, secret))


if __name__ == "__main__":
    main()
