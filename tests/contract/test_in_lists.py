"""Long lists of electors go to ClickHouse in chunks, each as a set (store/in_lists.py): the
worker's key reads and the slow path's history reads, on the real engine."""

from __future__ import annotations

from typing import Any

from clickhouse_connect.driver.client import Client

from streams.store import Keyring
from streams.store.history import histories
from streams.store.in_lists import CHUNK
from tests import factories as f
from tests.contract.test_crypto_shredding import MASTER, PARTITIONS, Counting, Pipeline, pipeline

__all__ = ["pipeline"]  # the fixture, used by name
ELECTION = "2026-05-07-in-lists"


class Recording(Counting):
    """The client, keeping the parameters of each query made through it."""

    def __init__(self, client: Client) -> None:
        super().__init__(client)
        self.parameters: list[dict[str, Any]] = []

    def query(self, *args: Any, **kwargs: Any) -> Any:
        self.parameters.append(kwargs.get("parameters") or {})
        return super().query(*args, **kwargs)


def test_many_keys_load_in_chunks_each_a_set(pipeline: Pipeline):
    """Regression (the 1M-elector bench): the agent's key read for a large batch sent every
    elector id in one `IN {xs:Array(String)}`, which chDB evaluated for minutes past some tens
    of thousands of ids (store/in_lists.py), and ingest's key requests timed out behind it."""
    pairs = [(ELECTION, f"many{i:05d}") for i in range(12_000)]
    made = Keyring(pipeline.client, MASTER, pipeline.sink.insert_settings).keys_for(pairs)
    recording = Recording(pipeline.client)
    ring = Keyring(recording, MASTER, pipeline.sink.insert_settings)  # type: ignore[arg-type]
    ring.fetch(pairs)
    sent = [p["xs"] for p in recording.parameters if "xs" in p]
    assert [len(xs) for xs in sent] == [CHUNK, CHUNK, 2_000]
    assert sorted(x for xs in sent for x in xs) == [x for _, x in pairs]
    assert recording.queries == 4  # and the tombstones' first read
    for pair in pairs[::997]:
        key = made[pair]
        assert key is not None
        loaded = ring.key(*pair, key.key_id)
        assert loaded is not None and loaded.wrapped == key.wrapped


def test_the_histories_of_many_electors_are_read_in_chunks(pipeline: Pipeline):
    """The slow path reads the stored facts of every elector it re-folds: after a restart or
    a resent campaign that is most of a partition's electors, past the same cliff."""
    electors = [f"h{i:05d}" for i in range(2 * CHUNK + 500)]
    pipeline.send([f.opened(ELECTION)], sealed=False)
    pipeline.send([f.registered(ELECTION, x) for x in electors], sealed=False)
    read = 0
    for p in range(PARTITIONS):
        stored = histories(pipeline.client, p, None)  # the whole partition, in one query
        keys = [k for k in stored if k[0] == ELECTION and k[1]]
        recording = Recording(pipeline.client)
        assert histories(recording, p, keys) == {k: stored[k] for k in keys}  # type: ignore[arg-type]
        assert len(recording.parameters) == -(-len(keys) // CHUNK)
        assert all(len(q["keys"]) <= CHUNK for q in recording.parameters)
        read += len(keys)
    assert read == len(electors)
