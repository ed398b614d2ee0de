"""Erasure and purge in ClickHouse: destroy the keys, delete the rows (docs/personal-data.md).

An elector's erasure runs in the agent, in the batch that folds their `elector.erased` event,
so it meets their records in log order and a replay does it again (harmlessly): a tombstone
goes into the key table, their data keys are destroyed by a synchronous mutation, the
aggregate rows the erasure brought to zero in the batch's partitions are deleted (a cell's
key names an intention: a zero row would still say that someone in that ward and age band
held it), and so are the election's projection and priority snapshots (migration 0003),
which counted them at every instant they cover: the worker's alerting task writes a fresh
one at its next run (the election's events moved, and it drops a snapshot computed across
an erasure). Their events and electors rows go last, because their absence is what tells
the API the erasure is done. A purge does the same for a whole election, its alert changes
included.

Rows are removed with lightweight `DELETE`s: hidden from every query at once, gone from the
table's files at the next merge of their parts. Keys are removed with `ALTER TABLE … DELETE`
and `mutations_sync`, which rewrites the key table's parts before it returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from clickhouse_connect.driver.client import Client

from streams.errors import SinkError
from streams.store.failures import describe, scrub
from streams.store.keys import insert_keys, tombstone
from streams.store.rows import CELL_DIMENSIONS

Erased = tuple[str, str, int]  # (election_id, elector_id, partition)
SYNC = {"mutations_sync": 1}  # a mutation returns when it is done
_DIMS = ", ".join(CELL_DIMENSIONS)
SNAPSHOTS = ("projections", "priorities")  # counts that included everyone at their instant
# An election's rows; vote_deltas mirrors the voters' deltas rows (migration 0006).
PURGED = (
    "events", "facts", "electors", "cells", "deltas", "vote_deltas", *SNAPSHOTS, "alerts",
)  # fmt: skip


def erase_electors(client: Client, erased: Sequence[Erased], settings: dict[str, Any]) -> None:
    """Tombstones, keys destroyed, events and electors rows deleted, zero aggregates and the
    elections' snapshots dropped."""
    pairs = sorted({(e, x) for e, x, _ in erased})
    insert_keys(client, [tombstone(e, x) for e, x in pairs], settings)
    params = {"pairs": pairs}
    match = "(election_id, elector_id) IN {pairs:Array(Tuple(String, String))}"
    _run(client, f"ALTER TABLE elector_keys DELETE WHERE {match} AND key_id != ''", params, SYNC)
    for partition in sorted({p for _, _, p in erased}):
        elections = sorted({e for e, _, p in erased if p == partition})
        drop_zero_aggregates(client, elections, partition)
    for table in SNAPSHOTS:
        _run(client, f"DELETE FROM {table} WHERE election_id IN {{es:Array(String)}}",
             {"es": sorted({e for e, _ in pairs})})  # fmt: skip
    _run(client, f"DELETE FROM facts WHERE {match}", params)
    # Last: the API reports an erasure done once no events or electors row is left (`held_in`),
    # so by then nothing else may hold them.
    _run(client, f"DELETE FROM events WHERE {match}", params)
    _run(client, f"DELETE FROM electors WHERE {match}", params)


def drop_zero_aggregates(client: Client, elections: Sequence[str], partition: int) -> None:
    """Delete every version of the cells and deltas keys of `partition` that are now zero.

    Only the partition's own worker writes its rows, under the sink's lock, so no newer
    version can land between the subquery and the delete."""
    params = {"es": list(elections), "p": partition}
    scope = "election_id IN {es:Array(String)} AND partition = {p:UInt16}"
    cells = f"(election_id, {_DIMS}, partition)"
    _run(client, f"DELETE FROM cells WHERE {scope} AND {cells} IN (SELECT {cells} FROM cells "
                 f"FINAL WHERE {scope} AND electors = 0)", params)  # fmt: skip
    deltas = f"(election_id, at, {_DIMS}, partition)"
    for table in ("deltas", "vote_deltas"):  # vote_deltas mirrors deltas (migration 0006)
        _run(client, f"DELETE FROM {table} WHERE {scope} AND {deltas} IN (SELECT {deltas} "
                     f"FROM {table} FINAL WHERE {scope} AND change = 0)", params)  # fmt: skip


def purge_election(client: Client, election_id: str, settings: dict[str, Any]) -> None:
    """Every key and row of the election gone; its tombstone stays, so that its records still
    in Kafka are left out of a replay."""
    insert_keys(client, [tombstone(election_id)], settings)
    params = {"e": election_id}
    _run(client, "ALTER TABLE elector_keys DELETE WHERE election_id = {e:String} "
                 "AND NOT (elector_id = '' AND key_id = '')", params, SYNC)  # fmt: skip
    for table in PURGED:
        _run(client, f"DELETE FROM {table} WHERE election_id = {{e:String}}", params)


def _run(
    client: Client, sql: str, parameters: dict[str, Any], settings: dict[str, Any] | None = None
) -> None:
    try:
        client.command(sql, parameters=parameters, settings=settings)
    except Exception as err:
        table = sql.split(" WHERE ")[0]
        raise SinkError(f"ClickHouse {table} failed: {describe(err)}") from scrub(err)
