"""The OpenAPI 3.1 description of the worker's HTTP API, served at GET /v1/openapi.json.

Built in Python from the same names the code uses (the component schemas are in
`components`); tests/integration/test_read_api.py checks real responses against it and
tests/integration/test_openapi_fuzz.py has schemathesis fuzz the worker from it. It describes
what the server really answers: `/v1/events` takes any items and answers 200 with a reason for
each one it rejects; every error status an endpoint can answer is listed, with body
{"error": "..."}. Print it: `python -m streams.api.openapi`.
"""

from __future__ import annotations

import json
from typing import Any

from streams import __version__ as version
from streams.api.components import (
    AS_OF,
    CODE,
    ELECTION,
    INT,
    STR,
    WARD,
    choice,
    events_body,
    param,
    ref,
    schemas,
)
from streams.api.openapi_personal import personal_paths, personal_schemas
from streams.api.openapi_projection import projection_paths, projection_schemas
from streams.read import campaign
from streams.read import queries as q

_JSON = "application/json"


def _responses(schema: str, *errors: int) -> dict[str, Any]:
    out: dict[str, Any] = {
        "200": {"description": "OK", "content": {_JSON: {"schema": ref(schema)}}}
    }
    return out | _errors(*errors)


def _errors(*statuses: int) -> dict[str, Any]:
    """The documented error answers: each has a body {"error": "what to fix"}."""
    said = {
        400: "a parameter or the body is not allowed; the message says what is",
        401: "missing or unknown bearer token",
        403: "the token lacks the scope this endpoint needs (or is bound to elections)",
        404: "no event of this election has been accepted (or the token may not see it)",
        413: "more than 10,000 items or 10 MiB in one request",
        503: "Kafka did not acknowledge the events; retry (event ids make it safe)",
    }
    return {
        str(status): {"description": said[status], "content": {_JSON: {"schema": ref("Error")}}}
        for status in statuses
    }


def _read(summary: str, schema: str, *params: dict[str, Any]) -> dict[str, Any]:
    return {"get": {
        "summary": summary, "security": [{"bearer": []}], "parameters": [ELECTION, *params],
        "responses": _responses(schema, 400, 401, 403, 404),
    }}  # fmt: skip


def _events() -> dict[str, Any]:
    return {"post": {
        "summary": "Send events (a JSON array, one JSON object, or NDJSON); each item is "
                   "accepted or rejected with reasons, and the answer is 200 either way",
        "security": [{"bearer": []}],
        "requestBody": events_body(),
        "responses": _responses("Accepted", 400, 401, 403, 413, 503),
    }}  # fmt: skip


def _admin() -> dict[str, Any]:
    replay = {_JSON: {"schema": ref("Replay")}}
    return {
        "post": {"summary": "Rebuild every projection from the Kafka log (admin scope)",
                 "security": [{"bearer": []}],
                 "responses": {"202": {"description": "started", "content": replay},
                               "409": {"description": "a replay is running", "content": replay},
                               **_errors(401, 403)}},
        "get": {"summary": "Progress of the last replay (admin scope)",
                "security": [{"bearer": []}], "responses": _responses("Replay", 401, 403)},
    }  # fmt: skip


def paths() -> dict[str, Any]:
    e = "/v1/elections/{election_id}/"
    return {
        "/v1/events": _events(),
        e + "turnout-gap": _read(
            "Turnout gap and every metric, per `by` group", "TurnoutGap",
            param("by", choice(list(q.BY_CHOICES), "ward,age_band", "grouping"), "grouping"),
            WARD, AS_OF,
        ),
        e + "knockup": _read(
            "Supporters who have not voted, by polling district, most likely voters first",
            "Knockup", WARD, param("polling_district", CODE, "only this polling district"),
            param("limit", {**INT, "minimum": 1, "maximum": q.KNOCKUP_MAX,
                             "default": q.KNOCKUP_LIMIT}, "most rows returned"),
        ),
        e + "timeline": _read(
            "Cumulative voted, supporters_voted, opponents_voted per ward at each bucket's end",
            "Timeline", WARD,
            param("bucket", choice(list(q.BUCKETS), q.DEFAULT_BUCKET, "width"), "width"),
        ),
        e + "coverage": _read(
            "Registered electors contacted, per ward x age band", "Coverage", WARD, AS_OF
        ),
        e + "activity": _read(
            "Canvass attempts, contacts and contact rate per session or per local hour",
            "Activity",
            param("by", choice(list(campaign.ACTIVITY_BY), "session", "grouping"), "grouping"),
            WARD,
        ),
        e + "effect": _read(
            "Per ward: campaign intensity beside supporter turnout, the gap and our vote share",
            "Effect", WARD,
        ),
        "/v1/sql": {"post": {
            "summary": "Read-only SQL on ClickHouse (sql scope); a statement the engine "
                       "refuses is a 400 naming why",
            "security": [{"bearer": []}],
            "requestBody": {"required": True, "content": {_JSON: {
                "schema": ref("SqlRequest"),
                "examples": {"count": {"value": {"sql": "SELECT 1 AS one"}}}}}},
            "responses": _responses("SqlResult", 400, 401, 403),
        }},
        "/v1/replay": _admin(),
        "/v1/health": {"get": {
            "summary": "Kafka, ClickHouse, consumer lag and freshness (no token)",
            "responses": {
                "200": {"description": "ok", "content": {_JSON: {"schema": ref("Health")}}},
                "503": {"description": "degraded",
                        "content": {_JSON: {"schema": ref("Health")}}},
            },
        }},
        "/metrics": {"get": {
            "summary": "Prometheus metrics, names prefixed turnout_ (no token)",
            "responses": {"200": {"description": "Prometheus text format",
                                  "content": {"text/plain": {"schema": STR}}}},
        }},
        "/v1/openapi.json": {"get": {
            "summary": "This document (no token)",
            "responses": {"200": {"description": "OpenAPI 3.1",
                                  "content": {_JSON: {"schema": {"type": "object"}}}}},
        }},
        **projection_paths(),
        **personal_paths(),
    }  # fmt: skip


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Turnout",
            "version": version,
            "description": "Event-sourced campaign analytics: the turnout gap per ward and age "
            "band, live. Every /v1/elections/... endpoint, /v1/events, /v1/sql and /v1/replay "
            "need `Authorization: Bearer <token>`.",
        },
        "paths": paths(),
        "components": {
            "schemas": {**schemas(), **projection_schemas(), **personal_schemas()},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


if __name__ == "__main__":
    print(json.dumps(document(), indent=2))
