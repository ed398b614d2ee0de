"""A real chDB engine loaded with a simulated election, owned by this pytest process.

chDB allows one engine per process: `loaded_engine` is session-scoped and opens the engine at
the session's `engine_home` (tests/conftest.py), the only chDB path this process uses; other
tests that need the engine in-process use that path too, with a database of their own.

The election goes in the way the worker writes it: records (the ingest's partitioning) ->
`Projector` -> `Sink` -> ClickHouse, migrations applied first. Malformed items are
dead-lettered to a list, as the agent would send them to turnout.events.dlq.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import pytest
from clickhouse_connect.driver.client import Client

from streams.events import partition_for
from streams.settings import EVENTS_TOPIC, Settings
from streams.sim import Simulation, SimulationConfig, simulate
from streams.store import connection as clickhouse
from streams.store.sink import Sink
from streams.worker.projector import Projector, Record

PARTITIONS = 4
RECORDS_PER_BATCH = 500


@dataclass
class LoadedEngine:
    """The engine's client, what was loaded into it, and where each record went."""

    client: Client
    sim: Simulation
    home: Path
    dead_letters: list[list[str]] = field(default_factory=list)
    newest_offset: dict[int, int] = field(default_factory=dict)  # per partition

    @property
    def election_id(self) -> str:
        return self.sim.config.election_id


def _partition(item: Any) -> int:
    """The partition the ingest (or a keyed producer) would choose: by election and elector."""
    if isinstance(item, dict) and isinstance(item.get("election_id"), str):
        elector = item.get("elector_id")
        key = f"{item['election_id']}:{elector if isinstance(elector, str) else ''}"
        return partition_for(key.encode(), PARTITIONS)
    return 0


async def _load(projector: Projector, items: list[Any], engine: LoadedEngine) -> None:
    offsets = [0] * PARTITIONS
    batch: list[Record] = []
    for item in items:
        p = _partition(item)
        batch.append(Record(p, offsets[p], msgspec.json.encode(item)))
        engine.newest_offset[p] = offsets[p]
        offsets[p] += 1
        if len(batch) == RECORDS_PER_BATCH:
            await projector.process(batch)
            batch = []
    if batch:
        await projector.process(batch)


@pytest.fixture(scope="session")
def loaded_engine(engine_home: Path) -> Iterator[LoadedEngine]:
    home = engine_home
    client = clickhouse.connect(Settings(home=home))
    clickhouse.migrate(client)
    sim = simulate(SimulationConfig(electors=2000, wards=4, seed=6))
    engine = LoadedEngine(client=client, sim=sim, home=home)

    async def dead_letter(raw: bytes, reasons: list[str], where: dict[str, Any]) -> None:
        engine.dead_letters.append(reasons)

    projector = Projector(Sink(client), dead_letter, EVENTS_TOPIC)
    asyncio.run(_load(projector, sim.events, engine))
    yield engine
