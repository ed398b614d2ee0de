"""The component schemas of the OpenAPI document (`streams.api.openapi`): the events, as
msgspec exports them from the models, and every answer's body, built from the names the read
code uses (metric names from `streams.read.queries`), so adding a metric updates the contract.
"""

from __future__ import annotations

from typing import Any

import msgspec

from streams.events import EVENT_CLASSES
from streams.read import campaign
from streams.read import queries as q

REF = "#/components/schemas/{name}"
INT = {"type": "integer"}
STR = {"type": "string"}
TIME = {"type": "string", "format": "date-time"}
_RATE = {"type": ["number", "null"], "description": "a fraction from 0 to 1; null when undefined"}
NUMBER_OR_NULL = {"type": ["number", "null"]}
# The demo's election (`turnout demo`, the simulator's default): a fuzzer given this example
# reaches the endpoints' logic instead of answering 404 for random slugs.
EXAMPLE_ELECTION = "2026-05-07-exampleton"


def ref(name: str) -> dict[str, str]:
    return {"$ref": REF.format(name=name)}


# --- parameters shared by every election endpoint ---------------------------------------


def param(name: str, schema: dict[str, Any], doc: str, where: str = "query") -> dict[str, Any]:
    return {"name": name, "in": where, "required": where == "path", "schema": schema,
            "description": doc}  # fmt: skip


ELECTION = {
    **param("election_id", {**STR, "minLength": 1, "maxLength": 64}, "the election's slug",
             "path"),
    "examples": {"demo": {"summary": "the election `turnout demo` sends",
                          "value": EXAMPLE_ELECTION}},
}  # fmt: skip
CODE = {**STR, "maxLength": 64}
WARD = param("ward", CODE, "only this ward (empty: every ward)")
# Years 1901-2297 with any offset stay inside ClickHouse's DateTime64 range (1900-2299 UTC),
# which the server checks; upper-case T and Z, seconds 00-59, as Python parses them.
QUERY_TIME = {
    **TIME,
    "pattern": r"^(190[1-9]|19[1-9][0-9]|2[01][0-9]{2}|22[0-8][0-9]|229[0-7])-[0-9]{2}-[0-9]{2}"
    r"T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,9})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$",
}
AS_OF = param(
    "as_of", {"anyOf": [QUERY_TIME, {"const": ""}]},
    "count only events with occurred_at <= as_of (RFC 3339, years 1901-2297; empty: all)",
)  # fmt: skip


_ANY_ITEM = {
    "anyOf": [ref("Event"), {}],
    "description": "Any JSON value is taken and answered for: an item that matches one of the "
    "event schemas (`Event`) is accepted, anything else is rejected with its reasons in the "
    "200 answer's `rejected` (and, by POST /v1/events, dead-lettered).",
}
_EXAMPLE_EVENT = {
    "event_id": "openapi-example-1", "type": "elector.registered", "schema_version": 1,
    "election_id": "openapi-example", "occurred_at": "2026-04-20T09:00:00+01:00",
    "elector_id": "E-1", "ward": "Abbey", "polling_district": "AB1", "age_band": "25-34",
}  # fmt: skip


def events_body() -> dict[str, Any]:
    """The request body of POST /v1/events and /v1/seal: events as JSON or NDJSON, any items."""
    return {"required": True, "content": {
        "application/json": {"schema": {"anyOf": [
            {"type": "array", "maxItems": 10_000, "items": _ANY_ITEM},
            {"type": "object", "description": "one item"},
        ]}, "examples": {"one event": {"value": [_EXAMPLE_EVENT]}}},
        "application/x-ndjson": {"schema": {
            "description": "text, one item per line; a line that is not JSON is an item "
                           "rejected with its reason, so any text is taken"}},
    }}  # fmt: skip


def choice(choices: list[str], default: str, doc: str) -> dict[str, Any]:
    """An enum query parameter; the empty value means the default, as the server reads it."""
    return {"enum": [*choices, ""], "default": default, "description": f"{doc}; empty: {default}"}


def _null(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def closed(properties: dict[str, Any], optional: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": [name for name in properties if name not in optional],
        "additionalProperties": False,
    }


def _answer(rows_item: str, **fields: Any) -> dict[str, Any]:
    return closed(
        {"election_id": STR, **fields, "rows": {"type": "array", "items": ref(rows_item)}}
    )


def _metrics() -> dict[str, Any]:
    props: dict[str, Any] = {name: {**INT, "minimum": 0} for name in q.COUNTS}
    props.update(
        supporter_turnout=_RATE,
        opponent_turnout=_RATE,
        turnout=_RATE,
        gap_pts={**NUMBER_OR_NULL, "description": "100 x (supporter - opponent turnout)"},
        knockup_remaining={**INT, "minimum": 0},
    )
    return props


def schemas() -> dict[str, Any]:
    _, events = msgspec.json.schema_components(EVENT_CLASSES, ref_template=REF)
    dims = {name: STR for name in q.DIMENSIONS}
    found: dict[str, Any] = {
        **events,
        "Event": {
            "oneOf": [ref(cls.__name__) for cls in EVENT_CLASSES],
            "description": "An event the worker accepts (schema_version 1); occurred_at must "
            "also lie from 2000-01-01 to 24 h after the event is received.",
        },
        "Error": closed({"error": STR}),
        "GapRow": closed({**dims, **_metrics()}, optional=tuple(dims)),
        "TurnoutGap": _answer("GapRow", as_of=_null(TIME)),
        "KnockupRow": closed(
            {
                "elector_id": STR,
                "ward": STR,
                "polling_district": STR,
                "age_band": STR,
                "likelihood": {"type": ["integer", "null"], "minimum": 0, "maximum": 10},
            }
        ),
        "Knockup": _answer("KnockupRow", limit=INT, truncated={"type": "boolean"}),
        "TimelineRow": closed(
            {
                "ward": STR,
                "bucket_start": TIME,
                "bucket_end": TIME,
                **{name: INT for name in q.TIMELINE_COUNTS},
            }
        ),
        "Timeline": _answer("TimelineRow", bucket={"enum": list(q.BUCKETS)}),
        "CoverageRow": closed(
            {
                "ward": STR,
                "age_band": STR,
                "electorate": INT,
                "electorate_contacted": INT,
                "coverage": {"type": "number", "minimum": 0, "maximum": 1},
            }
        ),
        "Coverage": _answer("CoverageRow", as_of=_null(TIME)),
        "SessionActivityRow": closed(
            {
                "session_id": _null(STR),
                "ward": _null(STR),
                "kind": _null(STR),
                "volunteers": _null(INT),
                "started_at": _null(TIME),
                "ended_at": _null(TIME),
                "attempts": INT,
                "contacts": INT,
                "contact_rate": _RATE,
                "canvassers": INT,
            }
        ),
        "HourActivityRow": closed(
            {
                "hour": TIME,
                "attempts": INT,
                "contacts": INT,
                "contact_rate": _RATE,
                "canvassers": INT,
                "sessions": INT,
            }
        ),
        "Activity": closed(
            {
                "election_id": STR,
                "by": {"enum": list(campaign.ACTIVITY_BY)},
                "rows": {
                    "type": "array",
                    "items": {"oneOf": [ref("SessionActivityRow"), ref("HourActivityRow")]},
                },
            }
        ),
        "EffectRow": closed(
            {
                "ward": STR,
                "electorate": INT,
                "contacts": INT,
                "contacts_per_1000": NUMBER_OR_NULL,
                "campaign_day_sessions": INT,
                "campaign_day_volunteers": INT,
                "supporters": INT,
                "supporters_voted": INT,
                "opponents": INT,
                "opponents_voted": INT,
                "supporter_turnout": _RATE,
                "opponent_turnout": _RATE,
                "gap_pts": NUMBER_OR_NULL,
                "our_vote_share": _RATE,
            }
        ),
        "EffectGroup": closed(
            {
                "wards": INT,
                "supporter_turnout": _RATE,
                "opponent_turnout": _RATE,
                "gap_pts": NUMBER_OR_NULL,
            }
        ),
        "Effect": _answer(
            "EffectRow",
            summary=closed(
                {
                    "with_campaign_days": ref("EffectGroup"),
                    "without_campaign_days": ref("EffectGroup"),
                }
            ),
        ),
        "SqlRequest": {
            "type": "object",
            "properties": {"sql": {**STR, "pattern": r"\S", "description": "one statement"}},
            "required": ["sql"],
            "description": "other properties are ignored",
        },
        "SqlResult": closed(
            {
                "columns": {"type": "array", "items": closed({"name": STR, "type": STR})},
                "rows": {"type": "array", "items": {"type": "object"}},
            }
        ),
        "Accepted": closed(
            {
                "accepted": INT,
                "rejected": {
                    "type": "array",
                    "items": closed(
                        {
                            "index": INT,
                            "event_id": _null(STR),
                            "errors": {"type": "array", "items": STR},
                        }
                    ),
                },
            }
        ),
        "Health": closed(
            {
                "status": {"enum": ["ok", "degraded"]},
                "kafka": closed({"ok": {"type": "boolean"}}),
                "clickhouse": closed({"ok": {"type": "boolean"}}),
                "consumer_lag": _null({"type": "object", "additionalProperties": INT}),
                "caught_up": {"type": "boolean"},
                "seconds_since_last_batch": {"type": "number"},
                "freshness": closed(
                    {
                        "seconds": {
                            **NUMBER_OR_NULL,
                            "description": "0 when caught up; null: unknown",
                        },
                        "newest_event_at": _null(TIME),
                        "applied_at": _null(TIME),
                    }
                ),
            }
        ),
        "Replay": closed(
            {
                "state": {"enum": ["idle", "running", "done", "failed"]},
                "records_done": INT,
                "records_total": INT,
                "seconds": {"type": "number"},
                "error": STR,
            }
        ),
    }
    return found
