"""Applies a batch of Kafka records to partition state and writes the projections.

The agent hands over records; this module decodes them (validating again: apps may produce
straight to Kafka), dead-letters what is invalid, folds the valid events into the state of the
partitions they came from, and writes the changed rows through the sink in one go.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from streams import events as ev
from streams.events import Record, decode_record
from streams.fold.rules import Cell, Fact
from streams.fold.state import Changes, EntityKey, PartitionState
from streams.store.sink import Sink, SinkBatch, ch_time

log = logging.getLogger(__name__)

DeadLetter = Callable[[bytes, list[str], dict[str, Any]], Awaitable[None]]


@dataclass
class BatchResult:
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    newest_event_us: int = 0
    by_type: dict[str, int] = field(default_factory=lambda: defaultdict(int))


@dataclass(frozen=True)
class _Item:
    event: ev.Event
    record: Record


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_us(event: ev.Event) -> int:
    """occurred_at in microseconds since the epoch, exactly (no float rounding)."""
    return (event.occurred_at - _EPOCH) // timedelta(microseconds=1)


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


class Projector:
    """Owns the state of the partitions this worker consumes."""

    def __init__(self, sink: Sink, dead_letter: DeadLetter, topic: str) -> None:
        self.sink = sink
        self.dead_letter = dead_letter
        self.topic = topic
        self.partitions: dict[int, PartitionState] = {}
        self.positions: dict[int, int] = {}  # next offset to process, per partition

    def drop(self, partitions: Iterable[int]) -> None:
        """Forget partitions this worker no longer owns (they are reloaded if they return)."""
        for p in partitions:
            self.partitions.pop(p, None)
            self.positions.pop(p, None)

    async def process(self, records: list[Record]) -> BatchResult:
        result = BatchResult()
        by_partition: dict[int, list[_Item]] = defaultdict(list)
        for record in records:
            valid, invalid = decode_record(record)
            for raw, reasons in invalid:
                result.rejected += 1
                where = {"topic": self.topic, "partition": record.partition,
                         "offset": record.offset, "source": record.source}  # fmt: skip
                await self.dead_letter(raw, reasons, where)
            by_partition[record.partition].extend(_Item(e, record) for e in valid)
        states = {p: await self._state(p) for p in by_partition}
        # Folding is CPU work: a thread keeps the event loop (HTTP ingest, heartbeats) moving.
        batch = await asyncio.to_thread(self._apply_all, states, by_partition, result)
        if batch:
            await self.sink.write(batch, _where(self.topic, records))
        for record in records:
            if record.offset >= self.positions.get(record.partition, 0):
                self.positions[record.partition] = record.offset + 1
        return result

    async def _state(self, partition: int) -> PartitionState:
        state = self.partitions.get(partition)
        if state is None:
            state = await self.load(partition)
        return state

    async def load(self, partition: int) -> PartitionState:
        """Rebuild a partition's state from ClickHouse and re-write its aggregates from it.

        Aggregates are always derived from the stored facts, never trusted: a crash between
        the sink's inserts may have left them behind the facts; this heals it.
        """
        started = time.perf_counter()
        rows = await asyncio.to_thread(self.sink.load_partition, partition)
        state = PartitionState(partition)
        decoder = msgspec.json.Decoder(list[Fact])
        for election_id, elector_id, facts in rows:
            state.load((election_id, elector_id), decoder.decode(facts))
        await self.rewrite_aggregates(state, "reload")
        self.partitions[partition] = state
        log.info(
            "loaded partition %d: %d entities in %.2fs",
            partition, len(rows), time.perf_counter() - started,
        )  # fmt: skip
        return state

    async def rewrite_aggregates(self, state: PartitionState, why: str) -> None:
        """Write every aggregate row of the partition from `state`, zeroing stale stored keys."""
        partition = state.partition
        stored_cells, stored_deltas = await asyncio.to_thread(self.sink.stored_keys, partition)
        version = time.time_ns()
        cell_keys = set(state.cells) | {(r[0], _cell(r[1:])) for r in stored_cells}
        delta_keys = set(state.deltas) | {(r[0], _cell(r[1:8]), r[8]) for r in stored_deltas}
        batch = SinkBatch()
        batch.cells = [_cell_row(k, state, version) for k in cell_keys]
        batch.deltas = [_delta_row(k, state, version) for k in delta_keys]
        await self.sink.write(batch, f"{self.topic} partition {partition} ({why})")

    def _apply_all(
        self,
        states: dict[int, PartitionState],
        by_partition: dict[int, list[_Item]],
        result: BatchResult,
    ) -> SinkBatch:
        batch = SinkBatch()
        for partition, items in by_partition.items():
            self._apply(states[partition], items, batch, result)
        return batch

    def _apply(
        self, state: PartitionState, items: list[_Item], batch: SinkBatch, result: BatchResult
    ) -> None:
        by_entity: dict[EntityKey, list[_Item]] = defaultdict(list)
        for item in items:
            key = (item.event.election_id, ev.elector_id_of(item.event) or "")
            by_entity[key].append(item)
        changes = Changes()
        version = time.time_ns()
        for key, entity_items in by_entity.items():
            by_id: dict[str, _Item] = {}
            for item in entity_items:
                by_id.setdefault(item.event.event_id, item)
            accepted = state.apply(key, [fact_of(i.event) for i in entity_items], changes)
            result.duplicates += len(entity_items) - len(accepted)
            for fact in accepted:
                item = by_id[fact.event_id]
                batch.events.append(_event_row(item, key[1], state.partition))
                result.accepted += 1
                result.by_type[fact.type] += 1
                result.newest_event_us = max(result.newest_event_us, fact.at)
        for key, elector in changes.entities.items():
            facts = state.entities[key].facts
            batch.electors.append(_elector_row(key, elector, facts, state.partition, version))
        batch.cells.extend(_cell_row(k, state, version) for k in changes.cells)
        batch.deltas.extend(_delta_row(k, state, version) for k in changes.deltas)
        _forget_zeros(state.cells, changes.cells)
        _forget_zeros(state.deltas, changes.deltas)


def _where(topic: str, records: list[Record]) -> str:
    """Topic, partitions and offsets of a batch, for logs (never payloads)."""
    spans: dict[int, list[int]] = {}
    for r in records:
        span = spans.setdefault(r.partition, [r.offset, r.offset])
        span[0], span[1] = min(span[0], r.offset), max(span[1], r.offset)
    return topic + " " + ", ".join(f"p{p}@{a}..{b}" for p, (a, b) in sorted(spans.items()))


def _cell(values: tuple[Any, ...]) -> Cell:
    ward, district, age_band, intention, contacted, voted, registered = values
    return Cell(ward, district, age_band, intention, bool(contacted), bool(voted), bool(registered))


def _cell_values(cell: Cell) -> list[Any]:
    return [cell.ward, cell.district, cell.age_band, cell.intention,
            int(cell.contacted), int(cell.voted), int(cell.registered)]  # fmt: skip


def _cell_row(key: Any, state: PartitionState, version: int) -> list[Any]:
    election_id, cell = key
    count = state.cells.get(key, 0)
    return [election_id, *_cell_values(cell), state.partition, count, version]


def _delta_row(key: Any, state: PartitionState, version: int) -> list[Any]:
    election_id, cell, at = key
    change = state.deltas.get(key, 0)
    return [election_id, ch_time(at), *_cell_values(cell), state.partition, change, version]


def _event_row(item: _Item, elector_id: str, partition: int) -> list[Any]:
    event = item.event
    return [
        event.election_id, event.event_id, ev.event_type(event), elector_id, ch_time(to_us(event)),
        item.record.source, partition, item.record.offset, ev.encode(event).decode(),
    ]  # fmt: skip


def _elector_row(
    key: EntityKey, elector: Any, facts: list[Fact], partition: int, version: int
) -> list[Any]:
    election_id, elector_id = key
    blob = msgspec.json.encode(facts).decode()
    if elector is None:
        return [election_id, elector_id, partition, 0, "", "", "", "", -1, 0, 0, 0, blob, version]
    cell = elector.cell
    return [election_id, elector_id, partition, 1, *_cell_values(cell)[:4], elector.likelihood,
            int(cell.contacted), int(cell.voted), int(cell.registered), blob, version]  # fmt: skip


def _forget_zeros(counts: dict[Any, int], keys: Iterable[Any]) -> None:
    for key in keys:
        if counts.get(key) == 0:
            del counts[key]
