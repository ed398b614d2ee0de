"""The worker's HTTP API (aiohttp handlers mounted on Faust's web server)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from streams import metrics
from streams.errors import QueryError
from streams.queries import ElectionNotFound, parse_by

if TYPE_CHECKING:
    from streams.app import TurnoutApp

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.Response]]


def error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def parse_time(name: str, value: str | None) -> datetime | None:
    if value is None or value == "":
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise QueryError(f"{name}: {value!r} is not an RFC 3339 timestamp") from None
    if parsed.tzinfo is None:
        raise QueryError(f"{name}: {value!r} needs a UTC offset, e.g. 2026-05-07T18:00:00+01:00")
    return parsed


class Views:
    def __init__(self, app: TurnoutApp) -> None:
        self.app = app

    @property
    def runtime(self) -> Any:
        return self.app.runtime

    def mount(self, router: web.UrlDispatcher) -> None:
        router.add_post("/v1/events", self.post_events)
        router.add_get("/v1/elections/{election_id}/turnout-gap", self.guard(self.turnout_gap))
        router.add_get("/v1/health", self.health)
        router.add_get("/metrics", self.metrics)

    def guard(self, handler: Handler) -> Handler:
        """Token check and error mapping for /v1/elections/... endpoints."""

        async def guarded(request: web.Request) -> web.Response:
            if self.runtime.tokens.name_of(request) is None:
                return error(
                    401, "missing or unknown bearer token: send Authorization: Bearer <token>"
                )
            try:
                return await handler(request)
            except ElectionNotFound as err:
                return error(404, str(err))
            except QueryError as err:
                return error(400, str(err))
            except Exception:
                log.exception("%s %s failed", request.method, request.path)
                return error(500, "internal error; the worker log has the details")

        return guarded

    async def post_events(self, request: web.Request) -> web.Response:
        ingest = await self.runtime.ingest()
        return await ingest.post_events(request)

    async def turnout_gap(self, request: web.Request) -> web.Response:
        election_id = request.match_info["election_id"]
        by = parse_by(request.query.get("by", "ward,age_band"))
        ward = request.query.get("ward") or None
        as_of = parse_time("as_of", request.query.get("as_of"))
        rows = await asyncio.to_thread(
            self.runtime.reader.turnout_gap, election_id, by, ward, as_of
        )
        body = {
            "election_id": election_id,
            "as_of": as_of.isoformat() if as_of else None,
            "rows": rows,
        }
        return web.json_response(body)

    async def health(self, request: web.Request) -> web.Response:
        kafka, clickhouse = await asyncio.gather(self._kafka_ok(), self._clickhouse_ok())
        lag = await self._lag() if kafka else None
        status = "ok" if kafka and clickhouse else "degraded"
        body = {
            "status": status,
            "kafka": {"ok": kafka},
            "clickhouse": {"ok": clickhouse},
            "consumer_lag": None if lag is None else {str(p): n for p, n in sorted(lag.items())},
            "caught_up": lag is not None and not any(lag.values()),
            "seconds_since_last_batch": round(time.time() - self.runtime.last_write, 3),
        }
        return web.json_response(body, status=200 if status == "ok" else 503)

    async def _kafka_ok(self) -> bool:
        try:
            producer = await asyncio.wait_for(self.runtime.producer(), 5)
            await asyncio.wait_for(producer.client.force_metadata_update(), 5)
            return True
        except Exception:
            return False

    async def _lag(self) -> dict[int, int] | None:
        try:
            lag = await asyncio.wait_for(self.runtime.consumer_lag(self.app), 5)
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
        return web.Response(
            body=generate_latest(metrics.REGISTRY),
            headers={"Content-Type": CONTENT_TYPE_LATEST},
        )
