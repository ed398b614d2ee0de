"""Operator endpoints (the `admin` scope): replay, the audit trail and, with TURNOUT_TEST_HOOKS,
fault injection."""

from __future__ import annotations

import asyncio

from aiohttp import web

from streams.api.access import authorize
from streams.api.responses import error
from streams.store import AUDIT_LIMIT
from streams.worker import Replay, Runtime


class Admin:
    def __init__(self, runtime: Runtime, replay: Replay) -> None:
        self.runtime = runtime
        self.replay = replay
        self._task: asyncio.Task[None] | None = None

    def mount(self, router: web.UrlDispatcher) -> None:
        router.add_post("/v1/replay", self.start_replay)
        router.add_get("/v1/replay", self.replay_status)
        router.add_get("/v1/audit", self.audit)
        if self.runtime.settings.test_hooks:
            router.add_post("/v1/_test/sink-failures", self.inject_sink_failures)
            router.add_post("/v1/_test/sink-read-failures", self.inject_read_failures)
            router.add_post("/v1/_test/sink-crashes", self.inject_crashes)
            router.add_post("/v1/_test/sink-poison", self.inject_poison)

    def _denied(self, request: web.Request) -> web.Response | None:
        """The error response when the request lacks the admin scope, else None."""
        who = authorize(self.runtime.tokens, request, "admin")
        return who if isinstance(who, web.Response) else None

    async def audit(self, request: web.Request) -> web.Response:
        """The audit trail, newest first: ?election_id= to narrow it, ?limit= (<= 10,000)."""
        if denied := self._denied(request):
            return denied
        election_id = request.query.get("election_id") or None
        try:
            limit = int(request.query.get("limit", "1000"))
        except ValueError:
            limit = 0
        if not 1 <= limit <= AUDIT_LIMIT:
            return error(400, f"limit: use an integer from 1 to {AUDIT_LIMIT}")
        rows = await asyncio.to_thread(self.runtime.audit.recent, election_id, limit)
        return web.json_response({"rows": rows})

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

    async def inject_read_failures(self, request: web.Request) -> web.Response:
        """Tests: make the next N ClickHouse reads (a partition's reload) fail."""
        if denied := self._denied(request):
            return denied
        body = await request.json()
        self.runtime.sink.read_failures_to_inject = int(body["count"])
        return web.json_response({"read_failures_to_inject": int(body["count"])})

    async def inject_crashes(self, request: web.Request) -> web.Response:
        """Tests: make the next N batches fail just after their write, as a bug would."""
        if denied := self._denied(request):
            return denied
        body = await request.json()
        self.runtime.sink.crashes_to_inject = int(body["count"])
        return web.json_response({"crashes_to_inject": int(body["count"])})

    async def inject_poison(self, request: web.Request) -> web.Response:
        """Tests: make ClickHouse refuse the rows of `table` holding `marker` (null: stop)."""
        if denied := self._denied(request):
            return denied
        body = await request.json()
        marker = body.get("marker")
        poison = (str(body["table"]), str(marker)) if marker else None
        self.runtime.sink.poison = poison
        return web.json_response({"poison": list(poison) if poison else None})
