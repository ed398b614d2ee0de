"""Personal-data operations over HTTP: erasure (admin), purge (admin), elections and their
retention (read), and sealing events for apps that produce straight to Kafka (ingest).

Erasure is an event: `DELETE /v1/elections/{id}/electors/{elector_id}` produces
`elector.erased` into the elector's own partition of turnout.events, so the agent applies it
in order with their other records (destroying their keys, deleting their rows, moving their
counts out) and a replay applies it again; the request waits until the agent has (200), or
answers 202 if it is still behind. docs/personal-data.md.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import msgspec
from aiohttp import web

from streams import events as ev
from streams.api.ingest import Ingest, TooManyEventsError, parse_body, visible
from streams.api.responses import error
from streams.api.views import query_params
from streams.errors import EventRejected, QueryError
from streams.events import SOURCE_HEADER, pseudonym
from streams.settings import EVENTS_TOPIC
from streams.store import AuditEntry
from streams.worker import Runtime, purge_due

Handler = Callable[[web.Request], Awaitable[web.Response]]
Guard = Callable[[Handler, str], Handler]
ERASE_WAIT = 30.0  # seconds an erasure request waits for the agent to apply it


class PersonalData:
    """The handlers; `guard` (Views.guard) checks token, scope and binding and maps errors."""

    def __init__(self, runtime: Runtime, guard: Guard, ingest: Callable[[], Awaitable[Ingest]]):
        self.runtime = runtime
        self.guard = guard
        self.ingest = ingest

    def mount(self, router: web.UrlDispatcher) -> None:
        elector = "/v1/elections/{election_id}/electors/{elector_id}"
        router.add_delete(elector, self.guard(self.erase, "admin"))
        router.add_post("/v1/purge", self.guard(self.purge, "admin"))
        router.add_get("/v1/elections", self.guard(self.elections, "read"))
        router.add_post("/v1/seal", self.guard(self.seal, "ingest"))

    async def erase(self, request: web.Request) -> web.Response:
        """Erase one elector: the register's id or, with a pseudonym key, the pseudonym."""
        query_params(request, ())
        election_id = request.match_info["election_id"]
        asked = request.match_info["elector_id"]
        ids = [asked]
        if self.runtime.pseudonym_key is not None:
            ids.append(pseudonym(self.runtime.pseudonym_key, asked))
        held = await asyncio.to_thread(self.runtime.reader.held, election_id, ids)
        if held is None:
            await self._audit(request, "erase", election_id, {"elector_id": asked}, 0)
            return error(404, f"election {election_id!r}: holds nothing about this elector")
        elector_id, partitions = held
        event = erasure(election_id, elector_id)
        params = {"elector_id": elector_id, "event_id": event["event_id"]}
        await self._audit(request, "erase", election_id, params, 1)  # before: none unrecorded
        producer = await self.runtime.producer()
        headers = [(SOURCE_HEADER, request["principal"].name.encode())]
        for partition in partitions:  # the elector's partition: applied in order with the rest
            await producer.send_and_wait(EVENTS_TOPIC, msgspec.json.encode(event),
                                         partition=partition, headers=headers)  # fmt: skip
        done = await self._applied(election_id, elector_id)
        body = {"election_id": election_id, "elector_id": elector_id, "erased": done,
                "event_id": event["event_id"]}  # fmt: skip
        return web.json_response(body, status=200 if done else 202)

    async def _applied(self, election_id: str, elector_id: str) -> bool:
        deadline = time.monotonic() + ERASE_WAIT
        while time.monotonic() < deadline:
            if not await asyncio.to_thread(self.runtime.reader.held, election_id, [elector_id]):
                return True
            await asyncio.sleep(0.2)
        return False

    async def purge(self, request: web.Request) -> web.Response:
        """Purge the elections whose retention is over (?election_id= for one of them)."""
        only = query_params(request, ("election_id",))["election_id"]
        who = request["principal"]
        if only is not None and not who.sees(only):
            raise QueryError(f"election_id: this token may not purge {only!r}")
        if who.elections is not None and only is None:
            raise QueryError("election_id: a token bound to elections must name one")
        done = await purge_due(self.runtime, only, who.name, request.path)
        return web.json_response(done)

    async def elections(self, request: web.Request) -> web.Response:
        """Every election the token sees, with its retention and purge date."""
        query_params(request, ())
        who = request["principal"]
        rows = await asyncio.to_thread(
            self.runtime.reader.elections, self.runtime.settings.retention_days, datetime.now(UTC)
        )
        return web.json_response({"rows": [r for r in rows if who.sees(r["election_id"])]})

    async def seal(self, request: web.Request) -> web.Response:
        """The events, validated and sealed as ingest would, for an app to produce to Kafka
        itself (keyed election_id:elector_id as sent); nothing is produced here."""
        try:
            parsed = parse_body(await request.read(), request.content_type)
        except TooManyEventsError as err:
            return error(413, str(err))
        except ValueError as err:
            return error(400, str(err))
        checked, rejected = [], []
        for index, item in enumerate(parsed.items):
            try:
                if isinstance(item, bytes):
                    raise EventRejected(["event: this NDJSON line is not valid JSON"])
                checked.append((index, visible(ev.validate(item), request["principal"])))
            except EventRejected as err:
                rejected.append({"index": index, "errors": err.errors})
        ingest = await self.ingest()
        sealed = await ingest.seal([e for _, e in checked], as_sent=True)
        out = []
        for (index, _), value in zip(checked, sealed, strict=True):
            if isinstance(value, bytes):
                out.append(msgspec.json.decode(value))
            else:
                rejected.append({"index": index, "errors": [value]})
        return web.json_response({"events": out, "rejected": sorted(rejected, key=_index)})

    async def _audit(
        self, request: web.Request, action: str, election_id: str, params: dict[str, Any], n: int
    ) -> None:
        entry = AuditEntry(token_name=request["principal"].name, action=action,
                           endpoint=request.path, election_id=election_id, parameters=params,
                           row_count=n)  # fmt: skip
        await asyncio.to_thread(self.runtime.audit.append, entry)


def erasure(election_id: str, elector_id: str) -> dict[str, Any]:
    """The `elector.erased` event of an erasure requested now."""
    return {"type": ev.ERASED, "event_id": f"erasure-{uuid.uuid4().hex}", "schema_version": 1,
            "election_id": election_id, "elector_id": elector_id,
            "occurred_at": datetime.now(UTC).isoformat()}  # fmt: skip


def _index(rejection: dict[str, Any]) -> int:
    return int(rejection["index"])
