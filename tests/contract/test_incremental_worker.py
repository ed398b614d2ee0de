"""The worker's incremental fold on the real engine (chDB): whatever the batches hold (late
events, retractions before and after their targets, duplicates, removals), whenever the
worker restarts, and wherever a batch is cut short, the stored aggregates equal the full
re-fold of every event (`fold.PartitionState`, the SPEC's rules with nothing cached).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from pathlib import Path
from typing import Any

import msgspec
import pytest
from clickhouse_connect.driver.client import Client

from streams import events as ev
from streams.errors import SinkError
from streams.events import Record, partition_for
from streams.fold import Changes, IncrementalState, PartitionState
from streams.settings import EVENTS_TOPIC
from streams.store import Sink, cell_of, migrate, migrations
from streams.worker import Projector
from streams.worker.folding import fact_of
from tests import factories as f
from tests.contract.test_sink_writes import database

E = "2026-05-07-incr"
PARTITIONS = 2
DAYS = ["2026-04-10", "2026-04-20", "2026-05-01", "2026-05-07"]


def scenario(seed: int, electors: int = 40) -> list[list[dict[str, Any]]]:
    """Batches of events in an order that exercises every path: events later than all an
    elector has, late ones, retractions of earlier and of not-yet-arrived events, exact
    duplicates and removals, shuffled across batches."""
    rng = random.Random(seed)
    items: list[dict[str, Any]] = []
    for i in range(electors):
        x, ward = f"x{i}", f"W{i % 3}"
        items.append(f.registered(E, x, ward=ward, age_band=rng.choice(["18-24", "65+"])))
        for _ in range(rng.randint(0, 4)):
            at = f"{rng.choice(DAYS)}T{rng.randint(8, 21):02d}:{rng.randint(0, 59):02d}:00+01:00"
            item = rng.choice([
                f.canvass(E, x, intention=rng.choice(["LAB", "CON"]), ward=ward, at=at),
                f.canvass(E, x, intention=None, outcome="not_home", ward=ward, at=at),
                f.voted(E, x, ward=ward, at=at),
            ])  # fmt: skip
            items.append(item)
            if rng.random() < 0.2:
                items.append(f.retracted(E, item["event_id"], elector_id=x))
        if rng.random() < 0.1:
            items.append(f.removed(E, x))
    items += [rng.choice(items) for _ in range(len(items) // 10)]  # duplicates
    rng.shuffle(items)
    size = max(1, len(items) // 8)
    return [[f.opened(E)]] + [items[i : i + size] for i in range(0, len(items), size)]


def to_records(batches: list[list[dict[str, Any]]]) -> list[list[Record]]:
    offsets = [0] * PARTITIONS
    out = []
    for batch in batches:
        records = []
        for item in batch:
            p = partition_for(f"{E}:{item.get('elector_id', '')}".encode(), PARTITIONS)
            records.append(Record(p, offsets[p], msgspec.json.encode(item), "kafka", time.time()))
            offsets[p] += 1
        out.append(records)
    return out


def full_refold(batches: list[list[dict[str, Any]]]) -> tuple[dict[Any, int], dict[Any, int]]:
    """Cells and deltas of every event folded from scratch (PartitionState, nothing cached)."""
    cells: dict[Any, int] = {}
    deltas: dict[Any, int] = {}
    states = [PartitionState(p) for p in range(PARTITIONS)]
    for batch in batches:
        for item in batch:
            event = ev.validate(item)
            key = (E, ev.elector_id_of(event) or "")
            p = partition_for(f"{E}:{key[1]}".encode(), PARTITIONS)
            states[p].apply(key, [fact_of(event)], Changes())
    for state in states:
        for k, n in state.cells.items():
            if n:
                cells[k] = cells.get(k, 0) + n
        for k, n in state.deltas.items():
            if n:
                deltas[k] = deltas.get(k, 0) + n
    return cells, deltas


def stored(client: Client) -> tuple[dict[Any, int], dict[Any, int]]:
    """Non-zero cells and deltas as the read side sees them, summed over partitions."""
    dims = "ward, polling_district, age_band, intention, contacted, voted, registered"
    cells: dict[Any, int] = {}
    for row in client.query(
        f"SELECT election_id, {dims}, sum(electors) FROM cells FINAL "
        f"GROUP BY election_id, {dims} HAVING sum(electors) != 0"
    ).result_rows:
        cells[(row[0], cell_of(row[1:8]))] = int(row[8])
    deltas: dict[Any, int] = {}
    for row in client.query(
        f"SELECT election_id, {dims}, toUnixTimestamp64Micro(at), sum(change) FROM deltas FINAL "
        f"GROUP BY election_id, {dims}, at HAVING sum(change) != 0"
    ).result_rows:
        deltas[(row[0], cell_of(row[1:8]), int(row[8]))] = int(row[9])
    return cells, deltas


async def _letters(raw: bytes, reasons: list[str], where: dict[str, Any]) -> None:
    raise AssertionError(f"nothing here is invalid: {reasons}")


def projector(client: Client) -> Projector:
    return Projector(Sink(client, max_backoff=0.05), _letters, EVENTS_TOPIC)


def run(p: Projector, batches: list[list[Record]]) -> None:
    async def go() -> None:
        for records in batches:
            await p.process(records)

    asyncio.run(go())


@pytest.mark.parametrize("seed", range(6))
def test_the_incremental_worker_stores_exactly_the_full_refold(chdb_home: Path, seed: int):
    client = database(chdb_home, f"incr_{seed}")
    batches = scenario(seed)
    run(projector(client), to_records(batches))
    assert stored(client) == full_refold(batches)


@pytest.mark.parametrize("seed", range(3))
def test_a_restarted_worker_restores_its_state_and_goes_on_exactly(
    chdb_home: Path, seed: int, caplog: pytest.LogCaptureFixture
):
    client = database(chdb_home, f"incr_restart_{seed}")
    batches = scenario(100 + seed)
    records = to_records(batches)
    half = len(records) // 2
    run(projector(client), records[:half])
    with caplog.at_level(logging.INFO, logger="streams.worker.projector"):
        run(projector(client), records[half:])  # a new process: state from ClickHouse
    assert "restored partition" in caplog.text and "rebuilt partition" not in caplog.text
    assert stored(client) == full_refold(batches)
    again = asyncio.run(projector(client).process(records[0]))  # election.opened, restored
    assert (again.accepted, again.duplicates) == (0, len(records[0]))  # from its facts rows


def cut(client: Client, records: list[list[Record]], table: str) -> None:
    """A worker that stops inside its write of `records`, just after `table`'s insert, as a
    SIGKILL would leave it (no retry: it is going down)."""
    worker = projector(client)
    worker.sink.cut_after, worker.sink.stopping = table, True
    with pytest.raises(SinkError):
        run(worker, records)


CUTS = {"events": "restored", "facts": "repaired", "cells": "repaired", "deltas": "repaired",
        "vote_deltas": "repaired", "electors": "repaired"}  # fmt: skip


@pytest.mark.parametrize("table", CUTS)
def test_a_batch_cut_short_is_mended_and_comes_again_exactly(
    chdb_home: Path, table: str, caplog: pytest.LogCaptureFixture
):
    """SIGKILL between any two of a batch's inserts: the next worker takes the partition back
    to its last commit without re-folding every history, and the batch, never acknowledged,
    comes again."""
    client = database(chdb_home, f"incr_cut_{table}")
    batches = scenario(200)
    records = to_records(batches)
    half = len(records) // 2
    run(projector(client), records[:half])
    cut(client, records[half : half + 1], table)
    with caplog.at_level(logging.INFO, logger="streams.worker.projector"):
        run(projector(client), records[half:])  # not acknowledged: the batch comes again
    assert f"{CUTS[table]} partition" in caplog.text and "rebuilt partition" not in caplog.text
    assert stored(client) == full_refold(batches)


@pytest.mark.parametrize("seed", range(3))
def test_a_mend_cut_short_in_turn_is_mended_again(
    chdb_home: Path, seed: int, caplog: pytest.LogCaptureFixture
):
    client = database(chdb_home, f"incr_recut_{seed}")
    batches = scenario(220 + seed)
    records = to_records(batches)
    half = len(records) // 2
    run(projector(client), records[:half])
    cut(client, records[half : half + 1], "deltas")
    cut(client, records[half : half + 1], ("cells", "electors", "facts")[seed])  # the mend's
    with caplog.at_level(logging.INFO, logger="streams.worker.projector"):
        run(projector(client), records[half:])
    assert "repaired partition" in caplog.text
    assert stored(client) == full_refold(batches)


def test_a_batch_cut_short_in_an_erasure_is_rebuilt(
    chdb_home: Path, caplog: pytest.LogCaptureFixture
):
    """An erasure's deletes may have gone part of the way: only a rebuild is exact."""
    client = database(chdb_home, "incr_cut_erasure")
    batches = scenario(240)
    victim, other = "x0", "x1"  # the batch erases one elector and canvasses another
    batches.append([f.erased(E, victim), f.canvass(E, other, intention="CON", ward="W1",
                                                   at="2026-05-08T09:00:00+01:00")])  # fmt: skip
    records = to_records(batches)
    run(projector(client), records[:-1])
    cut(client, records[-1:], "electors")  # after the erasure's deletes
    with caplog.at_level(logging.INFO, logger="streams.worker.projector"):
        run(projector(client), records[-1:])
    assert "rebuilt partition" in caplog.text
    assert stored(client) == full_refold(batches)


def electors(client: Client) -> set[tuple[Any, ...]]:
    return set(client.query("SELECT * EXCEPT version FROM electors FINAL").result_rows)


@pytest.mark.parametrize("seed", range(3))
def test_a_replay_over_the_stored_histories_gives_the_live_rows(chdb_home: Path, seed: int):
    """As worker.replay does: a fresh state per partition, its slow path reading only the
    history before each batch (the facts table already holds the live pass's), then the
    aggregates rewritten. The electors rows and the aggregates equal the live pass's."""
    client = database(chdb_home, f"incr_replay_{seed}")
    batches = scenario(300 + seed)
    records = to_records(batches)
    run(projector(client), records)
    live = electors(client)
    again = projector(client)
    for p in range(PARTITIONS):
        again.partitions[p] = IncrementalState(p)
        again.replaying.add(p)

    async def replay() -> None:
        for batch in records:
            await again.process(batch)
        for state in again.partitions.values():
            await again.rewrite_aggregates(state, "replay")

    asyncio.run(replay())
    assert electors(client) == live
    assert stored(client) == full_refold(batches)


def test_histories_stored_before_migration_0005_move_to_facts_at_the_first_rebuild(
    chdb_home: Path, tmp_path: Path
):
    """A database written by the previous release (histories whole in electors.facts) is
    migrated, rebuilt from those histories, and goes on exactly."""
    batches = scenario(400)
    records = to_records(batches)
    half = len(records) // 2
    client = database(chdb_home, "incr_legacy")
    old = tmp_path / "migrations"
    old.mkdir()
    for _, name, statements in migrations():
        if name < "0005":
            (old / name).write_text(";\n".join(statements) + ";\n")
    client.command("DROP DATABASE IF EXISTS incr_legacy")  # start again at 0004
    client.command("CREATE DATABASE incr_legacy")
    migrate(client, old)
    states = [PartitionState(p) for p in range(PARTITIONS)]  # the previous release's fold
    rows = []
    for batch in records[:half]:
        for record in batch:
            [event] = [ev.validate(msgspec.json.decode(record.value))]
            key = (E, ev.elector_id_of(event) or "")
            states[record.partition].apply(key, [fact_of(event)], Changes())
    for state in states:
        for (e, x), entity in state.entities.items():
            facts = msgspec.json.encode(entity.facts).decode()
            rows.append([e, x, state.partition, facts, 1])
    client.insert("electors", rows, column_names=["election_id", "elector_id", "partition",
                                                  "facts", "version"])  # fmt: skip
    migrate(client)
    run(projector(client), records[half:])
    assert stored(client) == full_refold(batches)
    moved = client.query("SELECT count() FROM facts WHERE offset = 18446744073709551615")
    assert moved.result_rows[0][0] > 0
