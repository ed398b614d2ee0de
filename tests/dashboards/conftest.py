"""A real chDB engine loaded with a simulated election, owned by this pytest process.

chDB allows one engine per process: `loaded_engine` is session-scoped and opens the only
chDB path this process uses (`chdb_home`, tests/conftest.py), which other test packages that
need an engine in the test process open too.

The election goes in the way the worker writes it: records (the ingest's partitioning) ->
`Projector` -> `Sink` -> ClickHouse, migrations applied first. Malformed items are
dead-lettered to a list, as the agent would send them to turnout.events.dlq.
"""

from __future__ import annotations

import asyncio
import time as time_module
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import pytest
from clickhouse_connect.driver.client import Client

from streams.events import partition_for
from streams.read import Reader
from streams.settings import EVENTS_TOPIC, Settings
from streams.sim import Simulation, SimulationConfig, simulate
from streams.store import Snapshots, time_settings
from streams.store import connection as clickhouse
from streams.store.sink import Sink
from streams.worker import Alerting
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
def loaded_engine(chdb_home: Path) -> Iterator[LoadedEngine]:
    home = chdb_home
    client = clickhouse.connect(Settings(home=home))
    clickhouse.migrate(client)
    sim = simulate(SimulationConfig(electors=2000, wards=4, seed=6))
    engine = LoadedEngine(client=client, sim=sim, home=home)

    async def dead_letter(raw: bytes, reasons: list[str], where: dict[str, Any]) -> None:
        engine.dead_letters.append(reasons)

    projector = Projector(Sink(client), dead_letter, EVENTS_TOPIC)
    asyncio.run(_load(projector, sim.events, engine))
    yield engine


@dataclass(frozen=True)
class Forecasts:
    """The instants the worker's alerting task projected the loaded election at (each one a
    snapshot in `projections` and `priorities`), oldest first."""

    instants: tuple[datetime, ...]

    def newest_by(self, end: datetime) -> datetime | None:
        """The snapshot a panel whose time range ends at `end` shows."""
        return max((t for t in self.instants if t <= end), default=None)


SNAPSHOT_TIMES = ((10, 0), (14, 0), (21, 0))  # London time on the simulated polling day
BEHIND = 120.0  # the pipeline's freshness at the last run: behind, so that alert is active


@pytest.fixture(scope="session")
def forecasts(loaded_engine: LoadedEngine) -> Forecasts:
    """The alerting task, run as the worker runs it, at three instants of the polling day."""
    client = loaded_engine.client
    alerting = Alerting(Reader(client), Snapshots(client, time_settings(client)))
    day = loaded_engine.sim.config.polling_date
    instants = tuple(
        datetime.combine(day, time(h, m), tzinfo=ZoneInfo("Europe/London")).astimezone(UTC)
        for h, m in SNAPSHOT_TIMES
    )
    now = time_module.time()
    for i, at in enumerate(instants):
        last = i == len(instants) - 1
        alerting.evaluate(BEHIND if last else 0.0, now + i, [loaded_engine.election_id], at)
    return Forecasts(instants)
