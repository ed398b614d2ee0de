"""The OpenAPI description of the personal-data endpoints (`api/personal.py`): erasure, purge,
the elections' retention and sealing; merged into the document by `openapi.py`, with the
shared parameters and component schemas of `components`."""

from __future__ import annotations

from typing import Any

from streams.api.components import ELECTION, STR, TIME, closed, events_body, param, ref

JSON = "application/json"
BEARER: list[dict[str, list[str]]] = [{"bearer": []}]
ELECTOR = param(
    "elector_id", STR, "the register's id or, with TURNOUT_PSEUDONYM_KEY, the pseudonym", "path"
)


def _answer(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Any]:
    said = {400: "a parameter is not allowed", 401: "missing or unknown bearer token",
            403: "the token lacks the scope this endpoint needs (or is bound to elections)",
            404: "nothing is held about this elector in this election",
            413: "more than 10,000 items or 10 MiB in one request"}  # fmt: skip
    return {str(s): _answer(said[s], ref("Error")) for s in statuses}


def personal_schemas() -> dict[str, Any]:
    """The bodies the personal-data endpoints answer with."""
    retention = closed({
        "election_id": STR, "polling_date": {"type": ["string", "null"], "format": "date"},
        "retention_days": {"type": "number"},
        "retention_from": {"enum": ["election.opened", "TURNOUT_RETENTION_DAYS"]},
        "purge_after": {"anyOf": [TIME, {"type": "null"}]}, "due": {"type": "boolean"},
    })  # fmt: skip
    array = {"type": "array", "items": ref("Retention")}
    objects = {"type": "array", "items": {"type": "object"}}
    return {
        "Retention": retention,
        "Elections": closed({"rows": array}),
        "Erased": closed(
            {"election_id": STR, "elector_id": STR, "event_id": STR, "erased": {"type": "boolean"}}
        ),
        "Purged": closed({"purged": array, "kept": array}),
        "Sealed": closed({"events": objects, "rejected": objects}),
    }


def personal_paths() -> dict[str, Any]:
    return {
        "/v1/elections/{election_id}/electors/{elector_id}": {"delete": {
            "summary": "Erase one elector: keys destroyed, rows deleted, counted nowhere (admin)",
            "security": BEARER, "parameters": [ELECTION, ELECTOR],
            "responses": {"200": _answer("erased", ref("Erased")),
                          "202": _answer("recorded; the worker applies it when it reaches it",
                                         ref("Erased")), **_errors(401, 403, 404)},
        }},
        "/v1/purge": {"post": {
            "summary": "Purge the elections whose retention is over (admin)", "security": BEARER,
            "parameters": [param("election_id", STR,
                                 "only this election (still only if it is due)")],
            "responses": {"200": _answer("what was purged and kept", ref("Purged")),
                          **_errors(400, 401, 403)},
        }},
        "/v1/elections": {"get": {
            "summary": "Every election this token sees, its retention and purge date (read)",
            "security": BEARER,
            "responses": {"200": _answer("OK", ref("Elections")), **_errors(401, 403)},
        }},
        "/v1/seal": {"post": {
            "summary": "Events validated and sealed as ingest would, for producing to Kafka",
            "security": BEARER,
            "requestBody": events_body(),
            "responses": {"200": _answer("sealed events and refusals", ref("Sealed")),
                          **_errors(400, 401, 403, 413)},
        }},
    }  # fmt: skip
