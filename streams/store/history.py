"""What a worker reads back to rebuild and advance a partition's incremental state
(docs/incremental-fold.md): the electors' compact records, the stored aggregates, the
partition's last commit, and electors' histories from the facts table for the slow path.

A partition's batch is written whole when its `commits` row is: every facts, cells, deltas
and electors row of the partition has a version no newer than the last commit's. Only then
are the stored aggregates trusted on a restart; otherwise the partition is rebuilt from its
facts, the rows of the batch that was cut short dropped first.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain, groupby
from operator import itemgetter
from typing import Any

import msgspec
from clickhouse_connect.driver.client import Client

from streams.fold import Fact, InstantCounts
from streams.store.rows import CELL_DIMENSIONS, Stored, cell_of, fact_of_row, stored_of

EntityKey = tuple[str, str]
_DIMS = ", ".join(CELL_DIMENSIONS)
_FACT = ("event_id, type, at, ward, polling_district, age_band, outcome, intention, "
         "likelihood, target")  # fmt: skip
_VERSIONED = ("facts", "cells", "deltas", "electors")  # written before a batch's commit


def last_commit(client: Client, partition: int) -> int | None:
    """The version of the partition's last batch written whole (None: none yet)."""
    rows = client.query(
        "SELECT max(version), count() FROM commits WHERE partition = {p:UInt16}",
        parameters={"p": partition},
    ).result_rows
    return int(rows[0][0]) if rows and rows[0][1] else None


def committed(client: Client, partition: int) -> bool:
    """Whether every row of the partition belongs to a batch written whole."""
    commit = last_commit(client, partition)
    if commit is None:
        return False
    newest = " UNION ALL ".join(
        f"SELECT max(version) AS v FROM {t} WHERE partition = {{p:UInt16}}" for t in _VERSIONED
    )
    rows = client.query(f"SELECT max(v) FROM ({newest})", parameters={"p": partition})
    return int(rows.result_rows[0][0] or 0) <= commit


def drop_uncommitted(client: Client, partition: int) -> None:
    """Delete the facts rows of the partition's batch that was cut short (newer than its
    last commit): its records were not acknowledged, so they come again."""
    commit = last_commit(client, partition) or 0
    client.command(
        "DELETE FROM facts WHERE partition = {p:UInt16} AND version > {v:UInt64}",
        parameters={"p": partition, "v": commit},
    )


def compact_records(client: Client, partition: int) -> list[tuple[str, str, Stored]]:
    """(election_id, elector_id, compact record) of every entity stored for the partition,
    read column by column; a frame shared by many electors is decoded once."""
    columns = client.query(
        "SELECT election_id, elector_id, frame, newest, ids, awaited FROM electors FINAL "
        "WHERE partition = {p:UInt16}",
        parameters={"p": partition},
    ).result_columns
    if not columns:
        return []
    frames: dict[str, Stored] = {}
    out = []
    for e, x, f, n, i, a in zip(*columns, strict=True):
        frame = frames.get(f)
        if frame is None:
            frame = frames[f] = stored_of(f, None, "", "")
        out.append((e, x, (frame[0], n, bytes.fromhex(i), bytes.fromhex(a) if a else b"")))
    return out


def aggregates(client: Client, partition: int) -> tuple[dict[tuple[str, Any], int], InstantCounts]:
    """The partition's non-zero cells and deltas counts, as the state keeps them (each cell
    one object, however many instants it has deltas at)."""
    p = {"p": partition}
    cells_rows = client.query(
        f"SELECT election_id, {_DIMS}, electors FROM cells FINAL "
        "WHERE partition = {p:UInt16} AND electors != 0",
        parameters=p,
    ).result_rows
    known: dict[Any, Any] = {}  # values -> the one Cell; election_id -> the one string

    def cell(values: Any) -> Any:
        found = known.get(values)
        if found is None:
            found = known[values] = cell_of(values)
        return found

    def election(name: str) -> str:
        return known.setdefault(name, name)  # type: ignore[no-any-return]

    cells = {(election(r[0]), cell(r[1:8])): int(r[8]) for r in cells_rows}
    deltas = InstantCounts()
    sql = (f"SELECT election_id, {_DIMS}, toUnixTimestamp64Micro(at) AS at_us, change "
           "FROM deltas FINAL WHERE partition = {p:UInt16} AND change != 0 "
           f"ORDER BY election_id, {_DIMS}, at_us")  # fmt: skip
    with client.query_row_block_stream(sql, parameters=p) as blocks:  # never all rows at once
        for key, rows in groupby(chain.from_iterable(blocks), key=itemgetter(slice(0, 8))):
            group = list(rows)
            deltas.load(election(key[0]), cell(key[1:8]), [r[8] for r in group],
                        [r[9] for r in group])  # fmt: skip
    return cells, deltas


def histories(
    client: Client,
    partition: int,
    keys: Sequence[EntityKey] | None,
    before: int | None = None,
) -> dict[EntityKey, list[Fact]]:
    """The stored facts of `keys` (every entity of the partition when None), those carried
    by records before offset `before` only when given (a replay reads its own past). Read
    without FINAL: every version of a facts row is the same fact, and the fold keeps the
    first of each event id (rule 1), so merging them first would only cost time."""
    where = "partition = {p:UInt16}"
    params: dict[str, Any] = {"p": partition}
    if keys is not None:
        where += " AND (election_id, elector_id) IN {keys:Array(Tuple(String, String))}"
        params["keys"] = sorted(set(keys))
    if before is not None:
        where += " AND offset < {before:UInt64}"
        params["before"] = before
    result = client.query(
        f"SELECT election_id, elector_id, {_FACT} FROM facts WHERE {where}",
        parameters=params,
    )
    found: dict[EntityKey, list[Fact]] = {}
    for row in result.result_rows:
        found.setdefault((row[0], row[1]), []).append(fact_of_row(row[2:]))
    return found


def legacy_histories(client: Client, partition: int) -> dict[EntityKey, list[Fact]]:
    """Histories still held whole in electors rows written before migration 0005 (the
    partition's first rebuild writes them to `facts`, and compact records in their place)."""
    result = client.query(
        "SELECT election_id, elector_id, facts FROM electors FINAL "
        "WHERE partition = {p:UInt16} AND facts != '' AND ids = ''",
        parameters={"p": partition},
    )
    decode = msgspec.json.Decoder(list[Fact]).decode
    return {(e, x): decode(facts) for e, x, facts in result.result_rows}
