"""The OpenAPI description of the personal-data endpoints (`api/personal.py`): erasure, purge,
the elections' retention and sealing; merged into the document by `openapi.py`."""

from __future__ import annotations

from typing import Any

JSON = "application/json"
STR = {"type": "string"}
ERROR = {"$ref": "#/components/schemas/Error"}


def _answer(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Any]:
    said = {400: "a parameter is not allowed", 401: "missing or unknown bearer token",
            403: "the token lacks the scope", 404: "nothing is held about it",
            413: "too many events or bytes"}  # fmt: skip
    return {str(s): _answer(said[s], ERROR) for s in statuses}


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(properties)}


ELECTION = {"type": "object", "properties": {
    "election_id": STR, "polling_date": {"type": ["string", "null"], "format": "date"},
    "retention_days": {"type": "number"},
    "retention_from": {"enum": ["election.opened", "TURNOUT_RETENTION_DAYS"]},
    "purge_after": {"type": ["string", "null"], "format": "date-time"}, "due": {"type": "boolean"},
}}  # fmt: skip


def personal_paths() -> dict[str, Any]:
    path = {"name": "election_id", "in": "path", "required": True, "schema": STR}
    elector = {"name": "elector_id", "in": "path", "required": True, "schema": STR,
               "description": "the register's id, or the pseudonym"}  # fmt: skip
    erased = _object({"election_id": STR, "elector_id": STR, "event_id": STR,
                      "erased": {"type": "boolean"}})  # fmt: skip
    purged = _object({"purged": {"type": "array", "items": ELECTION},
                      "kept": {"type": "array", "items": ELECTION}})  # fmt: skip
    bearer: list[dict[str, list[str]]] = [{"bearer": []}]
    return {
        "/v1/elections/{election_id}/electors/{elector_id}": {"delete": {
            "summary": "Erase one elector: keys destroyed, rows deleted, counted nowhere (admin)",
            "security": bearer, "parameters": [path, elector],
            "responses": {"200": _answer("erased", erased),
                          "202": _answer("recorded; the worker applies it when it reaches it",
                                         erased), **_errors(401, 403, 404)},
        }},
        "/v1/purge": {"post": {
            "summary": "Purge the elections whose retention is over (admin)", "security": bearer,
            "parameters": [{"name": "election_id", "in": "query", "schema": STR,
                            "description": "only this election (still only if it is due)"}],
            "responses": {"200": _answer("what was purged and kept", purged),
                          **_errors(400, 401, 403)},
        }},
        "/v1/elections": {"get": {
            "summary": "Every election this token sees, its retention and purge date (read)",
            "security": bearer,
            "responses": {"200": _answer("OK", _object({"rows": {"type": "array",
                                                                  "items": ELECTION}})),
                          **_errors(401, 403)},
        }},
        "/v1/seal": {"post": {
            "summary": "Events validated and sealed as ingest would, for producing to Kafka",
            "security": bearer,
            "requestBody": {"required": True, "content": {
                JSON: {"schema": {"type": "array"}}, "application/x-ndjson": {"schema": STR}}},
            "responses": {"200": _answer("sealed events and refusals", _object({
                "events": {"type": "array", "items": {"type": "object"}},
                "rejected": {"type": "array", "items": {"type": "object"}}})),
                **_errors(400, 401, 403, 413)},
        }},
    }  # fmt: skip
