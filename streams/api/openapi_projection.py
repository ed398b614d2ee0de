"""The OpenAPI description of GET /v1/elections/{id}/projection, /priorities and /alerts, merged
into the document by `openapi.py` (kept apart so the projection's contract lives in one place)."""

from __future__ import annotations

from typing import Any

from streams.api.components import (
    AS_OF,
    CODE,
    ELECTION,
    INT,
    NUMBER_OR_NULL,
    STR,
    TIME,
    choice,
    closed,
    ref,
)
from streams.read import alerts as al
from streams.read import queries as q

NUMBER = {"type": "number"}
RATE = {"type": ["number", "null"], "description": "a fraction (0-1 for rates); null: undefined"}
PROJECTED = ("turnout", "supporter_turnout", "opponent_turnout", "gap_pts")


def projection_row() -> dict[str, Any]:
    dims = {name: STR for name in q.DIMENSIONS}
    counts = ("electorate", "supporters", "opponents", "voted", "postal_voted",
              "supporters_voted", "opponents_voted")  # fmt: skip
    props: dict[str, Any] = {**dims, **{name: {**INT, "minimum": 0} for name in counts}}
    props |= {"turnout": RATE, "supporter_turnout": RATE, "opponent_turnout": RATE,
              "gap_pts": NUMBER_OR_NULL}  # fmt: skip
    for name in PROJECTED:
        kind = NUMBER_OR_NULL if name == "gap_pts" else RATE
        props |= {f"projected_{name}{end}": kind for end in ("", "_low", "_high")}
    props["projected_voted"] = {**NUMBER_OR_NULL, "description": "postal + in-person, all"}
    props["projected_votes"] = {
        "type": "object", "additionalProperties": NUMBER,
        "description": "projected votes per party among identified electors",
    }  # fmt: skip
    return closed(props, optional=tuple(dims))


def projection_schemas() -> dict[str, Any]:
    return {
        "ProjectionRow": projection_row(),
        "Projection": closed(
            {
                "election_id": STR,
                "by": {"enum": list(q.BY_CHOICES)},
                "as_of": TIME,
                "polls_open": TIME,
                "polls_close": TIME,
                "prior_share": {**NUMBER, "minimum": 0, "maximum": 1},
                "curves": {
                    "type": "array",
                    "items": closed(
                        {
                            "age_band": STR,
                            "share": {**NUMBER, "minimum": 0, "maximum": 1},
                            "in_person": INT,
                            "expected_in_person": NUMBER,
                        }
                    ),
                },
                "total": ref("ProjectionRow"),
                "rows": {"type": "array", "items": ref("ProjectionRow")},
            }
        ),
        "PriorityRow": closed(
            {
                "rank": {**INT, "minimum": 1},
                "polling_district": STR,
                "ward": STR,
                "supporters": INT,
                "supporters_voted": INT,
                "knockup_remaining": INT,
                "doors_per_volunteer_hour": NUMBER,
                "extra_votes_per_volunteer_hour": NUMBER,
                "ward_margin": NUMBER_OR_NULL,
                "ward_margin_sd": NUMBER_OR_NULL,
                "closeness": RATE,
                "score": NUMBER,
                "reason": STR,
            }
        ),
        "Priorities": closed(
            {
                "election_id": STR,
                "as_of": TIME,
                "hours_left": NUMBER,
                "knock_effect": closed(
                    {
                        "extra_votes_per_door": NUMBER,
                        "sd": NUMBER,
                        "observed": NUMBER_OR_NULL,
                        "supporters_knocked": INT,
                        "contact_rate": RATE,
                    }
                ),
                "doors_per_volunteer_hour": closed(
                    {
                        "value": NUMBER,
                        "observed": NUMBER_OR_NULL,
                        "volunteer_hours": INT,
                    }
                ),
                "rows": {"type": "array", "items": ref("PriorityRow")},
            }
        ),
        **alert_schemas(),
    }


def alert_schemas() -> dict[str, Any]:
    time_or_null = {**TIME, "type": ["string", "null"]}
    return {
        "AlertRow": closed(
            {
                "rule": {"enum": list(al.RULES)},
                "title": STR,
                "ward": {"type": ["string", "null"], "description": "null: the whole pipeline"},
                "since": {**TIME, "description": "when the alert fired (the worker's clock)"},
                "as_of": {**time_or_null, "description": "the election's instant it held at"},
                "value": {
                    **NUMBER,
                    "description": "projected gap (pts), fall in knock-up "
                    "remaining over 30 min (<= 0), or freshness (s)",
                },
                "summary": STR,
            }
        ),
        "Alerts": closed(
            {
                "election_id": STR,
                "evaluated_at": {**time_or_null, "description": "the newest evaluation"},
                "as_of": {**time_or_null, "description": "the instant it projected"},
                "rows": {"type": "array", "items": ref("AlertRow")},
            }
        ),
    }


def _get(summary: str, schema: str, *params: dict[str, Any]) -> dict[str, Any]:
    election = ELECTION
    errors = {
        "400": "a parameter is not allowed",
        "401": "missing or unknown bearer token",
        "403": "the token lacks the read scope",
        "404": "no event of this election has been accepted, or no election.opened yet",
    }
    responses: dict[str, Any] = {
        "200": {"description": "OK", "content": {"application/json": {"schema": ref(schema)}}}
    }
    for status, said in errors.items():
        content = {"application/json": {"schema": ref("Error")}}
        responses[status] = {"description": said, "content": content}
    return {"get": {"summary": summary, "security": [{"bearer": []}],
                    "parameters": [election, *params], "responses": responses}}  # fmt: skip


def _param(name: str, schema: dict[str, Any], doc: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": doc}


def projection_paths() -> dict[str, Any]:
    e = "/v1/elections/{election_id}/"
    as_of = {**AS_OF, "description": "project from events with occurred_at <= as_of (RFC 3339, "
             "years 1901-2297; empty: the newest vote's time)"}  # fmt: skip
    return {
        e + "projection": _get(
            "Projected end-of-day turnout and gap per `by` group, with 80% intervals",
            "Projection",
            _param("by", choice(list(q.BY_CHOICES), "ward", "grouping"), "grouping"),
            as_of,
        ),
        e + "priorities": _get(
            "Polling districts ranked by extra supporter votes per volunteer-hour, with reasons",
            "Priorities",
            as_of,
            _param("ward", CODE, "only this ward's districts (empty: every ward)"),
        ),
        e + "alerts": _get(
            "Active alerts of the election and of the pipeline, as the worker last evaluated them",
            "Alerts",
        ),
    }
