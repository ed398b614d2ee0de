"""Operator endpoints (the `admin` scope): replay and, with TURNOUT_TEST_HOOKS, fault injection."""

from __future__ import annotations

import asyncio

from aiohttp import web

from streams.api.access import authorize
from streams.worker import Replay, Runtime


class Admin:
    def __init__(self, runtime: Runtime, replay: Replay) -> None:
        self.runtime = runtime
        self.replay = replay
        self._task: asyncio.Task[None] | None = None

    def mount(self, router: web.UrlDispatcher) -> None:
        router.add_post("/v1/replay", self.start_replay)
        router.add_get("/v1/replay", self.replay_status)
        if self.runtime.settings.test_hooks:
            router.add_post("/v1/_test/sink-failures", self.inject_sink_failures)

    def _denied(self, request: web.Request) -> web.Response | None:
        """The error response when the request lacks the admin scope, else None."""
        who = authorize(self.runtime.tokens, request, "admin")
        return who if isinstance(who, web.Response) else None

    async def start_replay(self, request: web.Request) -> web.Response:
        if denied := self._denied(request):
            return denied
        if self._task is not None and not self._task.done():
            return web.json_response(self.replay.progress.as_dict(), status=409)
        self._task = asyncio.create_task(self.replay.run())
        await asyncio.sleep(0)
        return web.json_response(self.replay.progress.as_dict(), status=202)

    async def replay_status(self, request: web.Request) -> web.Response:
        if denied := self._denied(request):
            return denied
        return web.json_response(self.replay.progress.as_dict())

    async def inject_sink_failures(self, request: web.Request) -> web.Response:
        """Tests: make the next N ClickHouse writes fail as if the server were down."""
        if denied := self._denied(request):
            return denied
        body = await request.json()
        self.runtime.sink.failures_to_inject = int(body["count"])
        return web.json_response({"failures_to_inject": int(body["count"])})
