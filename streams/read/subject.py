"""Subject access: everything Turnout holds about one elector of one election, as JSON.

The elector's derived state (the `electors` row the worker keeps) and every accepted event
that names them (the `events` table, payloads as sent after validation, their sealed personal
fields opened with the elector's data key), oldest first. With a
pseudonym key the worker looks up the id as given and its pseudonym, so a request may carry
the id from the register or the pseudonym from a knock-up list.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
from clickhouse_connect.driver.client import Client

from streams.events import SEALED, Keys, open_item
from streams.read.queries import Query

STATE_COLUMNS = ("elector_id", "counted", "ward", "polling_district", "age_band", "intention",
                 "likelihood", "contacted", "voted", "registered")  # fmt: skip
NOT_SEARCHED = (
    "dead letters (turnout.events.dlq): refused input is kept raw for the DLQ's retention and "
    "is not searched here"
)


def state_query(election_id: str, elector_ids: Sequence[str]) -> Query:
    return Query(
        f"SELECT {', '.join(STATE_COLUMNS)} FROM electors FINAL "
        "WHERE election_id = {e:String} AND elector_id IN {ids:Array(String)}",
        {"e": election_id, "ids": list(elector_ids)},
    )


def events_query(election_id: str, elector_ids: Sequence[str]) -> Query:
    return Query(
        "SELECT event_id, type, toUnixTimestamp64Micro(occurred_at) AS at_us, source, "
        "partition, offset, payload FROM events FINAL "
        "WHERE election_id = {e:String} AND elector_id IN {ids:Array(String)} "
        "ORDER BY occurred_at, event_id",
        {"e": election_id, "ids": list(elector_ids)},
    )


def held_in(
    client: Client, election_id: str, elector_ids: Sequence[str], settings: dict[str, Any]
) -> tuple[str, list[int]] | None:
    """(the id Turnout holds the elector under, the partitions their rows are in), or None
    when it holds nothing about any of `elector_ids`."""
    found = client.query(
        "SELECT elector_id, partition FROM electors FINAL WHERE election_id = {e:String} "
        "AND elector_id IN {ids:Array(String)} UNION DISTINCT SELECT elector_id, partition "
        "FROM events WHERE election_id = {e:String} AND elector_id IN {ids:Array(String)}",
        parameters={"e": election_id, "ids": list(elector_ids)}, settings=settings,
    ).result_rows  # fmt: skip
    if not found:
        return None
    held = found[0][0]
    return held, sorted({int(p) for x, p in found if x == held})


def subject_export(
    client: Client,
    election_id: str,
    elector_ids: Sequence[str],
    settings: dict[str, Any],
    keys: Keys | None = None,
) -> dict[str, Any] | None:
    """The export, or None when nothing is held about any of `elector_ids`; sealed personal
    fields are opened with `keys`."""
    state = _rows(client, state_query(election_id, elector_ids), settings)
    events = _rows(client, events_query(election_id, elector_ids), settings)
    if not state and not events:
        return None
    shaped = [_event(row, keys) for row in events]
    held_as = state[0]["elector_id"] if state else shaped[0]["event"].get("elector_id")
    return {
        "election_id": election_id,
        "elector_id": held_as,  # as Turnout holds it: the pseudonym, with a key
        "state": [_state(row) for row in state],
        "events": shaped,
        "not_searched": [NOT_SEARCHED],
    }


def _rows(client: Client, query: Query, settings: dict[str, Any]) -> list[dict[str, Any]]:
    result = client.query(query.sql, parameters=query.parameters, settings=settings)
    return [dict(zip(result.column_names, row, strict=True)) for row in result.result_rows]


def _state(row: dict[str, Any]) -> dict[str, Any]:
    flags = ("counted", "contacted", "voted", "registered")
    shaped = {k: bool(v) if k in flags else v for k, v in row.items()}
    shaped["likelihood"] = None if row["likelihood"] < 0 else int(row["likelihood"])
    return shaped


def _event(row: dict[str, Any], keys: Keys | None) -> dict[str, Any]:
    event = msgspec.json.decode(row["payload"])
    if keys is not None and SEALED in event:
        event = open_item(event, event.get("elector_id", ""), keys) or event
    return {
        "event": event,
        "received": {"source": row["source"], "partition": int(row["partition"]),
                     "offset": int(row["offset"])},
    }  # fmt: skip
