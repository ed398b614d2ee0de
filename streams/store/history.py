"""What a worker reads back to rebuild and advance a partition's incremental state
(docs/incremental-fold.md): the electors' compact records, the stored aggregates, the
partition's last commit, and electors' histories from the facts table for the slow path.

A partition's batch is written whole when its `commits` row is: every facts, cells, deltas
and electors row of the partition has a version no newer than the last commit's. Only then
are the stored aggregates trusted as they are on a restart; otherwise `cut_short` says what
the batch that was cut short left, for the worker to mend (or rebuild) the partition.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import chain, groupby
from operator import itemgetter
from typing import Any

import msgspec
from clickhouse_connect.driver.client import Client

from streams.fold import EntityKey, Fact, InstantCounts, pack_ids
from streams.store.in_lists import chunks, in_list
from streams.store.rows import CELL_DIMENSIONS, Stored, cell_of, fact_of_row, stored_of

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


@dataclass(frozen=True)
class CutShort:
    """What a batch cut short left in a partition: the versions of its facts rows, the
    entities its facts and electors rows name, and whether an erasure ran since it began
    (its deletes may have gone part of the way: only a rebuild is then exact)."""

    versions: frozenset[int]
    touched: frozenset[EntityKey]
    erased: bool


def cut_short(client: Client, partition: int, commit: int) -> CutShort | None:
    """The batch cut short after the commit `commit`, or None when every row is committed."""
    p = {"p": partition, "c": commit}
    newer = "partition = {p:UInt16} AND version > {c:UInt64}"
    tables = " UNION ALL ".join(f"SELECT max(version) AS v FROM {t} WHERE {newer}"
                                for t in _VERSIONED)  # fmt: skip
    newest = client.query(f"SELECT max(v) FROM ({tables})", parameters=p).result_rows[0][0]
    if not newest or int(newest) <= commit:
        return None
    versions = client.query(f"SELECT DISTINCT version FROM facts WHERE {newer}", parameters=p)
    touched = client.query(
        f"SELECT election_id, elector_id FROM facts WHERE {newer} UNION DISTINCT "
        f"SELECT election_id, elector_id FROM electors WHERE {newer}",
        parameters=p,
    )
    since = min([int(v) for (v,) in versions.result_rows] or [int(newest)]) // 1000
    erased = client.query(
        "SELECT count() FROM elector_keys WHERE key_id = '' "
        "AND toUnixTimestamp64Micro(created_at) >= {since:Int64}",
        parameters={"since": since},
    ).result_rows[0][0]
    return CutShort(frozenset(int(v) for (v,) in versions.result_rows),
                    frozenset((e, x) for e, x in touched.result_rows), bool(erased))  # fmt: skip


def cut_keys(
    client: Client, partition: int, versions: frozenset[int]
) -> tuple[set[tuple[str, Any]], set[tuple[str, Any, int]]]:
    """The cells and deltas keys whose newest row was written by the cut batch."""
    p = {"p": partition, "vs": sorted(versions)}
    where = "partition = {p:UInt16} AND version IN {vs:Array(UInt64)}"
    cells = client.query(f"SELECT election_id, {_DIMS} FROM cells FINAL WHERE {where}",
                         parameters=p).result_rows  # fmt: skip
    deltas = client.query(
        f"SELECT election_id, {_DIMS}, toUnixTimestamp64Micro(at) FROM deltas FINAL WHERE {where}",
        parameters=p,
    ).result_rows
    return ({(r[0], cell_of(r[1:8])) for r in cells},
            {(r[0], cell_of(r[1:8]), int(r[8])) for r in deltas})  # fmt: skip


_KEYS_IN = in_list("(election_id, elector_id)", "keys", "Tuple(String, String)")


def _rows(
    client: Client, sql: str, parameters: dict[str, Any], keys: Sequence[EntityKey]
) -> Iterator[Sequence[Any]]:
    """The rows of `sql` (which tests `_KEYS_IN`) for every key, a chunk of keys a query."""
    for chunk in chunks(keys):
        yield from client.query(sql, parameters=parameters | {"keys": chunk}).result_rows


def split_histories(
    client: Client, partition: int, keys: Sequence[EntityKey], commit: int
) -> dict[EntityKey, tuple[list[Fact], list[Fact]]]:
    """Each entity's stored facts: (those of committed batches, those of the cut batch)."""
    sql = (
        f"SELECT election_id, elector_id, version > {{c:UInt64}}, {_FACT} FROM facts "
        f"WHERE partition = {{p:UInt16}} AND {_KEYS_IN}"
    )
    found: dict[EntityKey, tuple[list[Fact], list[Fact]]] = {k: ([], []) for k in keys}
    for row in _rows(client, sql, {"p": partition, "c": commit}, keys):
        found[(row[0], row[1])][1 if row[2] else 0].append(fact_of_row(row[3:]))
    return found


def drop_cut_electors(
    client: Client, partition: int, commit: int, keys: Sequence[EntityKey]
) -> None:
    """Delete the electors rows the cut batch wrote for entities it created."""
    for chunk in chunks(keys):
        client.command(
            "DELETE FROM electors WHERE partition = {p:UInt16} AND version > {c:UInt64} "
            f"AND {_KEYS_IN}",
            parameters={"p": partition, "c": commit, "keys": chunk},
        )


def drop_uncommitted(client: Client, partition: int, commit: int | None) -> None:
    """Delete the facts rows of the partition's batch that was cut short (newer than its
    last commit, `commit`): its records were not acknowledged, so they come again. Without a commit
    nothing is deleted: a rebuild then takes every stored fact (a first batch cut short is
    taken whole, its events rows being there too, and its records come again as duplicates)."""
    if commit is None:  # no commit to measure by: what is there is taken whole
        return
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
    elections = _election_ids(client, partition)  # not in the election's own row
    out = []
    for e, x, f, n, i, a in zip(*columns, strict=True):
        frame = frames.get(f)
        if frame is None:
            frame = frames[f] = stored_of(f, None, "", "")
        ids = bytes.fromhex(i) if x else elections.get(e, b"")
        out.append((e, x, (frame[0], n, ids, bytes.fromhex(a) if a else b"")))
    return out


def _election_ids(client: Client, partition: int) -> dict[str, bytes]:
    """Each election's own event ids in the partition, hashed and packed."""
    rows = client.query(
        "SELECT election_id, groupUniqArray(event_id) FROM facts "
        "WHERE partition = {p:UInt16} AND elector_id = '' GROUP BY election_id",
        parameters={"p": partition},
    ).result_rows
    return {e: pack_ids(ids) for e, ids in rows}


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
        where += f" AND {_KEYS_IN}"
    if before is not None:
        where += " AND offset < {before:UInt64}"
        params["before"] = before
    sql = f"SELECT election_id, elector_id, {_FACT} FROM facts WHERE {where}"
    rows = (
        client.query(sql, parameters=params).result_rows
        if keys is None
        else _rows(client, sql, params, keys)
    )
    found: dict[EntityKey, list[Fact]] = {}
    for row in rows:
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
