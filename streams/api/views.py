"""The worker's HTTP API (aiohttp handlers mounted on Faust's web server).

Every /v1/elections/... endpoint and POST /v1/sql need the bearer token (`guard`); health,
metrics and the OpenAPI description carry no personal data and need none. The contract is
`streams/api/openapi.py`, served at /v1/openapi.json; docs/read-api.md explains it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from streams import metrics
from streams.api import openapi
from streams.api.access import authorize
from streams.api.ingest import Ingest
from streams.api.keys import LocalKeys
from streams.api.responses import error
from streams.errors import QueryError, TurnoutError
from streams.events import JSON_ERRORS, pseudonym
from streams.read import forecast
from streams.read import queries as q
from streams.read.campaign import ACTIVITY_BY
from streams.store import AuditEntry, AuditError
from streams.worker import Runtime

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.Response]]
MAX_PARAM_LENGTH = 64  # ward and district codes are 1-64 characters; times are shorter
EARLIEST_QUERY_TIME = datetime(1900, 1, 1, tzinfo=UTC)  # ClickHouse DateTime64's range
LATEST_QUERY_TIME = datetime(2299, 12, 31, tzinfo=UTC)


def parse_time(name: str, value: str | None) -> datetime | None:
    if value is None or value == "":
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise QueryError(f"{name}: {value!r} is not an RFC 3339 timestamp") from None
    if parsed.tzinfo is None:
        raise QueryError(f"{name}: {value!r} needs a UTC offset, e.g. 2026-05-07T18:00:00+01:00")
    if not EARLIEST_QUERY_TIME <= parsed <= LATEST_QUERY_TIME:
        raise QueryError(f"{name}: {value!r} is out of range; use a time from 1900 to 2299")
    return parsed


def query_params(request: web.Request, allowed: Sequence[str]) -> dict[str, str | None]:
    """The query string as {name: value or None}; an unknown name, a repeated one or a value
    longer than any code or time is a 400 naming the problem."""
    for name in request.query:
        if name not in allowed:
            raise QueryError(f"{name}: unknown parameter; use {', '.join(allowed)}")
        values = request.query.getall(name)
        if len(values) > 1:
            raise QueryError(f"{name}: given {len(values)} times; give it once")
        if len(values[0]) > MAX_PARAM_LENGTH:
            raise QueryError(f"{name}: longer than {MAX_PARAM_LENGTH} characters")
    return {name: request.query.get(name) or None for name in allowed}


def iso(epoch_seconds: float | None) -> str | None:
    if not epoch_seconds:
        return None
    return datetime.fromtimestamp(epoch_seconds, UTC).isoformat()


def route(request: web.Request) -> str:
    """The request's route pattern, for logs: a path may name an elector
    (`/v1/elections/{election_id}/electors/{elector_id}/export`), which logs must not."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "?"


class ReadsBusyError(TurnoutError):
    """Every read slot is taken: the request is refused, not queued without bound."""


class Views:
    """The read endpoints, ingest, health and metrics, over the worker's runtime."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._ingest: Ingest | None = None

    async def ingest(self) -> Ingest:
        """The one Ingest of this worker: its partition count is looked up once."""
        if self._ingest is None:
            runtime = self.runtime
            self._ingest = Ingest(
                await runtime.producer(), runtime.tokens, pseudonym_key=runtime.pseudonym_key,
                keys=LocalKeys(runtime.keyring), encrypt=runtime.settings.encryption,
            )  # fmt: skip
        return self._ingest

    def mount(self, router: web.UrlDispatcher) -> None:
        router.add_post("/v1/events", self.post_events)
        elections = "/v1/elections/{election_id}/"
        router.add_get(elections + "turnout-gap", self.guard(self.turnout_gap, "read"))
        router.add_get(elections + "knockup", self.guard(self.knockup, "read"))
        router.add_get(elections + "timeline", self.guard(self.timeline, "read"))
        router.add_get(elections + "coverage", self.guard(self.coverage, "read"))
        router.add_get(elections + "activity", self.guard(self.activity, "read"))
        router.add_get(elections + "effect", self.guard(self.effect, "read"))
        router.add_get(elections + "electors/{elector_id}/export", self.guard(self.export, "admin"))
        router.add_get(elections + "projection", self.guard(self.projection, "read"))
        router.add_get(elections + "priorities", self.guard(self.priorities, "read"))
        router.add_get(elections + "alerts", self.guard(self.alerts, "read"))
        router.add_post("/v1/sql", self.guard(self.sql, "sql"))
        router.add_get("/v1/health", self.health)
        router.add_get("/v1/openapi.json", self.openapi)
        router.add_get("/metrics", self.metrics)

    def guard(self, handler: Handler, scope: str) -> Handler:
        """Token, scope and election binding checks, and error mapping, around `handler`."""

        async def guarded(request: web.Request) -> web.Response:
            who = authorize(self.runtime.tokens, request, scope)
            if isinstance(who, web.Response):
                return who
            request["principal"] = who  # for the audit trail
            try:
                return await handler(request)
            except q.ElectionNotFound as err:
                return error(404, str(err))
            except ReadsBusyError as err:
                return error(503, str(err))
            except QueryError as err:
                return error(400, str(err))
            except AuditError:  # the audit entry could not be written: nothing is answered
                log.warning(
                    "%s %s: audit entry not written; refused", request.method, route(request)
                )
                return error(503, "the audit trail could not record this read; retry soon")
            except Exception:
                log.exception("%s %s failed", request.method, route(request))
                return error(500, "internal error; the worker log has the details")

        return guarded

    async def _audit(
        self, request: web.Request, action: str, election_id: str, params: dict[str, Any], n: int
    ) -> None:
        """Record a read of personal data before it is answered (AuditError if that fails)."""
        entry = AuditEntry(
            token_name=request["principal"].name, action=action, endpoint=request.path,
            election_id=election_id, parameters={k: v for k, v in params.items() if v is not None},
            row_count=n,
        )  # fmt: skip
        await asyncio.to_thread(self.runtime.audit.append, entry)

    async def _read(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run a blocking read on the runtime's read threads, or refuse it when they are full."""
        runtime = self.runtime
        if runtime.read_slots.locked():
            raise ReadsBusyError("the worker is answering as many reads as it takes; retry soon")
        async with runtime.read_slots:
            return await asyncio.get_running_loop().run_in_executor(runtime.reads, fn, *args)

    async def post_events(self, request: web.Request) -> web.Response:
        return await (await self.ingest()).post_events(request)

    async def turnout_gap(self, request: web.Request) -> web.Response:
        election_id = request.match_info["election_id"]
        p = query_params(request, ("by", "ward", "as_of"))
        by = q.parse_by(p["by"] or "ward,age_band")
        as_of = parse_time("as_of", p["as_of"])
        rows = await self._read(self.runtime.reader.turnout_gap, election_id, by, p["ward"], as_of)
        return web.json_response(
            {
                "election_id": election_id,
                "as_of": as_of.isoformat() if as_of else None,
                "rows": rows,
            }
        )

    async def knockup(self, request: web.Request) -> web.Response:
        election_id = request.match_info["election_id"]
        p = query_params(request, ("ward", "polling_district", "limit"))
        limit = q.parse_limit(p["limit"])
        reader = self.runtime.reader
        rows, truncated = await self._read(
            reader.knockup, election_id, p["ward"], p["polling_district"], limit
        )
        await self._audit(request, "knockup", election_id, p, len(rows))
        return web.json_response(
            {"election_id": election_id, "limit": limit, "truncated": truncated, "rows": rows}
        )

    async def timeline(self, request: web.Request) -> web.Response:
        election_id = request.match_info["election_id"]
        p = query_params(request, ("ward", "bucket"))
        bucket = p["bucket"] or q.DEFAULT_BUCKET
        seconds = q.parse_bucket(bucket)
        rows = await self._read(self.runtime.reader.timeline, election_id, seconds, p["ward"])
        return web.json_response({"election_id": election_id, "bucket": bucket, "rows": rows})

    async def coverage(self, request: web.Request) -> web.Response:
        election_id = request.match_info["election_id"]
        p = query_params(request, ("ward", "as_of"))
        as_of = parse_time("as_of", p["as_of"])
        rows = await self._read(self.runtime.reader.coverage, election_id, p["ward"], as_of)
        return web.json_response(
            {
                "election_id": election_id,
                "as_of": as_of.isoformat() if as_of else None,
                "rows": rows,
            }
        )

    async def activity(self, request: web.Request) -> web.Response:
        election_id = request.match_info["election_id"]
        p = query_params(request, ("by", "ward"))
        by = q.parse_choice("by", p["by"], ACTIVITY_BY, "session")
        rows = await self._read(self.runtime.reader.activity, election_id, by, p["ward"])
        return web.json_response({"election_id": election_id, "by": by, "rows": rows})

    async def effect(self, request: web.Request) -> web.Response:
        election_id = request.match_info["election_id"]
        p = query_params(request, ("ward",))
        rows, summary = await self._read(self.runtime.reader.effect, election_id, p["ward"])
        return web.json_response({"election_id": election_id, "rows": rows, "summary": summary})

    async def export(self, request: web.Request) -> web.Response:
        """Subject access: every event and the state held about one elector (admin scope)."""
        election_id = request.match_info["election_id"]
        elector_id = request.match_info["elector_id"]
        query_params(request, ())
        ids = [elector_id]
        if self.runtime.pseudonym_key is not None:  # the register's id or the pseudonym
            ids.append(pseudonym(self.runtime.pseudonym_key, elector_id))
        found = await self._read(
            self.runtime.reader.subject, election_id, ids, self.runtime.keyring
        )
        held = 0 if found is None else len(found["events"]) + len(found["state"])
        await self._audit(request, "export", election_id, {"elector_id": elector_id}, held)
        if found is None:
            return error(404, f"election {election_id!r}: holds nothing about this elector")
        return web.json_response(found)

    async def projection(self, request: web.Request) -> web.Response:
        election_id = request.match_info["election_id"]
        p = query_params(request, ("by", "as_of"))
        by = q.parse_by(p["by"] or "ward")
        as_of = parse_time("as_of", p["as_of"])
        reader = self.runtime.reader
        return web.json_response(await self._read(forecast.project, reader, election_id, by, as_of))

    async def priorities(self, request: web.Request) -> web.Response:
        election_id = request.match_info["election_id"]
        p = query_params(request, ("as_of", "ward"))
        as_of = parse_time("as_of", p["as_of"])
        reader = self.runtime.reader
        answer = await self._read(forecast.rank, reader, election_id, as_of, p["ward"])
        return web.json_response(answer)

    async def alerts(self, request: web.Request) -> web.Response:
        election_id = request.match_info["election_id"]
        query_params(request, ())
        reader = self.runtime.reader
        return web.json_response(await self._read(forecast.active_alerts, reader, election_id))

    async def sql(self, request: web.Request) -> web.Response:
        try:
            body = msgspec.json.decode(await request.read())
        except JSON_ERRORS:
            body = None
        text = body.get("sql") if isinstance(body, dict) else None
        if not isinstance(text, str) or not text.strip():
            raise QueryError('sql: send a JSON object {"sql": "SELECT ..."}')
        columns, rows = await self._read(self.runtime.reader.sql, text)
        await self._audit(request, "sql", "", {"sql": text}, len(rows))
        return web.json_response({"columns": columns, "rows": rows})

    async def openapi(self, request: web.Request) -> web.Response:
        return web.json_response(openapi.document())

    async def health(self, request: web.Request) -> web.Response:
        kafka, clickhouse = await asyncio.gather(self._kafka_ok(), self._clickhouse_ok())
        lag = await self._lag() if kafka else None
        now = time.time()
        behind = self.runtime.freshness.behind(lag, now)
        status = "ok" if kafka and clickhouse else "degraded"
        body = {
            "status": status,
            "kafka": {"ok": kafka},
            "clickhouse": {"ok": clickhouse},
            "consumer_lag": None if lag is None else {str(p): n for p, n in sorted(lag.items())},
            "caught_up": lag is not None and not any(lag.values()),
            "seconds_since_last_batch": round(now - self.runtime.last_write, 3),
            "freshness": self._freshness(behind),
        }
        return web.json_response(body, status=200 if status == "ok" else 503)

    def _freshness(self, behind: float | None) -> dict[str, Any]:
        freshness = self.runtime.freshness
        newest = freshness.newest_event_us
        return {
            "seconds": None if behind is None else round(behind, 3),
            "newest_event_at": iso(newest / 1_000_000) if newest else None,
            "applied_at": iso(freshness.applied_at),
        }

    async def _kafka_ok(self) -> bool:
        try:
            producer = await asyncio.wait_for(self.runtime.producer(), 5)
            await asyncio.wait_for(producer.refresh_metadata(), 5)
            return True
        except Exception:
            return False

    async def _lag(self) -> dict[int, int] | None:
        try:
            lag = await asyncio.wait_for(self.runtime.consumer_lag(), 5)
        except Exception:
            return None
        for partition, n in (lag or {}).items():
            metrics.CONSUMER_LAG.labels(partition=str(partition)).set(n)
        return lag

    async def _clickhouse_ok(self) -> bool:
        try:
            await asyncio.to_thread(self.runtime.reader.client.command, "SELECT 1")
            return True
        except Exception:
            return False

    async def metrics(self, request: web.Request) -> web.Response:
        """Prometheus text; consumer lag and freshness are measured at scrape time."""
        self.runtime.freshness.behind(await self._lag(), time.time())
        return web.Response(
            body=generate_latest(metrics.REGISTRY),
            headers={"Content-Type": CONTENT_TYPE_LATEST},
        )
