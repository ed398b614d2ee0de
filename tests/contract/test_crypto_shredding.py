"""Crypto-shredding and erasure on the real engine (chDB), through the projector as the agent
runs it: personal fields sealed in events.payload, an erasure that leaves no table holding the
elector's marker, aggregates equal to never having had them, and a replay that agrees.

The engine is the session's one chDB path (`chdb_home`), in databases of this module's own.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import msgspec
import pytest
from clickhouse_connect.driver.client import Client

from streams import events as ev
from streams.events import MasterKeyError, Record, partition_for
from streams.fold import IncrementalState
from streams.read.subject import held_in
from streams.settings import EVENTS_TOPIC
from streams.store import Keyring, Sink, erase_electors
from streams.worker import Projector
from tests import factories as f
from tests.contract.test_sink_writes import database, derived

E = "2026-05-07-shred"
MARKER = "QZXJV"  # the victim's intention: a party code nobody else holds
PARTITIONS = 2
MASTER = os.urandom(32)


def electorate() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(everyone else's events, the victim's events)."""
    others = [f.opened(E)]
    for i in range(12):
        others += [f.registered(E, f"o{i}", ward=f"W{i % 2}"),
                   f.canvass(E, f"o{i}", intention=("LAB", "CON")[i % 2], ward=f"W{i % 2}",
                             likelihood=i % 10, age_band="35-44")]  # fmt: skip
        if i % 3 == 0:
            others.append(f.voted(E, f"o{i}", ward=f"W{i % 2}"))
    victim = [f.registered(E, "victim", ward="W0", age_band="65+"),
              f.canvass(E, "victim", intention=MARKER, likelihood=9, ward="W0"),
              f.voted(E, "victim", ward="W0")]  # fmt: skip
    return others, victim


class Pipeline:
    """A sink, a key ring and a projector on one database; records as ingest would write."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.sink = Sink(client, max_backoff=0.05)
        self.keys = Keyring(client, MASTER, self.sink.insert_settings)
        self.letters: list[Any] = []
        self.projector = self.new_projector()
        self.offsets = [0] * PARTITIONS
        self.log: list[Record] = []  # every record "in Kafka", for a replay

    def new_projector(self) -> Projector:
        async def dead_letter(raw: bytes, reasons: list[str], where: dict[str, Any]) -> None:
            self.letters.append((raw, reasons))

        return Projector(self.sink, dead_letter, EVENTS_TOPIC, None, self.keys, True)

    def send(self, items: Iterable[dict[str, Any]], sealed: bool = True) -> list[Record]:
        """Records of `items`: sealed as HTTP ingest seals them, or plain from a direct app."""
        records = []
        for item in items:
            key = ev.partition_key(ev.validate(item))
            p = partition_for(key, PARTITIONS)
            value = item
            if sealed and ev.needs_key(item):
                data_key = self.keys.keys_for([(E, item["elector_id"])])[(E, item["elector_id"])]
                assert data_key is not None
                value = ev.seal(item, item["elector_id"], data_key)
            source = "tests" if sealed else "kafka"
            records.append(Record(p, self.offsets[p], msgspec.json.encode(value), source,
                                  time.time()))  # fmt: skip
            self.offsets[p] += 1
        self.log += records
        asyncio.run(self.projector.process(records))
        return records

    def replay(self) -> None:
        """As worker.replay does: a fresh projector over the whole log, then stale rows zeroed."""
        projector = self.new_projector()
        for p in range(PARTITIONS):
            projector.partitions[p] = IncrementalState(p)
            projector.replaying.add(p)

        async def run() -> None:
            await projector.process(self.log)
            for state in projector.partitions.values():
                await projector.rewrite_aggregates(state, "replay")

        asyncio.run(run())
        self.projector = projector


def holding(client: Client, needle: str) -> dict[str, int]:
    """Rows (any version, not FINAL) of every table that contain `needle` anywhere."""
    found = {}
    for (table,) in client.query("SHOW TABLES").result_rows:
        rows = client.query(f"SELECT * FROM `{table}`").result_rows
        n = sum(needle in repr(row) for row in rows)
        if n:
            found[table] = n
    return found


@pytest.fixture
def pipeline(chdb_home: Path) -> Pipeline:
    return Pipeline(database(chdb_home, "shred"))


def test_personal_fields_are_stored_sealed_whichever_way_they_came(pipeline: Pipeline):
    others, victim = electorate()
    pipeline.send(others)
    pipeline.send(victim, sealed=False)  # an app producing plain JSON straight to Kafka
    query = "SELECT payload FROM events FINAL WHERE type = 'canvass.recorded'"
    payloads = [r[0] for r in pipeline.client.query(query).result_rows]
    assert len(payloads) == 13 and all(ev.SEALED in p for p in payloads)
    assert MARKER not in " ".join(payloads)
    held = {"electors", "facts", "cells", "deltas", "vote_deltas"}
    assert holding(pipeline.client, MARKER).keys() == held
    [wrapped] = pipeline.client.query(
        "SELECT wrapped FROM elector_keys FINAL WHERE elector_id = 'victim'"
    ).result_rows
    assert wrapped[0] and not pipeline.letters


def test_after_erasure_no_table_holds_the_elector_and_the_counts_are_as_if_never_there(
    chdb_home: Path, pipeline: Pipeline
):
    others, victim = electorate()
    pipeline.send(others)
    pipeline.send(victim)
    pipeline.send([f.erased(E, "victim")])
    assert holding(pipeline.client, MARKER) == {}
    held = holding(pipeline.client, "victim")
    assert held == {"elector_keys": 1}, held  # the tombstone: the key itself is gone
    assert pipeline.keys.gone(E, "victim")

    without = Pipeline(database(chdb_home, "shred_without"))
    without.send(others)
    assert derived(pipeline.client) == derived(without.client)

    pipeline.send([f.canvass(E, "victim", intention=MARKER)], sealed=False)  # too late
    pipeline.replay()
    assert derived(pipeline.client) == derived(without.client)
    assert holding(pipeline.client, MARKER) == {} and not pipeline.letters


class Watched:
    """The client, checking after each statement what the API would see at that instant: once
    `held_in` finds nothing (the erasure is reported done), no table may hold the marker."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.seen: list[tuple[str, dict[str, int]]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def command(self, sql: str, *args: Any, **kwargs: Any) -> Any:
        done = self.client.command(sql, *args, **kwargs)
        if held_in(self.client, E, ["victim"], {}) is None:
            self.seen.append((sql.split(" WHERE ")[0], holding(self.client, MARKER)))
        return done


def test_an_erasure_looks_done_only_once_nothing_holds_the_elector(pipeline: Pipeline):
    """Regression (CI, 2026-12-01): the API answered `erased` while cells and deltas still held
    the victim's intention, because their zero rows were dropped after the electors row."""
    others, victim = electorate()
    pipeline.send([*others, *victim])
    pipeline.sink.client = watched = Watched(pipeline.client)  # type: ignore[assignment]
    pipeline.send([f.erased(E, "victim")])
    assert watched.seen and all(found == {} for _, found in watched.seen), watched.seen


def test_another_worker_sees_an_erasure_at_its_next_tombstone_refresh(pipeline: Pipeline):
    other = Keyring(pipeline.client, MASTER, pipeline.sink.insert_settings, ttl=0.0)
    [key] = pipeline.keys.keys_for([(E, "e1")]).values()
    assert key is not None and other.key(E, "e1", key.key_id) is not None
    erase_electors(pipeline.client, [(E, "e1", 0)], pipeline.sink.insert_settings)
    other.fetch([])
    assert other.gone(E, "e1") and other.key(E, "e1", key.key_id) is None
    pipeline.keys.keys_for([(E, "o1")])
    with pytest.raises(MasterKeyError):  # another master key never takes keys as destroyed
        Keyring(pipeline.client, os.urandom(32)).fetch([(E, "o1")])


def test_the_tombstone_log_gives_each_tombstone_once_from_a_cursor(pipeline: Pipeline):
    """What the ingest process asks the worker for at each request (docs/ingest-process.md)."""
    ring = Keyring(pipeline.client, MASTER, pipeline.sink.insert_settings, ttl=0.0)
    _, cursor = ring.tombstones_since(0)
    erase_electors(pipeline.client, [(E, "t1", 0)], pipeline.sink.insert_settings)  # in the table
    ring.forget([(E, "t2")])  # an erasure this worker ran
    new, after = ring.tombstones_since(cursor)
    assert set(new) == {(E, "t1"), (E, "t2")} and after == cursor + 2
    assert ring.tombstones_since(after) == ([], after)  # read again from the table: not again
    ring.forget_election("purged-one")
    assert ring.tombstones_since(after) == ([("purged-one", "")], after + 1)
    another = Keyring(pipeline.client, MASTER, pipeline.sink.insert_settings)
    assert another.epoch != ring.epoch  # a restarted worker's cursor means nothing here


class Counting:
    """The client, counting the queries made through it."""

    def __init__(self, client: Client) -> None:
        self.client, self.queries = client, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def query(self, *args: Any, **kwargs: Any) -> Any:
        self.queries += 1
        return self.client.query(*args, **kwargs)


def test_a_full_key_cache_still_opens_a_batch_with_one_query_and_reuses_stored_keys(
    pipeline: Pipeline,
):
    """Regression (a 1M-elector ingest, 2026-12-01): past the cache's bound the agent's fetch
    cleared the keys it had just found cached, so opening the batch fell back to one query
    per record, on the event loop; and ingest made new keys for electors it had evicted."""
    counted = Counting(pipeline.client)
    ring = Keyring(counted, MASTER, pipeline.sink.insert_settings, max_entries=4)  # type: ignore[arg-type]
    made = ring.keys_for([(E, f"k{i}") for i in range(4)])  # the cache is full
    other = Keyring(pipeline.client, MASTER, pipeline.sink.insert_settings)  # another worker
    made |= other.keys_for([(E, "k8"), (E, "k9")])  # stored, not in this ring's cache
    batch = [(E, "k0"), (E, "k1"), (E, "k8"), (E, "k9")]
    ring.fetch(batch)  # two cached, two to load: over the bound
    before = counted.queries
    for pair in batch:
        key = made[pair]
        assert key is not None and ring.key(*pair, key.key_id) is not None
    assert counted.queries == before  # opening the batch: no query per record
    again = ring.keys_for([(E, "k3")])[(E, "k3")]  # evicted by that fetch
    assert again is not None and again.key_id == made[(E, "k3")].key_id  # stored, not new


def test_past_its_bound_the_key_cache_forgets_the_oldest_and_keeps_what_ingest_made_last(
    pipeline: Pipeline,
):
    """Regression (the 1M-elector bench, 2026-12-01): clearing the whole cache at its bound
    made the agent query the key table for the keys ingest had just made, batch after batch,
    holding the engine until ingest's own key requests timed out (503)."""
    counted = Counting(pipeline.client)
    ring = Keyring(counted, MASTER, pipeline.sink.insert_settings, max_entries=10)  # type: ignore[arg-type]
    ring.keys_for([(E, f"old{i}") for i in range(6)])
    ring.keys_for([(E, f"new{i}") for i in range(4)])  # the cache is full: 10
    ring.keys_for([(E, "newest")])  # over the bound: down to 5 - 1, the newest kept
    before = counted.queries
    ring.fetch([(E, f"new{i}") for i in range(4)] + [(E, "newest")])
    assert counted.queries == before  # every key cached: no query
    ring.fetch([(E, "old0")])
    assert counted.queries == before + 1  # an old one is loaded again
