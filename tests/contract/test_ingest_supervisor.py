"""The ingest process as its worker runs it (docs/ingest-process.md), against a stand-in worker
on the private socket: requests passed on as they are, the worker's private endpoint refused
from outside, a killed ingest process restarted, a worker that stops answering told apart,
and a taken port stopping the worker with a reason."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from aiohttp import web

from streams.api import IngestProcess
from streams.errors import ConfigError
from streams.settings import Settings
from tests.conftest import settings_for_tests


def stand_in_worker() -> web.Application:
    async def echo(request: web.Request) -> web.Response:
        body = await request.read()
        return web.json_response(
            {"method": request.method, "path": request.raw_path, "body": body.decode(),
             "auth": request.headers.get("Authorization")},
            status=int(request.query.get("status", "200")), headers={"Retry-After": "7"},
        )  # fmt: skip

    app = web.Application()
    app.router.add_route("*", r"/{tail:[\s\S]*}", echo)
    return app


@asynccontextmanager
async def worker_on(path: str) -> AsyncIterator[None]:
    runner = web.AppRunner(stand_in_worker())
    await runner.setup()
    await web.UnixSite(runner, path).start()
    try:
        yield
    finally:
        await runner.cleanup()


async def answer(client: httpx.AsyncClient, settings: Settings, timeout: float = 30) -> int:
    """The first status the public port answers with, waiting for it to open."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            return (await client.get(f"{settings.api}/v1/health")).status_code
        except httpx.TransportError:
            assert asyncio.get_running_loop().time() < deadline, "the port never opened"
            await asyncio.sleep(0.1)


def test_requests_pass_through_and_a_killed_ingest_process_comes_back(tmp_path: Path):
    settings = settings_for_tests(tmp_path)

    async def scenario() -> None:
        supervisor = IngestProcess(settings)
        running = asyncio.create_task(supervisor.run())
        async with worker_on(supervisor.socket), httpx.AsyncClient(timeout=10) as client:
            assert await answer(client, settings) == 200
            passed = await client.post(f"{settings.api}/v1/sql?status=418&x=1", content=b"SELECT 1",
                                       headers={"Authorization": "Bearer t"})  # fmt: skip
            assert passed.status_code == 418 and passed.headers["Retry-After"] == "7"
            assert passed.json() == {"method": "POST", "path": "/v1/sql?status=418&x=1",
                                     "body": "SELECT 1", "auth": "Bearer t"}  # fmt: skip
            odd = "/v1/elections/a%0Ab%2Fc%C3%A9~/timeline?ward=%0A"  # found by schemathesis
            echoed = await client.get(f"{settings.api}{odd}")
            assert echoed.status_code == 200 and echoed.json()["path"] == odd
            private = await client.post(f"{settings.api}/_internal/keys", content=b"{}")
            assert private.status_code == 404

            first = supervisor.pid
            assert first is not None
            os.kill(first, signal.SIGKILL)
            await asyncio.sleep(0.3)
            assert await answer(client, settings) == 200
            assert supervisor.restarts == 1 and supervisor.pid not in (None, first)
        async with httpx.AsyncClient(timeout=10) as client:  # the worker stopped answering
            gone = await client.get(f"{settings.api}/v1/health")
            assert gone.status_code == 503 and gone.headers["Retry-After"] == "2"
            assert "worker is not answering" in gone.json()["error"]
        await supervisor.stop()
        await running
        assert supervisor.pid is None and not Path(supervisor.socket).parent.exists()

    asyncio.run(scenario())


def test_a_taken_port_stops_the_worker_with_a_reason(tmp_path: Path):
    settings = settings_for_tests(tmp_path)
    host, port = settings.api_host_port
    with socket.socket() as taken:
        taken.bind((host, port))
        taken.listen()

        async def scenario() -> None:
            supervisor = IngestProcess(settings)
            async with worker_on(supervisor.socket):
                with pytest.raises(ConfigError, match="is in use; set TURNOUT_API"):
                    await asyncio.wait_for(supervisor.run(), 60)
            assert supervisor.restarts == 0
            await supervisor.stop()

        asyncio.run(scenario())
