"""Reads run on threads of their own, a bounded number at once: past that they are refused
(503) instead of queueing without bound or taking the threads the fold and the sink use."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

from streams.api.views import ReadsBusyError, Views


def test_reads_past_the_slots_are_refused_and_run_off_the_default_pool():
    async def scenario() -> tuple[list[object], set[str]]:
        release = threading.Event()
        names: set[str] = set()

        def slow() -> str:
            names.add(threading.current_thread().name)
            release.wait(5)
            return "done"

        runtime = SimpleNamespace(
            reads=ThreadPoolExecutor(2, thread_name_prefix="turnout-read"),
            read_slots=asyncio.Semaphore(2),
        )
        views = Views(runtime)  # type: ignore[arg-type]
        first = [asyncio.create_task(views._read(slow)) for _ in range(2)]
        await asyncio.sleep(0.1)
        refused = asyncio.create_task(views._read(slow))
        await asyncio.sleep(0.1)
        release.set()
        results = await asyncio.gather(*first, refused, return_exceptions=True)
        runtime.reads.shutdown()
        return results, names

    results, names = asyncio.run(scenario())
    assert results[:2] == ["done", "done"]
    assert isinstance(results[2], ReadsBusyError) and "retry" in str(results[2])
    assert names and all(n.startswith("turnout-read") for n in names)


def test_logs_name_the_route_never_the_elector_in_the_path():
    from aiohttp import web
    from aiohttp.test_utils import make_mocked_request

    from streams.api.views import route

    async def handler(request: web.Request) -> web.Response:
        return web.Response()

    app = web.Application()
    app.router.add_get("/v1/elections/{election_id}/electors/{elector_id}/export", handler)
    request = make_mocked_request("GET", "/v1/elections/e-1/electors/E-secret/export", app=app)

    async def resolve() -> str:
        request._match_info = await app.router.resolve(request)  # as aiohttp does per request
        return route(request)

    assert asyncio.run(resolve()) == "/v1/elections/{election_id}/electors/{elector_id}/export"
