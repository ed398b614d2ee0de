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
from typing import Any

import msgspec

from streams import events as ev
from streams.events import Record, decode_items, parse_record, stored_elector_id
from streams.fold import CellKey, Changes, DeltaKey, EntityKey, Fact, PartitionState
from streams.store import (
    Keyring,
    Row,
    Sink,
    SinkBatch,
    SinkDataError,
    cell_of,
    cell_row,
    delta_row,
    elector_row,
    event_row,
    to_us,
)

log = logging.getLogger(__name__)

DeadLetter = Callable[[bytes, list[str], dict[str, Any]], Awaitable[None]]


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
class _Item:
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


class Projector:
    """Owns the state of the partitions this worker consumes."""

    def __init__(
        self,
        sink: Sink,
        dead_letter: DeadLetter,
        topic: str,
        pseudonym_key: bytes | None = None,
        keys: Keyring | None = None,
        encrypt: bool = True,
    ) -> None:
        self.sink = sink
        self.dead_letter = dead_letter
        self.topic = topic
        self.pseudonym_key = pseudonym_key  # for events produced straight to Kafka
        self.keys = keys  # opens sealed personal fields; knows who was erased or purged
        self.encrypt = encrypt and keys is not None  # events.payload keeps them sealed
        self.partitions: dict[int, PartitionState] = {}
        self.positions: dict[int, int] = {}  # next offset to process, per partition

    def drop(self, partitions: Iterable[int]) -> None:
        """Forget partitions this worker no longer owns (they are reloaded if they return)."""
        for p in partitions:
            self.partitions.pop(p, None)
            self.positions.pop(p, None)

    async def process(self, records: list[Record]) -> BatchResult:
        """Decode, fold and write `records`; invalid events and events whose values ClickHouse
        refuses are dead-lettered, the rest is written. Raises only what retrying cannot
        mend: the caller must then stop without acknowledging the records."""
        result = BatchResult()
        items: list[_Item] = []
        parsed = [(record, *parse_record(record)) for record in records]
        await self._fetch_keys(parsed, _where(self.topic, records))
        for record, body, invalid in parsed:
            valid, bad = decode_items(record, body, self.pseudonym_key, self.keys)
            for raw, reasons in invalid + bad:
                result.rejected += 1
                await self.dead_letter(raw, reasons, _record_where(self.topic, record))
            items.extend(_Item(e, record) for e in valid)
        result.add(await self._project(items, _where(self.topic, records)))
        for record in records:
            if record.offset >= self.positions.get(record.partition, 0):
                self.positions[record.partition] = record.offset + 1
        return result

    async def _fetch_keys(self, parsed: list[tuple[Record, list[Any], Any]], where: str) -> None:
        """Load, in one query, the keys and tombstones of every elector the records name."""
        if self.keys is None:
            return
        pairs = set()
        for record, body, _ in parsed:
            for item in body:
                election_id = item.get("election_id") if isinstance(item, dict) else None
                if isinstance(election_id, str):
                    elector_id = stored_elector_id(item, record, self.pseudonym_key)
                    pairs.add((election_id, elector_id or ""))
        if pairs:
            await self.sink.retrying(self.keys.fetch, "keys of " + where, pairs)

    async def _project(self, items: list[_Item], where: str) -> BatchResult:
        """Fold `items` and write their rows. When ClickHouse refuses values, the events that
        carry them are found by halving: each half is folded and written on its own, down to
        single events, which are dead-lettered (docs/sink-protocol.md)."""
        by_partition: dict[int, list[_Item]] = defaultdict(list)
        for item in items:
            by_partition[item.record.partition].append(item)
        # Outside the try: a refusal while reloading a partition is not these events' doing.
        states = {p: await self._state(p) for p in by_partition}
        try:
            return await self._fold_and_write(states, by_partition, where)
        except SinkDataError as err:
            if len(items) == 1:
                result = await self._refuse(items[0], err)
            else:
                log.warning("%s (%s); isolating the refused events of %d", err, where, len(items))
                half = len(items) // 2
                result = await self._project(items[:half], where)
                result.add(await self._project(items[half:], where))
        # Reload what the refusal made us forget now: it rewrites the aggregate rows it left.
        for p in by_partition:
            await self._state(p)
        return result

    async def _fold_and_write(
        self, states: dict[int, PartitionState], by_partition: dict[int, list[_Item]], where: str
    ) -> BatchResult:
        result = BatchResult()
        # Folding is CPU work: a thread keeps the event loop (HTTP ingest, heartbeats) moving.
        batch = await asyncio.to_thread(self._apply_all, states, by_partition, result)
        batch.erased = [(r[0], r[3], r[6]) for r in batch.events if r[2] == ev.ERASED]
        if not batch:
            return result
        if self.encrypt:
            await self.sink.retrying(self._seal_payloads, "keys of " + where, batch.events)
        try:
            await self.sink.write(batch, where)
        except SinkDataError:
            # The state took the refused events. Forget it: the next fold reloads it from
            # ClickHouse, whose facts (the electors rows, written last) end at the last batch
            # written whole; the reload also rewrites any aggregate rows this one left behind.
            for p in by_partition:
                self.partitions.pop(p, None)
            raise
        if batch.erased and self.keys is not None:
            self.keys.forget((e, x) for e, x, _ in batch.erased)
        return result

    def _seal_payloads(self, rows: list[Row]) -> None:
        """Seal the personal fields of the events rows' payloads with their electors' keys
        (made now for an elector an app sent in plain straight to Kafka)."""
        assert self.keys is not None
        personal = [r for r in rows if r[2] in ev.PERSONAL_FIELDS and r[3]]
        if not personal:
            return
        keys = self.keys.keys_for({(r[0], r[3]) for r in personal})
        for row in personal:
            payload = msgspec.json.decode(row[8])
            key = keys.get((row[0], row[3]))
            if key is None:  # erased in this very batch: the row is deleted with the rest
                payload = {k: v for k, v in payload.items() if k not in ev.PERSONAL_FIELDS[row[2]]}
            else:
                payload = ev.seal(payload, row[3], key)
            row[8] = msgspec.json.encode(payload).decode()

    async def _refuse(self, item: _Item, err: SinkDataError) -> BatchResult:
        """Dead-letter one event whose values ClickHouse refused, and remove its events row
        if that insert had been taken before another table refused the event."""
        record, event = item.record, item.event
        row = event_row(event, ev.elector_id_of(event) or "", record.source, record.partition,
                        record.offset)  # fmt: skip
        where = _record_where(self.topic, record)
        if err.table != "events":
            await self.sink.delete_event(row, f"{self.topic} p{record.partition}@{record.offset}")
        reason = f"clickhouse: {err}; the event is kept here unprojected"
        await self.dead_letter(ev.encode(event), [reason], where)
        log.warning("dead-lettered an event ClickHouse refused: %s p%d@%d (%s)",
                    self.topic, record.partition, record.offset, err)  # fmt: skip
        return BatchResult(rejected=1)

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
        rows = await self.sink.load_partition(partition)
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
        stored_cells, stored_deltas = await self.sink.stored_keys(partition)
        version = time.time_ns()
        cell_keys = set(state.cells) | {(r[0], cell_of(r[1:])) for r in stored_cells}
        delta_keys = set(state.deltas) | {(r[0], cell_of(r[1:8]), r[8]) for r in stored_deltas}
        batch = SinkBatch()
        batch.cells = _cell_rows(state, cell_keys, version)
        batch.deltas = _delta_rows(state, delta_keys, version)
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
                source, offset = item.record.source, item.record.offset
                batch.events.append(event_row(item.event, key[1], source, state.partition, offset))
                result.accepted += 1
                result.by_type[fact.type] += 1
                result.newest_event_us = max(result.newest_event_us, fact.at)
        for (election_id, elector_id), elector in changes.entities.items():
            facts = state.entities[(election_id, elector_id)].facts
            row = elector_row(election_id, elector_id, elector, facts, state.partition, version)
            batch.electors.append(row)
        batch.cells.extend(_cell_rows(state, changes.cells, version))
        batch.deltas.extend(_delta_rows(state, changes.deltas, version))
        _forget_zeros(state.cells, changes.cells)
        _forget_zeros(state.deltas, changes.deltas)


def _record_where(topic: str, record: Record) -> dict[str, Any]:
    """Where a dead letter came from: its Kafka record."""
    return {"topic": topic, "partition": record.partition, "offset": record.offset,
            "source": record.source}  # fmt: skip


def _where(topic: str, records: list[Record]) -> str:
    """Topic, partitions and offsets of a batch, for logs (never payloads)."""
    spans: dict[int, list[int]] = {}
    for r in records:
        span = spans.setdefault(r.partition, [r.offset, r.offset])
        span[0], span[1] = min(span[0], r.offset), max(span[1], r.offset)
    return topic + " " + ", ".join(f"p{p}@{a}..{b}" for p, (a, b) in sorted(spans.items()))


def _cell_rows(state: PartitionState, keys: Iterable[CellKey], version: int) -> list[Row]:
    """The cells rows of `keys` with the partition's current counts (0 for a stale key)."""
    p, counts = state.partition, state.cells
    return [cell_row(e, cell, p, counts.get((e, cell), 0), version) for e, cell in keys]


def _delta_rows(state: PartitionState, keys: Iterable[DeltaKey], version: int) -> list[Row]:
    """The deltas rows of `keys` with the partition's current changes (0 for a stale key)."""
    p, changes = state.partition, state.deltas
    return [delta_row(e, cell, at, p, changes.get((e, cell, at), 0), version)
            for e, cell, at in keys]  # fmt: skip


def _forget_zeros(counts: dict[Any, int], keys: Iterable[Any]) -> None:
    for key in keys:
        if counts.get(key) == 0:
            del counts[key]
