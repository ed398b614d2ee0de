"""The OpenAPI 3.1 description of the worker's HTTP API, served at GET /v1/openapi.json.

Built in Python from the same names the code uses (metric names from queries.py, event
models from events.py), so adding a metric updates the contract; tests/integration/
test_read_api.py checks real responses against it. Print it: `python -m streams.api.openapi`.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec

from streams import __version__ as version
from streams.api.openapi_personal import personal_paths
from streams.api.openapi_projection import projection_paths, projection_schemas
from streams.events import EVENT_CLASSES
from streams.read import campaign
from streams.read import queries as q

REF = "#/components/schemas/{name}"
_INT = {"type": "integer"}
_STR = {"type": "string"}
_TIME = {"type": "string", "format": "date-time"}
_RATE = {"type": ["number", "null"], "description": "a fraction from 0 to 1; null when undefined"}
_NUMBER_OR_NULL = {"type": ["number", "null"]}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": REF.format(name=name)}


def _null(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def _object(properties: dict[str, Any], optional: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": [name for name in properties if name not in optional],
        "additionalProperties": False,
    }


def _answer(rows_item: str, **fields: Any) -> dict[str, Any]:
    return _object(
        {"election_id": _STR, **fields, "rows": {"type": "array", "items": _ref(rows_item)}}
    )


def _metrics() -> dict[str, Any]:
    props: dict[str, Any] = {name: {**_INT, "minimum": 0} for name in q.COUNTS}
    props.update(
        supporter_turnout=_RATE,
        opponent_turnout=_RATE,
        turnout=_RATE,
        gap_pts={**_NUMBER_OR_NULL, "description": "100 x (supporter - opponent turnout)"},
        knockup_remaining={**_INT, "minimum": 0},
    )
    return props


def schemas() -> dict[str, Any]:
    _, events = msgspec.json.schema_components(EVENT_CLASSES, ref_template=REF)
    dims = {name: _STR for name in q.DIMENSIONS}
    found: dict[str, Any] = {
        **events,
        "Error": _object({"error": _STR}),
        "GapRow": _object({**dims, **_metrics()}, optional=tuple(dims)),
        "TurnoutGap": _answer("GapRow", as_of=_null(_TIME)),
        "KnockupRow": _object(
            {
                "elector_id": _STR,
                "ward": _STR,
                "polling_district": _STR,
                "age_band": _STR,
                "likelihood": {"type": ["integer", "null"], "minimum": 0, "maximum": 10},
            }
        ),
        "Knockup": _answer("KnockupRow", limit=_INT, truncated={"type": "boolean"}),
        "TimelineRow": _object(
            {
                "ward": _STR,
                "bucket_start": _TIME,
                "bucket_end": _TIME,
                **{name: _INT for name in q.TIMELINE_COUNTS},
            }
        ),
        "Timeline": _answer("TimelineRow", bucket={"enum": list(q.BUCKETS)}),
        "CoverageRow": _object(
            {
                "ward": _STR,
                "age_band": _STR,
                "electorate": _INT,
                "electorate_contacted": _INT,
                "coverage": {"type": "number", "minimum": 0, "maximum": 1},
            }
        ),
        "Coverage": _answer("CoverageRow", as_of=_null(_TIME)),
        "SessionActivityRow": _object(
            {
                "session_id": _null(_STR),
                "ward": _null(_STR),
                "kind": _null(_STR),
                "volunteers": _null(_INT),
                "started_at": _null(_TIME),
                "ended_at": _null(_TIME),
                "attempts": _INT,
                "contacts": _INT,
                "contact_rate": _RATE,
                "canvassers": _INT,
            }
        ),
        "HourActivityRow": _object(
            {
                "hour": _TIME,
                "attempts": _INT,
                "contacts": _INT,
                "contact_rate": _RATE,
                "canvassers": _INT,
                "sessions": _INT,
            }
        ),
        "Activity": _object(
            {
                "election_id": _STR,
                "by": {"enum": list(campaign.ACTIVITY_BY)},
                "rows": {
                    "type": "array",
                    "items": {"oneOf": [_ref("SessionActivityRow"), _ref("HourActivityRow")]},
                },
            }
        ),
        "EffectRow": _object(
            {
                "ward": _STR,
                "electorate": _INT,
                "contacts": _INT,
                "contacts_per_1000": _NUMBER_OR_NULL,
                "campaign_day_sessions": _INT,
                "campaign_day_volunteers": _INT,
                "supporters": _INT,
                "supporters_voted": _INT,
                "opponents": _INT,
                "opponents_voted": _INT,
                "supporter_turnout": _RATE,
                "opponent_turnout": _RATE,
                "gap_pts": _NUMBER_OR_NULL,
                "our_vote_share": _RATE,
            }
        ),
        "EffectGroup": _object(
            {
                "wards": _INT,
                "supporter_turnout": _RATE,
                "opponent_turnout": _RATE,
                "gap_pts": _NUMBER_OR_NULL,
            }
        ),
        "Effect": _answer(
            "EffectRow",
            summary=_object(
                {
                    "with_campaign_days": _ref("EffectGroup"),
                    "without_campaign_days": _ref("EffectGroup"),
                }
            ),
        ),
        "SqlRequest": _object({"sql": {**_STR, "minLength": 1}}),
        "SqlResult": _object(
            {
                "columns": {"type": "array", "items": _object({"name": _STR, "type": _STR})},
                "rows": {"type": "array", "items": {"type": "object"}},
            }
        ),
        "Accepted": _object(
            {
                "accepted": _INT,
                "rejected": {
                    "type": "array",
                    "items": _object(
                        {
                            "index": _INT,
                            "event_id": _null(_STR),
                            "errors": {"type": "array", "items": _STR},
                        }
                    ),
                },
            }
        ),
        "Health": _object(
            {
                "status": {"enum": ["ok", "degraded"]},
                "kafka": _object({"ok": {"type": "boolean"}}),
                "clickhouse": _object({"ok": {"type": "boolean"}}),
                "consumer_lag": _null({"type": "object", "additionalProperties": _INT}),
                "caught_up": {"type": "boolean"},
                "seconds_since_last_batch": {"type": "number"},
                "freshness": _object(
                    {
                        "seconds": {
                            **_NUMBER_OR_NULL,
                            "description": "0 when caught up; null: unknown",
                        },
                        "newest_event_at": _null(_TIME),
                        "applied_at": _null(_TIME),
                    }
                ),
            }
        ),
        "Replay": _object(
            {
                "state": {"enum": ["idle", "running", "done", "failed"]},
                "records_done": _INT,
                "records_total": _INT,
                "seconds": {"type": "number"},
                "error": _STR,
            }
        ),
        **projection_schemas(),
    }
    return found


def _param(name: str, schema: dict[str, Any], doc: str, where: str = "query") -> dict[str, Any]:
    return {"name": name, "in": where, "required": where == "path", "schema": schema,
            "description": doc}  # fmt: skip


ELECTION = _param("election_id", _STR, "the election's slug", "path")
WARD = _param("ward", _STR, "only this ward")
AS_OF = _param("as_of", _TIME, "count only events with occurred_at <= as_of (RFC 3339)")
_JSON = "application/json"


def _responses(schema: str, *errors: int) -> dict[str, Any]:
    said = {
        400: "a parameter is not allowed; the message names the allowed values",
        401: "missing or unknown bearer token",
        404: "no event of this election has been accepted",
        413: "more than 10,000 events or 10 MiB",
        503: "Kafka did not acknowledge the events",
    }
    out: dict[str, Any] = {
        "200": {"description": "OK", "content": {_JSON: {"schema": _ref(schema)}}}
    }
    for status in errors:
        out[str(status)] = {
            "description": said[status],
            "content": {_JSON: {"schema": _ref("Error")}},
        }
    return out


def _read(summary: str, schema: str, *params: dict[str, Any]) -> dict[str, Any]:
    return {"get": {
        "summary": summary, "security": [{"bearer": []}], "parameters": [ELECTION, *params],
        "responses": _responses(schema, 400, 401, 404),
    }}  # fmt: skip


def paths() -> dict[str, Any]:
    e = "/v1/elections/{election_id}/"
    return {
        "/v1/events": {"post": {
            "summary": "Send events (a JSON array, or NDJSON); each is accepted or rejected",
            "security": [{"bearer": []}],
            "requestBody": {"required": True, "content": {
                _JSON: {"schema": {"type": "array", "maxItems": 10_000, "items": {
                    "oneOf": [_ref(cls.__name__) for cls in EVENT_CLASSES]}}},
                "application/x-ndjson": {"schema": _STR},
            }},
            "responses": _responses("Accepted", 400, 401, 413, 503),
        }},
        e + "turnout-gap": _read(
            "Turnout gap and every metric, per `by` group", "TurnoutGap",
            _param("by", {"enum": list(q.BY_CHOICES), "default": "ward,age_band"}, "grouping"),
            WARD, AS_OF,
        ),
        e + "knockup": _read(
            "Supporters who have not voted, by polling district, most likely voters first",
            "Knockup", WARD, _param("polling_district", _STR, "only this polling district"),
            _param("limit", {**_INT, "minimum": 1, "maximum": q.KNOCKUP_MAX,
                             "default": q.KNOCKUP_LIMIT}, "most rows returned"),
        ),
        e + "timeline": _read(
            "Cumulative voted, supporters_voted, opponents_voted per ward at each bucket's end",
            "Timeline", WARD,
            _param("bucket", {"enum": list(q.BUCKETS), "default": q.DEFAULT_BUCKET}, "width"),
        ),
        e + "coverage": _read(
            "Registered electors contacted, per ward x age band", "Coverage", WARD, AS_OF
        ),
        e + "activity": _read(
            "Canvass attempts, contacts and contact rate per session or per local hour",
            "Activity",
            _param("by", {"enum": list(campaign.ACTIVITY_BY), "default": "session"}, "grouping"),
            WARD,
        ),
        e + "effect": _read(
            "Per ward: campaign intensity beside supporter turnout, the gap and our vote share",
            "Effect", WARD,
        ),
        **projection_paths(),
        **personal_paths(),
        "/v1/sql": {"post": {
            "summary": "Read-only SQL on ClickHouse (readonly=1, 30 s, 100,000 rows)",
            "security": [{"bearer": []}],
            "requestBody": {"required": True,
                            "content": {_JSON: {"schema": _ref("SqlRequest")}}},
            "responses": _responses("SqlResult", 400, 401),
        }},
        "/v1/replay": {
            "post": {"summary": "Rebuild every projection from the Kafka log",
                     "security": [{"bearer": []}],
                     "responses": {"202": {"description": "started", "content": {
                         _JSON: {"schema": _ref("Replay")}}},
                         "409": {"description": "a replay is running", "content": {
                             _JSON: {"schema": _ref("Replay")}}},
                         "401": _responses("Error", 401)["401"]}},
            "get": {"summary": "Progress of the last replay", "security": [{"bearer": []}],
                    "responses": _responses("Replay", 401)},
        },
        "/v1/health": {"get": {
            "summary": "Kafka, ClickHouse, consumer lag and freshness (no token)",
            "responses": {
                "200": {"description": "ok", "content": {_JSON: {"schema": _ref("Health")}}},
                "503": {"description": "degraded",
                        "content": {_JSON: {"schema": _ref("Health")}}},
            },
        }},
        "/metrics": {"get": {
            "summary": "Prometheus metrics, names prefixed turnout_ (no token)",
            "responses": {"200": {"description": "Prometheus text format",
                                  "content": {"text/plain": {"schema": _STR}}}},
        }},
        "/v1/openapi.json": {"get": {
            "summary": "This document (no token)",
            "responses": {"200": {"description": "OpenAPI 3.1",
                                  "content": {_JSON: {"schema": {"type": "object"}}}}},
        }},
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
            "schemas": schemas(),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


if __name__ == "__main__":
    print(json.dumps(document(), indent=2))
