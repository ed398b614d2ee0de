"""One batch of one partition through the incremental fold (`fold.IncrementalState`): the
fast path for every entity, the slow path for those given their stored histories, and the
rows the sink writes for what moved (docs/incremental-fold.md)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from streams import events as ev
from streams.events import Record
from streams.fold import CellKey, Changes, DeltaKey, EntityKey, Fact, IncrementalState
from streams.store import (
    Row,
    SinkBatch,
    cell_row,
    delta_row,
    elector_row,
    event_row,
    fact_row,
    to_us,
)


@dataclass
class BatchResult:
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    newest_event_us: int = 0
    by_type: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, other: BatchResult) -> None:
        """Count `other` (a part of the same batch) in this result."""
        self.accepted += other.accepted
        self.duplicates += other.duplicates
        self.rejected += other.rejected
        self.newest_event_us = max(self.newest_event_us, other.newest_event_us)
        for type_, n in other.by_type.items():
            self.by_type[type_] += n


@dataclass(frozen=True)
class Item:
    event: ev.Event
    record: Record


def fact_of(event: ev.Event) -> Fact:
    """The fields of an event that state depends on (see fold.Fact)."""
    likelihood = getattr(event, "likelihood", None)
    return Fact(
        event_id=event.event_id,
        type=ev.event_type(event),
        at=to_us(event),
        ward=getattr(event, "ward", None) or "",
        district=getattr(event, "polling_district", None) or "",
        age_band=getattr(event, "age_band", None) or "",
        outcome=getattr(event, "outcome", None) or "",
        intention=getattr(event, "intention", None) or "",
        likelihood=-1 if likelihood is None else int(likelihood),
        target=getattr(event, "target_event_id", None) or "",
    )


class PartitionFold:
    """One batch of one partition through the incremental state: what it accepted, what
    moved, and the rows to write."""

    def __init__(self, state: IncrementalState, items: list[Item], version: int) -> None:
        self.state, self.version = state, version
        self.changes = Changes()
        self.by_entity: dict[EntityKey, list[Item]] = defaultdict(list)
        for item in items:
            key = (item.event.election_id, ev.elector_id_of(item.event) or "")
            self.by_entity[key].append(item)

    def fast(self, batch: SinkBatch, result: BatchResult) -> dict[EntityKey, list[Fact]]:
        """Apply every entity's facts; returns those of the entities that need their history."""
        slow = {}
        for key, items in self.by_entity.items():
            facts = [fact_of(i.event) for i in items]
            accepted = self.state.apply(key, facts, self.changes)
            if accepted is None:
                slow[key] = facts
            else:
                self._accepted(key, accepted, batch, result)
        return slow

    def slow(
        self,
        slow: dict[EntityKey, list[Fact]],
        found: dict[EntityKey, list[Fact]],
        batch: SinkBatch,
        result: BatchResult,
    ) -> None:
        for key, facts in slow.items():
            accepted = self.state.finish(key, found.get(key, []), facts, self.changes)
            self._accepted(key, accepted, batch, result)

    def _accepted(
        self, key: EntityKey, accepted: list[Fact], batch: SinkBatch, result: BatchResult
    ) -> None:
        items = self.by_entity[key]
        result.duplicates += len(items) - len(accepted)
        by_id: dict[str, Item] = {}
        for item in items:
            by_id.setdefault(item.event.event_id, item)
        p, version = self.state.partition, self.version
        for fact in accepted:
            item = by_id[fact.event_id]
            source, offset = item.record.source, item.record.offset
            batch.events.append(event_row(item.event, key[1], source, p, offset))
            batch.facts.append(fact_row(key[0], key[1], fact, p, offset, version))
            result.accepted += 1
            result.by_type[fact.type] += 1
            result.newest_event_us = max(result.newest_event_us, fact.at)

    def rows(self, batch: SinkBatch) -> None:
        """The partition's electors, cells and deltas rows this batch moved, and its commit."""
        state, changes, version = self.state, self.changes, self.version
        batch.electors += [state_row(state, key, version) for key in changes.entities]
        batch.cells.extend(cell_rows(state, changes.cells, version))
        batch.deltas.extend(delta_rows(state, changes.deltas, version))
        batch.commits.append([state.partition, version])


def entities(state: IncrementalState) -> list[EntityKey]:
    return [(e, x) for e, electors in state.electors.items() for x in electors]


def state_row(state: IncrementalState, key: EntityKey, version: int) -> Row:
    """The entity's electors row. An election's own row leaves out its id hashes: every
    election-level event (a canvassing session, a result) adds one, so the row would grow
    with the campaign and be rewritten whole at each batch; a restore reads them back from
    `facts` (`store.history.compact_records`)."""
    if key[1]:
        stored = state.stored(key)
    else:
        record = state.entity(key)
        assert record is not None, "an election's row is written only once it has facts"
        stored = (record.situation.frame, record.newest, b"", b"")
    return elector_row(key[0], key[1], state.state_of(key), stored, state.partition, version)


def cell_rows(state: IncrementalState, keys: Iterable[CellKey], version: int) -> list[Row]:
    """The cells rows of `keys` with the partition's current counts (0 for a stale key)."""
    p, counts = state.partition, state.cells
    return [cell_row(e, cell, p, counts.get((e, cell), 0), version) for e, cell in keys]


def delta_rows(state: IncrementalState, keys: Iterable[DeltaKey], version: int) -> list[Row]:
    """The deltas rows of `keys` with the partition's current changes (0 for a stale key)."""
    p, changes = state.partition, state.deltas
    return [delta_row(e, cell, at, p, changes.get((e, cell, at), 0), version)
            for e, cell, at in keys]  # fmt: skip
